//! Server-sent event streams: the answer to a request that streams (a
//! 2025-11-25 `tasks/result`, a `subscriptions/listen`), ending with that
//! answer, and a session's standalone GET stream, ending with the session
//! or when the server drains. Every stream carries a heartbeat.

use super::session::{HttpSession, STREAM_QUEUE};
use super::HttpState;
use crate::protocol::{Call, Error};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use pmcp::server::auth::AuthContext;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long an answer that may go as plain JSON is waited for before the
/// answer becomes a stream: long enough for a store read, short enough
/// that nobody notices it on a stream.
const PLAIN_ANSWER_WAIT: Duration = Duration::from_millis(2);

/// Answers `call` as an SSE stream: what the request sends first (input
/// requests for the client, a listen's notifications), then its answer.
/// A `tasks/result` whose answer is ready at once, with nothing before it,
/// is answered as plain JSON instead: the stream would only cost the
/// server and the client.
pub(super) async fn answer(
    state: &HttpState,
    session: Arc<HttpSession>,
    call: Box<Call>,
    auth: Option<AuthContext>,
) -> Response {
    let (tx, rx) = mpsc::channel::<Value>(STREAM_QUEUE);
    let max = state.server.inner.transport_limits.max_streams_per_session;
    let ticket = match session.peer.open_stream(&tx, call.shares_its_stream(), max) {
        Ok(ticket) => ticket,
        Err(max) => {
            let error = Error::Limit(format!(
                "Too many open streams: this session holds {max}, the most it may; end one \
                 (cancel a subscriptions/listen, or let a tasks/result finish) and retry"
            ));
            return super::refuse_call(StatusCode::TOO_MANY_REQUESTS, &call, error, None);
        }
    };
    let plain = call.may_answer_plainly();
    let server = state.server.clone();
    let sender = tx.clone();
    let mut serve = Box::pin(async move {
        let router = &server.inner.router;
        router
            .serve(call, &session.session, auth, Some(sender))
            .await
    });
    let ready = if plain {
        tokio::time::timeout(PLAIN_ANSWER_WAIT, &mut serve)
            .await
            .ok()
    } else {
        None
    };
    if let Some(reply) = &ready {
        // Only an answer that travels with HTTP 200 and has nothing before
        // it: one with another status stays on the stream's 200, as it
        // always travelled (clients read another status as a transport
        // failure).
        if rx.is_empty() && !reply.abandoned() && reply.http_status() == StatusCode::OK {
            // Nothing more is routed here once the answer is ready.
            drop(ticket);
            return super::reply_response(reply, None);
        }
    }
    tokio::spawn(async move {
        let reply = match ready {
            Some(reply) => reply,
            // A client that hung up stops the wait with it.
            None => tokio::select! {
                reply = serve => reply,
                _ = tx.closed() => return,
            },
        };
        // Nothing more is routed here once the answer is on its way.
        drop(ticket);
        if !reply.abandoned() {
            let _ = tx.send(reply.to_json()).await;
        }
    });
    answer_stream(state, rx)
}

/// The stream of a request's messages, ending with its answer (the
/// message without a method; nothing follows it).
fn answer_stream(state: &HttpState, rx: mpsc::Receiver<Value>) -> Response {
    let events = futures::stream::unfold((rx, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        let message = rx.recv().await?;
        let last = message.get("method").is_none();
        Some((event(&message), (rx, last)))
    });
    // It ends with its answer (a listen answers when the server drains).
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
    let ends = Ends::DrainOr(session.session.closed());
    stream(state, events, Some(ends))
}

fn event(message: &Value) -> Result<Event, Infallible> {
    Ok(Event::default().event("message").data(message.to_string()))
}

/// When a stream that has no answer to end it stops.
enum Ends {
    /// When the server drains, or this is cancelled.
    DrainOr(CancellationToken),
}

/// The SSE response: `events`, a heartbeat while they are quiet, and,
/// for a stream without an answer, an end.
fn stream(
    state: &HttpState,
    events: impl futures::Stream<Item = Result<Event, Infallible>> + Send + 'static,
    ends: Option<Ends>,
) -> Response {
    let inner = &state.server.inner;
    let heartbeat = KeepAlive::new().interval(inner.heartbeat);
    match ends {
        None => Sse::new(events).keep_alive(heartbeat).into_response(),
        Some(Ends::DrainOr(token)) => {
            let draining = inner.router.drain_token();
            let end = async move {
                tokio::select! {
                    _ = draining.cancelled() => {}
                    _ = token.cancelled() => {}
                }
            };
            let events = events.take_until(Box::pin(end));
            Sse::new(events).keep_alive(heartbeat).into_response()
        }
    }
}
