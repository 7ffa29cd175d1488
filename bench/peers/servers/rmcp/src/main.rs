//! The `peer-rmcp` binary: rmcp 3.11 serving one task tool, `job`, over
//! streamable HTTP, with its `TaskManager` (the 2026-07-28 Tasks extension,
//! SEP-2663), for the side-by-side benchmark (`bench/peers`).
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
use peer_rmcp::JobServer;
use rmcp::task_manager::TaskManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;

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
