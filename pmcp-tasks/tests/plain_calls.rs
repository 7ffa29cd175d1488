//! A plain (task-less) `tools/call` stays alive and cancellable: the body's
//! progress reaches the client as `notifications/progress` for the call's
//! `progressToken`, and the client's `notifications/cancelled` of the call
//! stops the body.

mod common;

use common::{ok, LineClient};
use pmcp_tasks::{ProgressUpdate, TaskContext, TaskServer, TaskSupport, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct Empty {}

async fn three_steps(_: Empty, ctx: TaskContext) -> Result<String, ToolError> {
    for step in 1..=3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        ctx.progress(ProgressUpdate::of(f64::from(step), 3.0).message(format!("step {step}")))
            .await?;
    }
    ctx.progress("wrapping up").await?;
    Ok("done".into())
}

static DROPPED: AtomicBool = AtomicBool::new(false);

struct Flag;

impl Drop for Flag {
    fn drop(&mut self) {
        DROPPED.store(true, Ordering::SeqCst);
    }
}

async fn forever(_: Empty, _ctx: TaskContext) -> Result<String, ToolError> {
    let _flag = Flag;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok("never".into())
}

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

async fn greet(_: Empty, ctx: TaskContext) -> Result<String, ToolError> {
    match ctx.elicit::<Name>("Who are you?").await? {
        pmcp_tasks::Elicited::Accepted(n) => Ok(format!("hi {}", n.name)),
        _ => Ok("no name".into()),
    }
}

fn server() -> TaskServer {
    TaskServer::builder("plain", "1")
        .tool(TaskTool::new("greet", greet))
        .tool(TaskTool::new("three_steps", three_steps).support(TaskSupport::Forbidden))
        .tool(TaskTool::new("forever", forever))
        .build()
        .unwrap()
}

#[tokio::test]
async fn progress_of_a_plain_call_reaches_the_client_before_its_answer() {
    let server = server();
    let mut client = LineClient::connect(&server, |_| Value::Null);
    ok(&client.initialize().await);
    let answer = client
        .call_raw(json!({"jsonrpc": "2.0", "id": "p", "method": "tools/call",
            "params": {"name": "three_steps", "arguments": {}, "_meta": {"progressToken": "tok"}}}))
        .await;
    assert_eq!(ok(&answer)["content"][0]["text"], "done");
    let mut seen = Vec::new();
    while let Ok(Some(note)) =
        tokio::time::timeout(Duration::from_millis(200), client.notifications.recv()).await
    {
        if note["method"] == "notifications/progress" {
            seen.push(note["params"].clone());
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    for (i, params) in seen.iter().take(3).enumerate() {
        assert_eq!(params["progressToken"], "tok");
        assert_eq!(params["progress"], json!((i + 1) as f64));
        assert_eq!(params["total"], json!(3.0));
        assert_eq!(params["message"], format!("step {}", i + 1));
    }
    // A message without numbers still counts up.
    assert_eq!(seen[3]["message"], "wrapping up");
    assert!(seen[3]["progress"].as_f64().unwrap() > 3.0, "{:?}", seen[3]);
}

#[tokio::test]
async fn the_clients_cancellation_stops_a_plain_call() {
    let server = server();
    let client = Arc::new(LineClient::connect(&server, |_| Value::Null));
    ok(&client.initialize().await);
    let call = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call_raw(
                    json!({"jsonrpc": "2.0", "id": "long", "method": "tools/call",
                    "params": {"name": "forever", "arguments": {}}}),
                )
                .await
        })
    };
    // The body is running when the cancellation arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!DROPPED.load(Ordering::SeqCst));
    client
        .send_line(
            &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": "long", "reason": "user pressed stop"}})
            .to_string(),
        )
        .await;
    // The body stops at once, and (as the spec asks) the cancelled call
    // gets no answer.
    for _ in 0..50 {
        if DROPPED.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(DROPPED.load(Ordering::SeqCst), "the body was dropped");
    let unanswered = tokio::time::timeout(Duration::from_millis(300), call).await;
    assert!(unanswered.is_err(), "no answer: {unanswered:?}");
    // The connection goes on.
    ok(&client.call("ping", json!({})).await);
}

#[tokio::test]
async fn a_plain_call_asks_a_client_that_answers_forms_directly() {
    let server = server();
    let client = LineClient::connect(&server, |request| {
        assert_eq!(request["method"], "elicitation/create");
        assert_eq!(request["params"]["message"], "Who are you?");
        json!({"action": "accept", "content": {"name": "Ada"}})
    });
    ok(&client.initialize().await);
    let answer = client
        .call("tools/call", json!({"name": "greet", "arguments": {}}))
        .await;
    assert_eq!(ok(&answer)["content"][0]["text"], "hi Ada");
    assert_eq!(client.server_requests.lock().unwrap().len(), 1);

    // A client without forms is told why, and is not asked.
    let plain = LineClient::connect(&server, |_| panic!("nothing may be asked"));
    ok(&plain.initialize_with(json!({})).await);
    let refused = plain
        .call("tools/call", json!({"name": "greet", "arguments": {}}))
        .await;
    assert!(
        refused
            .to_string()
            .contains("declared no elicitation capability"),
        "{refused}"
    );
}
