//! One MCP client, over streamable HTTP or (in process) over a byte stream
//! of newline-delimited JSON-RPC, speaking either Tasks era, and the task
//! round trip the benchmark times.
//!
//! Written against the specs, not against any one server: JSON or SSE
//! answers, `Mcp-Session-Id` when a server hands one out, the
//! `MCP-Protocol-Version` header, and for 2026-07-28 the per-request
//! `_meta` envelope and the `Mcp-Method` / `Mcp-Name` routing headers that
//! the extension requires (rmcp and turul refuse requests without them).

use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

pub const V2025: &str = "2025-11-25";
pub const V2026: &str = "2026-07-28";
const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";
/// The length of the text `job` answers on every server.
pub const RESULT_CHARS: usize = 1024;
/// The task lifetime every 2025-11-25 request asks for (the 2026-07-28
/// extension has no such request field: each server is set to one minute).
const TTL_MS: u64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Era {
    V2025,
    V2026,
}

impl Era {
    pub fn version(self) -> &'static str {
        match self {
            Era::V2025 => V2025,
            Era::V2026 => V2026,
        }
    }
}

pub struct Client {
    wire: Wire,
    era: Era,
    next_id: u64,
    /// The methods answered with an SSE stream (reported, not judged).
    pub sse_methods: std::collections::BTreeSet<String>,
}

/// How the client reaches its server.
enum Wire {
    Http {
        http: reqwest::Client,
        url: String,
        /// 2025-11-25 only: what `initialize` handed out, if anything.
        session: Option<String>,
    },
    /// One JSON-RPC message per line each way, as over stdio.
    Lines {
        writer: WriteHalf<DuplexStream>,
        reader: BufReader<ReadHalf<DuplexStream>>,
    },
}

/// `tasks/get` after `tasks/get` of a task still working waits this long.
const POLL_GAP: Duration = Duration::from_millis(1);

impl Client {
    /// A client with its own connection: `initialize` and
    /// `notifications/initialized` in 2025-11-25, `server/discover` in
    /// 2026-07-28 (stateless: no session). Checks that the server declares
    /// task support for `tools/call` in that era.
    pub async fn connect(url: &str, era: Era) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let wire = Wire::Http { http, url: url.to_owned(), session: None };
        Client::handshake(wire, era).await
    }

    /// A client over an in-memory stream to a server in this process, which
    /// speaks newline-delimited JSON-RPC on it; the same handshake.
    pub async fn over_stream(stream: DuplexStream, era: Era) -> Result<Client, String> {
        let (reader, writer) = tokio::io::split(stream);
        Client::handshake(Wire::Lines { writer, reader: BufReader::new(reader) }, era).await
    }

    async fn handshake(wire: Wire, era: Era) -> Result<Client, String> {
        let mut client = Client { wire, era, next_id: 1, sse_methods: Default::default() };
        match era {
            Era::V2025 => {
                let init = json!({
                    "protocolVersion": V2025,
                    "capabilities": {},
                    "clientInfo": {"name": "peer-bench", "version": env!("CARGO_PKG_VERSION")},
                });
                let result = client.call("initialize", init).await?;
                if result["protocolVersion"] != V2025 {
                    return Err(format!("initialize answered protocol {}", result["protocolVersion"]));
                }
                if result["capabilities"]["tasks"]["requests"]["tools"]["call"].is_null() {
                    return Err("initialize declares no tasks.requests.tools.call capability".into());
                }
                client.notify("notifications/initialized").await?;
            }
            Era::V2026 => {
                let result = client.call("server/discover", json!({})).await?;
                if result["capabilities"]["extensions"][TASKS_EXTENSION].is_null() {
                    return Err(format!("server/discover declares no {TASKS_EXTENSION} extension"));
                }
            }
        }
        Ok(client)
    }

    /// One task: a task-augmented `tools/call` of `job`, `tasks/get` until
    /// `completed`, then the result (2025-11-25: `tasks/result`; 2026-07-28:
    /// inline in the last `tasks/get`), checked. Returns the `tasks/get`s it
    /// took.
    pub async fn round_trip(&mut self, n: u64) -> Result<u32, String> {
        let mut call = json!({"name": "job", "arguments": {"n": n}});
        if self.era == Era::V2025 {
            call["task"] = json!({"ttl": TTL_MS});
        }
        let created = self.call("tools/call", call).await?;
        let task_id = match self.era {
            Era::V2025 => created["task"]["taskId"].as_str(),
            Era::V2026 if created["resultType"] == "task" => created["taskId"].as_str(),
            Era::V2026 => None,
        }
        .ok_or_else(|| format!("tools/call made no task: {}", brief(&created)))?
        .to_owned();
        let mut gets = 0u32;
        let done = loop {
            if gets > 0 {
                tokio::time::sleep(POLL_GAP).await;
            }
            let task = self.call("tasks/get", json!({"taskId": task_id})).await?;
            gets += 1;
            match task["status"].as_str() {
                Some("completed") => break task,
                Some("working") => {}
                _ => return Err(format!("tasks/get: {}", brief(&task))),
            }
            if gets > 10_000 {
                return Err("task not completed after 10,000 tasks/get".into());
            }
        };
        let result = match self.era {
            Era::V2025 => self.call("tasks/result", json!({"taskId": task_id})).await?,
            Era::V2026 => done["result"].clone(),
        };
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        let expected = format!("job {n} ");
        if text.chars().count() != RESULT_CHARS || !text.starts_with(&expected) {
            return Err(format!("wrong result for job {n}: {}", brief(&result)));
        }
        Ok(gets)
    }

    /// A JSON-RPC request; its `result`, or its error as text.
    async fn call(&mut self, method: &str, mut params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        // The name routing headers carry: the tool, or the task.
        let name = params.get("name").or_else(|| params.get("taskId")).and_then(Value::as_str).map(str::to_owned);
        if self.era == Era::V2026 {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": V2026,
                "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS_EXTENSION: {}}},
                "io.modelcontextprotocol/clientInfo": {"name": "peer-bench", "version": env!("CARGO_PKG_VERSION")},
            });
        }
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let message = match &mut self.wire {
            Wire::Http { .. } => self.over_http(method, name.as_deref(), id, &body).await?,
            Wire::Lines { writer, reader } => exchange_lines(writer, reader, id, &body).await.map_err(|e| format!("{method}: {e}"))?,
        };
        if let Some(error) = message.get("error") {
            return Err(format!("{method}: error {error}"));
        }
        message.get("result").cloned().ok_or_else(|| format!("{method}: no result in {}", brief(&message)))
    }

    /// Posts `body`, then reads the answer to request `id` (JSON or SSE).
    async fn over_http(&mut self, method: &str, name: Option<&str>, id: u64, body: &Value) -> Result<Value, String> {
        let mut response = self.post(method, name, body)?.send().await.map_err(|e| format!("{method}: {e}"))?;
        if let (Wire::Http { session, .. }, "initialize") = (&mut self.wire, method) {
            *session = response
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
        let status = response.status();
        let sse = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if sse {
            if !self.sse_methods.contains(method) {
                self.sse_methods.insert(method.to_owned());
            }
            read_sse_answer(&mut response, id).await.map_err(|e| format!("{method}: {e}"))
        } else {
            let text = response.text().await.map_err(|e| format!("{method}: {e}"))?;
            serde_json::from_str::<Value>(&text)
                .map_err(|_| format!("{method}: HTTP {status}: {}", text.chars().take(300).collect::<String>()))
        }
    }

    async fn notify(&mut self, method: &str) -> Result<(), String> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        if let Wire::Lines { writer, .. } = &mut self.wire {
            return write_line(writer, &body).await.map_err(|e| format!("{method}: {e}"));
        }
        let response = self.post(method, None, &body)?.send().await.map_err(|e| format!("{method}: {e}"))?;
        let status = response.status();
        let _ = response.bytes().await;
        if !status.is_success() {
            return Err(format!("{method}: HTTP {status}"));
        }
        Ok(())
    }

    fn post(&self, method: &str, name: Option<&str>, body: &Value) -> Result<reqwest::RequestBuilder, String> {
        let Wire::Http { http, url, session } = &self.wire else {
            return Err(format!("{method}: not an HTTP client"));
        };
        let mut request = http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        // 2025-11-25 sends the negotiated version after initialize.
        if self.era == Era::V2026 || method != "initialize" {
            request = request.header("mcp-protocol-version", self.era.version());
        }
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        if self.era == Era::V2026 {
            request = request.header("mcp-method", method);
            if let Some(name) = name {
                request = request.header("mcp-name", name);
            }
        }
        Ok(request)
    }
}

/// Reads an SSE answer until the response to request `id`, then drains the
/// rest briefly so the connection can be reused (a server SHOULD end the
/// stream after the response).
async fn read_sse_answer(response: &mut reqwest::Response, id: u64) -> Result<Value, String> {
    let mut buffer = String::new();
    let mut found = None;
    while found.is_none() {
        let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? else {
            break;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect::<Vec<_>>()
                .join("\n");
            if let Ok(message) = serde_json::from_str::<Value>(&data) {
                if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                    found = Some(message);
                }
            }
        }
    }
    let found = found.ok_or_else(|| format!("the event stream ended without the response to {id}"))?;
    while let Ok(Ok(Some(_))) = tokio::time::timeout(Duration::from_millis(200), response.chunk()).await {}
    Ok(found)
}

async fn write_line(writer: &mut WriteHalf<DuplexStream>, message: &Value) -> std::io::Result<()> {
    let mut line = message.to_string();
    line.push('\n');
    writer.write_all(line.as_bytes()).await
}

/// Writes request `id` as a line, then reads lines until its response
/// (skipping the server's notifications and requests).
async fn exchange_lines(
    writer: &mut WriteHalf<DuplexStream>,
    reader: &mut BufReader<ReadHalf<DuplexStream>>,
    id: u64,
    body: &Value,
) -> Result<Value, String> {
    write_line(writer, body).await.map_err(|e| e.to_string())?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
            return Err(format!("the server closed the stream before answering {id}"));
        }
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            return Err(format!("not JSON from the server: {}", line.chars().take(300).collect::<String>()));
        };
        if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
            return Ok(message);
        }
    }
}

/// A message cut short for an error line.
fn brief(value: &Value) -> String {
    value.to_string().chars().take(300).collect()
}
