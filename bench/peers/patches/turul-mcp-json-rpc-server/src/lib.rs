//! The names turul-mcp-protocol-2025-11-25 0.3.47 takes from
//! turul-mcp-json-rpc-server, taken from turul-rpc 0.2 (see Cargo.toml).

pub use turul_rpc::{error, error_codes, notification, prelude, request, response, types};
pub use turul_rpc::{JsonRpcError, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse};
pub use turul_rpc::{JsonRpcVersion, RequestId, RequestParams, ResponseResult, JSONRPC_VERSION};

#[cfg(feature = "async")]
pub use turul_rpc::r#async;
