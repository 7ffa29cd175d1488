//! turul-mcp-server 0.4.5 in its 2025-11-25 era, serving one task tool,
//! `job`, over streamable HTTP, with the in-memory task storage of
//! turul-mcp-task-storage 0.4.0, for the side-by-side benchmark.
//!
//! Configured as a careful user would: unlimited stored tasks (the default
//! refuses the 10,001st task) and a periodic storage maintenance run (TTL
//! expiry), which the server itself never starts. Not configurable:
//! TCP_NODELAY (`run()` binds and accepts inside). Its answers are written
//! in more than one piece, so on a kept-alive connection each may wait for
//! the client's delayed ACK (~40 ms; measured with two different clients,
//! JSON and SSE answers alike). Its 2025-11-25 lane also answers every
//! `tools/call` from a client that accepts SSE (as the spec says clients
//! must) as an SSE stream, whatever `.sse(false)` says. Its `tasks/result`
//! waits until the task ends, as the 2025-11-25 spec says.
//!
//! ```text
//! peer-turul-2025 --port N
//! ```

#[path = "../../common/turul_job.rs"]
mod turul_job;

use std::sync::Arc;
use std::time::Duration;
use turul_mcp_builders::traits::HasExecution;
use turul_mcp_protocol::tools::{TaskSupport, ToolExecution};
use turul_mcp_server::task::runtime::TaskRuntime;
use turul_mcp_server::task_storage::{InMemoryTaskConfig, InMemoryTaskStorage};
use turul_mcp_server::McpServer;
use turul_job::JobTool;

/// 2025-11-25 tools declare task support on the wire.
impl HasExecution for JobTool {
    fn execution(&self) -> Option<ToolExecution> {
        Some(ToolExecution {
            task_support: Some(TaskSupport::Optional),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = turul_job::port();
    let storage = InMemoryTaskStorage::with_config(InMemoryTaskConfig {
        max_tasks: 0, // unlimited: the default refuses task 10,001
        ..InMemoryTaskConfig::default()
    });
    let runtime = Arc::new(TaskRuntime::with_default_executor(Arc::new(storage)));
    // Expire tasks past their TTL (the client asks for one minute); the
    // server never runs this by itself.
    let sweeper = Arc::clone(&runtime);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(30));
        loop {
            every.tick().await;
            let _ = sweeper.maintenance().await;
        }
    });
    let server = McpServer::builder()
        .name("peer-turul-2025")
        .version(env!("CARGO_PKG_VERSION"))
        .bind_address(([127, 0, 0, 1], port).into())
        .tool(JobTool::new())
        .with_task_runtime(runtime)
        .build()?;
    turul_job::run_and_announce(server, port).await
}
