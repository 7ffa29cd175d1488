//! Workflow prompts as durable tasks: pmcp's [`SequentialWorkflow`] run on
//! this crate's task runtime.
//!
//! Register a workflow with [`TaskServerBuilder::workflow`](crate::TaskServerBuilder::workflow)
//! or `#[task_workflow]`. Then `prompts/get` for it creates a task owned by
//! the caller and runs every step the server can resolve, in order, calling
//! the registered tools (task tools included). It stops at the first step
//! that needs the client and answers with the conversation so far plus a
//! structured handoff under `_meta` ([`HANDOFF_META_KEY`]): the task id, each
//! step's status, the next step's tool and resolved arguments, the typed
//! [`PauseReason`], and what remains.
//!
//! The client continues by calling the next step's tool with the task id in
//! `_meta["io.modelcontextprotocol/related-task"]`. The server records that
//! step's outcome in the same task, runs the steps after it that it can,
//! and answers the tool's own result with the updated handoff. When the last
//! step is done the task completes with a summary of every step; a step the
//! client ran that failed fails the task with that step's error; the task
//! can be cancelled at any point.
//!
//! Everything lives in the task, so a workflow survives restarts and moves
//! between instances sharing a durable store: each step's status is in the
//! variable [`PROGRESS_KEY`], each completed step's output in
//! [`result_key`]`(step)` (completed steps are replayed from there, never
//! run again), and the current pause in [`PAUSE_KEY`]. The client sees all
//! three in the task's `_meta["pmcp:variables"]`.
//!
//! A step's output, for the steps that read it (`DataSource::from_step`),
//! is the tool result's `structuredContent`, else its first text content
//! parsed as JSON, else that text.

mod engine;
mod handoff;
mod journal;
mod state;

pub use handoff::{Handoff, NextCall, NextStep};
pub use pmcp::server::workflow::{DataSource, SequentialWorkflow, ToolHandle, WorkflowStep};
pub use state::{PauseReason, Progress, StepProgress, StepStatus};

pub(crate) use engine::{Caller, Workflows};
pub(crate) use state::substitute;

/// The prefix of the task variables a workflow keeps its state in; clients
/// cannot write them.
pub const RESERVED_VARIABLE_PREFIX: &str = "_workflow.";

/// Task variable holding each step's status ([`Progress`]).
pub const PROGRESS_KEY: &str = "_workflow.progress";

/// Task variable holding why the workflow waits for the client
/// ([`PauseReason`]); absent while it does not wait.
pub const PAUSE_KEY: &str = "_workflow.pause_reason";

/// `_meta` key of the structured handoff in a workflow prompt's answer and
/// in the answer to a continuation's `tools/call`.
pub const HANDOFF_META_KEY: &str = "pmcp-tasks/workflow";

/// Task variable holding a completed step's output.
pub fn result_key(step: &str) -> String {
    format!("_workflow.result.{step}")
}

/// The task `tool` field of a workflow's task: the prompt's name, marked so
/// it can never be confused with a tool's.
pub(crate) fn task_tool_name(workflow: &str) -> String {
    format!("{WORKFLOW_TASK_PREFIX}{workflow}")
}

/// The workflow a task runs, if it is a workflow's task.
pub(crate) fn workflow_of_task(tool: &str) -> Option<&str> {
    tool.strip_prefix(WORKFLOW_TASK_PREFIX)
}

const WORKFLOW_TASK_PREFIX: &str = "prompt:";
