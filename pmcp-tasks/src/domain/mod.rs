//! Domain layer: the task record, its status machine and its limits.
//!
//! Nothing here knows about storage, execution or the wire.

mod changes;
mod era;
mod json_len;
mod lifetime;
mod limits;
mod raw_json;
mod record;
mod record_serde;
mod rpc;
mod status;
mod suspension;
mod timestamp;

pub(crate) use changes::merge_patch;
pub use era::Era;
pub(crate) use json_len::json_len;
pub use lifetime::RECOVERY_GRACE;
pub use limits::Limits;
pub use raw_json::RawJson;
pub(crate) use record::{first_text, is_error_result, unreadable_result};
pub use record::{Lease, NewTask, ProgressMark, TaskOutcome, TaskRecord, STATUS_MESSAGE_MAX_CHARS};
pub use rpc::{code, RpcError};
pub use status::TaskStatus;

/// A change the domain rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The status machine does not allow this move.
    #[error("a task cannot move from '{from}' to '{to}'")]
    InvalidTransition {
        /// Current status.
        from: TaskStatus,
        /// Refused status.
        to: TaskStatus,
    },
    /// The task is terminal and can no longer change.
    #[error("the task is already in terminal status '{0}'")]
    Terminal(TaskStatus),
    /// A client wrote a variable the server keeps for itself.
    #[error("task variable '{0}' is the server's own (keys starting with '_workflow.' hold a workflow's state); clients cannot write it")]
    ReservedVariable(String),
    /// The variables would exceed the configured size.
    #[error("task variables would take {size} bytes, more than the limit of {limit} bytes")]
    VariablesTooLarge {
        /// Size the change would produce.
        size: usize,
        /// Configured maximum.
        limit: usize,
    },
    /// The task's lease is held by another instance, or is still live: it
    /// is not this instance's to renew or take over.
    #[error("the task's lease is held elsewhere")]
    LeaseHeldElsewhere,
    /// An input key was used twice over the task's life.
    #[error("input key '{0}' was already answered; input keys are unique over a task's life")]
    InputKeyReused(String),
    /// A body cannot let go of its worker: the answer it waits for is in,
    /// or it waits for none.
    #[error("the task is not waiting for input '{0}'")]
    NotWaiting(String),
    /// Only a suspended task whose questions are all answered is resumed.
    #[error("the task is not suspended with its input answered")]
    NotSuspended,
}
