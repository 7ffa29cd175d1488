//! The handoff: where a workflow's task stands and what the client is to do
//! next, built once from the task and rendered both as `_meta` (typed) and
//! as a narrative for the model.

use super::state::resolve_arguments;
use super::{substitute, PauseReason, Progress, SequentialWorkflow, StepProgress, PAUSE_KEY};
use crate::domain::{TaskRecord, TaskStatus};
use pmcp::types::tasks::RELATED_TASK_META_KEY;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where a workflow's task stands: the `_meta` entry
/// [`HANDOFF_META_KEY`](super::HANDOFF_META_KEY) of a workflow prompt's
/// answer and of a continuing `tools/call`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handoff {
    /// The workflow's task.
    pub task_id: String,
    /// The workflow prompt's name.
    pub workflow: String,
    /// The task's status.
    pub status: TaskStatus,
    /// Every step's status, in order, as stored in the task (absent only
    /// when the task holds none).
    pub steps: Option<Vec<StepProgress>>,
    /// The step the client is to run next, while the task is not terminal.
    pub next: Option<NextStep>,
    /// The steps after `next`, by name.
    pub remaining: Vec<String>,
}

/// The next step and how to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NextStep {
    /// The step's name.
    pub step: String,
    /// The tool it calls (`None` for a step that only reads resources).
    pub tool: Option<String>,
    /// Its arguments, as far as they resolve.
    pub arguments: Map<String, Value>,
    /// Why the server stopped here, when it tried the step.
    pub reason: Option<PauseReason>,
    /// The step's guidance, with prompt arguments filled in.
    pub guidance: Option<String>,
    /// The ready `tools/call` that continues the task.
    pub call: NextCall,
}

/// A ready `tools/call` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextCall {
    /// Always `tools/call`.
    pub method: String,
    /// Its params: the tool, the arguments and the task in `_meta`.
    pub params: Value,
}

impl Handoff {
    /// The handoff of `record`, a run of `workflow`.
    pub(crate) fn of(workflow: &SequentialWorkflow, record: &TaskRecord) -> Self {
        let mut handoff = Handoff {
            task_id: record.id.clone(),
            workflow: workflow.name().to_owned(),
            status: record.status,
            steps: None,
            next: None,
            remaining: Vec::new(),
        };
        let Ok(progress) = Progress::matching(record, workflow) else {
            handoff.steps = Progress::of(record).map(|p| p.steps);
            return handoff;
        };
        let next_index = progress.next().filter(|_| !record.status.is_terminal());
        if let Some(index) = next_index {
            handoff.next = Some(next_step(workflow, record, index));
            handoff.remaining = progress.steps[index + 1..]
                .iter()
                .map(|s| s.name.clone())
                .collect();
        }
        handoff.steps = Some(progress.steps);
        handoff
    }

    /// A short account for the model: what ran, what is next and why, and
    /// the call that continues.
    pub(crate) fn narrative(&self, record: &TaskRecord) -> String {
        let (name, id) = (&self.workflow, &self.task_id);
        let done: Vec<&str> = self
            .steps
            .iter()
            .flatten()
            .filter(|s| s.status == super::StepStatus::Completed)
            .map(|s| s.name.as_str())
            .collect();
        let done = if done.is_empty() {
            "none yet".to_owned()
        } else {
            done.join(", ")
        };
        match (record.status, &self.next) {
            (TaskStatus::Completed, _) => format!(
                "Workflow '{name}' is complete (task {id}); steps run: {done}. The task's result \
                 (tasks/result on 2025-11-25, tasks/get on 2026-07-28) holds the summary."
            ),
            (TaskStatus::Failed | TaskStatus::Cancelled, _) => format!(
                "Workflow '{name}' (task {id}) ended {}: {}. Steps completed: {done}.",
                record.status,
                record.status_message().unwrap_or("no reason given")
            ),
            (TaskStatus::Working | TaskStatus::InputRequired, None) => format!(
                "Workflow '{name}' (task {id}) cannot go on: the workflow's steps changed since \
                 it started. Steps completed: {done}. Start it again with prompts/get."
            ),
            (TaskStatus::Working | TaskStatus::InputRequired, Some(next)) => {
                let reason = next
                    .reason
                    .as_ref()
                    .map(PauseReason::explain)
                    .unwrap_or_else(|| "it is the client's turn".to_owned());
                let guidance = next
                    .guidance
                    .as_ref()
                    .map(|g| format!(" Guidance: {}.", g.trim_end_matches('.')))
                    .unwrap_or_default();
                let remaining = if self.remaining.is_empty() {
                    "nothing".to_owned()
                } else {
                    self.remaining.join(", ")
                };
                format!(
                    "Workflow '{name}' (task {id}) waits for you. Steps completed: {done}. Next is step '{}': {reason}.{guidance} \
                     Continue by calling tool '{}' with arguments {} (complete what is missing) and \
                     _meta {{\"{RELATED_TASK_META_KEY}\": {{\"taskId\": \"{id}\"}}}}. Remaining after it: {remaining}.",
                    next.step,
                    next.tool.as_deref().unwrap_or(""),
                    Value::Object(next.arguments.clone()),
                )
            }
        }
    }
}

fn next_step(workflow: &SequentialWorkflow, record: &TaskRecord, index: usize) -> NextStep {
    let step = &workflow.steps()[index];
    let prompt_args = record
        .arguments
        .parse::<serde_json::Map<_, _>>()
        .unwrap_or_default();
    let resolved = resolve_arguments(workflow, step, &prompt_args, record);
    let tool = step.tool().map(|t| t.name().to_owned());
    let reason: Option<PauseReason> = record
        .variables()
        .get(PAUSE_KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let mut params = Map::new();
    params.insert(
        "name".into(),
        tool.clone().map_or(Value::Null, Value::String),
    );
    params.insert(
        "arguments".into(),
        Value::Object(resolved.arguments.clone()),
    );
    params.insert(
        "_meta".into(),
        serde_json::json!({RELATED_TASK_META_KEY: {"taskId": record.id}}),
    );
    NextStep {
        step: step.name().to_string(),
        tool,
        arguments: resolved.arguments,
        reason,
        guidance: step.guidance().map(|g| substitute(g, &prompt_args)),
        call: NextCall {
            method: "tools/call".into(),
            params: Value::Object(params),
        },
    }
}
