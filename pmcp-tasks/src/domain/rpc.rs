//! JSON-RPC errors as the domain keeps them: the outcome of a failed task,
//! and the codes every layer names instead of writing numbers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JSON-RPC error codes this crate answers with.
pub mod code {
    /// The message is not a valid request.
    pub const INVALID_REQUEST: i32 = -32600;
    /// No such method (or, on 2025-11-25, a task-support mismatch).
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// The params are wrong: bad arguments, an unknown task or cursor.
    pub const INVALID_PARAMS: i32 = -32602;
    /// The server failed.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// The body is not JSON.
    pub const PARSE_ERROR: i32 = -32700;
    /// The caller must authenticate (pmcp's code).
    pub const AUTHENTICATION_REQUIRED: i32 = -32003;
    /// The caller is over a limit (pmcp's `RATE_LIMITED`): too many
    /// unfinished tasks.
    pub const LIMIT_EXCEEDED: i32 = -32005;
    /// The task store cannot be reached right now; retrying shortly can
    /// succeed (the request may or may not have been applied).
    pub const STORE_UNAVAILABLE: i32 = -32006;
    /// A 2026-07-28 routing header contradicts the body.
    pub const HEADER_MISMATCH: i32 = -32020;
    /// The request needs a capability the client did not declare.
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
    /// The request names a protocol version this server does not speak.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
}

/// A JSON-RPC error object, kept as the outcome of a failed task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// The JSON-RPC error code.
    pub code: i32,
    /// A message a person can act on.
    pub message: String,
    /// Extra structured detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with no data.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// `-32603`: the server (or the runtime under a tool) failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, message)
    }

    /// `-32602`: the request's params are wrong.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }

    /// The same error with `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The JSON-RPC error object: `code`, `message` and, if any, `data`.
    pub fn to_json(&self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("code".into(), self.code.into());
        object.insert("message".into(), self.message.clone().into());
        if let Some(data) = &self.data {
            object.insert("data".into(), data.clone());
        }
        Value::Object(object)
    }
}
