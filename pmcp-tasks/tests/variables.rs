//! Task variables written by clients: seeded on the task-creating
//! `tools/call` (both eras), merged by 2026-07-28 `tasks/update`, awaited
//! by the body; owner-checked, size-limited, refused whole.

mod common;

use common::{call_as, err_code, fast_limits, meta_2026, ok};
use pmcp_tasks::{Limits, TaskContext, TaskServer, TaskTool, ToolError, VARIABLES_META_KEY};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct Empty {}

/// Waits for the client to set `approved`, then answers with every
/// variable it then sees.
async fn approval(_: Empty, ctx: TaskContext) -> Result<Value, ToolError> {
    ctx.set_var("phase", &"waiting").await?;
    let vars = ctx
        .wait_for_variables(|v| v.contains_key("approved"))
        .await?;
    Ok(json!({"seen": vars}))
}

fn server(limits: Limits) -> TaskServer {
    TaskServer::builder("vars", "1")
        .tool(TaskTool::new("approval", approval))
        .limits(limits)
        .clock(Arc::new(pmcp_tasks::clock::TokioClock::new()))
        .build()
        .unwrap()
}

/// 2026-07-28 params carrying `variables` under `_meta`.
fn with_vars(mut params: Value, variables: Value) -> Value {
    let mut meta = meta_2026(true);
    meta[VARIABLES_META_KEY] = variables;
    params["_meta"] = meta;
    params
}

async fn variables(server: &TaskServer, who: &str, id: &str) -> Value {
    let got = call_as(
        server,
        who,
        "tasks/get",
        with_vars(json!({"taskId": id}), Value::Null),
    )
    .await;
    ok(&got)["_meta"][VARIABLES_META_KEY].clone()
}

#[tokio::test(start_paused = true)]
async fn a_client_seeds_then_changes_the_variables_and_the_body_sees_them() {
    let server = server(fast_limits());
    let created = call_as(
        &server,
        "ana",
        "tools/call",
        with_vars(
            json!({"name": "approval", "arguments": {}}),
            json!({"style": "brief", "limit": 5, "dropped": null}),
        ),
    )
    .await;
    let id = ok(&created)["taskId"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        variables(&server, "ana", &id).await,
        json!({"style": "brief", "limit": 5, "phase": "waiting"})
    );
    // One merge: a key set, one removed, one changed, the rest kept.
    let update = |vars: Value| with_vars(json!({"taskId": id, "inputResponses": {}}), vars);
    let answered = call_as(
        &server,
        "ana",
        "tasks/update",
        update(json!({"approved": true, "style": null, "limit": 9})),
    )
    .await;
    assert_eq!(ok(&answered)["resultType"], "complete", "{answered}");
    let done = loop {
        let got = call_as(&server, "ana", "tasks/get", update(Value::Null)).await;
        if ok(&got)["status"] == "completed" {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        ok(&done)["result"]["structuredContent"]["seen"],
        json!({"approved": true, "limit": 9, "phase": "waiting"})
    );
    // A finished task's variables are frozen.
    let late = call_as(&server, "ana", "tasks/update", update(json!({"x": 1}))).await;
    assert_eq!(err_code(&late), -32602, "{late}");
    assert!(
        late["error"]["message"].as_str().unwrap().contains("ended"),
        "{late}"
    );
}

#[tokio::test(start_paused = true)]
async fn refused_writes_change_nothing_and_say_why() {
    let server = server(Limits {
        max_variable_bytes: 64,
        ..fast_limits()
    });
    // Too big to seed: no task is created.
    let big = json!({"blob": "x".repeat(100)});
    let refused = call_as(
        &server,
        "ana",
        "tools/call",
        with_vars(json!({"name": "approval", "arguments": {}}), big.clone()),
    )
    .await;
    assert_eq!(err_code(&refused), -32602, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("64 bytes"),
        "{refused}"
    );
    // Not an object.
    let shaped = call_as(
        &server,
        "ana",
        "tools/call",
        with_vars(json!({"name": "approval", "arguments": {}}), json!([1])),
    )
    .await;
    assert_eq!(err_code(&shaped), -32602, "{shaped}");
    assert!(
        shaped["error"]["message"]
            .as_str()
            .unwrap()
            .contains(VARIABLES_META_KEY),
        "{shaped}"
    );
    let created = call_as(
        &server,
        "ana",
        "tools/call",
        with_vars(
            json!({"name": "approval", "arguments": {}}),
            json!({"a": 1}),
        ),
    )
    .await;
    let id = ok(&created)["taskId"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = variables(&server, "ana", &id).await;
    // Over the limit: nothing of the merge lands, not even the small key.
    let over = call_as(
        &server,
        "ana",
        "tasks/update",
        with_vars(
            json!({"taskId": id, "inputResponses": {}}),
            json!({"small": 1, "blob": "x".repeat(100)}),
        ),
    )
    .await;
    assert_eq!(err_code(&over), -32602, "{over}");
    assert_eq!(variables(&server, "ana", &id).await, before);
    // Another owner's write is refused as for an unknown task.
    let foreign = call_as(
        &server,
        "bob",
        "tasks/update",
        with_vars(
            json!({"taskId": id, "inputResponses": {}}),
            json!({"approved": true}),
        ),
    )
    .await;
    assert_eq!(err_code(&foreign), -32602, "{foreign}");
    assert!(
        foreign["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{foreign}"
    );
    assert_eq!(variables(&server, "ana", &id).await, before);
    // The server's own workflow state is not the client's to write.
    let reserved = call_as(
        &server,
        "ana",
        "tasks/update",
        with_vars(
            json!({"taskId": id, "inputResponses": {}}),
            json!({"_workflow.progress": {}}),
        ),
    )
    .await;
    assert_eq!(err_code(&reserved), -32602, "{reserved}");
    assert!(
        reserved["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'_workflow.progress'"),
        "{reserved}"
    );
    assert_eq!(variables(&server, "ana", &id).await, before);
}

#[tokio::test(start_paused = true)]
async fn a_2025_client_seeds_variables_on_its_task_augmented_call() {
    let server = server(fast_limits());
    let created = call_as(
        &server,
        "ana",
        "tools/call",
        json!({"name": "approval", "arguments": {}, "task": {},
               "_meta": {VARIABLES_META_KEY: {"approved": "yes"}}}),
    )
    .await;
    let id = ok(&created)["task"]["taskId"].as_str().unwrap().to_owned();
    let result = call_as(&server, "ana", "tasks/result", json!({"taskId": id})).await;
    assert_eq!(
        ok(&result)["structuredContent"]["seen"],
        json!({"approved": "yes", "phase": "waiting"})
    );
}
