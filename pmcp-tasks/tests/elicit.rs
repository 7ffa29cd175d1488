//! Typed elicitation through a 2025-11-25 client over a byte stream: the
//! form sent is generated from the type, and each answer (accepted,
//! declined, cancelled, or content that does not fit) ends the task as the
//! tool says, never with a panic.

mod common;

use common::{fast_limits, ok, poll_until_terminal, LineClient};
use pmcp_tasks::{Elicited, TaskContext, TaskServer, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Deserialize, JsonSchema)]
struct Empty {}

#[derive(Deserialize, JsonSchema)]
enum Colour {
    Red,
    Blue,
}

/// The form.
#[derive(Deserialize, JsonSchema)]
struct Order {
    /// How many.
    count: u32,
    colour: Colour,
    note: Option<String>,
}

async fn order(_: Empty, ctx: TaskContext) -> Result<String, ToolError> {
    Ok(match ctx.elicit::<Order>("Your order?").await? {
        Elicited::Accepted(o) => format!(
            "{} {} ({})",
            o.count,
            match o.colour {
                Colour::Red => "red",
                Colour::Blue => "blue",
            },
            o.note.unwrap_or_default()
        ),
        Elicited::Declined => "declined".into(),
        Elicited::Cancelled => "cancelled".into(),
    })
}

async fn run(answer: Value) -> (Value, Vec<Value>) {
    let server = TaskServer::builder("elicit", "1")
        .tool(TaskTool::new("order", order))
        .limits(fast_limits())
        .clock(Arc::new(pmcp_tasks::clock::TokioClock::new()))
        .build()
        .unwrap();
    let client = LineClient::connect(&server, move |_| answer.clone());
    ok(&client.initialize().await);
    let created = client
        .call(
            "tools/call",
            json!({"name": "order", "arguments": {}, "task": {}}),
        )
        .await;
    let id = ok(&created)["task"]["taskId"].as_str().unwrap().to_owned();
    let result = client.call("tasks/result", json!({"taskId": id})).await;
    let done = poll_until_terminal(&client, &id).await;
    let asked = client.server_requests.lock().unwrap().clone();
    (json!({"result": result, "task": done}), asked)
}

#[tokio::test(start_paused = true)]
async fn the_form_comes_from_the_type_and_the_answer_back_into_it() {
    let (out, asked) = run(json!({"action": "accept",
        "content": {"count": 2, "colour": "Blue", "note": "gift"}}))
    .await;
    assert_eq!(
        out["result"]["result"]["content"][0]["text"],
        "2 blue (gift)"
    );
    assert_eq!(asked.len(), 1);
    let form = &asked[0]["params"]["requestedSchema"];
    assert_eq!(
        form["properties"]["count"],
        json!({"type": "integer", "description": "How many.", "minimum": 0})
    );
    assert_eq!(
        form["properties"]["colour"],
        json!({"type": "string", "enum": ["Red", "Blue"]})
    );
    assert_eq!(form["properties"]["note"], json!({"type": "string"}));
    assert_eq!(form["required"], json!(["count", "colour"]));
}

#[tokio::test(start_paused = true)]
async fn declined_and_cancelled_reach_the_tool() {
    let (declined, _) = run(json!({"action": "decline"})).await;
    assert_eq!(
        declined["result"]["result"]["content"][0]["text"],
        "declined"
    );
    let (cancelled, _) = run(json!({"action": "cancel"})).await;
    assert_eq!(
        cancelled["result"]["result"]["content"][0]["text"],
        "cancelled"
    );
}

#[tokio::test(start_paused = true)]
async fn content_that_does_not_fit_fails_the_task_saying_so() {
    let (out, _) =
        run(json!({"action": "accept", "content": {"count": "two", "colour": "Green"}})).await;
    assert_eq!(out["task"]["status"], "failed", "{out}");
    let message = out["result"]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("does not fit the form") && message.contains("elicit-1"),
        "{out}"
    );
}
