//! turul-mcp-server 0.4.5 in its 2026-07-28 era with the Tasks extension
//! (turul-mcp-ext-tasks 0.1.5, in-memory store), serving one task tool,
//! `job`, over streamable HTTP, for the side-by-side benchmark.
//!
//! Configured as a careful user would: the retention sweep on (without it
//! nothing is ever deleted), ended tasks kept one minute like every peer.
//! Not configurable: TCP_NODELAY (`run()` binds and accepts inside).
//!
//! ```text
//! peer-turul-2026 --port N
//! ```

#[path = "../../common/turul_job.rs"]
mod turul_job;

use std::sync::Arc;
use std::time::Duration;
use turul_mcp_ext_tasks::{InMemoryTaskStore, RetentionPolicy};
use turul_mcp_server::McpServer;
use turul_job::JobTool;

/// A marker under 2026-07-28: the core protocol has no execution field.
impl turul_mcp_builders::traits::HasExecution for JobTool {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = turul_job::port();
    let retention = RetentionPolicy {
        orphan_after_ms: Some(15 * 60_000),
        delete_terminal_after_ms: Some(60_000),
        honour_task_ttl: true,
    };
    let server = McpServer::builder()
        .name("peer-turul-2026")
        .version(env!("CARGO_PKG_VERSION"))
        .bind_address(([127, 0, 0, 1], port).into())
        .with_ext_tasks(Arc::new(InMemoryTaskStore::new()))
        .with_ext_tasks_retention(retention, Duration::from_secs(30))
        .ext_task_tool(JobTool::new())
        .build()?;
    turul_job::run_and_announce(server, port).await
}
