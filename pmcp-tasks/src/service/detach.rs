//! A plain `tools/call` of a task tool that takes too long: the tool runs as
//! a task owned by the caller, and after [`TaskTool::detach_after`] the call
//! answers a normal result saying where the job went and how to follow it
//! (the companion tools), instead of holding the client past its timeout.

use super::call::{CallOutcome, TaskRequest};
use super::{outcome, Owner, ServiceError, TaskService};
use crate::domain::{Era, TaskRecord};
use crate::tool::TaskTool;
use serde_json::{json, Value};
use std::collections::BTreeMap;

impl TaskService {
    /// Runs a plain call of `tool` as a task; answers its result if it ends
    /// within the tool's `detach_after`, else where to follow it.
    pub(super) async fn call_detaching(
        &self,
        tool: &TaskTool,
        owner: &Owner,
        era: Era,
        arguments: Value,
    ) -> Result<CallOutcome, ServiceError> {
        let wait = tool.detach_after.unwrap_or_default();
        let body = tool
            .prepare(arguments.clone())
            .map_err(|e| ServiceError::InvalidArguments {
                tool: tool.name.clone(),
                reason: e.0,
            })?;
        // The caller did not say whether it answers forms: its questions wait
        // for the answer companion rather than failing.
        let request = TaskRequest::default();
        let record = self
            .create_task(tool, owner, era, arguments, request, BTreeMap::new(), body)
            .await?;
        let ended = tokio::time::timeout(
            wait,
            self.wait_until(owner, &record.id, |t| t.status.is_terminal()),
        )
        .await;
        match ended {
            Ok(Ok(done)) => outcome(&done).map(CallOutcome::Ran),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                let now = self.get(owner, &record.id).await?;
                tracing::info!(task = %now.id, owner = %owner.as_str(), tool = %tool.name, "plain call detached into a background task");
                Ok(CallOutcome::Ran(self.detached_answer(&now)))
            }
        }
    }

    /// What a plain call that detached answers.
    fn detached_answer(&self, record: &TaskRecord) -> Value {
        let names = self.companions().cloned().unwrap_or_default();
        let id = &record.id;
        let mut text = format!(
            "'{}' is still running, as background task {id}; it goes on without you. \
             To follow it call {} with {{\"taskId\": \"{id}\"}}; when it is done, {} returns \
             its result; {} stops it.",
            record.tool, names.status, names.result, names.cancel
        );
        if let Some(message) = &record.status_message {
            text.push_str(&format!(" Last report: {message}."));
        }
        json!({
            "content": [{"type": "text", "text": text}],
            "structuredContent": {
                "taskId": id,
                "status": record.status,
                "statusMessage": record.status_message,
                "next": {
                    "status": names.status,
                    "result": names.result,
                    "cancel": names.cancel,
                    "answer": names.answer,
                },
            },
        })
    }
}
