//! One connection as the protocol sees it: the version its `initialize`
//! agreed, and a way to send requests to its client (2025-11-25 delivers a
//! task's input requests that way), with the bookkeeping of those requests
//! that every transport able to reach its client shares.

use crate::domain::{code, RpcError};
use crate::service::Connection;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// What became of a notification handed to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Queued for the client.
    Sent,
    /// The client is not keeping up: this one was dropped.
    Full,
    /// No stream reaches the client now (it may open one later).
    Unreachable,
    /// The connection is gone for good.
    Closed,
}

/// A way to reach the client of one connection: requests it answers, and
/// notifications. Transports that can reach their client implement it.
#[async_trait]
pub(crate) trait ClientPeer: Send + Sync {
    /// Sends a request and waits for the client's answer.
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError>;

    /// Queues a notification without waiting: a slow client never holds up
    /// the sender.
    fn notify(&self, message: Value) -> Delivery;
}

/// What the server remembers about one connection (a stdio process or an
/// HTTP session).
#[derive(Default)]
pub(crate) struct Session {
    /// Which connection this is, for the owner of anonymous callers.
    connection: Connection,
    negotiated: Mutex<Option<String>>,
    /// Whether the client declared it can answer form elicitations, once
    /// it said at `initialize`.
    client_elicits: Mutex<Option<bool>>,
    peer: Option<Arc<dyn ClientPeer>>,
    /// Cancelled when the connection ends: what follows it stops.
    closed: CancellationToken,
    /// The open `subscriptions/listen` requests, by id, for the client's
    /// `notifications/cancelled`.
    listens: Mutex<HashMap<String, CancellationToken>>,
}

impl Session {
    /// A connection whose client the transport can reach.
    pub(crate) fn with_peer(connection: Connection, peer: Arc<dyn ClientPeer>) -> Self {
        Session {
            connection,
            peer: Some(peer),
            ..Session::default()
        }
    }

    /// A connection the server cannot reach back (a request on its own).
    pub(crate) fn unreachable(connection: Connection) -> Self {
        Session {
            connection,
            ..Session::default()
        }
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The version agreed by `initialize`, if it happened.
    pub(crate) fn negotiated(&self) -> Option<String> {
        self.negotiated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_negotiated(&self, version: String) {
        *self.negotiated.lock().unwrap_or_else(|p| p.into_inner()) = Some(version);
    }

    /// Whether the client can answer form elicitations, as it declared at
    /// `initialize`; `None` before that.
    pub(crate) fn client_elicits(&self) -> Option<bool> {
        *self
            .client_elicits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_client_elicits(&self, elicits: bool) {
        *self
            .client_elicits
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(elicits);
    }

    /// How to reach the client, if the transport can.
    pub(crate) fn peer(&self) -> Option<&Arc<dyn ClientPeer>> {
        self.peer.as_ref()
    }

    /// The connection ended: everything following it stops.
    pub(crate) fn close(&self) {
        self.closed.cancel();
        for (_, listen) in self.listens().drain() {
            listen.cancel();
        }
    }

    /// Cancelled when the connection ends.
    pub(crate) fn closed(&self) -> CancellationToken {
        self.closed.clone()
    }

    /// Registers the listen request `id`: its token is cancelled when the
    /// client cancels the request or the connection ends. The registration
    /// is removed when the returned guard drops, however the listen ends.
    pub(crate) fn open_listen(&self, id: &Value) -> OpenListen<'_> {
        let token = self.closed.child_token();
        let key = id.to_string();
        self.listens().insert(key.clone(), token.clone());
        OpenListen {
            session: self,
            key,
            token,
        }
    }

    /// The client cancelled request `id`: if it is a listen or a plain tool
    /// call, it stops.
    pub(crate) fn cancel_listen(&self, id: &Value) -> bool {
        match self.listens().remove(&id.to_string()) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn listens(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.listens.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A listen request registered with its connection (see
/// [`Session::open_listen`]).
pub(crate) struct OpenListen<'a> {
    session: &'a Session,
    key: String,
    token: CancellationToken,
}

impl OpenListen<'_> {
    /// Cancelled when the client cancels the listen or the connection ends.
    pub(crate) fn cancelled(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for OpenListen<'_> {
    fn drop(&mut self) {
        self.session.listens().remove(&self.key);
    }
}

type Answer = Result<Value, RpcError>;

/// The requests this server sent to one client and still waits on, by id.
#[derive(Default)]
pub(crate) struct Outbox {
    pending: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    next_id: AtomicU64,
}

/// A request ready to send, and the way to its answer.
pub(crate) struct Outgoing {
    /// The JSON-RPC request to write to the client.
    pub(crate) message: Value,
    id: String,
    answer: oneshot::Receiver<Answer>,
}

impl Outbox {
    /// Registers a new request and builds its message.
    pub(crate) fn prepare(&self, method: &str, params: Value) -> Outgoing {
        let id = format!(
            "pmcp-tasks-{}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, answer) = oneshot::channel();
        self.lock().insert(id.clone(), tx);
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        Outgoing {
            message,
            id,
            answer,
        }
    }

    /// Gives up on a request that could not be sent.
    pub(crate) fn forget(&self, outgoing: Outgoing) -> RpcError {
        self.lock().remove(&outgoing.id);
        RpcError::internal("there is no open connection to the client")
    }

    /// Hands a response from the client to the request waiting for it.
    /// Returns false if no request of ours has that id.
    pub(crate) fn resolve(&self, response: &Value) -> bool {
        let id = match response.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return false,
        };
        let Some(waiter) = self.lock().remove(&id) else {
            return false;
        };
        let answer = match response.get("error") {
            Some(error) => Err(RpcError {
                code: error
                    .get("code")
                    .and_then(Value::as_i64)
                    .and_then(|c| i32::try_from(c).ok())
                    .unwrap_or(code::INTERNAL_ERROR),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("the client answered with an error")
                    .to_owned(),
                data: error.get("data").cloned(),
            }),
            None => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
        };
        let _ = waiter.send(answer);
        true
    }

    /// Fails every request still waiting (the connection is gone).
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Answer>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Outgoing {
    /// Waits for the client's answer.
    pub(crate) async fn answer(self) -> Answer {
        self.answer.await.unwrap_or_else(|_| {
            Err(RpcError::internal(
                "the client connection closed before it answered",
            ))
        })
    }
}
