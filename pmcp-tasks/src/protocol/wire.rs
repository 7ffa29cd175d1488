//! Wire shapes of both eras, built from pmcp's own types where they match
//! the specs (`Task` for 2025-11-25, `TaskV2` for 2026-07-28).

use crate::domain::{RpcError, TaskOutcome, TaskRecord, TaskStatus};
use chrono::{DateTime, SecondsFormat, Utc};
use pmcp::types::tasks::{Task, TaskStatus as WireStatus, TaskV2};
use serde_json::{json, Map, Value};

/// `_meta` key of the per-request protocol version (2026-07-28).
pub(crate) const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the per-request client capabilities (2026-07-28).
pub(crate) const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the server's identity on 2026-07-28 results.
pub(crate) const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
/// The Tasks extension identifier.
pub(crate) const TASKS_EXTENSION: &str = pmcp::types::capabilities::TASKS_EXTENSION_KEY;
/// `_meta` key that ties a message to its task.
pub(crate) const RELATED_TASK_KEY: &str = pmcp::types::tasks::RELATED_TASK_META_KEY;
/// `_meta` key of the message a task tool gives the model at once, in the
/// answer that creates a task.
pub(crate) const IMMEDIATE_RESPONSE_KEY: &str = "io.modelcontextprotocol/model-immediate-response";
/// `_meta` key under which task variables are shown to the client.
pub const VARIABLES_META_KEY: &str = "pmcp:variables";
/// `_meta` key of a task-creating `tools/call`'s idempotency key: a retry
/// with the same key gets the task the first call created (SEP-3182 has no
/// settled key yet; this one is ours).
pub const IDEMPOTENCY_KEY_META_KEY: &str = "pmcp-tasks/idempotency-key";
/// The longest idempotency key accepted, in bytes.
pub(crate) const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn wire_status(status: TaskStatus) -> WireStatus {
    match status {
        TaskStatus::Working => WireStatus::Working,
        TaskStatus::InputRequired => WireStatus::InputRequired,
        TaskStatus::Completed => WireStatus::Completed,
        TaskStatus::Failed => WireStatus::Failed,
        TaskStatus::Cancelled => WireStatus::Cancelled,
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn to_object<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Adds the task's variables under `_meta`, if it has any.
fn add_variables(object: &mut Map<String, Value>, record: &TaskRecord) {
    if !record.variables().is_empty() {
        meta_mut(object).insert(
            VARIABLES_META_KEY.into(),
            Value::Object(record.variables().clone()),
        );
    }
}

/// The `_meta` object of a result, created if missing.
pub(crate) fn meta_mut(object: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let meta = object
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    match meta {
        Value::Object(map) => map,
        _ => unreachable!("replaced by an object just above"),
    }
}

/// The flat 2025-11-25 `Task`, with variables under `_meta`.
pub(crate) fn task_2025(record: &TaskRecord) -> Map<String, Value> {
    let mut task = Task::new(record.id.clone(), wire_status(record.status))
        .with_timestamps(timestamp(record.created_at), timestamp(record.updated_at));
    task.ttl = record.reported_ttl().map(millis);
    task.poll_interval = record.poll_interval().map(millis);
    task.status_message = record.status_message().map(str::to_owned);
    let mut object = to_object(&task);
    add_variables(&mut object, record);
    object
}

/// The 2026-07-28 `Task` (without status details), with variables under
/// `_meta`.
pub(crate) fn task_2026(record: &TaskRecord) -> Map<String, Value> {
    let mut task = TaskV2::new(
        record.id.clone(),
        wire_status(record.status),
        timestamp(record.created_at),
        timestamp(record.updated_at),
        record.reported_ttl().map(millis),
    );
    task.poll_interval_ms = record.poll_interval().map(millis);
    task.status_message = record.status_message().map(str::to_owned);
    let mut object = to_object(&task);
    add_variables(&mut object, record);
    object
}

/// The 2026-07-28 `DetailedTask`: the task with its outstanding input
/// requests, its result or its error inlined.
pub(crate) fn detailed_task_2026(record: &TaskRecord) -> Map<String, Value> {
    let mut object = task_2026(record);
    match record.status {
        TaskStatus::InputRequired => {
            let requests: Map<String, Value> = record
                .input_requests()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            object.insert("inputRequests".into(), Value::Object(requests));
        }
        TaskStatus::Completed => {
            let mut result = match &record.outcome() {
                // Unreadable (nested too deep to read back): said so, as a
                // tool error, rather than left out.
                Some(TaskOutcome::Result { value }) => value.to_value().unwrap_or_else(|e| {
                    let text = crate::domain::unreadable_result(e).message;
                    json!({"content": [{"type": "text", "text": text}], "isError": true})
                }),
                _ => json!({"content": []}),
            };
            // The inlined result is the call's 2026-07-28 result, envelope
            // included.
            if let Some(inner) = result.as_object_mut() {
                inner
                    .entry("resultType")
                    .or_insert_with(|| json!("complete"));
            }
            object.insert("result".into(), result);
        }
        TaskStatus::Failed => {
            let error = match &record.outcome() {
                Some(TaskOutcome::Error { error }) => RpcError::clone(error),
                // A task created on 2025-11-25 that failed with an
                // `isError` result, read on 2026-07-28: report its message.
                _ => RpcError::internal(record.status_message().unwrap_or("The task failed.")),
            };
            object.insert("error".into(), error.to_json());
        }
        TaskStatus::Working | TaskStatus::Cancelled => {}
    }
    object
}

/// The `_meta` entry that relates a message to task `id`.
pub(crate) fn related_task(id: &str) -> Value {
    json!({ "taskId": id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Era, NewTask};
    use std::time::Duration;

    fn record() -> TaskRecord {
        TaskRecord::new(
            NewTask {
                owner: "o".into(),
                era: Era::V2025_11_25,
                tool: "t".into(),
                arguments: json!({}),
                ttl: Some(Duration::from_secs(60)),
                poll_interval: Some(Duration::from_millis(500)),
                input_responses: Default::default(),
                variables: Default::default(),
                client_elicits: None,
            },
            Utc::now(),
        )
    }

    #[test]
    fn task_2025_is_flat_with_ttl_always_present() {
        let mut r = record();
        let t = task_2025(&r);
        assert_eq!(t["status"], "working");
        assert_eq!(t["ttl"], 60000);
        assert_eq!(t["pollInterval"], 500);
        assert!(t["createdAt"].as_str().unwrap().ends_with('Z'));
        assert!(!t.contains_key("_meta"));
        r.set_ttl(None);
        assert_eq!(task_2025(&r)["ttl"], Value::Null);
    }

    #[test]
    fn task_2026_uses_ms_names_and_inlines_details() {
        let mut r = record();
        r.set_variable("step", Some(json!(2)), 1000, Utc::now())
            .unwrap();
        r.request_input(
            "name",
            json!({"method": "elicitation/create", "params": {"message": "?"}}),
            Utc::now(),
        )
        .unwrap();
        let t = detailed_task_2026(&r);
        assert_eq!(t["ttlMs"], 60000);
        assert_eq!(t["pollIntervalMs"], 500);
        assert_eq!(t["status"], "input_required");
        assert_eq!(t["inputRequests"]["name"]["method"], "elicitation/create");
        assert_eq!(t["_meta"][VARIABLES_META_KEY]["step"], 2);
        assert!(!t.contains_key("ttl"));
    }
}
