//! pmcp-tasks serving one task tool, `job`, over streamable HTTP, for the
//! side-by-side benchmark (`bench/peers`).
//!
//! `job` finishes at once with a 1 KB text result, so what is measured is
//! the server's own cost per task: protocol, store and transport. Both task
//! eras are served by the same process (2025-11-25 in a session,
//! 2026-07-28 stateless with the Tasks extension).
//!
//! ```text
//! peer-ours --port 0 [--store memory|sqlite:PATH]
//! ```

use pmcp_tasks::{task_tool, AnonymousPolicy, Limits, TaskContext, TaskServer, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The length of `job`'s text result (the same on every peer).
const RESULT_CHARS: usize = 1024;

#[derive(Deserialize, JsonSchema)]
struct JobArgs {
    /// Echoed at the start of the result, so a client can tell results apart.
    n: u64,
}

/// A plain string, so the result is one text block of exactly 1 KB (a
/// struct would also be sent as `structuredContent`, twice the bytes of
/// what the peers send).
#[derive(Serialize, JsonSchema)]
#[serde(transparent)]
struct JobOutput(String);

/// The 1 KB text every peer's `job` answers: `job N ` padded with `x`.
fn job_text(n: u64) -> String {
    let mut text = format!("job {n} ");
    text.extend(std::iter::repeat_n('x', RESULT_CHARS.saturating_sub(text.len())));
    text
}

/// Finishes at once with a 1 KB text result.
#[task_tool(support = "optional")]
async fn job(args: JobArgs, _ctx: TaskContext) -> Result<JobOutput, ToolError> {
    Ok(JobOutput(job_text(args.n)))
}

/// Limits raised so that a long benchmark never meets a per-owner quota:
/// 2026-07-28 requests carry no session, so every client's tasks belong to
/// the one owner `stateless` (see `AnonymousPolicy::PerConnection`).
fn bench_limits() -> Limits {
    Limits {
        max_active_tasks_per_owner: 100_000,
        max_stored_tasks_per_owner: 100_000,
        max_stored_bytes_per_owner: 1 << 30,
        max_creates_per_minute: None,
        // The same one-minute lifetime every peer is given.
        default_ttl: Duration::from_secs(60),
        ..Limits::default()
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
    let store_url = arg("--store").unwrap_or_else(|| "memory".into());
    let (store, store_name) = pmcp_tasks::store::url::open(&store_url).await?;
    let server = TaskServer::builder("peer-ours", env!("CARGO_PKG_VERSION"))
        // The default: each HTTP session owns its tasks, which is what a
        // multi-user server must do.
        .anonymous(AnonymousPolicy::PerConnection)
        .store(store)
        .limits(bench_limits())
        .registered_tools()
        .build()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    // serve_http sets TCP_NODELAY on every accepted connection itself.
    eprintln!("peer-ours: tasks kept in {store_name}");
    eprintln!("listening on {}", listener.local_addr()?);
    server.serve_http(listener, pmcp_tasks::shutdown_signal()).await?;
    server.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
