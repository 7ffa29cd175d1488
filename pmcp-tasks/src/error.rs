//! Errors of the handler-facing API.

use crate::domain::{code, DomainError, RpcError};
use crate::store::{StoreError, UpdateError};
use std::fmt;

/// Why a [`TaskContext`](crate::TaskContext) operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The task was cancelled (by the client, by expiry or by shutdown);
    /// the body should stop.
    #[error("the task was cancelled")]
    Cancelled,
    /// The task no longer exists: its TTL ran out and it was deleted.
    #[error("the task no longer exists (its TTL ran out)")]
    Gone,
    /// The change is not allowed in the task's current state.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A variable could not be converted to or from JSON.
    #[error("task variable '{name}' could not be converted: {source}")]
    Variable {
        /// The variable's name.
        name: String,
        /// What serde said.
        source: serde_json::Error,
    },
    /// [`TaskContext::elicit`](crate::TaskContext::elicit) was asked for a
    /// type that an MCP elicitation form cannot hold; nothing was sent.
    #[error("`{type_name}` cannot be an elicitation form: {reason}")]
    Form {
        /// The type asked for.
        type_name: &'static str,
        /// What does not fit, naming the field.
        reason: String,
    },
    /// The client's answer does not fit the type asked for.
    #[error("the answer to '{key}' does not fit the form: {source}")]
    Answer {
        /// The question's key.
        key: String,
        /// What serde said.
        source: serde_json::Error,
    },
    /// The client that created the task declared no elicitation
    /// capability, so a form it would never answer is not sent: the tool
    /// can fall back (a default, a task variable), or fail saying why.
    #[error("the client cannot answer the question '{key}': it declared no elicitation capability when it connected, so it cannot fill in forms; use a client that supports elicitation")]
    ClientCannotAnswer {
        /// The question's key.
        key: String,
    },
    /// The client answered a plain call's question with an error.
    #[error("the client could not answer the question '{key}': {message}")]
    ClientRefused {
        /// The question's key.
        key: String,
        /// What the client said.
        message: String,
    },
    /// The tool was called without a task, so there is no client to ask.
    #[error("this call is not running as a task, so it cannot ask the client for input")]
    NotATask,
}

impl From<StoreError> for TaskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => TaskError::Gone,
            other => TaskError::Store(other),
        }
    }
}

impl From<UpdateError> for TaskError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Store(s) => s.into(),
            UpdateError::Domain(d) => TaskError::Domain(d),
        }
    }
}

/// The error a tool body returns.
///
/// By default it becomes a tool result with `isError: true` carrying the
/// message (the model sees it; on 2025-11-25 the task is `failed`, on
/// 2026-07-28 `completed`, as each spec says). [`ToolError::protocol`] makes a
/// JSON-RPC error instead, which fails the task in both eras.
///
/// Any `std::error::Error` converts into it, so `?` works in tool bodies.
pub struct ToolError {
    kind: ToolErrorKind,
}

enum ToolErrorKind {
    Message(String),
    Protocol(RpcError),
}

impl ToolError {
    /// A tool-level failure the model should read.
    pub fn new(message: impl fmt::Display) -> Self {
        ToolError {
            kind: ToolErrorKind::Message(message.to_string()),
        }
    }

    /// A JSON-RPC error with this code: the request itself failed.
    pub fn protocol(code: i32, message: impl fmt::Display) -> Self {
        ToolError {
            kind: ToolErrorKind::Protocol(RpcError::new(code, message.to_string())),
        }
    }

    /// `-32602 Invalid params`, for arguments that parse but make no sense.
    pub fn invalid_params(message: impl fmt::Display) -> Self {
        Self::protocol(code::INVALID_PARAMS, message)
    }

    /// The JSON-RPC error, if this is a protocol error.
    pub fn as_protocol(&self) -> Option<&RpcError> {
        match &self.kind {
            ToolErrorKind::Protocol(e) => Some(e),
            ToolErrorKind::Message(_) => None,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match &self.kind {
            ToolErrorKind::Message(m) => m,
            ToolErrorKind::Protocol(e) => &e.message,
        }
    }

    pub(crate) fn into_parts(self) -> Result<String, RpcError> {
        match self.kind {
            ToolErrorKind::Message(m) => Ok(m),
            ToolErrorKind::Protocol(e) => Err(e),
        }
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ToolErrorKind::Message(m) => f.debug_tuple("ToolError").field(m).finish(),
            ToolErrorKind::Protocol(e) => f.debug_tuple("ToolError::Protocol").field(e).finish(),
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ToolError {
    fn from(e: E) -> Self {
        let any: &(dyn std::error::Error + 'static) = &e;
        if let Some(task) = any.downcast_ref::<TaskError>() {
            // Runtime failures are not the tool's fault: report them as
            // internal errors rather than as a result the model should read.
            return ToolError::protocol(code::INTERNAL_ERROR, task);
        }
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        ToolError::new(message)
    }
}
