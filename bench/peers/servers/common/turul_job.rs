//! The `job` tool for both turul servers (each era is its own package, as
//! turul's eras are exclusive cargo features), plus their shared start-up.
//! Included by `#[path]`, so each package compiles it against its own era.

use std::collections::HashMap;
use std::time::Duration;
use turul_mcp_protocol::schema::JsonSchema;
use turul_mcp_protocol::tools::{CallToolResult, ToolResult};
use turul_mcp_protocol::ToolSchema;
use turul_mcp_server::prelude::*;

/// The length of `job`'s text result (the same on every peer).
const RESULT_CHARS: usize = 1024;

/// The 1 KB text every peer's `job` answers: `job N ` padded with `x`.
pub fn job_text(n: u64) -> String {
    let mut text = format!("job {n} ");
    text.extend(std::iter::repeat_n('x', RESULT_CHARS.saturating_sub(text.len())));
    text
}

/// Finishes at once with a 1 KB text result. Written against turul's traits
/// by hand (no derive macro), which is what its derive generates.
pub struct JobTool {
    schema: ToolSchema,
}

impl JobTool {
    pub fn new() -> Self {
        let mut properties = HashMap::new();
        properties.insert("n".to_string(), JsonSchema::integer());
        let schema = ToolSchema::object()
            .with_properties(turul_mcp_builders::tool_props(properties))
            .with_required(vec!["n".to_string()]);
        JobTool { schema }
    }
}

impl HasBaseMetadata for JobTool {
    fn name(&self) -> &str {
        "job"
    }
}
impl HasDescription for JobTool {
    fn description(&self) -> Option<&str> {
        Some("Finishes at once with a 1 KB text result")
    }
}
impl HasInputSchema for JobTool {
    fn input_schema(&self) -> &ToolSchema {
        &self.schema
    }
}
impl HasOutputSchema for JobTool {}
impl HasAnnotations for JobTool {}
impl HasToolMeta for JobTool {}
impl HasIcons for JobTool {}

#[async_trait]
impl McpTool for JobTool {
    async fn call(&self, args: serde_json::Value, _s: Option<SessionContext>) -> McpResult<CallToolResult> {
        let n = args
            .get("n")
            .and_then(|n| n.as_u64())
            .ok_or_else(|| McpError::InvalidParameters("`n` (an integer >= 0) is required".into()))?;
        Ok(CallToolResult::success(vec![ToolResult::text(job_text(n))]))
    }
}

/// `--port N` (or `PORT`). turul binds the port itself, so it cannot be 0:
/// the driver picks a free one.
pub fn port() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("PORT").ok())
        .and_then(|p| p.parse().ok())
        .filter(|p| *p != 0)
        .expect("--port N (a fixed port: turul binds it itself)")
}

/// Runs `server` and announces readiness once its port answers: turul's
/// `run()` binds inside and says nothing a caller can wait on.
pub async fn run_and_announce(server: McpServer, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let running = tokio::spawn(async move { server.run().await });
    loop {
        if running.is_finished() {
            running.await??;
            return Err("the server stopped".into());
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("listening on 127.0.0.1:{port}");
    running.await??;
    Ok(())
}
