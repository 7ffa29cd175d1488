//! Why a task operation failed, in the service's terms: no JSON-RPC code,
//! no era, no HTTP status (the protocol layer maps each variant once).

use crate::domain::{DomainError, RpcError, TaskStatus};
use crate::execution::StartError;
use crate::store::{QuotaKind, StoreError, UpdateError};

/// Why a task operation failed. The texts here are for logs; the protocol
/// layer writes the message a client reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ServiceError {
    /// The owner policy refuses anonymous callers.
    #[error("an authenticated caller is required")]
    AuthenticationRequired,
    /// No tool of this name, ours or pmcp's.
    #[error("unknown tool '{0}'")]
    UnknownTool(String),
    /// A task was asked of a plain pmcp tool, which cannot run as one.
    #[error("tool '{0}' has no task support")]
    NotATaskTool(String),
    /// A task was asked of a task tool whose support is `forbidden`.
    #[error("tool '{0}' must not run as a task")]
    TaskForbidden(String),
    /// A `required` tool was called without a task.
    #[error("tool '{0}' must run as a task")]
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
    #[error("no task '{0}' for this caller")]
    TaskNotFound(String),
    /// `tasks/list` from a caller whose tasks are bound to no one (an
    /// anonymous request on no session).
    #[error("tasks of this caller are not bound to it, so they cannot be listed")]
    Unlisted,
    /// A `tasks/list` cursor this server did not hand to this caller.
    #[error("a cursor this server did not hand to this caller")]
    InvalidCursor,
    /// A cancel of a task that is already terminal.
    #[error("task '{id}' is already '{status}' and cannot be cancelled")]
    AlreadyTerminal {
        /// The task.
        id: String,
        /// Its terminal status.
        status: TaskStatus,
    },
    /// Any other change of a task that is already terminal.
    #[error("task '{id}' has already ended ('{status}')")]
    Ended {
        /// The task.
        id: String,
        /// Its terminal status.
        status: TaskStatus,
    },
    /// The owner is at one of its quotas (unfinished tasks, stored tasks,
    /// stored bytes): see [`OwnerQuota`](crate::store::OwnerQuota).
    #[error("the caller is over its quota of {quota}: it holds {used}, the limit is {limit}")]
    OverQuota {
        /// Which quota.
        quota: QuotaKind,
        /// What the owner holds of it.
        used: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The owner creates tasks faster than allowed.
    #[error("the caller creates tasks too fast; retry in {retry_after:?}")]
    RateLimited {
        /// The configured rate.
        per_minute: u32,
        /// When a creation would be admitted.
        retry_after: std::time::Duration,
    },
    /// The tool asks a question before its task exists, in a form the
    /// caller declared it cannot fill in.
    #[error("tool '{tool}' asks the question '{key}' before it starts, as a form, and this client declared no elicitation capability, so it could never answer; use a client that supports elicitation")]
    CannotAsk {
        /// The tool.
        tool: String,
        /// The question's key.
        key: String,
    },
    /// The client cancelled its plain call (`notifications/cancelled`).
    #[error("the call was cancelled by the client")]
    CallCancelled,
    /// Shutdown has begun.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The task was cancelled before it finished: it has no result.
    #[error("task '{0}' was cancelled before it finished, so it has no result")]
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
    /// An idempotency key that cannot be honoured (used with other
    /// arguments, its task expired, or a caller with no identity).
    #[error("{0}")]
    IdempotencyKey(String),
    /// The store cannot be reached now (a Redis restart, say).
    #[error("the task store is unavailable: {0}")]
    StoreUnavailable(String),
    /// The store failed.
    #[error("task storage failed: {0}")]
    Storage(String),
}

impl ServiceError {
    /// A store failure while working on task `id`.
    pub(crate) fn store(e: StoreError, id: &str) -> Self {
        match e {
            StoreError::NotFound => ServiceError::TaskNotFound(id.to_owned()),
            StoreError::InvalidCursor => ServiceError::InvalidCursor,
            StoreError::LimitExceeded { quota, used, limit } => {
                ServiceError::OverQuota { quota, used, limit }
            }
            StoreError::Unavailable(why) => ServiceError::StoreUnavailable(why),
            other => ServiceError::Storage(other.to_string()),
        }
    }

    /// A failed read-modify-write of task `id`.
    pub(crate) fn update(e: UpdateError, id: &str) -> Self {
        match e {
            UpdateError::Store(s) => Self::store(s, id),
            UpdateError::Domain(DomainError::Terminal(status)) => ServiceError::Ended {
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
