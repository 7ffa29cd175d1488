//! What the server logs at `info` and above: task ids, owners, tools and
//! outcomes; never arguments, results, variables or elicitation answers.

mod common;

use common::*;
use pmcp_tasks::{TaskContext, TaskServer, TaskTool, ToolError};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn confide(args: Value, ctx: TaskContext) -> Result<Value, ToolError> {
    ctx.set_var("note", &json!("SECRET_VARIABLE")).await?;
    let schema = json!({"type": "object", "properties": {"v": {"type": "string"}}});
    let answer = ctx.elicit_form("q", "Your secret?", schema).await?;
    if args["fail"] == true {
        return Err(ToolError::new("SECRET_FAILURE_DETAIL"));
    }
    Ok(json!({"echo": args, "answer": answer.content, "result": "SECRET_RESULT"}))
}

#[tokio::test]
async fn info_logs_carry_ids_owners_and_outcomes_only() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TaskServer::builder("audit", "1")
        .tool(TaskTool::new("confide", confide))
        .limits(fast_limits())
        .build()
        .unwrap();
    let client = LineClient::connect(
        &server,
        |_request| json!({"action": "accept", "content": {"v": "SECRET_ANSWER"}}),
    );
    for fail in [false, true] {
        let created = client
            .call(
                "tools/call",
                json!({"name": "confide", "arguments": {"secret": "SECRET_ARGUMENT", "fail": fail},
                       "task": {"ttl": 60000}}),
            )
            .await;
        let id = ok(&created)["task"]["taskId"].as_str().unwrap().to_owned();
        let result = client.call("tasks/result", json!({"taskId": id})).await;
        assert!(
            result.to_string().contains("SECRET"),
            "the client gets it all"
        );
        let cancel = client.call("tasks/cancel", json!({"taskId": id})).await;
        assert!(cancel.get("error").is_some());
    }
    drop(_guard);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("task created"), "{logs}");
    assert!(logs.contains("task finished"), "{logs}");
    assert!(logs.contains("owner=anon:local"), "{logs}");
    for secret in [
        "SECRET_ARGUMENT",
        "SECRET_RESULT",
        "SECRET_VARIABLE",
        "SECRET_ANSWER",
        "SECRET_FAILURE_DETAIL",
    ] {
        assert!(!logs.contains(secret), "{secret} was logged:\n{logs}");
    }
}
