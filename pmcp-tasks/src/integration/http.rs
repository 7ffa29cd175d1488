//! Streamable HTTP at one endpoint (`/mcp`), serving both eras.
//!
//! 2025-11-25 clients get a session (`Mcp-Session-Id`) at `initialize`;
//! their `tasks/result` is answered as an SSE stream, so that the server can
//! send a task's input requests on it while the client waits. 2026-07-28
//! requests are stateless and answered as plain JSON.

use super::peer::Outbox;
use super::server::{ClientPeer, Session, TaskServer};
use super::wire::{self, code};
use crate::domain::RpcError;
use async_trait::async_trait;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
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
                if self.by_id.remove(&old).is_some() {
                    break;
                }
            }
        }
        self.order.push_back(id.clone());
        self.by_id.insert(id, session);
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

fn error_status(status: StatusCode, error: RpcError) -> Response {
    json_response(status, &wire::error_response(&Value::Null, &error), None)
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
        return error_status(
            StatusCode::FORBIDDEN,
            RpcError::new(
                code::INVALID_REQUEST,
                "Forbidden: this origin may not use this server",
            ),
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
                    .by_id
                    .remove(&id);
                if removed.is_some() {
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
            return error_status(
                StatusCode::BAD_REQUEST,
                RpcError::new(
                    code::PARSE_ERROR,
                    format!("Parse error: the body is not JSON ({e})"),
                ),
            )
        }
    };
    let auth = match authenticate(&state, &headers).await {
        Ok(auth) => auth,
        Err(response) => return response,
    };
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Err(error) = routing_headers_match(&headers, &message) {
        let response = wire::error_response(message.get("id").unwrap_or(&Value::Null), &error);
        return json_response(StatusCode::BAD_REQUEST, &response, None);
    }
    let is_request = message.get("id").is_some() && !method.is_empty();
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
            return error_status(
                StatusCode::NOT_FOUND,
                RpcError::new(
                    code::INVALID_REQUEST,
                    "Unknown or expired session: initialize again",
                ),
            )
        }
        // No session: a stateless (2026-07-28) request, or `initialize`.
        None => new_session(),
    };
    if !is_request {
        // A notification, or the client's answer to one of our requests.
        if message.get("method").is_none() {
            session.peer.outbox.resolve(&message);
        } else {
            let _ = state
                .server
                .handle_message(message, &session.session, auth)
                .await;
        }
        return StatusCode::ACCEPTED.into_response();
    }
    let new_id = (method == "initialize").then(|| {
        let id = uuid::Uuid::new_v4().to_string();
        state
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), session.clone());
        id
    });
    let stateless = message["params"]["_meta"]
        .get(wire::PROTOCOL_VERSION_KEY)
        .is_some();
    let wants_stream = method == "tasks/result"
        && !stateless
        && headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/event-stream"));
    if wants_stream {
        return stream_response(state.server, session, message, auth);
    }
    let response = state
        .server
        .handle_message(message, &session.session, auth)
        .await
        .unwrap_or(Value::Null);
    let status = match response["error"]["code"].as_i64().map(|c| c as i32) {
        Some(
            code::UNSUPPORTED_PROTOCOL_VERSION
            | code::MISSING_REQUIRED_CLIENT_CAPABILITY
            | code::HEADER_MISMATCH,
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    json_response(status, &response, new_id.as_deref())
}

/// Answers as an SSE stream: requests for the client first, as the task
/// needs them, and the response last.
fn stream_response(
    server: TaskServer,
    session: Arc<HttpSession>,
    message: Value,
    auth: Option<AuthContext>,
) -> Response {
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    session
        .peer
        .streams
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(tx.clone());
    tokio::spawn(async move {
        if let Some(response) = server.handle_message(message, &session.session, auth).await {
            let _ = tx.send(response);
        }
    });
    let events = futures::stream::unfold(rx, |mut rx| async move {
        let message = rx.recv().await?;
        let is_final = message.get("method").is_none();
        let event = Bytes::from(format!("event: message\ndata: {message}\n\n"));
        if is_final {
            rx.close();
        }
        Some((Ok::<_, std::convert::Infallible>(event), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(events))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
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
            return Some(error_status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                RpcError::new(
                    code::INVALID_REQUEST,
                    format!("Unsupported Content-Type '{content_type}': send application/json"),
                ),
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
            return Some(error_status(
                StatusCode::NOT_ACCEPTABLE,
                RpcError::new(
                    code::INVALID_REQUEST,
                    "Not acceptable: accept application/json and text/event-stream",
                ),
            ));
        }
    }
    None
}

/// The 2026-07-28 routing headers, when sent, must say what the body says:
/// `Mcp-Method` its method, `Mcp-Name` its tool name or task id (load
/// balancers route on them). A mismatch is `-32020`.
fn routing_headers_match(headers: &HeaderMap, message: &Value) -> Result<(), RpcError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(sent) = header("mcp-method") {
        if sent != method {
            return Err(RpcError::new(
                code::HEADER_MISMATCH,
                format!(
                    "Header mismatch: Mcp-Method says '{sent}' but the body's method is '{method}'"
                ),
            ));
        }
    }
    let params = &message["params"];
    let named = match method {
        "tools/call" | "prompts/get" => params.get("name"),
        "resources/read" => params.get("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => params.get("taskId"),
        _ => None,
    }
    .and_then(Value::as_str);
    if let (Some(sent), Some(named)) = (header("mcp-name"), named) {
        if sent != named {
            return Err(RpcError::new(
                code::HEADER_MISMATCH,
                format!("Header mismatch: Mcp-Name says '{sent}' but the body names '{named}'"),
            ));
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
            let mut response = error_status(
                StatusCode::UNAUTHORIZED,
                RpcError::new(
                    code::AUTHENTICATION_REQUIRED,
                    format!("Authentication failed: {e}"),
                ),
            );
            let challenge = HeaderValue::from_static(provider.auth_scheme());
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
            Err(response)
        }
    }
}
