//! A small streamable-HTTP client for the tests: JSON posts, sessions,
//! and SSE answers read message by message.

use pmcp_tasks::TaskServer;
use serde_json::{json, Value};
use std::time::Duration;

pub const ACCEPT: &str = "application/json, text/event-stream";

pub async fn start(server: TaskServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { server.serve_http(listener, std::future::pending()).await });
    url
}

/// A 2025-11-25 `initialize` of a client that can answer elicitations.
pub fn initialize_request() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "t", "version": "1"}}})
}

pub struct Http {
    pub client: reqwest::Client,
    pub url: String,
    pub session: Option<String>,
    pub token: Option<String>,
}

impl Http {
    pub fn new(url: &str) -> Self {
        Http {
            client: reqwest::Client::new(),
            url: url.into(),
            session: None,
            token: None,
        }
    }

    pub fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .post(&self.url)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(s) = &self.session {
            request = request.header("mcp-session-id", s);
        }
        if let Some(t) = &self.token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        request
    }

    pub async fn call(&self, method: &str, params: Value) -> Value {
        let response = self
            .post(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    pub async fn initialize(&mut self) {
        let response = self.post(&initialize_request()).send().await.unwrap();
        assert_eq!(response.status(), 200);
        self.session = Some(
            response.headers()["mcp-session-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["result"]["capabilities"]["tasks"]["requests"]["tools"]["call"],
            json!({})
        );
    }
}

pub fn sse_messages(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// Reads an SSE response message by message.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
    pending: std::collections::VecDeque<Value>,
    /// Keep-alive comments seen so far.
    pub comments: usize,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        SseReader {
            response,
            buffer: String::new(),
            pending: Default::default(),
            comments: 0,
        }
    }

    /// The next message, within 10 s; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Some(message);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an SSE event within 10 s")
                .expect("the stream reads")?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if event.lines().all(|l| l.starts_with(':') || l.is_empty()) {
                    self.comments += 1;
                }
                self.pending.extend(sse_messages(&event));
            }
        }
    }
}
