//! The accept loop behind [`TaskServer::serve_http`]: each connection on
//! hyper's HTTP/1 with a header-read timeout (which also ends connections
//! idle between requests), at most `max_connections` at once, and a
//! graceful end.

use crate::server::TaskServer;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

impl TaskServer {
    /// Serves streamable HTTP at `http://<listener>/mcp` until `shutdown`
    /// resolves. Call [`TaskServer::shutdown`] afterwards.
    ///
    /// A connection that does not send a request's headers within
    /// [`TransportLimits::header_read_timeout`](crate::TransportLimits::header_read_timeout)
    /// (also when idle between requests) is closed; beyond
    /// [`max_connections`](crate::TransportLimits::max_connections) new
    /// connections wait in the listen backlog until one ends.
    pub async fn serve_http(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = &self.inner.transport_limits;
        let service = TowerToHyperService::new(self.http_router());
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot,
                () = &mut shutdown => break,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (tcp, address) = match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors and the like: let it pass, then retry.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Without TCP_NODELAY the second small write of an SSE answer
            // waits for the client's delayed ACK: ~40 ms per `tasks/result`.
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
            // Each request learns the client's address (per-address limits).
            let service = service.clone();
            let with_address = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(address));
                service.call(request)
            });
            let connection = graceful.watch(http.serve_connection(TokioIo::new(tcp), with_address));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "an HTTP connection ended with an error");
                }
                drop(slot);
            });
        }
        // Streams never end by themselves: close them (a listen is
        // answered), then wait for the connections to finish.
        self.inner.router.drain();
        graceful.shutdown().await;
        Ok(())
    }
}
