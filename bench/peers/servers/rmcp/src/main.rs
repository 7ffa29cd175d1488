//! rmcp 3.11 serving one task tool, `job`, over streamable HTTP, with its
//! `TaskManager` (the 2026-07-28 Tasks extension, SEP-2663), for the
//! side-by-side benchmark (`bench/peers`).
//!
//! Configured as a careful user would: JSON answers (no SSE framing for
//! request/response calls), no legacy sessions (2026-07-28 is stateless),
//! TCP_NODELAY on every accepted socket (so that no answer written in
//! pieces waits for the client's delayed ACK) and a bounded task TTL (the task
//! manager sweeps all its entries on every call, so what it keeps must be
//! bounded). rmcp has no 2025-11-25 task support, no `tasks/result` and
//! no `tasks/list`; tasks live in process memory only.
//!
//! ```text
//! peer-rmcp --port 0
//! ```

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock,
    CreateTaskResult, GetTaskParams, GetTaskResult, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool, UpdateTaskParams,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::task_manager::{TaskManager, TaskOptions};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler};
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
struct JobServer {
    tasks: TaskManager,
    tool: Arc<Tool>,
}

impl JobServer {
    fn new(tasks: TaskManager) -> Self {
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

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = arg("--port").or_else(|| std::env::var("PORT").ok()).unwrap_or_else(|| "0".into()).parse()?;
    let tasks = TaskManager::new();
    let config = StreamableHttpServerConfig::default()
        .with_json_response(true)
        .with_legacy_session_mode(false);
    // The tool's description is built once; each request gets a clone.
    let handler = JobServer::new(tasks);
    let service = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        // Without it an answer written in two pieces waits for the client's
        // delayed ACK (~40 ms).
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}
