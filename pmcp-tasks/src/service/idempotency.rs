//! Idempotent task creation: a task-creating `tools/call` that carries a
//! key (`_meta["pmcp-tasks/idempotency-key"]`) gets the task id a UUIDv5 of
//! its owner, tool and key. A retry computes the same id, so the store's
//! own refusal of a second task with one id (atomic on every backend) makes
//! two racing calls create one task, and a retry finds the first call's
//! task: the body runs once.

use super::{Owner, ServiceError, TaskService};
use crate::domain::TaskRecord;
use crate::store::StoreError;
use crate::tool::TaskTool;
use serde_json::Value;
use std::sync::Arc;

/// The namespace of keyed task ids.
const KEYED_TASKS: uuid::Uuid = uuid::Uuid::from_u128(0x1de3_707e_7a5c_4b1b_9a0e_6f0a_c0de_0002);

/// The id of the task `owner` creates with `tool` under `key`. The owner
/// must be one the server tells apart: a stateless anonymous caller's tasks
/// are reached by id alone, and a guessable key would make a guessable id.
pub(super) fn task_id(owner: &Owner, tool: &str, key: &str) -> Result<String, ServiceError> {
    if !owner.is_bound() {
        return Err(ServiceError::IdempotencyKey(
            "An idempotency key needs a caller this server can tell apart (authenticated, or \
             on a session); this request is on no session, so its tasks are reached by id \
             alone. Send it on a session, authenticated, or without the key"
                .into(),
        ));
    }
    // Each part length-prefixed, so no owner, tool or key can shift into
    // another (an owner may contain any character).
    let owner = owner.as_str();
    let name = format!(
        "{}:{owner}{}:{tool}{}:{key}",
        owner.len(),
        tool.len(),
        key.len()
    );
    Ok(uuid::Uuid::new_v5(&KEYED_TASKS, name.as_bytes()).to_string())
}

/// The answer to a key whose task is stored but expired (it is deleted
/// within seconds, when the key can start a new task).
pub(super) fn expired(key: &str) -> ServiceError {
    ServiceError::IdempotencyKey(format!(
        "The task the idempotency key '{key}' started has expired; use a new key"
    ))
}

impl TaskService {
    /// The owner's task under a key, if it exists: the same task when the
    /// call is the same, a refusal when the key was used with other
    /// arguments.
    pub(super) async fn replay(
        &self,
        owner: &Owner,
        tool: &TaskTool,
        key: &str,
        id: &str,
        arguments: &Value,
    ) -> Result<Option<Arc<TaskRecord>>, ServiceError> {
        match self.runtime().get(owner.as_str(), id).await {
            Ok(existing) if existing.arguments.to_value().is_ok_and(|a| a == *arguments) => {
                tracing::info!(task = %id, owner = %owner.as_str(), tool = %tool.name, "a call with a known idempotency key gets its task again");
                Ok(Some(existing))
            }
            Ok(_) => Err(ServiceError::IdempotencyKey(format!(
                "The idempotency key '{key}' was already used for a call of '{}' with other \
                 arguments (task {id}); send the same arguments to get that task again, or use \
                 a new key",
                tool.name
            ))),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(ServiceError::store(e, id)),
        }
    }
}
