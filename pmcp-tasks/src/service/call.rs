//! Calling a tool: inline, or as a task, as the call's mode and the tool's
//! task support decide.

use super::{Caller, Owner, ServiceError, TaskService};
use crate::domain::{Era, NewTask, TaskRecord};
use crate::execution::TaskContext;
use crate::tool::{TaskSupport, TaskTool};
use pmcp::server::auth::AuthContext;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A call of a tool.
#[derive(Debug, Clone)]
pub(crate) struct ToolCall {
    /// The tool.
    pub(crate) name: String,
    /// Its arguments, as sent.
    pub(crate) arguments: Value,
    /// Inline, as a task, or as the tool prefers.
    pub(crate) mode: CallMode,
    /// Kept in a task the call creates: the domain rule for what an
    /// `isError` result means for its status depends on it. The service
    /// itself never branches on it.
    pub(crate) era: Era,
    /// For a plain call: where its progress goes, and its cancellation.
    pub(crate) hooks: crate::execution::CallHooks,
}

/// How the caller wants the tool run.
#[derive(Debug, Clone)]
pub(crate) enum CallMode {
    /// Now, in the request: a `required` tool refuses.
    Inline,
    /// As a task, which the caller asked for: a `forbidden` tool (or a
    /// plain pmcp tool) refuses.
    Task(TaskRequest),
    /// As a task if the tool can run as one, else inline: the caller can
    /// take either answer and the server decides.
    Either(TaskRequest),
}

/// What a caller that takes a task says about it.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskRequest {
    /// The TTL the caller asks for (clamped by the limits).
    pub(crate) ttl: Option<Duration>,
    /// The caller's answers to the questions a tool asks before its task
    /// exists ([`TaskTool::ask_first`]); `None` when the caller cannot take
    /// that round trip, and the questions are asked inside the task.
    pub(crate) answers_first: Option<Map<String, Value>>,
    /// The task variables the caller starts the task with (`null`s are
    /// dropped).
    pub(crate) variables: Option<Map<String, Value>>,
    /// Whether the caller can answer form elicitations (`None`: unknown).
    pub(crate) client_elicits: Option<bool>,
    /// The caller's retry key: the same owner, tool and key get the same
    /// task while it is kept (see [`TaskService::create_task`]).
    pub(crate) idempotency_key: Option<String>,
}

/// How a call ended.
#[derive(Debug)]
pub(crate) enum CallOutcome {
    /// The tool ran inline: its `CallToolResult`.
    Ran(Value),
    /// A task was created; its body runs in the background. `immediate`
    /// is what the tool tells the model at once, if anything.
    Created {
        record: Arc<TaskRecord>,
        immediate: Option<String>,
    },
    /// The tool asks these questions (by key) before its task is created:
    /// the caller answers them and calls again.
    NeedsInput(Map<String, Value>),
    /// A plain pmcp tool: the call goes to pmcp unchanged.
    Forward,
}

impl TaskService {
    /// Calls tool `call.name` for the caller. Only a task tool needs an
    /// owner: a plain pmcp tool is pmcp's, under pmcp's own authorization.
    pub(crate) async fn call_tool(
        &self,
        caller: Caller<'_>,
        call: ToolCall,
    ) -> Result<CallOutcome, ServiceError> {
        if let Some(which) = self.companions().and_then(|c| c.of(&call.name)) {
            if let CallMode::Task(_) = call.mode {
                return Err(ServiceError::TaskForbidden(call.name));
            }
            let owner = self.owner(caller)?;
            return self
                .companion(which, &call.name, &owner, call.arguments)
                .await
                .map(CallOutcome::Ran);
        }
        let Some(tool) = self.tools().get(&call.name) else {
            if self.host().tool(&call.name).await.is_none() {
                return Err(ServiceError::UnknownTool(call.name));
            }
            return match call.mode {
                CallMode::Task(_) => Err(ServiceError::NotATaskTool(call.name)),
                CallMode::Inline | CallMode::Either(_) => Ok(CallOutcome::Forward),
            };
        };
        let owner = &self.owner(caller)?;
        let limits = self.runtime().limits();
        let size = crate::domain::json_len(&call.arguments);
        if size > limits.max_argument_bytes {
            return Err(invalid_arguments(
                tool,
                format!(
                    "the arguments are {size} bytes, more than this server accepts ({} bytes)",
                    limits.max_argument_bytes
                ),
            ));
        }
        let task = match (call.mode, tool.support) {
            (CallMode::Inline, support)
                if support != TaskSupport::Forbidden && tool.detach_after.is_some() =>
            {
                return self
                    .call_detaching(tool, owner, call.era, call.arguments, call.hooks)
                    .await;
            }
            (CallMode::Inline, TaskSupport::Required) => {
                return Err(ServiceError::TaskRequired(call.name))
            }
            (CallMode::Task(_), TaskSupport::Forbidden) => {
                return Err(ServiceError::TaskForbidden(call.name))
            }
            (CallMode::Inline, _) | (CallMode::Either(_), TaskSupport::Forbidden) => None,
            (CallMode::Task(request) | CallMode::Either(request), _) => Some(request),
        };
        let Some(mut request) = task else {
            return self
                .run_ours(tool, owner, call.arguments, call.hooks)
                .await
                .map(CallOutcome::Ran);
        };
        let body = tool
            .prepare(call.arguments.clone())
            .map_err(|e| invalid_arguments(tool, e.0))?;
        let answered = match request.answers_first.take() {
            Some(answers) if !tool.ask_first.is_empty() => {
                let missing: Map<String, Value> = tool
                    .ask_first
                    .iter()
                    .filter(|(key, _)| !answers.contains_key(key))
                    .map(|(key, question)| (key.clone(), question.clone()))
                    .collect();
                if let Some((key, _)) = missing.iter().find(|(_, question)| {
                    request.client_elicits == Some(false)
                        && crate::execution::is_form_elicitation(question)
                }) {
                    return Err(ServiceError::CannotAsk {
                        tool: tool.name.clone(),
                        key: key.clone(),
                    });
                }
                if !missing.is_empty() {
                    return Ok(CallOutcome::NeedsInput(missing));
                }
                tool.ask_first
                    .iter()
                    .filter_map(|(key, _)| Some((key.clone(), answers.get(key)?.clone())))
                    .collect()
            }
            _ => BTreeMap::new(),
        };
        let immediate = tool.immediate_for(&call.arguments);
        let record = self
            .create_task(
                tool,
                owner,
                call.era,
                call.arguments,
                request,
                answered,
                body,
            )
            .await?;
        Ok(CallOutcome::Created { record, immediate })
    }

    /// Creates the caller's task of `tool` and starts `body` in it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn create_task(
        &self,
        tool: &TaskTool,
        owner: &Owner,
        era: Era,
        arguments: Value,
        request: TaskRequest,
        answered: BTreeMap<String, Value>,
        body: crate::execution::TaskBody,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        let limits = self.runtime().limits();
        let variables = seed_variables(request.variables, limits.max_variable_bytes)?;
        let keyed = match &request.idempotency_key {
            Some(key) => Some((
                key.clone(),
                super::idempotency::task_id(owner, &tool.name, key)?,
            )),
            None => None,
        };
        if let Some((key, id)) = &keyed {
            // A retry that finds its task needs no room of its own.
            if let Some(existing) = self.replay(owner, tool, key, id, &arguments).await? {
                return Ok(existing);
            }
        }
        self.admit_creation(owner)?;
        let new = NewTask {
            owner: owner.as_str().to_owned(),
            era,
            tool: tool.name.clone(),
            arguments: arguments.clone(),
            ttl: limits.effective_ttl(request.ttl.or(tool.ttl)),
            poll_interval: Some(tool.poll_interval.unwrap_or(limits.poll_interval)),
            input_responses: answered,
            variables,
            client_elicits: request.client_elicits,
        };
        let Some((key, id)) = keyed else {
            return Ok(self.runtime().start(new, body).await?);
        };
        match self.runtime().start_as(Some(id.clone()), new, body).await {
            Ok(created) => Ok(created),
            // Another call with the key created it just now.
            Err(crate::execution::StartError::Store(crate::store::StoreError::Duplicate)) => self
                .replay(owner, tool, &key, &id, &arguments)
                .await?
                .ok_or_else(|| super::idempotency::expired(&key)),
            Err(e) => Err(e.into()),
        }
    }

    /// What tool `name`, a task tool or pmcp's, answers to `arguments`, run
    /// here and now (never as a task): how workflows call their steps.
    pub(crate) async fn run_inline(
        &self,
        owner: &Owner,
        auth: Option<&AuthContext>,
        name: &str,
        arguments: Value,
    ) -> Result<Value, ServiceError> {
        if let Some(tool) = self.tools().get(name) {
            return self
                .run_ours(tool, owner, arguments, Default::default())
                .await;
        }
        if self.host().tool(name).await.is_none() {
            return Err(ServiceError::UnknownTool(name.to_owned()));
        }
        self.host()
            .call_tool(name, arguments, auth.cloned())
            .await
            .map_err(ServiceError::Failed)
    }

    async fn run_ours(
        &self,
        tool: &TaskTool,
        owner: &Owner,
        arguments: Value,
        hooks: crate::execution::CallHooks,
    ) -> Result<Value, ServiceError> {
        let body = tool
            .prepare(arguments)
            .map_err(|e| invalid_arguments(tool, e.0))?;
        let ctx = TaskContext::for_call(owner.as_str(), hooks);
        let token = ctx.cancellation();
        tokio::select! {
            outcome = body(ctx) => outcome.into_result().map_err(ServiceError::Failed),
            _ = token.cancelled() => Err(ServiceError::CallCancelled),
        }
    }
}

pub(super) fn invalid_arguments(tool: &TaskTool, reason: String) -> ServiceError {
    ServiceError::InvalidArguments {
        tool: tool.name.clone(),
        reason,
    }
}

/// The variables a caller starts a task with, within the size limit.
fn seed_variables(
    given: Option<Map<String, Value>>,
    max_bytes: usize,
) -> Result<Map<String, Value>, ServiceError> {
    let mut variables = given.unwrap_or_default();
    super::client_writable(&variables)?;
    variables.retain(|_, value| !value.is_null());
    let size = crate::domain::json_len(&variables);
    if size > max_bytes {
        return Err(ServiceError::Refused(
            crate::domain::DomainError::VariablesTooLarge {
                size,
                limit: max_bytes,
            },
        ));
    }
    Ok(variables)
}
