//! Requests and notifications this crate does not serve, handed to pmcp's
//! `ServerCore` whole; pmcp's answer comes back as a result or an error.

use crate::domain::{code, RpcError};
use crate::service::host::{answer, Host};
use pmcp::server::auth::AuthContext;
use pmcp::server::core::ProtocolHandler;
use pmcp::types::{ClientRequest, JSONRPCRequest, Request, RequestId};
use serde_json::{json, Value};

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
    let params = request.params.clone().unwrap_or(Value::Null);
    let (id, request) =
        pmcp::shared::parse_request(request).map_err(|_| unparsed(method, params))?;
    let unknown_prompt = match &request {
        Request::Client(client) => match client.as_ref() {
            ClientRequest::GetPrompt(get) if !host.has_prompt(&get.name).await => {
                Some(get.name.clone())
            }
            ClientRequest::ReadResource(_) if !host.has_resources() => {
                return Err(RpcError::new(
                    code::METHOD_NOT_FOUND,
                    "Method not found: resources/read (this server offers no resources)",
                ));
            }
            _ => None,
        },
        Request::Server(_) => None,
    };
    if let Some(name) = unknown_prompt {
        return Err(RpcError::invalid_params(format!(
            "Unknown prompt: '{name}'; prompts/list shows the prompts of this server"
        )));
    }
    answer(host.core().handle_request(id, request, auth).await.payload)
}

/// Why pmcp could not read a request: an MCP method with params that do
/// not fit it is `-32602` naming what serde found; anything else is a
/// method pmcp does not have (`-32601`).
fn unparsed(method: &str, params: Value) -> RpcError {
    if !MCP_CLIENT_METHODS.contains(&method) {
        return RpcError::new(
            code::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        );
    }
    let params = if params.is_null() { json!({}) } else { params };
    let reason =
        serde_json::from_value::<ClientRequest>(json!({"method": method, "params": params}))
            .err()
            .map_or_else(
                || "they do not fit the method".to_owned(),
                |e| e.to_string(),
            );
    RpcError::invalid_params(format!("Invalid params for {method}: {reason}"))
}

/// The client-to-server requests of MCP that pmcp reads.
const MCP_CLIENT_METHODS: [&str; 13] = [
    "ping",
    "initialize",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "logging/setLevel",
    "completion/complete",
];

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
