//! pmcp's `ServerCore`, reached through typed requests: its plain tools
//! (listed, called), its resources (read), and, for the router, any request
//! this crate does not serve itself.
//!
//! pmcp 2.23 has no getter for the handlers registered on its builder, so
//! its dispatcher is the only way in: each call here builds pmcp's own
//! request type and unwraps pmcp's answer, with no JSON-RPC text on the way.

use crate::domain::{code, RpcError};
use pmcp::server::auth::AuthContext;
use pmcp::server::core::{ProtocolHandler, ServerCore};
use pmcp::types::jsonrpc::ResponsePayload;
use pmcp::types::{
    CallToolRequest, ClientRequest, Content, JSONRPCRequest, ListToolsRequest, ReadResourceRequest,
    ReadResourceResult, Request, RequestId, ToolInfo,
};
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::sync::OnceCell;

/// The pmcp server under this crate.
pub(crate) struct Host {
    core: ServerCore,
    /// pmcp's plain tools by name, read on first need (they never change
    /// after build).
    tools: OnceCell<BTreeMap<String, ToolInfo>>,
}

impl Host {
    pub(crate) fn new(core: ServerCore) -> Self {
        Host {
            core,
            tools: OnceCell::new(),
        }
    }

    pub(crate) fn core(&self) -> &ServerCore {
        &self.core
    }

    /// pmcp's plain tools, by name.
    pub(crate) async fn tools(&self) -> &BTreeMap<String, ToolInfo> {
        self.tools
            .get_or_init(|| async {
                let list = ClientRequest::ListTools(ListToolsRequest::default());
                match self.ask(list, None).await {
                    Ok(result) => serde_json::from_value::<pmcp::types::ListToolsResult>(result)
                        .map(|r| r.tools.into_iter().map(|t| (t.name.clone(), t)).collect())
                        .unwrap_or_default(),
                    Err(e) => {
                        tracing::warn!(error = %e.message, "pmcp did not list its tools");
                        BTreeMap::new()
                    }
                }
            })
            .await
    }

    /// pmcp's plain tool `name`, if it has one.
    pub(crate) async fn tool(&self, name: &str) -> Option<&ToolInfo> {
        self.tools().await.get(name)
    }

    /// Calls pmcp's plain tool `name`: its `CallToolResult`, or its error.
    pub(crate) async fn call_tool(
        &self,
        name: &str,
        arguments: Value,
        auth: Option<AuthContext>,
    ) -> Result<Value, RpcError> {
        let request = ClientRequest::CallTool(CallToolRequest::new(name, arguments));
        self.ask(request, auth).await
    }

    /// The text of resource `uri` (each content's text, or its JSON when it
    /// has none), read through pmcp.
    pub(crate) async fn read_text(
        &self,
        uri: &str,
        auth: Option<AuthContext>,
    ) -> Result<Vec<String>, RpcError> {
        let request = ClientRequest::ReadResource(ReadResourceRequest {
            uri: uri.to_owned(),
            _meta: None,
        });
        let result = self.ask(request, auth).await?;
        let read: ReadResourceResult = serde_json::from_value(result)
            .map_err(|e| RpcError::internal(format!("pmcp answered resources/read oddly: {e}")))?;
        Ok(read
            .contents
            .iter()
            .map(|content| match content {
                Content::Text { text } => text.clone(),
                Content::Resource {
                    text: Some(text), ..
                } => text.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            })
            .collect())
    }

    /// Hands a request this crate does not serve to pmcp: its result, or
    /// its error.
    pub(crate) async fn forward(
        &self,
        id: &Value,
        method: &str,
        params: Option<Value>,
        auth: Option<AuthContext>,
    ) -> Result<Value, RpcError> {
        let request = JSONRPCRequest {
            jsonrpc: "2.0".into(),
            id: pmcp_id(id),
            method: method.to_owned(),
            params,
        };
        let (id, request) = pmcp::shared::parse_request(request).map_err(|e| {
            let error: pmcp::types::JSONRPCError = e.into();
            RpcError {
                code: error.code,
                message: error.message,
                data: error.data,
            }
        })?;
        answer(self.core.handle_request(id, request, auth).await.payload)
    }

    /// Hands a notification to pmcp.
    pub(crate) async fn notify(&self, message: Value) {
        match pmcp::shared::parse_notification(message) {
            Ok(notification) => {
                if let Err(e) = self.core.handle_notification(notification).await {
                    tracing::debug!(error = %e, "notification handler failed");
                }
            }
            Err(e) => tracing::debug!(error = %e, "ignoring an unknown notification"),
        }
    }

    async fn ask(
        &self,
        request: ClientRequest,
        auth: Option<AuthContext>,
    ) -> Result<Value, RpcError> {
        let request = Request::Client(Box::new(request));
        let response = self
            .core
            .handle_request(RequestId::Number(0), request, auth)
            .await;
        answer(response.payload)
    }
}

/// pmcp's answer as a result or an error.
fn answer(payload: ResponsePayload<Value, pmcp::types::JSONRPCError>) -> Result<Value, RpcError> {
    match payload {
        ResponsePayload::Result(result) => Ok(result),
        ResponsePayload::Error(error) => Err(RpcError {
            code: if error.code == 0 {
                code::INTERNAL_ERROR
            } else {
                error.code
            },
            message: error.message,
            data: error.data,
        }),
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
