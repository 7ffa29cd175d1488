//! Streamable HTTP at one endpoint (`/mcp`), serving both eras.
//!
//! 2025-11-25 clients get a session (`Mcp-Session-Id`) at `initialize`;
//! their `tasks/result` is answered as an SSE stream, so that the server can
//! send a task's input requests on it while the client waits. 2026-07-28
//! requests are stateless and answered as plain JSON.

use crate::domain::RpcError;
use crate::protocol::{self, Call, ClientPeer, Error, Incoming, Opened, Outbox, Reply, Session};
use crate::server::TaskServer;
use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use pmcp::server::auth::AuthContext;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

const SESSION_HEADER: &str = "mcp-session-id";
/// Sessions kept at most; the oldest is dropped beyond this.
const MAX_SESSIONS: usize = 10_000;

/// Reaches a 2025-11-25 HTTP client through the SSE stream of a request it
/// is waiting on (its `tasks/result`); its answers come back as POSTs.
#[derive(Default)]
struct HttpPeer {
    /// The open SSE streams of this session, newest last.
    streams: Mutex<Vec<mpsc::UnboundedSender<Value>>>,
    outbox: Outbox,
}

#[async_trait]
impl ClientPeer for HttpPeer {
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let outgoing = self.outbox.prepare(method, params);
        let sent = {
            let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
            streams.retain(|s| !s.is_closed());
            streams
                .last()
                .is_some_and(|s| s.send(outgoing.message.clone()).is_ok())
        };
        if !sent {
            return Err(self.outbox.forget(outgoing));
        }
        outgoing.answer().await
    }
}

struct HttpSession {
    session: Session,
    peer: Arc<HttpPeer>,
}

#[derive(Clone)]
struct HttpState {
    server: TaskServer,
    sessions: Arc<Mutex<SessionTable>>,
}

#[derive(Default)]
struct SessionTable {
    by_id: HashMap<String, Arc<HttpSession>>,
    order: std::collections::VecDeque<String>,
}

impl SessionTable {
    fn insert(&mut self, id: String, session: Arc<HttpSession>) {
        if self.by_id.len() >= MAX_SESSIONS {
            while let Some(old) = self.order.pop_front() {
                if let Some(evicted) = self.by_id.remove(&old) {
                    evicted.close();
                    break;
                }
            }
        }
        self.order.push_back(id.clone());
        self.by_id.insert(id, session);
    }

    /// Ends a session; `false` if there was none.
    fn remove(&mut self, id: &str) -> bool {
        let Some(session) = self.by_id.remove(id) else {
            return false;
        };
        session.close();
        // Ids of ended sessions linger in `order` until evicted; drop them
        // once they outnumber the live ones.
        if self.order.len() > 2 * self.by_id.len() + 64 {
            let live = &self.by_id;
            self.order.retain(|id| live.contains_key(id));
        }
        true
    }
}

impl HttpSession {
    /// The session ended: requests to its client still waiting for an
    /// answer fail now instead of waiting forever.
    fn close(&self) {
        self.peer.outbox.clear();
    }
}

fn new_session() -> Arc<HttpSession> {
    let peer = Arc::new(HttpPeer::default());
    Arc::new(HttpSession {
        session: Session::with_peer(peer.clone()),
        peer,
    })
}

fn json_response(status: StatusCode, body: &Value, session_id: Option<&str>) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Some(id) = session_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        response.headers_mut().insert(SESSION_HEADER, id);
    }
    response
}

/// A refusal by the transport itself (origin, session, content type), with
/// the status that belongs to it.
fn refuse(status: StatusCode, error: Error) -> Response {
    json_response(status, &Reply::error(Value::Null, error).to_json(), None)
}

/// A reply, with the status the protocol layer gives it.
fn reply_response(reply: &Reply, session_id: Option<&str>) -> Response {
    json_response(reply.http_status(), &reply.to_json(), session_id)
}

/// A loopback server only answers pages from loopback origins (DNS
/// rebinding protection, as the transport spec asks).
fn origin_allowed(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = origin
        .split("://")
        .nth(1)
        .unwrap_or(origin)
        .split('/')
        .next()
        .unwrap_or_default();
    let host = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default().to_owned()
    };
    matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
}

impl TaskServer {
    /// The `/mcp` endpoint as an axum router, to mount in a larger app.
    pub fn http_router(&self) -> Router {
        let state = HttpState {
            server: self.clone(),
            sessions: Arc::default(),
        };
        Router::new().route("/mcp", any(handle)).with_state(state)
    }

    /// Serves streamable HTTP at `http://<listener>/mcp` until `shutdown`
    /// resolves. Call [`TaskServer::shutdown`] afterwards.
    pub async fn serve_http(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        use axum::serve::ListenerExt;
        // Without TCP_NODELAY the second small write of an SSE answer waits
        // for the client's delayed ACK: about 40 ms per `tasks/result`.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        axum::serve(listener, self.http_router())
            .with_graceful_shutdown(shutdown)
            .await
    }
}

async fn handle(
    State(state): State<HttpState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !origin_allowed(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            Error::InvalidRequest("Forbidden: this origin may not use this server".into()),
        );
    }
    let session_id = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match method {
        Method::POST => post(state, headers, session_id, body).await,
        Method::DELETE => match session_id {
            Some(id) => {
                let removed = state
                    .sessions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                if removed {
                    StatusCode::NO_CONTENT.into_response()
                } else {
                    StatusCode::NOT_FOUND.into_response()
                }
            }
            None => StatusCode::BAD_REQUEST.into_response(),
        },
        // No standalone server-to-client stream: messages for a task travel
        // on the stream of the `tasks/result` that waits for it.
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST, DELETE")],
        )
            .into_response(),
    }
}

async fn post(
    state: HttpState,
    headers: HeaderMap,
    session_id: Option<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = content_negotiation(&headers) {
        return refused;
    }
    let message: Value = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => {
            let error = Error::Parse(format!("Parse error: the body is not JSON ({e})"));
            return reply_response(&Reply::error(Value::Null, error), None);
        }
    };
    let auth = match authenticate(&state, &headers).await {
        Ok(auth) => auth,
        Err(response) => return response,
    };
    let opened = protocol::open(message);
    if let Err(error) = routing_headers_match(&headers, &opened) {
        return reply_response(&opened.refuse(error), None);
    }
    let known = session_id.as_ref().map(|id| {
        state
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .get(id)
            .cloned()
    });
    let session = match known {
        Some(Some(session)) => session,
        Some(None) => {
            return refuse(
                StatusCode::NOT_FOUND,
                Error::InvalidRequest("Unknown or expired session: initialize again".into()),
            )
        }
        // No session: a stateless (2026-07-28) request, or `initialize`.
        None => new_session(),
    };
    let router = &state.server.inner.router;
    let call = match router.place(opened, &session.session) {
        Incoming::Call(call) => call,
        Incoming::Refused(reply) => return reply_response(&reply, None),
        Incoming::Response(answer) => {
            session.peer.outbox.resolve(&answer);
            return StatusCode::ACCEPTED.into_response();
        }
        Incoming::Notification(notification) => {
            router.notify(notification).await;
            return StatusCode::ACCEPTED.into_response();
        }
    };
    let new_id = call.is_initialize().then(|| {
        let id = uuid::Uuid::new_v4().to_string();
        state
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), session.clone());
        id
    });
    let accepts_stream = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    if call.may_ask_client() && accepts_stream {
        return stream_response(state.server, session, call, auth);
    }
    let reply = router.serve(call, &session.session, auth).await;
    reply_response(&reply, new_id.as_deref())
}

/// Answers as an SSE stream: requests for the client first, as the task
/// needs them, and the response last.
fn stream_response(
    server: TaskServer,
    session: Arc<HttpSession>,
    call: Call,
    auth: Option<AuthContext>,
) -> Response {
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    {
        let mut streams = session
            .peer
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        streams.retain(|s| !s.is_closed());
        streams.push(tx.clone());
    }
    tokio::spawn(async move {
        let serve = server.inner.router.serve(call, &session.session, auth);
        // A client that hung up stops the wait with it.
        let reply = tokio::select! {
            reply = serve => reply,
            _ = tx.closed() => return,
        };
        let _ = tx.send(reply.to_json());
    });
    let events = futures::stream::unfold(rx, |mut rx| async move {
        let message = rx.recv().await?;
        if message.get("method").is_none() {
            // The response: nothing follows it.
            rx.close();
        }
        let event = Event::default().event("message").data(message.to_string());
        Some((Ok::<_, std::convert::Infallible>(event), rx))
    });
    Sse::new(events).into_response()
}

/// A POST must carry JSON (415 otherwise) and accept JSON or an event
/// stream in return (406 otherwise); absent headers are taken kindly.
fn content_negotiation(headers: &HeaderMap) -> Option<Response> {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(content_type) = value(header::CONTENT_TYPE) {
        if !content_type
            .to_ascii_lowercase()
            .contains("application/json")
        {
            return Some(refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Error::InvalidRequest(format!(
                    "Unsupported Content-Type '{content_type}': send application/json"
                )),
            ));
        }
    }
    if let Some(accept) = value(header::ACCEPT) {
        let accept = accept.to_ascii_lowercase();
        if ![
            "application/json",
            "text/event-stream",
            "*/*",
            "application/*",
        ]
        .iter()
        .any(|t| accept.contains(t))
        {
            return Some(refuse(
                StatusCode::NOT_ACCEPTABLE,
                Error::InvalidRequest(
                    "Not acceptable: accept application/json and text/event-stream".into(),
                ),
            ));
        }
    }
    None
}

/// The 2026-07-28 routing headers, when sent, must say what the body says:
/// `Mcp-Method` its method, `Mcp-Name` its tool name or task id (load
/// balancers route on them). A mismatch is `-32020`.
fn routing_headers_match(headers: &HeaderMap, opened: &Opened) -> Result<(), Error> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let method = opened.method_name().unwrap_or_default();
    if let Some(sent) = header("mcp-method") {
        if sent != method {
            return Err(Error::HeaderMismatch(format!(
                "Header mismatch: Mcp-Method says '{sent}' but the body's method is '{method}'"
            )));
        }
    }
    if let (Some(sent), Some(named)) = (header("mcp-name"), opened.addressed_to()) {
        if sent != named {
            return Err(Error::HeaderMismatch(format!(
                "Header mismatch: Mcp-Name says '{sent}' but the body names '{named}'"
            )));
        }
    }
    Ok(())
}

async fn authenticate(
    state: &HttpState,
    headers: &HeaderMap,
) -> Result<Option<AuthContext>, Response> {
    let Some(provider) = &state.server.inner.auth_provider else {
        return Ok(None);
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match provider.validate_request(authorization).await {
        Ok(auth) => Ok(auth),
        Err(e) => {
            let error = Error::AuthenticationFailed(format!("Authentication failed: {e}"));
            let mut response = reply_response(&Reply::error(Value::Null, error), None);
            let challenge = HeaderValue::from_static(provider.auth_scheme());
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
            Err(response)
        }
    }
}
