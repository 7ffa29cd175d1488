//! `TaskServer`: the layers composed. pmcp's `ServerCore` serves what is
//! not a task; the protocol layer in front of it serves the task surface of
//! both eras over the task service; the transports frame it.

mod builder;

pub use crate::protocol::SUPPORTED_PROTOCOL_VERSIONS;
pub use builder::{BuildError, TaskServerBuilder};

use crate::execution::TaskRuntime;
use crate::protocol::{Router, Session};
use crate::service::Connection;
use crate::transport::TransportLimits;
use pmcp::server::auth::AuthProvider;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// An MCP server whose task tools run as MCP Tasks in both protocol eras.
///
/// Serve it with [`serve_stdio`](TaskServer::serve_stdio) or
/// [`serve_http`](TaskServer::serve_http); cheap to clone.
#[derive(Clone)]
pub struct TaskServer {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) router: Router,
    /// How often an idle SSE stream carries a keep-alive.
    pub(crate) heartbeat: Duration,
    /// Authenticates HTTP requests; its subject owns the caller's tasks.
    pub(crate) auth_provider: Option<Arc<dyn AuthProvider>>,
    /// What one client may send and hold open.
    pub(crate) transport_limits: TransportLimits,
}

impl std::fmt::Debug for TaskServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskServer")
            .field("tools", &self.tool_names().collect::<Vec<_>>())
            .field("runtime", self.runtime())
            .finish()
    }
}

impl TaskServer {
    /// Starts configuring a server.
    pub fn builder(name: impl Into<String>, version: impl Into<String>) -> TaskServerBuilder {
        TaskServerBuilder::new(name, version)
    }

    /// The task runtime (store, limits, running bodies).
    pub fn runtime(&self) -> &TaskRuntime {
        self.inner.router.service().runtime()
    }

    /// Names of the task tools, sorted.
    pub fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.inner
            .router
            .service()
            .tools()
            .keys()
            .map(String::as_str)
    }

    /// Handles one JSON-RPC message in process, as a request from the local
    /// client (the same connection as stdio's: anonymous, it owns tasks as
    /// `anon:local`) or from a caller authenticated as `auth`. The era
    /// comes from the message's `_meta`, else 2025-11-25. Returns the
    /// response, or `None` for a notification. Transports keep
    /// per-connection state instead; this is for embedding, tests and
    /// benchmarks.
    pub async fn handle(
        &self,
        message: Value,
        auth: Option<pmcp::server::auth::AuthContext>,
    ) -> Option<Value> {
        let reply = self
            .inner
            .router
            .handle(message, &Session::unreachable(Connection::Local), auth)
            .await?;
        Some(reply.to_json())
    }

    /// Stops taking tasks, lets running ones finish for up to `grace`, then
    /// marks the rest `failed`. Returns how many were marked `failed`.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.inner.router.drain();
        self.runtime().shutdown(grace).await
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: the moment to call
/// [`TaskServer::shutdown`].
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
