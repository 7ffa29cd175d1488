//! The task service: every task operation as a typed call made for an
//! [`Owner`], answering typed results or one [`ServiceError`].
//!
//! It knows nothing of JSON-RPC, of the two protocol eras or of HTTP: the
//! protocol layer decodes a request, calls the service, and encodes the
//! answer in its era's shape. The owner policy (authentication → owner)
//! lives in [`owner`]; pmcp's own tools and resources are reached through
//! [`host`].

mod call;
mod companion;
mod detach;
mod error;
pub(crate) mod host;
mod idempotency;
mod owner;

pub(crate) use call::{CallMode, CallOutcome, TaskRequest, ToolCall};
pub use companion::CompanionNames;
pub(crate) use error::ServiceError;
pub use owner::AnonymousPolicy;
pub(crate) use owner::{Caller, Connection, Owner, OwnerPolicy};

use crate::domain::{RpcError, TaskOutcome, TaskRecord};
use crate::execution::TaskRuntime;
use crate::rate::KeyedRate;
use crate::store::TaskPage;
use crate::tool::TaskTool;
use host::Host;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The task operations over one runtime, one set of task tools and pmcp.
pub(crate) struct TaskService {
    runtime: TaskRuntime,
    tools: BTreeMap<String, TaskTool>,
    owners: OwnerPolicy,
    host: Host,
    /// Task creations per owner, when limited.
    creations: Option<KeyedRate<String>>,
    /// The companion tools, when a tool can detach from a plain call.
    companions: Option<CompanionNames>,
}

impl TaskService {
    pub(crate) fn new(
        runtime: TaskRuntime,
        tools: BTreeMap<String, TaskTool>,
        owners: OwnerPolicy,
        host: Host,
    ) -> Self {
        let creations = runtime
            .limits()
            .max_creates_per_minute
            .map(KeyedRate::per_minute);
        TaskService {
            runtime,
            tools,
            owners,
            host,
            creations,
            companions: None,
        }
    }

    /// Serves the companion tools under `names`.
    pub(crate) fn with_companions(mut self, names: CompanionNames) -> Self {
        self.companions = Some(names);
        self
    }

    /// The companion tools' names, if they are served.
    pub(crate) fn companions(&self) -> Option<&CompanionNames> {
        self.companions.as_ref()
    }

    /// Counts a task creation against the owner's rate; refused past it.
    pub(super) fn admit_creation(&self, owner: &Owner) -> Result<(), ServiceError> {
        let Some(rate) = &self.creations else {
            return Ok(());
        };
        rate.admit(&owner.as_str().to_owned())
            .map_err(|retry_after| ServiceError::RateLimited {
                per_minute: rate.limit(),
                retry_after,
            })
    }

    pub(crate) fn runtime(&self) -> &TaskRuntime {
        &self.runtime
    }

    pub(crate) fn host(&self) -> &Host {
        &self.host
    }

    /// The task tools, by name.
    pub(crate) fn tools(&self) -> &BTreeMap<String, TaskTool> {
        &self.tools
    }

    /// The owner of the caller's tasks.
    pub(crate) fn owner(&self, caller: Caller<'_>) -> Result<Owner, ServiceError> {
        self.owners.owner(caller)
    }

    /// The owner's task.
    pub(crate) async fn get(
        &self,
        owner: &Owner,
        id: &str,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        self.runtime
            .get(owner.as_str(), id)
            .await
            .map_err(|e| ServiceError::store(e, id))
    }

    /// A page of the owner's tasks.
    pub(crate) async fn list(
        &self,
        owner: &Owner,
        cursor: Option<&str>,
    ) -> Result<TaskPage, ServiceError> {
        if !owner.is_bound() {
            return Err(ServiceError::Unlisted);
        }
        self.runtime
            .list(owner.as_str(), cursor)
            .await
            .map_err(|e| ServiceError::store(e, ""))
    }

    /// Cancels the owner's task (refused if it is terminal).
    pub(crate) async fn cancel(
        &self,
        owner: &Owner,
        id: &str,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        self.runtime.cancel(owner.as_str(), id).await.map_err(|e| {
            match ServiceError::update(e, id) {
                ServiceError::Ended { id, status } => ServiceError::AlreadyTerminal { id, status },
                other => other,
            }
        })
    }

    /// Delivers the client's answers to the task's outstanding input
    /// requests; returns the keys it accepted.
    pub(crate) async fn answer_input(
        &self,
        owner: &Owner,
        id: &str,
        responses: &Map<String, Value>,
    ) -> Result<Vec<String>, ServiceError> {
        self.runtime
            .answer_input(owner.as_str(), id, responses)
            .await
            .map_err(|e| ServiceError::update(e, id))
    }

    /// Merges the client's `variables` into the owner's running task and
    /// delivers its answers, as one write (`null` removes a variable);
    /// refused whole when a variable is the server's own, the variables
    /// would be over the size limit, or the task has ended.
    pub(crate) async fn write_variables(
        &self,
        owner: &Owner,
        id: &str,
        variables: &Map<String, Value>,
        responses: &Map<String, Value>,
    ) -> Result<Vec<String>, ServiceError> {
        client_writable(variables)?;
        let max = self.runtime.limits().max_variable_bytes;
        let (_, accepted) = self
            .runtime
            .update(owner.as_str(), id, |t, now| {
                t.merge_variables(variables, max, now)?;
                t.answer_input(responses, now)
            })
            .await
            .map_err(|e| ServiceError::update(e, id))?;
        tracing::info!(task = %id, owner = %owner.as_str(), keys = variables.len(), "task variables written by the client");
        Ok(accepted)
    }

    /// Waits until `ready` holds for the owner's task.
    pub(crate) async fn wait_until(
        &self,
        owner: &Owner,
        id: &str,
        ready: impl FnMut(&TaskRecord) -> bool,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        let poll = self.runtime.limits().poll_interval;
        self.runtime
            .wait_until(owner.as_str(), id, poll, ready)
            .await
            .map_err(|e| ServiceError::store(e, id))
    }
}

impl TaskService {
    /// Follows the owner's task: its record on every change, until it ends.
    pub(crate) fn follow(&self, owner: &Owner, id: &str) -> crate::execution::Follower {
        self.runtime.follow(owner.as_str(), id)
    }
}

/// What a terminal task's request answered: its result, its JSON-RPC error,
/// or (cancelled) nothing.
pub(crate) fn outcome(record: &TaskRecord) -> Result<Value, ServiceError> {
    match &record.outcome() {
        Some(TaskOutcome::Result { value }) => value
            .to_value()
            .map_err(|e| ServiceError::Failed(crate::domain::unreadable_result(e))),
        Some(TaskOutcome::Error { error }) => Err(ServiceError::Failed(RpcError::clone(error))),
        None => Err(ServiceError::NoResult(record.id.clone())),
    }
}

/// Refuses a client's write of a variable the server keeps for itself.
pub(crate) fn client_writable(variables: &Map<String, Value>) -> Result<(), ServiceError> {
    match variables
        .keys()
        .find(|k| k.starts_with(crate::workflow::RESERVED_VARIABLE_PREFIX))
    {
        Some(key) => Err(ServiceError::Refused(
            crate::domain::DomainError::ReservedVariable(key.clone()),
        )),
        None => Ok(()),
    }
}
