//! pmcp-tasks serving one task tool, `job`, for the side-by-side benchmark
//! (`bench/peers`): the server the `peer-ours` binary serves over HTTP, and
//! that the driver serves in process over an in-memory stream.
//!
//! `job` finishes at once with a 1 KB text result, so what is measured is
//! the server's own cost per task: protocol, store and transport. Both task
//! eras are served by the same server (2025-11-25 in a session,
//! 2026-07-28 stateless with the Tasks extension).

use pmcp_tasks::{task_tool, AnonymousPolicy, Limits, TaskContext, TaskServer, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
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

/// The benchmark's server on the store `store_url` (`memory`, or
/// `sqlite:PATH` with the `sqlite` feature), and the store's name.
pub async fn server(store_url: &str) -> Result<(TaskServer, String), Box<dyn std::error::Error + Send + Sync>> {
    let (store, store_name) = pmcp_tasks::store::url::open(store_url).await?;
    let server = TaskServer::builder("peer-ours", env!("CARGO_PKG_VERSION"))
        // The default: each HTTP session owns its tasks, which is what a
        // multi-user server must do.
        .anonymous(AnonymousPolicy::PerConnection)
        .store(store)
        .limits(bench_limits())
        .registered_tools()
        .build()?;
    Ok((server, store_name))
}

/// The server, shared by the connections the driver opens in process.
#[derive(Clone)]
pub struct InProcess(Arc<TaskServer>);

impl InProcess {
    pub async fn new(store_url: &str) -> Result<InProcess, String> {
        let (server, _) = server(store_url).await.map_err(|e| e.to_string())?;
        Ok(InProcess(Arc::new(server)))
    }

    /// Serves one client over `stream` (newline-delimited JSON-RPC, as
    /// over stdio) until it closes.
    pub async fn serve(self, stream: tokio::io::DuplexStream) {
        let (reader, writer) = tokio::io::split(stream);
        let _ = self.0.serve_stream(reader, writer).await;
    }
}
