//! Bounds on what one client may send and hold open, with safe defaults.

use std::time::Duration;

/// Bounds the transports enforce on each client.
///
/// Set with [`TaskServerBuilder::transport_limits`](crate::TaskServerBuilder::transport_limits).
/// Every refusal is answered with a JSON-RPC error saying which bound was
/// reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportLimits {
    /// The largest message accepted: an HTTP body, a stdio line. Larger
    /// ones are refused (HTTP `413`) without being read to the end.
    pub max_message_bytes: usize,
    /// How long a connection may take to send a request's headers, and
    /// stay idle between requests, before it is closed (a client sending
    /// headers byte by byte cannot hold a connection).
    pub header_read_timeout: Duration,
    /// HTTP connections served at once; more wait in the listen backlog
    /// until one ends.
    pub max_connections: usize,
    /// How long an HTTP request body may take to arrive once its headers
    /// have (a `Content-Length` larger than what is sent ends here, `408`).
    pub body_read_timeout: Duration,
    /// HTTP sessions kept at once. When full, sessions idle for longer
    /// than [`session_idle_timeout`](Self::session_idle_timeout) go first;
    /// if none has, a new session is refused (`503`) rather than evicting a
    /// client in use.
    pub max_sessions: usize,
    /// Sessions one client address may open per minute (a burst, refilled
    /// evenly): past it, `initialize` is answered `429`. Applies where the
    /// address is known (`serve_http`); `None` lifts it.
    pub sessions_per_minute_per_address: Option<std::num::NonZeroU32>,
    /// An HTTP session unused for this long ends (its streams close).
    pub session_idle_timeout: Duration,
    /// SSE streams one HTTP session may hold open at once (answers to
    /// `tasks/result` and `subscriptions/listen`, and its GET stream).
    pub max_streams_per_session: usize,
}

impl Default for TransportLimits {
    fn default() -> Self {
        TransportLimits {
            max_message_bytes: 4 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            body_read_timeout: Duration::from_secs(30),
            max_sessions: 10_000,
            sessions_per_minute_per_address: std::num::NonZeroU32::new(120),
            session_idle_timeout: Duration::from_secs(30 * 60),
            max_streams_per_session: 32,
        }
    }
}
