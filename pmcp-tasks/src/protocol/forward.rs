//! Requests and notifications this crate does not serve, handed to pmcp's
//! `ServerCore` whole; pmcp's answer comes back as a result or an error.

use crate::domain::RpcError;
use crate::service::host::{answer, Host};
use pmcp::server::auth::AuthContext;
use pmcp::server::core::ProtocolHandler;
use pmcp::types::{JSONRPCRequest, RequestId};
use serde_json::Value;

/// Hands request `method` to pmcp: its result, or its error.
pub(super) async fn request(
    host: &Host,
    id: &Value,
    method: &str,
    params: Value,
    auth: Option<AuthContext>,
) -> Result<Value, RpcError> {
    let request = JSONRPCRequest {
        jsonrpc: "2.0".into(),
        id: pmcp_id(id),
        method: method.to_owned(),
        params: Some(params),
    };
    let (id, request) = pmcp::shared::parse_request(request).map_err(|e| {
        let error: pmcp::types::JSONRPCError = e.into();
        RpcError {
            code: error.code,
            message: error.message,
            data: error.data,
        }
    })?;
    answer(host.core().handle_request(id, request, auth).await.payload)
}

/// Hands a notification to pmcp.
pub(super) async fn notification(host: &Host, message: Value) {
    match pmcp::shared::parse_notification(message) {
        Ok(notification) => {
            if let Err(e) = host.core().handle_notification(notification).await {
                tracing::debug!(error = %e, "notification handler failed");
            }
        }
        Err(e) => tracing::debug!(error = %e, "ignoring an unknown notification"),
    }
}

/// The id pmcp sees for a forwarded request (the caller's id is echoed by
/// this crate, whatever its form).
fn pmcp_id(id: &Value) -> RequestId {
    match id {
        Value::String(s) => RequestId::String(s.clone()),
        Value::Number(n) => n.as_i64().map_or(RequestId::Number(0), RequestId::Number),
        _ => RequestId::Number(0),
    }
}
