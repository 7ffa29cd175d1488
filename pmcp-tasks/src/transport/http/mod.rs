//! Streamable HTTP at one endpoint (`/mcp`), serving both eras.
//!
//! 2025-11-25 clients get a session (`Mcp-Session-Id`) at `initialize`;
//! their `tasks/result` is answered as an SSE stream, so that the server can
//! send a task's input requests on it while the client waits (or as plain
//! JSON when its task has already ended). 2026-07-28 requests are
//! stateless and answered as plain JSON.

mod serve;
mod session;
mod sse;

use crate::protocol::{
    self, Call, Error, Incoming, Opened, Reply, Session, SUPPORTED_PROTOCOL_VERSIONS,
};
use crate::rate::KeyedRate;
use crate::server::TaskServer;
use crate::service::Connection;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Extension;
use axum::Router;
use pmcp::server::auth::AuthContext;
use serde_json::Value;
use session::{HttpSession, SessionTable, SessionsFull};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

const SESSION_HEADER: &str = "mcp-session-id";

#[derive(Clone)]
struct HttpState {
    server: TaskServer,
    sessions: Arc<Mutex<SessionTable>>,
    /// Sessions opened per client address, when limited and known.
    openings: Option<Arc<KeyedRate<IpAddr>>>,
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

/// Pages from other sites may not drive this server (DNS rebinding
/// protection, as the transport spec asks): a request with an `Origin`
/// must come from a loopback origin, read as a URL (so that
/// `http://127.0.0.1:1@evil.com` is evil.com's).
fn origin_allowed(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(url) = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok()) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        )
}

impl TaskServer {
    /// The `/mcp` endpoint as an axum router, to mount in a larger app.
    pub fn http_router(&self) -> Router {
        let limits = &self.inner.transport_limits;
        let sessions = SessionTable::new(limits.max_sessions, limits.session_idle_timeout);
        let openings = limits
            .sessions_per_minute_per_address
            .map(|n| Arc::new(KeyedRate::per_minute(n)));
        let state = HttpState {
            server: self.clone(),
            sessions: Arc::new(Mutex::new(sessions)),
            openings,
        };
        Router::new().route("/mcp", any(handle)).with_state(state)
    }
}

async fn handle(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client = client.map(|Extension(ConnectInfo(address))| address.ip());
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
        Method::POST => post(state, client, headers, session_id, body).await,
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
        // A session's standalone stream: its tasks' notifications.
        Method::GET if session_id.is_some() => {
            let id = session_id.unwrap_or_default();
            let known = state
                .sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&id);
            match known {
                Some(session) => sse::standalone(&state, session),
                None => refuse(
                    StatusCode::NOT_FOUND,
                    Error::InvalidRequest("Unknown or expired session: initialize again".into()),
                ),
            }
        }
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, POST, DELETE")],
        )
            .into_response(),
    }
}

async fn post(
    state: HttpState,
    client: Option<IpAddr>,
    headers: HeaderMap,
    session_id: Option<String>,
    body: Body,
) -> Response {
    if let Some(refused) = content_negotiation(&headers) {
        return refused;
    }
    let body = match read_body(&state, &headers, body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
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
            .get(id)
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
        None => HttpSession::new(Connection::Stateless),
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
            router.notify(notification, &session.session).await;
            return StatusCode::ACCEPTED.into_response();
        }
    };
    if let Err(error) = version_header_matches(&headers, &call, &session.session) {
        return reply_response(&call.refuse(error), None);
    }
    // `initialize` opens a session: its own connection from here on (the
    // one the message was placed on was a stateless stand-in, unused).
    let (session, new_id) = if call.is_initialize() {
        if let Some(refused) = too_many_openings(&state, client, &call) {
            return refused;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let session = HttpSession::new(Connection::HttpSession(id.clone()));
        let opened = state
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), session.clone());
        if let Err(SessionsFull(max)) = opened {
            let error = Error::Limit(format!(
                "Too many sessions: this server holds {max} sessions in use; retry later (idle \
                 sessions end on their own)"
            ));
            return refuse_call(StatusCode::SERVICE_UNAVAILABLE, &call, error, Some(30));
        }
        (session, Some(id))
    } else {
        (session, None)
    };
    let accepts_stream = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    if call.streams() && accepts_stream {
        return sse::answer(&state, session, call, auth).await;
    }
    let reply = router.serve(call, &session.session, auth, None).await;
    reply_response(&reply, new_id.as_deref())
}

/// One address opens at most `sessions_per_minute_per_address` sessions:
/// past it, `429` with `Retry-After` and `-32005`.
fn too_many_openings(state: &HttpState, client: Option<IpAddr>, call: &Call) -> Option<Response> {
    let wait = state.openings.as_ref()?.admit(&client?).err()?;
    let seconds = wait.as_secs().max(1);
    let error = Error::Limit(format!(
        "Too many sessions opened from this address; retry in {seconds} s"
    ));
    Some(refuse_call(
        StatusCode::TOO_MANY_REQUESTS,
        call,
        error,
        Some(seconds),
    ))
}

/// A request refused by the transport with `status`, answering its id,
/// with a `Retry-After` when there is a time to wait.
fn refuse_call(
    status: StatusCode,
    call: &Call,
    error: Error,
    retry_after_secs: Option<u64>,
) -> Response {
    let mut refused = json_response(status, &call.refuse(error).to_json(), None);
    if let Some(value) = retry_after_secs.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        refused.headers_mut().insert(header::RETRY_AFTER, value);
    }
    refused
}

/// Reads a request body of at most `max_message_bytes`, within
/// `body_read_timeout`; a refusal is a JSON-RPC error with `413` or `408`.
async fn read_body(state: &HttpState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let limits = &state.server.inner.transport_limits;
    let max = limits.max_message_bytes;
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            Error::InvalidRequest(format!(
                "Invalid request: the body is larger than this server accepts ({max} bytes)"
            )),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let read = http_body_util::BodyExt::collect(http_body_util::Limited::new(body, max));
    match tokio::time::timeout(limits.body_read_timeout, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(refuse(
            StatusCode::BAD_REQUEST,
            Error::InvalidRequest(format!("Invalid request: the body could not be read ({e})")),
        )),
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            Error::InvalidRequest(format!(
                "Invalid request: the body did not arrive within {} s",
                limits.body_read_timeout.as_secs_f64()
            )),
        )),
    }
}

/// `MCP-Protocol-Version`, when sent, must name a version served here and
/// agree with the request: its `_meta` version (2026-07-28), else the
/// version its session agreed. `initialize` negotiates in its body, so its
/// header is not compared.
fn version_header_matches(
    headers: &HeaderMap,
    call: &Call,
    session: &Session,
) -> Result<(), Error> {
    let Some(sent) = headers.get("mcp-protocol-version") else {
        return Ok(());
    };
    let sent = sent.to_str().unwrap_or_default();
    if !SUPPORTED_PROTOCOL_VERSIONS.contains(&sent) {
        return Err(Error::UnsupportedVersion(sent.to_owned()));
    }
    if call.is_initialize() {
        return Ok(());
    }
    let expected = call
        .declared_version()
        .map(str::to_owned)
        .or_else(|| session.negotiated());
    match expected {
        Some(expected) if expected != sent => Err(Error::HeaderMismatch(format!(
            "Header mismatch: MCP-Protocol-Version says '{sent}' but the request speaks \
             '{expected}'"
        ))),
        _ => Ok(()),
    }
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
