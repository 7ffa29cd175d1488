//! HTTP sessions (2025-11-25 `Mcp-Session-Id`): how the server reaches a
//! session's client, and the table of live sessions.

use crate::domain::RpcError;
use crate::protocol::{ClientPeer, Delivery, Outbox, Session};
use crate::service::Connection;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant};

/// Messages an SSE stream queues at most before a notification is dropped.
pub(super) const STREAM_QUEUE: usize = 256;

/// Reaches a 2025-11-25 HTTP client: through its standalone GET stream, or
/// the SSE stream of a `tasks/result` it waits on. Its answers come back as
/// POSTs.
#[derive(Default)]
pub(super) struct HttpPeer {
    /// The session's GET stream, while open.
    standalone: Mutex<Option<mpsc::Sender<Value>>>,
    /// The open SSE answers of this session, oldest first. Held weakly:
    /// the request serving a stream decides when it ends.
    streams: Mutex<Vec<OpenStream>>,
    next_key: AtomicU64,
    pub(super) outbox: Outbox,
}

struct OpenStream {
    key: u64,
    sender: mpsc::WeakSender<Value>,
    /// Whether the session's own traffic (input requests, status
    /// notifications) may travel on it: a `tasks/result`'s may, a
    /// listen's carries only what was subscribed to.
    shared: bool,
}

/// An SSE answer's place among its session's streams, given back when
/// dropped (before the answer is queued, so that nothing else is put on a
/// stream about to end).
pub(super) struct StreamTicket {
    peer: Arc<HttpPeer>,
    key: u64,
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        self.peer.streams().retain(|s| s.key != self.key);
    }
}

impl HttpPeer {
    /// Opens the session's GET stream (replacing an earlier one).
    pub(super) fn open_standalone(&self, stream: mpsc::Sender<Value>) {
        *self.standalone.lock().unwrap_or_else(|p| p.into_inner()) = Some(stream);
    }

    /// Registers an SSE answer's stream; `shared` if the session's traffic
    /// may use it. Refused when the session already holds `max` streams.
    pub(super) fn open_stream(
        self: &Arc<Self>,
        stream: &mpsc::Sender<Value>,
        shared: bool,
        max: usize,
    ) -> Result<StreamTicket, usize> {
        let has_standalone = self.standalone().is_some();
        let mut streams = self.streams();
        streams.retain(|s| s.sender.upgrade().is_some());
        if streams.len() + usize::from(has_standalone) >= max {
            return Err(max);
        }
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        streams.push(OpenStream {
            key,
            sender: stream.downgrade(),
            shared,
        });
        Ok(StreamTicket {
            peer: self.clone(),
            key,
        })
    }

    fn standalone(&self) -> Option<mpsc::Sender<Value>> {
        self.standalone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|s| !s.is_closed())
            .cloned()
    }

    fn streams(&self) -> std::sync::MutexGuard<'_, Vec<OpenStream>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Streams the session holds open now.
    pub(super) fn open_streams(&self) -> usize {
        let answers = self
            .streams()
            .iter()
            .filter(|s| s.sender.upgrade().is_some())
            .count();
        answers + usize::from(self.standalone().is_some())
    }

    /// The stream that reaches the client now, if any: the GET stream,
    /// else the newest `tasks/result` answer.
    fn reach(&self) -> Option<mpsc::Sender<Value>> {
        self.standalone().or_else(|| {
            self.streams()
                .iter()
                .rev()
                .filter(|s| s.shared)
                .find_map(|s| s.sender.upgrade())
        })
    }
}

#[async_trait]
impl ClientPeer for HttpPeer {
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let outgoing = self.outbox.prepare(method, params);
        let stream = self.reach();
        let sent = match stream {
            Some(stream) => stream.send(outgoing.message.clone()).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.outbox.forget(outgoing));
        }
        outgoing.answer().await
    }

    fn notify(&self, message: Value) -> Delivery {
        let Some(stream) = self.reach() else {
            return Delivery::Unreachable;
        };
        match stream.try_send(message) {
            Ok(()) => Delivery::Sent,
            Err(mpsc::error::TrySendError::Full(_)) => Delivery::Full,
            Err(mpsc::error::TrySendError::Closed(_)) => Delivery::Unreachable,
        }
    }
}

/// One HTTP session.
pub(super) struct HttpSession {
    pub(super) session: Session,
    pub(super) peer: Arc<HttpPeer>,
    /// When a request last named this session.
    last_used: Mutex<Instant>,
}

impl HttpSession {
    pub(super) fn new(connection: Connection) -> Arc<HttpSession> {
        let peer = Arc::new(HttpPeer::default());
        Arc::new(HttpSession {
            session: Session::with_peer(connection, peer.clone()),
            peer,
            last_used: Mutex::new(Instant::now()),
        })
    }

    /// How long the session has gone unused: no request named it and no
    /// stream of it is open.
    fn idle(&self, now: Instant) -> Duration {
        if self.peer.open_streams() > 0 {
            return Duration::ZERO;
        }
        now.saturating_duration_since(*self.last_used.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn touch(&self, now: Instant) {
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// The session ended: requests to its client still waiting for an
    /// answer fail now, and what followed it stops.
    fn close(&self) {
        self.peer.outbox.clear();
        self.session.close();
    }
}

/// Why a session could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SessionsFull(pub(super) usize);

/// The live sessions, by id, ended when idle too long.
pub(super) struct SessionTable {
    by_id: HashMap<String, Arc<HttpSession>>,
    max: usize,
    idle_timeout: Duration,
    /// When idle sessions were last looked for.
    swept: Instant,
}

impl SessionTable {
    pub(super) fn new(max: usize, idle_timeout: Duration) -> Self {
        SessionTable {
            by_id: HashMap::new(),
            max,
            idle_timeout,
            swept: Instant::now(),
        }
    }

    /// The session `id`, marked used; `None` if unknown or idle too long.
    pub(super) fn get(&mut self, id: &str) -> Option<Arc<HttpSession>> {
        let now = Instant::now();
        self.sweep(now, false);
        let session = self.by_id.get(id)?;
        if session.idle(now) > self.idle_timeout {
            self.remove(id);
            return None;
        }
        session.touch(now);
        Some(session.clone())
    }

    /// Adds a session. When the table is full, sessions idle past the
    /// timeout end first; a session in use is never evicted for a new one.
    pub(super) fn insert(
        &mut self,
        id: String,
        session: Arc<HttpSession>,
    ) -> Result<(), SessionsFull> {
        let now = Instant::now();
        self.sweep(now, self.by_id.len() >= self.max);
        if self.by_id.len() >= self.max {
            return Err(SessionsFull(self.max));
        }
        self.by_id.insert(id, session);
        Ok(())
    }

    /// Ends a session; `false` if there was none.
    pub(super) fn remove(&mut self, id: &str) -> bool {
        let Some(session) = self.by_id.remove(id) else {
            return false;
        };
        session.close();
        true
    }

    /// Ends the sessions idle past the timeout: at most once a second
    /// unless `now_anyway`, so that a busy table is not scanned per request.
    fn sweep(&mut self, now: Instant, now_anyway: bool) {
        if !now_anyway && now.saturating_duration_since(self.swept) < Duration::from_secs(1) {
            return;
        }
        self.swept = now;
        let timeout = self.idle_timeout;
        self.by_id.retain(|_, session| {
            let keep = session.idle(now) <= timeout;
            if !keep {
                session.close();
            }
            keep
        });
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_sessions_end_and_a_full_table_refuses_rather_than_evicts() {
        let mut table = SessionTable::new(2, Duration::from_secs(60));
        let a = HttpSession::new(Connection::HttpSession("a".into()));
        table.insert("a".into(), a.clone()).unwrap();
        table
            .insert("b".into(), HttpSession::new(Connection::Stateless))
            .unwrap();
        let c = HttpSession::new(Connection::Stateless);
        assert_eq!(table.insert("c".into(), c.clone()), Err(SessionsFull(2)));
        assert!(table.get("a").is_some(), "nobody in use was evicted");

        // "a" has an open stream: in use though no request names it.
        let (tx, _rx) = mpsc::channel(1);
        a.peer.open_standalone(tx);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(table.get("b").is_none(), "b idled out");
        table.insert("c".into(), c).unwrap();
        assert!(table.get("a").is_some(), "a stream keeps its session alive");
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_session_holds_at_most_its_share_of_streams_and_listens_carry_only_their_own() {
        let peer = Arc::new(HttpPeer::default());
        let (listen, _listen_rx) = mpsc::channel(1);
        let listening = peer.open_stream(&listen, false, 3).unwrap();
        assert!(
            peer.reach().is_none(),
            "a listen's stream is not the session's"
        );
        let mut keep = Vec::new();
        for _ in 0..2 {
            let (tx, rx) = mpsc::channel(1);
            let ticket = peer.open_stream(&tx, true, 3).unwrap();
            keep.push((tx, rx, ticket));
        }
        let (extra, _extra_rx) = mpsc::channel(1);
        assert!(peer.open_stream(&extra, true, 3).is_err());
        assert!(
            peer.reach().unwrap().same_channel(&keep[1].0),
            "the newest answer"
        );
        // An answer that ended (its ticket given back, its request done)
        // frees its place and is no longer used.
        keep.pop();
        assert!(peer.reach().unwrap().same_channel(&keep[0].0));
        let _extra = peer.open_stream(&extra, true, 3).unwrap();
        drop(listening);
        assert_eq!(peer.open_streams(), 2, "the listen gave its place back");
    }
}
