//! Newline-delimited JSON-RPC over a byte stream (stdio), served
//! concurrently: a `tasks/result` that waits never stalls other requests,
//! and a bad line gets an error answer instead of ending the loop.

use super::server::{ClientPeer, Session, TaskServer};
use super::wire::{self, code};
use crate::domain::RpcError;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

type Pending = Mutex<HashMap<String, oneshot::Sender<Result<Value, RpcError>>>>;

/// The client at the other end of the stream, for server-to-client requests.
struct StreamPeer {
    out: mpsc::UnboundedSender<Value>,
    pending: Pending,
    next_id: AtomicU64,
}

#[async_trait]
impl ClientPeer for StreamPeer {
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = format!(
            "pmcp-tasks-{}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), tx);
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if self.out.send(message).is_err() {
            self.forget(&id);
            return Err(RpcError::new(
                code::INTERNAL_ERROR,
                "the client connection is closed",
            ));
        }
        rx.await.unwrap_or_else(|_| {
            Err(RpcError::new(
                code::INTERNAL_ERROR,
                "the client connection closed before answering",
            ))
        })
    }
}

impl StreamPeer {
    fn forget(&self, id: &str) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Routes a response from the client to the request waiting for it.
    /// Returns false if no request of ours has that id.
    fn resolve(&self, response: &Value) -> bool {
        let Some(id) = response.get("id").map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }) else {
            return false;
        };
        let waiter = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        let Some(waiter) = waiter else { return false };
        let outcome = match response.get("error") {
            Some(error) => Err(RpcError {
                code: error
                    .get("code")
                    .and_then(Value::as_i64)
                    .unwrap_or(code::INTERNAL_ERROR as i64) as i32,
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_owned(),
                data: error.get("data").cloned(),
            }),
            None => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
        };
        let _ = waiter.send(outcome);
        true
    }
}

impl TaskServer {
    /// Serves one client over this process's stdin and stdout until stdin
    /// closes. Call [`TaskServer::shutdown`] afterwards.
    pub async fn serve_stdio(&self) -> std::io::Result<()> {
        self.serve_stream(tokio::io::stdin(), tokio::io::stdout())
            .await
    }

    /// Serves one client over any pair of byte streams carrying
    /// newline-delimited JSON-RPC (what [`serve_stdio`](Self::serve_stdio)
    /// does with stdin and stdout). Returns when `reader` ends, after the
    /// answers to requests already read are written.
    pub async fn serve_stream<R, W>(&self, reader: R, writer: W) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin + Send,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out, mut outgoing) = mpsc::unbounded_channel::<Value>();
        let stop_writing = CancellationToken::new();
        let stop = stop_writing.clone();
        let writer_task = tokio::spawn(async move {
            let mut writer = writer;
            loop {
                let message = tokio::select! {
                    biased;
                    m = outgoing.recv() => m,
                    _ = stop.cancelled() => outgoing.try_recv().ok(),
                };
                let Some(message) = message else { break };
                let mut line = serde_json::to_vec(&message).unwrap_or_default();
                line.push(b'\n');
                writer.write_all(&line).await?;
                writer.flush().await?;
            }
            Ok::<_, std::io::Error>(())
        });
        let peer = Arc::new(StreamPeer {
            out: out.clone(),
            pending: Mutex::default(),
            next_id: AtomicU64::new(1),
        });
        let session = Arc::new(Session::with_peer(peer.clone()));
        let mut in_flight = JoinSet::new();
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).await? == 0 {
                break;
            }
            // Reap finished requests so the set stays small.
            while in_flight.try_join_next().is_some() {}
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let message: Value = match serde_json::from_str(text) {
                Ok(m) => m,
                Err(e) => {
                    let error = RpcError::new(
                        code::PARSE_ERROR,
                        format!("Parse error: the line is not JSON ({e})"),
                    );
                    let _ = out.send(wire::error_response(&Value::Null, &error));
                    continue;
                }
            };
            if message.get("method").is_none()
                && (message.get("result").is_some() || message.get("error").is_some())
            {
                if !peer.resolve(&message) {
                    tracing::debug!("dropping a response to an unknown request");
                }
                continue;
            }
            if message.is_array() {
                let error = RpcError::new(
                    code::INVALID_REQUEST,
                    "Invalid request: JSON-RPC batches are not supported",
                );
                let _ = out.send(wire::error_response(&Value::Null, &error));
                continue;
            }
            let (server, session, out) = (self.clone(), session.clone(), out.clone());
            in_flight.spawn(async move {
                if let Some(response) = server.handle_message(message, &session, None).await {
                    let _ = out.send(response);
                }
            });
        }
        // The client hung up: no answer can reach it any more, so waiting
        // for requests such as a blocked tasks/result would only hang.
        // Requests that finish quickly still get their answers written.
        let drain = async { while in_flight.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), drain).await;
        in_flight.abort_all();
        // Fail the server-to-client requests still waiting for answers.
        peer.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        stop_writing.cancel();
        writer_task.await.unwrap_or(Ok(()))
    }
}
