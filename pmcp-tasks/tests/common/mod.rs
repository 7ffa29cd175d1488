//! Shared fixtures of the end-to-end tests: a server with test tools, and a
//! line-based JSON-RPC client over an in-memory duplex "stdio".
#![allow(dead_code)]

pub mod http;
pub mod suspension;

use pmcp_tasks::clock::TokioClock;
use pmcp_tasks::{
    Limits, ProgressUpdate, TaskContext, TaskServer, TaskServerBuilder, TaskSupport, TaskTool,
    ToolError,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, WriteHalf};
use tokio::sync::{mpsc, oneshot};

pub const V2026: &str = "2026-07-28";

#[derive(Deserialize, JsonSchema)]
pub struct SleepArgs {
    pub ms: u64,
}

async fn sleepy(args: SleepArgs, ctx: TaskContext) -> Result<Value, ToolError> {
    ctx.progress(ProgressUpdate::of(0.0, 2.0).message("sleeping"))
        .await?;
    tokio::time::sleep(Duration::from_millis(args.ms)).await;
    ctx.progress(ProgressUpdate::of(1.0, 2.0)).await?;
    ctx.set_var("slept_ms", &args.ms).await?;
    Ok(json!({"slept_ms": args.ms}))
}

#[derive(Deserialize, JsonSchema)]
pub struct Empty {}

async fn tool_error(_: Empty, _ctx: TaskContext) -> Result<String, ToolError> {
    Err(ToolError::new("the tool failed"))
}

async fn protocol_error(_: Empty, _ctx: TaskContext) -> Result<String, ToolError> {
    Err(ToolError::protocol(-32050, "upstream exploded"))
}

async fn ask_twice(_: Empty, ctx: TaskContext) -> Result<String, ToolError> {
    let schema = json!({"type": "object", "properties": {"v": {"type": "string"}}});
    // Two questions outstanding at once, to exercise partial answers.
    let (a, b) = tokio::join!(
        ctx.elicit_form("first", "First?", schema.clone()),
        ctx.elicit_form("second", "Second?", schema)
    );
    let value = |r: pmcp_tasks::ElicitAnswer| {
        r.content
            .and_then(|c| c.get("v").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    };
    Ok(format!("{} {}", value(a?), value(b?)))
}

async fn plain(_: Empty, ctx: TaskContext) -> Result<String, ToolError> {
    Ok(format!("inline={}", !ctx.is_task()))
}

/// Sends one JSON-RPC request to `server` as caller `who`; its answer.
pub async fn call_as(server: &TaskServer, who: &str, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    server
        .handle(request, Some(pmcp::server::auth::AuthContext::new(who)))
        .await
        .expect("a request is answered")
}

/// [`call_as`] as caller `ana`.
pub async fn call(server: &TaskServer, method: &str, params: Value) -> Value {
    call_as(server, "ana", method, params).await
}

/// The id of the task a task-augmented `tools/call` answered.
pub fn task_id(created: &Value) -> String {
    ok(created)["task"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("no task in {created}"))
        .to_owned()
}

/// `builder` with the test tools added.
pub fn with_test_tools(builder: TaskServerBuilder) -> TaskServerBuilder {
    builder
        .tool(TaskTool::new("sleepy", sleepy).support(TaskSupport::Optional))
        .tool(TaskTool::new("tool_error", tool_error))
        .tool(TaskTool::new("protocol_error", protocol_error))
        .tool(TaskTool::new("ask_twice", ask_twice).support(TaskSupport::Required))
        .tool(TaskTool::new("plain", plain).support(TaskSupport::Forbidden))
}

/// A server with the test tools and the given limits.
pub fn server(limits: Limits) -> TaskServer {
    with_test_tools(TaskServer::builder("e2e", "1.0.0"))
        .limits(limits)
        // Tests run on tokio's paused time: the server's clock follows it.
        .clock(Arc::new(TokioClock::new()))
        .sweep_every(Duration::from_millis(50))
        .build()
        .expect("server builds")
}

pub fn fast_limits() -> Limits {
    Limits {
        poll_interval: Duration::from_millis(20),
        ..Limits::default()
    }
}

/// `_meta` of a 2026-07-28 request, with or without the Tasks extension.
pub fn meta_2026(with_tasks: bool) -> Value {
    let extensions = if with_tasks {
        json!({"io.modelcontextprotocol/tasks": {}})
    } else {
        json!({})
    };
    json!({
        "io.modelcontextprotocol/protocolVersion": V2026,
        "io.modelcontextprotocol/clientCapabilities": {"extensions": extensions, "elicitation": {}},
    })
}

/// Adds 2026-07-28 `_meta` to params.
pub fn v2026(mut params: Value, with_tasks: bool) -> Value {
    params["_meta"] = meta_2026(with_tasks);
    params
}

/// A client speaking newline-delimited JSON-RPC to `serve_stream`, with
/// requests in flight concurrently. Server-to-client requests are answered
/// by `answer`.
pub struct LineClient {
    writer: Arc<tokio::sync::Mutex<WriteHalf<DuplexStream>>>,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>,
    next: AtomicU64,
    pub server_requests: Arc<Mutex<Vec<Value>>>,
    /// Notifications the server sent, in order.
    pub notifications: mpsc::UnboundedReceiver<Value>,
    pub server_task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl LineClient {
    pub fn connect(
        server: &TaskServer,
        answer: impl Fn(&Value) -> Value + Send + 'static,
    ) -> LineClient {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let srv = server.clone();
        let server_task =
            tokio::spawn(async move { srv.serve_stream(server_read, server_write).await });
        let (read, write) = tokio::io::split(client_side);
        let writer = Arc::new(tokio::sync::Mutex::new(write));
        let pending: Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>> = Arc::default();
        let server_requests: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (notes_tx, notifications) = mpsc::unbounded_channel::<Value>();
        let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<Value>();
        {
            let writer = writer.clone();
            tokio::spawn(async move {
                while let Some(reply) = reply_rx.recv().await {
                    let mut w = writer.lock().await;
                    let _ = w.write_all(format!("{reply}\n").as_bytes()).await;
                }
            });
        }
        {
            let pending = pending.clone();
            let server_requests = server_requests.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let message: Value = serde_json::from_str(&line).expect("server wrote JSON");
                    if message.get("method").is_some() && message.get("id").is_none() {
                        let _ = notes_tx.send(message);
                        continue;
                    }
                    if message.get("method").is_some() && message.get("id").is_some() {
                        server_requests.lock().unwrap().push(message.clone());
                        let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": answer(&message)});
                        let _ = reply_tx.send(reply);
                        continue;
                    }
                    let key = message["id"].to_string();
                    if let Some(tx) = pending.lock().unwrap().remove(&key) {
                        let _ = tx.send(message);
                    }
                }
            });
        }
        LineClient {
            writer,
            pending,
            next: AtomicU64::new(1),
            server_requests,
            notifications,
            server_task,
        }
    }

    pub async fn send_line(&self, line: &str) {
        let mut w = self.writer.lock().await;
        w.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    }

    /// Sends a request and returns the whole response.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id.to_string(), tx);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_line(&request.to_string()).await;
        tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .unwrap_or_else(|_| panic!("no answer to {method} within 10 s"))
            .unwrap()
    }

    /// Sends a request with a raw id and waits for the response by that id.
    pub async fn call_raw(&self, request: Value) -> Value {
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap()
            .insert(request["id"].to_string(), tx);
        self.send_line(&request.to_string()).await;
        tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .expect("answer")
            .unwrap()
    }

    /// `initialize` as a client that answers elicitations.
    pub async fn initialize(&self) -> Value {
        self.initialize_with(json!({"elicitation": {}})).await
    }

    /// `initialize` declaring `capabilities`.
    pub async fn initialize_with(&self, capabilities: Value) -> Value {
        self.call(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": capabilities, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await
    }
}

impl LineClient {
    /// The next notification the server sends, within 10 s.
    pub async fn notification(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), self.notifications.recv())
            .await
            .expect("a notification within 10 s")
            .expect("the server is still connected")
    }

    /// The next notification with `method`, skipping others.
    pub async fn notification_of(&mut self, method: &str) -> Value {
        loop {
            let n = self.notification().await;
            if n["method"] == method {
                return n;
            }
        }
    }
}

/// The `result` of a response, or a panic showing the error.
pub fn ok(response: &Value) -> &Value {
    match response.get("result") {
        Some(r) => r,
        None => panic!("expected a result, got {response}"),
    }
}

/// The error code of a response, or a panic.
pub fn err_code(response: &Value) -> i64 {
    response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error, got {response}"))
}

/// Polls `tasks/get` (2025-11-25 shape) until the status is terminal.
pub async fn poll_until_terminal(client: &LineClient, id: &str) -> Value {
    for _ in 0..500 {
        let task = ok(&client.call("tasks/get", json!({"taskId": id})).await).clone();
        if matches!(
            task["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        ) {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {id} never finished")
}
