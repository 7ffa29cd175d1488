//! rmcp 3.11 serving one task tool, `job`, with its `TaskManager` (the
//! 2026-07-28 Tasks extension, SEP-2663), for the side-by-side benchmark
//! (`bench/peers`): the handler the `peer-rmcp` binary serves over
//! streamable HTTP, and that the driver serves in process over an
//! in-memory stream (rmcp's transport for any `AsyncRead + AsyncWrite`).
//!
//! rmcp has no 2025-11-25 task support, no `tasks/result` and no
//! `tasks/list`; tasks live in process memory only.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock,
    CreateTaskResult, GetTaskParams, GetTaskResult, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool, UpdateTaskParams,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::task_manager::{TaskManager, TaskOptions};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use std::sync::Arc;

/// The length of `job`'s text result (the same on every peer).
const RESULT_CHARS: usize = 1024;
/// Tasks expire one minute after creation and are dropped one minute after
/// they end: the same lifetime every peer is given.
const TTL_MS: u64 = 60_000;

/// The 1 KB text every peer's `job` answers: `job N ` padded with `x`.
fn job_text(n: u64) -> String {
    let mut text = format!("job {n} ");
    text.extend(std::iter::repeat_n('x', RESULT_CHARS.saturating_sub(text.len())));
    text
}

/// The handler rmcp builds for each request (stateless HTTP); every copy
/// shares one task manager.
#[derive(Clone)]
pub struct JobServer {
    tasks: TaskManager,
    tool: Arc<Tool>,
}

impl JobServer {
    pub fn new(tasks: TaskManager) -> Self {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 0}},
            "required": ["n"],
        });
        let serde_json::Value::Object(schema) = schema else { unreachable!() };
        let tool = Tool::new("job", "Finishes at once with a 1 KB text result", schema);
        JobServer { tasks, tool: Arc::new(tool) }
    }
}

fn argument_n(request: &CallToolRequestParams) -> Result<u64, McpError> {
    request
        .arguments
        .as_ref()
        .and_then(|a| a.get("n"))
        .and_then(|n| n.as_u64())
        .ok_or_else(|| McpError::invalid_params("`n` (an integer >= 0) is required", None))
}

impl ServerHandler for JobServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if request.name != "job" {
            return Err(McpError::invalid_params(format!("unknown tool {}", request.name), None));
        }
        let n = argument_n(&request)?;
        let result = move || CallToolResult::success(vec![ContentBlock::text(job_text(n))]);
        let wants_task = context
            .client_capabilities()
            .is_some_and(|caps| caps.supports_tasks());
        if !wants_task {
            return Ok(CallToolResponse::from(result()));
        }
        let options = TaskOptions::new().with_ttl_ms(TTL_MS);
        let task = self
            .tasks
            .spawn(options, move |_ctx| Box::pin(async move { Ok(result()) }));
        Ok(CallToolResponse::Task(CreateTaskResult::new(task)))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(vec![(*self.tool).clone()]))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        (name == "job").then(|| (*self.tool).clone())
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        Ok(GetTaskResult::new(self.tasks.get_task(&request.task_id)?))
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.tasks.update_task(&request.task_id, request.input_responses)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.tasks.cancel_task(&request.task_id)
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tasks().build())
    }
}

/// One handler (one task manager) shared by the connections the driver
/// opens in process.
#[derive(Clone)]
pub struct InProcess(JobServer);

impl InProcess {
    pub fn new() -> InProcess {
        InProcess(JobServer::new(TaskManager::new()))
    }

    /// Serves one client over `stream` (newline-delimited JSON-RPC) until
    /// it closes.
    pub async fn serve(self, stream: tokio::io::DuplexStream) {
        if let Ok(running) = self.0.serve(stream).await {
            let _ = running.waiting().await;
        }
    }
}

impl Default for InProcess {
    fn default() -> Self {
        Self::new()
    }
}
