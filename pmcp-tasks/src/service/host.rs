//! pmcp's `ServerCore`, reached through typed requests: its plain tools
//! (listed, called) and its resources (read), for the task service and the
//! workflows.
//!
//! pmcp 2.23 has no getter for the handlers registered on its builder, so
//! its dispatcher is the only way in: each call here builds pmcp's own
//! request type and unwraps pmcp's answer. (Requests this crate does not
//! serve at all are forwarded whole by the protocol layer.)

use crate::domain::{code, RpcError};
use pmcp::server::auth::AuthContext;
use pmcp::server::core::{ProtocolHandler, ServerCore};
use pmcp::types::jsonrpc::ResponsePayload;
use pmcp::types::{
    CallToolRequest, ClientRequest, ListPromptsRequest, ListPromptsResult, ListToolsRequest,
    ReadResourceRequest, Request, RequestId, ToolInfo,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::OnceCell;

/// The pmcp server under this crate.
pub(crate) struct Host {
    core: ServerCore,
    /// pmcp's plain tools by name, read on first need (they never change
    /// after build).
    tools: OnceCell<BTreeMap<String, ToolInfo>>,
    /// pmcp's prompt names, read on first need.
    prompts: OnceCell<BTreeSet<String>>,
}

impl Host {
    pub(crate) fn new(core: ServerCore) -> Self {
        Host {
            core,
            tools: OnceCell::new(),
            prompts: OnceCell::new(),
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

    /// Whether pmcp has prompt `name` (its prompts never change after
    /// build either).
    pub(crate) async fn has_prompt(&self, name: &str) -> bool {
        self.prompts
            .get_or_init(|| async {
                let list = ClientRequest::ListPrompts(ListPromptsRequest::default());
                match self.ask(list, None).await {
                    Ok(result) => serde_json::from_value::<ListPromptsResult>(result)
                        .map(|r| r.prompts.into_iter().map(|p| p.name).collect())
                        .unwrap_or_default(),
                    // No prompt handler: no prompts.
                    Err(_) => BTreeSet::new(),
                }
            })
            .await
            .contains(name)
    }

    /// Whether pmcp serves resources at all.
    pub(crate) fn has_resources(&self) -> bool {
        self.core.capabilities().resources.is_some()
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
        // pmcp's wire form of `ReadResourceResult.contents`: flat
        // `ResourceContents`, each with its `text` or its `blob`.
        let contents = result
            .get("contents")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(contents
            .iter()
            .map(|content| {
                content
                    .get("text")
                    .and_then(Value::as_str)
                    .map_or_else(|| content.to_string(), str::to_owned)
            })
            .collect())
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
pub(crate) fn answer(
    payload: ResponsePayload<Value, pmcp::types::JSONRPCError>,
) -> Result<Value, RpcError> {
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
