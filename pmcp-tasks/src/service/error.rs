//! Why a task operation failed, in the service's terms: no JSON-RPC code,
//! no era, no HTTP status (the protocol layer maps each variant once).

use crate::domain::{DomainError, RpcError, TaskStatus};
use crate::execution::StartError;
use crate::store::{StoreError, UpdateError};

/// Why a task operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ServiceError {
    /// The owner policy refuses anonymous callers.
    #[error("Authentication required: this server only runs tasks for authenticated callers")]
    AuthenticationRequired,
    /// No tool of this name, ours or pmcp's.
    #[error("Unknown tool: '{0}'; tools/list shows the tools of this server")]
    UnknownTool(String),
    /// A task was asked of a plain pmcp tool, which cannot run as one.
    #[error(
        "Tool '{0}' does not support running as a task (tools/list declares no \
         execution.taskSupport for it); call it without params.task"
    )]
    NotATaskTool(String),
    /// A task was asked of a task tool whose support is `forbidden`.
    #[error(
        "Tool '{0}' cannot run as a task (its execution.taskSupport is 'forbidden'); \
         call it without params.task"
    )]
    TaskForbidden(String),
    /// A `required` tool was called without a task.
    #[error(
        "Tool '{0}' must run as a task (its execution.taskSupport is 'required'); \
         add \"task\": {{}} to the tools/call params"
    )]
    TaskRequired(String),
    /// The tool's arguments do not parse.
    #[error("invalid arguments for tool '{tool}': {reason}")]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// What serde said.
        reason: String,
    },
    /// No such task for this owner (unknown, foreign or expired: the three
    /// answer alike).
    #[error(
        "Task not found: no task '{0}' for this caller (it may never have existed, belong to \
         someone else, or have expired)"
    )]
    TaskNotFound(String),
    /// A `tasks/list` cursor this server did not hand to this caller.
    #[error("Invalid cursor: pass the nextCursor of an earlier tasks/list answer unchanged")]
    InvalidCursor,
    /// The task is terminal, so it cannot be cancelled.
    #[error("Cannot cancel task: already in terminal status '{status}'")]
    AlreadyTerminal {
        /// The task.
        id: String,
        /// Its terminal status.
        status: TaskStatus,
    },
    /// The owner has as many unfinished tasks as allowed.
    #[error(
        "Too many unfinished tasks: this caller has {active} and the limit is {limit}; a place \
         frees as soon as one of them finishes or is cancelled"
    )]
    TooManyTasks {
        /// Unfinished tasks the owner has.
        active: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Shutdown has begun.
    #[error("The server is shutting down and accepts no new tasks; retry on another instance")]
    ShuttingDown,
    /// The task was cancelled before it finished: it has no result.
    #[error("Task '{0}' was cancelled before it finished, so it has no result")]
    NoResult(String),
    /// The request's own JSON-RPC error: a tool's, pmcp's, or a failed
    /// task's stored outcome. Passed through unchanged.
    #[error("{}", .0.message)]
    Failed(RpcError),
    /// A change the task's state does not allow (an input key reused, a
    /// lease held elsewhere, variables over the limit).
    #[error(transparent)]
    Refused(DomainError),
    /// A request a workflow cannot take (a wrong step, a finished run).
    #[error("{0}")]
    Workflow(String),
    /// The store failed.
    #[error("Task storage failed: {0}")]
    Storage(String),
}

impl ServiceError {
    /// A store failure while working on task `id`.
    pub(crate) fn store(e: StoreError, id: &str) -> Self {
        match e {
            StoreError::NotFound => ServiceError::TaskNotFound(id.to_owned()),
            StoreError::InvalidCursor => ServiceError::InvalidCursor,
            StoreError::LimitExceeded { active, limit } => {
                ServiceError::TooManyTasks { active, limit }
            }
            other => ServiceError::Storage(other.to_string()),
        }
    }

    /// A failed read-modify-write of task `id`.
    pub(crate) fn update(e: UpdateError, id: &str) -> Self {
        match e {
            UpdateError::Store(s) => Self::store(s, id),
            UpdateError::Domain(DomainError::Terminal(status)) => ServiceError::AlreadyTerminal {
                id: id.to_owned(),
                status,
            },
            UpdateError::Domain(d) => ServiceError::Refused(d),
        }
    }
}

impl From<StartError> for ServiceError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::ShuttingDown => ServiceError::ShuttingDown,
            StartError::Store(s) => Self::store(s, ""),
        }
    }
}
