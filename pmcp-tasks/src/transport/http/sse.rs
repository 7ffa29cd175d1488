//! Server-sent event streams: the answer to a request that streams (a
//! 2025-11-25 `tasks/result`, a `subscriptions/listen`), and a session's
//! standalone GET stream. Every stream carries a heartbeat, and ends when
//! the server drains.

use super::session::{HttpSession, STREAM_QUEUE};
use super::HttpState;
use crate::protocol::Call;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use pmcp::server::auth::AuthContext;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Answers `call` as an SSE stream: what the request sends first (input
/// requests for the client, a listen's notifications), then its answer.
pub(super) fn answer(
    state: &HttpState,
    session: Arc<HttpSession>,
    call: Box<Call>,
    auth: Option<AuthContext>,
) -> Response {
    let (tx, rx) = mpsc::channel::<Value>(STREAM_QUEUE);
    session.peer.open_stream(tx.clone());
    let server = state.server.clone();
    let out = tx.clone();
    tokio::spawn(async move {
        let router = &server.inner.router;
        let serve = router.serve(call, &session.session, auth, Some(out));
        // A client that hung up stops the wait with it.
        let reply = tokio::select! {
            reply = serve => reply,
            _ = tx.closed() => return,
        };
        if !reply.abandoned() {
            let _ = tx.send(reply.to_json()).await;
        }
    });
    // The answer is the message without a method; nothing follows it.
    let events = futures::stream::unfold((rx, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        let message = rx.recv().await?;
        let last = message.get("method").is_none();
        Some((event(&message), (rx, last)))
    });
    stream(state, events, None)
}

/// A session's standalone stream (GET): notifications for the session's
/// tasks, until the session or the server ends.
pub(super) fn standalone(state: &HttpState, session: Arc<HttpSession>) -> Response {
    let (tx, rx) = mpsc::channel::<Value>(STREAM_QUEUE);
    session.peer.open_standalone(tx);
    let events = futures::stream::unfold(rx, |mut rx| async move {
        let message = rx.recv().await?;
        Some((event(&message), rx))
    });
    stream(state, events, Some(session.session.closed()))
}

fn event(message: &Value) -> Result<Event, Infallible> {
    Ok(Event::default().event("message").data(message.to_string()))
}

/// The SSE response: `events`, a heartbeat while they are quiet, and an
/// end when the server drains (or `ends` is cancelled).
fn stream(
    state: &HttpState,
    events: impl futures::Stream<Item = Result<Event, Infallible>> + Send + 'static,
    ends: Option<CancellationToken>,
) -> Response {
    let inner = &state.server.inner;
    let draining = inner.router.drain_token();
    let end = async move {
        match ends {
            Some(ends) => tokio::select! {
                _ = draining.cancelled() => {}
                _ = ends.cancelled() => {}
            },
            None => draining.cancelled().await,
        }
    };
    let events = events.take_until(Box::pin(end));
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(inner.heartbeat))
        .into_response()
}
