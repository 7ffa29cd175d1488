//! Companion tools: plain tools any client can call to follow a task that
//! a plain `tools/call` left running in the background (see
//! [`TaskTool::detach_after`](crate::TaskTool::detach_after)): its status,
//! its result, cancelling it, and answering its questions. Each checks the
//! owner exactly as `tasks/get` does.

use super::{outcome, Owner, ServiceError, TaskService};
use crate::domain::{TaskRecord, TaskStatus};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The names of the companion tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanionNames {
    /// Reads a task's status and its pending questions.
    pub status: String,
    /// Returns a finished task's result.
    pub result: String,
    /// Cancels a task.
    pub cancel: String,
    /// Answers a task's question.
    pub answer: String,
}

impl Default for CompanionNames {
    fn default() -> Self {
        CompanionNames {
            status: "task_status".into(),
            result: "task_result".into(),
            cancel: "task_cancel".into(),
            answer: "task_answer".into(),
        }
    }
}

/// Which companion a call names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Companion {
    Status,
    Result,
    Cancel,
    Answer,
}

impl CompanionNames {
    pub(crate) fn of(&self, name: &str) -> Option<Companion> {
        [
            (&self.status, Companion::Status),
            (&self.result, Companion::Result),
            (&self.cancel, Companion::Cancel),
            (&self.answer, Companion::Answer),
        ]
        .into_iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, c)| c)
    }

    /// The tools as `tools/list` shows them: `(name, description, input
    /// schema)`.
    pub(crate) fn descriptors(&self) -> Vec<(String, String, Value)> {
        let by_id = json!({
            "type": "object",
            "properties": {"taskId": {"type": "string", "description": "The task id a tool call answered with."}},
            "required": ["taskId"],
        });
        vec![
            (
                self.status.clone(),
                "Shows how a background task is doing: its status, what it last reported, and any question it waits on.".into(),
                by_id.clone(),
            ),
            (
                self.result.clone(),
                "Returns the result of a background task once it has finished; while it runs, says so.".into(),
                by_id.clone(),
            ),
            (
                self.cancel.clone(),
                "Cancels a background task.".into(),
                by_id,
            ),
            (
                self.answer.clone(),
                "Answers a question a background task asked (task_status shows it): the question's key and the answer's fields.".into(),
                json!({
                    "type": "object",
                    "properties": {
                        "taskId": {"type": "string"},
                        "key": {"type": "string", "description": "The question's key, as task_status shows it."},
                        "answer": {"type": "object", "description": "The answer's fields, as the question's form describes them."},
                    },
                    "required": ["taskId", "key", "answer"],
                }),
            ),
        ]
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ById {
    task_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    task_id: String,
    key: String,
    answer: Map<String, Value>,
}

fn text_result(text: String, structured: Value, is_error: bool) -> Value {
    let mut result =
        json!({"content": [{"type": "text", "text": text}], "structuredContent": structured});
    if is_error {
        result["isError"] = json!(true);
    }
    result
}

fn decode<T: for<'de> Deserialize<'de>>(name: &str, arguments: Value) -> Result<T, ServiceError> {
    serde_json::from_value(arguments).map_err(|e| ServiceError::InvalidArguments {
        tool: name.to_owned(),
        reason: e.to_string(),
    })
}

/// The questions a task waits on: key → what it asks.
fn questions(record: &TaskRecord) -> Map<String, Value> {
    record
        .input_requests()
        .iter()
        .map(|(key, request)| {
            let params = &request["params"];
            (
                key.clone(),
                json!({"message": params["message"], "requestedSchema": params["requestedSchema"]}),
            )
        })
        .collect()
}

impl TaskService {
    /// Runs companion `which` (called `name`) for the owner.
    pub(crate) async fn companion(
        &self,
        which: Companion,
        name: &str,
        owner: &Owner,
        arguments: Value,
    ) -> Result<Value, ServiceError> {
        let names = self.companions().cloned().unwrap_or_default();
        match which {
            Companion::Status => {
                let ById { task_id } = decode(name, arguments)?;
                let record = self.get(owner, &task_id).await?;
                Ok(status_result(&record, &names))
            }
            Companion::Result => {
                let ById { task_id } = decode(name, arguments)?;
                let record = self.get(owner, &task_id).await?;
                if !record.status.is_terminal() {
                    let mut answer = status_result(&record, &names);
                    answer["content"][0]["text"] = json!(format!(
                        "Task {task_id} has not finished yet ({}); call {} again in a while.",
                        record.status, names.result
                    ));
                    return Ok(answer);
                }
                match outcome(&record) {
                    Ok(result) => Ok(result),
                    Err(ServiceError::Failed(error)) => Ok(text_result(
                        format!("Task {task_id} failed: {}", error.message),
                        json!({"taskId": task_id, "status": record.status, "error": error.message}),
                        true,
                    )),
                    Err(_) => Ok(text_result(
                        format!(
                            "Task {task_id} was cancelled before it finished, so it has no result."
                        ),
                        json!({"taskId": task_id, "status": record.status}),
                        true,
                    )),
                }
            }
            Companion::Cancel => {
                let ById { task_id } = decode(name, arguments)?;
                match self.cancel(owner, &task_id).await {
                    Ok(record) => Ok(text_result(
                        format!("Task {task_id} is cancelled."),
                        json!({"taskId": task_id, "status": record.status}),
                        false,
                    )),
                    Err(ServiceError::AlreadyTerminal { status, .. }) => Ok(text_result(
                        format!("Task {task_id} had already ended ({status}); nothing to cancel."),
                        json!({"taskId": task_id, "status": status}),
                        false,
                    )),
                    Err(e) => Err(e),
                }
            }
            Companion::Answer => {
                let Answer {
                    task_id,
                    key,
                    answer,
                } = decode(name, arguments)?;
                let response =
                    Map::from_iter([(key.clone(), json!({"action": "accept", "content": answer}))]);
                let accepted = self.answer_input(owner, &task_id, &response).await?;
                if accepted.is_empty() {
                    let record = self.get(owner, &task_id).await?;
                    let waiting: Vec<String> = record.input_requests().keys().cloned().collect();
                    return Ok(text_result(
                        format!(
                            "Task {task_id} is not waiting for an answer to '{key}' (it waits for: {}).",
                            if waiting.is_empty() { "nothing".to_owned() } else { waiting.join(", ") }
                        ),
                        json!({"taskId": task_id, "status": record.status, "questions": questions(&record)}),
                        true,
                    ));
                }
                Ok(text_result(
                    format!("Answer to '{key}' delivered; task {task_id} goes on."),
                    json!({"taskId": task_id, "accepted": accepted}),
                    false,
                ))
            }
        }
    }
}

/// A task's status as the status companion tells it.
fn status_result(record: &TaskRecord, names: &CompanionNames) -> Value {
    let id = &record.id;
    let mut text = format!("Task {id} ({}) is {}", record.tool, record.status);
    if let Some(message) = &record.status_message() {
        text.push_str(&format!(": {message}"));
    }
    text.push('.');
    let asks = questions(record);
    match record.status {
        TaskStatus::InputRequired => {
            for (key, question) in &asks {
                text.push_str(&format!(
                    " It asks '{key}': {} Answer with {} (taskId, key \"{key}\", answer).",
                    question["message"].as_str().unwrap_or("(no message)"),
                    names.answer
                ));
            }
        }
        TaskStatus::Completed | TaskStatus::Failed => {
            text.push_str(&format!(" Call {} for its result.", names.result));
        }
        TaskStatus::Working => {
            text.push_str(&format!(
                " Call {} again later, or {} to stop it.",
                names.status, names.cancel
            ));
        }
        _ => {}
    }
    text_result(
        text,
        json!({
            "taskId": id,
            "tool": record.tool,
            "status": record.status,
            "statusMessage": record.status_message(),
            "questions": asks,
            "variables": record.variables(),
            "createdAt": record.created_at,
            "lastUpdatedAt": record.updated_at,
        }),
        false,
    )
}
