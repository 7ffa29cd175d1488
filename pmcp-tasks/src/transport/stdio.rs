//! Newline-delimited JSON-RPC over a byte stream (stdio), served
//! concurrently: a `tasks/result` that waits never stalls other requests,
//! and a bad line gets an error answer instead of ending the loop.

use crate::domain::RpcError;
use crate::protocol::{ClientPeer, Delivery, Error, Incoming, Outbox, Reply, Session};
use crate::server::TaskServer;
use crate::service::Connection;
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Messages queued for the client at most; past this a notification is
/// dropped (and a subscription that cannot keep up ends) rather than
/// growing memory, and answers wait for the writer.
const OUT_QUEUE: usize = 1024;

/// The client at the other end of the stream, for server-to-client
/// requests and notifications.
struct StreamPeer {
    out: mpsc::Sender<Value>,
    outbox: Outbox,
}

#[async_trait]
impl ClientPeer for StreamPeer {
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let outgoing = self.outbox.prepare(method, params);
        if self.out.send(outgoing.message.clone()).await.is_err() {
            return Err(self.outbox.forget(outgoing));
        }
        outgoing.answer().await
    }

    fn notify(&self, message: Value) -> Delivery {
        match self.out.try_send(message) {
            Ok(()) => Delivery::Sent,
            Err(mpsc::error::TrySendError::Full(_)) => Delivery::Full,
            Err(mpsc::error::TrySendError::Closed(_)) => Delivery::Closed,
        }
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
        let (out, outgoing) = mpsc::channel::<Value>(OUT_QUEUE);
        let stop_writing = CancellationToken::new();
        let writer_task = tokio::spawn(write_lines(writer, outgoing, stop_writing.clone()));
        let peer = Arc::new(StreamPeer {
            out: out.clone(),
            outbox: Outbox::default(),
        });
        let session = Arc::new(Session::with_peer(Connection::Local, peer.clone()));
        let mut in_flight = JoinSet::new();
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        let max_line = self.inner.transport_limits.max_message_bytes;
        loop {
            line.clear();
            match read_line(&mut reader, &mut line, max_line).await? {
                Line::End => break,
                Line::Read => {}
                Line::TooLong => {
                    let error = Error::InvalidRequest(format!(
                        "Invalid request: the message is larger than this server accepts \
                         ({max_line} bytes); it was skipped"
                    ));
                    let _ = out.send(Reply::error(Value::Null, error).to_json()).await;
                    continue;
                }
            }
            // Reap finished requests so the set stays small.
            while in_flight.try_join_next().is_some() {}
            // JSON text is UTF-8: bytes that are not are a parse error,
            // as over HTTP, rather than silently replaced.
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let message: Value = match serde_json::from_slice(text) {
                Ok(m) => m,
                Err(e) => {
                    let error = Error::Parse(format!("Parse error: the line is not JSON ({e})"));
                    let _ = out.send(Reply::error(Value::Null, error).to_json()).await;
                    continue;
                }
            };
            let router = &self.inner.router;
            match router.decode(message, &session) {
                Incoming::Response(answer) => {
                    if !peer.outbox.resolve(&answer) {
                        tracing::debug!("dropping a response to an unknown request");
                    }
                }
                Incoming::Refused(reply) => {
                    let _ = out.send(reply.to_json()).await;
                }
                Incoming::Notification(notification) => {
                    let (server, session) = (self.clone(), session.clone());
                    in_flight.spawn(async move {
                        server.inner.router.notify(notification, &session).await
                    });
                }
                Incoming::Call(call) => {
                    let (server, session, out) = (self.clone(), session.clone(), out.clone());
                    in_flight.spawn(async move {
                        // The one connection carries whatever the request
                        // streams (a listen's notifications).
                        let reply = server
                            .inner
                            .router
                            .serve(call, &session, None, Some(out.clone()))
                            .await;
                        if !reply.abandoned() {
                            let _ = out.send(reply.to_json()).await;
                        }
                    });
                }
            }
        }
        // The client hung up: no answer can reach it any more, so waiting
        // for requests such as a blocked tasks/result would only hang.
        // Requests that finish quickly still get their answers written.
        session.close();
        let drain = async { while in_flight.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), drain).await;
        in_flight.abort_all();
        // Fail the server-to-client requests still waiting for answers.
        peer.outbox.clear();
        stop_writing.cancel();
        writer_task.await.unwrap_or(Ok(()))
    }
}

/// What reading one line gave.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line (without its end) is in the buffer.
    Read,
    /// The line was longer than allowed: it was read past and dropped, so
    /// the next one starts clean.
    TooLong,
    /// The stream ended.
    End,
}

/// Reads one newline-terminated line of at most `max` bytes into `line`,
/// never holding more than `max` bytes of it in memory.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::End,
                (false, false) => Line::Read,
            });
        }
        let (chunk, ended) = match available.iter().position(|b| *b == b'\n') {
            Some(end) => (&available[..end], Some(end + 1)),
            None => (available, None),
        };
        if !too_long && line.len() + chunk.len() > max {
            too_long = true;
            line.clear();
            line.shrink_to(64 * 1024);
        }
        if !too_long {
            line.extend_from_slice(chunk);
        }
        let consumed = ended.unwrap_or(available.len());
        reader.consume(consumed);
        if ended.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Read });
        }
    }
}

/// Writes each message as one line until told to stop (after writing what
/// is already queued).
async fn write_lines<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut outgoing: mpsc::Receiver<Value>,
    stop: CancellationToken,
) -> std::io::Result<()> {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_over_the_limit_are_skipped_whole() {
        let input = format!("{}\n{{\"a\":1}}\n{}\nlast", "x".repeat(100), "y".repeat(11));
        // A tiny buffer, so that lines span many reads.
        let mut reader = BufReader::with_capacity(4, input.as_bytes());
        let mut line = Vec::new();
        let mut seen = Vec::new();
        loop {
            line.clear();
            match read_line(&mut reader, &mut line, 10).await.unwrap() {
                Line::End => break,
                Line::TooLong => seen.push("too long".to_owned()),
                Line::Read => seen.push(String::from_utf8(line.clone()).unwrap()),
            }
            assert!(line.len() <= 10);
        }
        assert_eq!(seen, ["too long", "{\"a\":1}", "too long", "last"]);
    }
}
