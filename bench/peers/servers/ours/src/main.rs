//! The `peer-ours` binary: the benchmark's pmcp-tasks server (see the
//! library) over streamable HTTP.
//!
//! ```text
//! peer-ours --port 0 [--store memory|sqlite:PATH]
//! ```

use std::time::Duration;

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
    let (server, store_name) = peer_ours::server(&store_url).await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    // serve_http sets TCP_NODELAY on every accepted connection itself.
    eprintln!("peer-ours: tasks kept in {store_name}");
    eprintln!("listening on {}", listener.local_addr()?);
    server.serve_http(listener, pmcp_tasks::shutdown_signal()).await?;
    server.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
