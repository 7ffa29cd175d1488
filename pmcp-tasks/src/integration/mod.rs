//! Integration with pmcp: the only module that names pmcp's server types.

mod dispatch;
mod http;
mod peer;
mod server;
mod stdio;
mod tool_handler;
mod wire;
mod workflow;

pub use server::{
    AnonymousPolicy, BuildError, TaskServer, TaskServerBuilder, SUPPORTED_PROTOCOL_VERSIONS,
};
pub use wire::VARIABLES_META_KEY;

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
