//! The servers that can run in this process (ours and rmcp), each on a
//! runtime of its own whose threads carry one name, so that their CPU time
//! can be told apart from the client's. A client reaches one over an
//! in-memory stream of newline-delimited JSON-RPC, as over stdio: no
//! sockets, no HTTP.

use std::time::Duration;
use tokio::io::DuplexStream;
use tokio::runtime::Runtime;

/// The name of a server runtime's threads, with the phase's number: a
/// phase counts only its own server's threads, not those of the last
/// phase's runtime that may still be ending (at most 15 bytes: the kernel
/// keeps no more of a thread's name).
fn thread_name(phase: usize) -> String {
    format!("peer-srv-{}", phase % 100_000)
}

/// Bytes a stream buffers each way before a writer waits.
const STREAM_BUFFER: usize = 1 << 16;

enum Kind {
    Ours(peer_ours::InProcess),
    Rmcp(peer_rmcp::InProcess),
}

pub struct InProcess {
    runtime: Runtime,
    threads: String,
    kind: Kind,
}

impl InProcess {
    /// A fresh server `server` (`ours` or `rmcp`) on `store_url` (ours
    /// only: `memory` or `sqlite:PATH`), for phase number `phase`.
    pub async fn start(server: &str, store_url: &str, phase: usize) -> Result<InProcess, String> {
        let threads = thread_name(phase);
        // Two workers, as many as the machine has cores, like the runtime of
        // each server binary; blocking threads (SQLite) are kept, so that
        // none takes its CPU time away with it when it ends.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(threads.clone())
            .thread_keep_alive(Duration::from_secs(3600))
            .enable_all()
            .build()
            .map_err(|e| format!("server runtime: {e}"))?;
        let kind = match server {
            "ours" => {
                let url = store_url.to_owned();
                let built = runtime.spawn(async move { peer_ours::InProcess::new(&url).await });
                Kind::Ours(built.await.map_err(|e| e.to_string())??)
            }
            "rmcp" => Kind::Rmcp(runtime.spawn(async { peer_rmcp::InProcess::new() }).await.map_err(|e| e.to_string())?),
            other => return Err(format!("{other} cannot run in process")),
        };
        Ok(InProcess { runtime, threads, kind })
    }

    /// A new connection: the server serves its end on the server runtime.
    pub fn connect(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(STREAM_BUFFER);
        match &self.kind {
            Kind::Ours(s) => drop(self.runtime.spawn(s.clone().serve(server))),
            Kind::Rmcp(s) => drop(self.runtime.spawn(s.clone().serve(server))),
        }
        client
    }

    /// User plus system CPU time of the server runtime's threads so far.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        crate::server::threads_cpu_seconds(&self.threads)
    }

    /// Stops the server's runtime and waits (up to 5 s) for its threads
    /// to end, on a blocking thread: a runtime cannot be dropped inside
    /// another's worker.
    pub async fn stop(self) {
        let runtime = self.runtime;
        let _ = tokio::task::spawn_blocking(move || runtime.shutdown_timeout(Duration::from_secs(5))).await;
    }
}
