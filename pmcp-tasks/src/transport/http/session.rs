//! HTTP sessions (2025-11-25 `Mcp-Session-Id`): how the server reaches a
//! session's client, and the table of live sessions.

use crate::domain::RpcError;
use crate::protocol::{ClientPeer, Delivery, Outbox, Session};
use crate::service::Connection;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Sessions kept at most; the oldest is dropped beyond this.
const MAX_SESSIONS: usize = 10_000;

/// Messages an SSE stream queues at most before a notification is dropped.
pub(super) const STREAM_QUEUE: usize = 256;

/// Reaches a 2025-11-25 HTTP client: through its standalone GET stream, or
/// the SSE stream of a request it waits on (a `tasks/result`). Its answers
/// come back as POSTs.
#[derive(Default)]
pub(super) struct HttpPeer {
    /// The session's GET stream, while open.
    standalone: Mutex<Option<mpsc::Sender<Value>>>,
    /// The open SSE answers of this session, newest last.
    streams: Mutex<Vec<mpsc::Sender<Value>>>,
    pub(super) outbox: Outbox,
}

impl HttpPeer {
    /// Opens the session's GET stream (replacing an earlier one).
    pub(super) fn open_standalone(&self, stream: mpsc::Sender<Value>) {
        *self.standalone.lock().unwrap_or_else(|p| p.into_inner()) = Some(stream);
    }

    /// Keeps an SSE answer's stream, to reach the client on.
    pub(super) fn open_stream(&self, stream: mpsc::Sender<Value>) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|s| !s.is_closed());
        streams.push(stream);
    }

    /// The streams that reach the client now, best first: the GET stream,
    /// then the newest SSE answer.
    fn open(&self) -> Vec<mpsc::Sender<Value>> {
        let mut open = Vec::new();
        if let Some(s) = self
            .standalone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|s| !s.is_closed())
        {
            open.push(s.clone());
        }
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|s| !s.is_closed());
        open.extend(streams.iter().rev().cloned());
        open
    }
}

#[async_trait]
impl ClientPeer for HttpPeer {
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let outgoing = self.outbox.prepare(method, params);
        let stream = self.open().into_iter().next();
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
        let Some(stream) = self.open().into_iter().next() else {
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
}

impl HttpSession {
    pub(super) fn new(connection: Connection) -> Arc<HttpSession> {
        let peer = Arc::new(HttpPeer::default());
        Arc::new(HttpSession {
            session: Session::with_peer(connection, peer.clone()),
            peer,
        })
    }

    /// The session ended: requests to its client still waiting for an
    /// answer fail now, and what followed it stops.
    fn close(&self) {
        self.peer.outbox.clear();
        self.session.close();
    }
}

/// The live sessions, by id.
#[derive(Default)]
pub(super) struct SessionTable {
    by_id: HashMap<String, Arc<HttpSession>>,
    order: VecDeque<String>,
}

impl SessionTable {
    pub(super) fn get(&self, id: &str) -> Option<Arc<HttpSession>> {
        self.by_id.get(id).cloned()
    }

    pub(super) fn insert(&mut self, id: String, session: Arc<HttpSession>) {
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
    pub(super) fn remove(&mut self, id: &str) -> bool {
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
