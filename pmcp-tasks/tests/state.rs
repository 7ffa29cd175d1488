//! Application state reaches task tools: as a task, as a plain call, through
//! a workflow step, and in a unit test with a detached context; a tool whose
//! state the server lacks stops `build()`.

mod common;

use common::ok;
use pmcp::server::workflow::ToolHandle;
use pmcp_tasks::workflow::{DataSource, SequentialWorkflow, WorkflowStep};
use pmcp_tasks::{task_tool, BuildError, State, TaskContext, TaskServer, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Shared by every task: counts the visits it gets.
#[derive(Default)]
struct Counter(AtomicU64);

#[derive(Deserialize, JsonSchema)]
struct Visit {
    by: String,
}

/// Counts a visit in the shared counter, in the configured greeting.
#[task_tool]
async fn visit(
    args: Visit,
    ctx: TaskContext,
    State(counter): State<Arc<Counter>>,
    State(greeting): State<String>,
) -> Result<String, ToolError> {
    let n = counter.0.fetch_add(1, Ordering::SeqCst) + 1;
    ctx.progress(format!("visit {n}")).await?;
    Ok(format!("{greeting}, {}: visit {n}", args.by))
}

fn server(counter: Arc<Counter>) -> TaskServer {
    TaskServer::builder("state", "1")
        .tool(visit_task_tool())
        .state(counter)
        .state(String::from("Welcome"))
        .workflow(
            SequentialWorkflow::new("tour", "one visit").step(
                WorkflowStep::new("go", ToolHandle::new("visit"))
                    .arg("by", DataSource::constant(json!("tour"))),
            ),
        )
        .clock(Arc::new(pmcp_tasks::clock::TokioClock::new()))
        .build()
        .unwrap()
}

async fn call(server: &TaskServer, method: &str, params: Value) -> Value {
    server
        .handle(
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
            None,
        )
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn tasks_plain_calls_and_workflow_steps_share_the_servers_state() {
    let counter = Arc::new(Counter::default());
    let server = server(counter.clone());
    // As a task.
    let created = call(
        &server,
        "tools/call",
        json!({"name": "visit", "arguments": {"by": "ana"}, "task": {}}),
    )
    .await;
    let id = ok(&created)["task"]["taskId"].as_str().unwrap().to_owned();
    let result = loop {
        let got = call(&server, "tasks/get", json!({"taskId": id})).await;
        if ok(&got)["status"] == "completed" {
            break call(&server, "tasks/result", json!({"taskId": id})).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(ok(&result)["content"][0]["text"], "Welcome, ana: visit 1");
    // Inline.
    let plain = call(
        &server,
        "tools/call",
        json!({"name": "visit", "arguments": {"by": "bo"}}),
    )
    .await;
    assert_eq!(ok(&plain)["content"][0]["text"], "Welcome, bo: visit 2");
    // A workflow step.
    call(&server, "prompts/get", json!({"name": "tour"})).await;
    assert_eq!(counter.0.load(Ordering::SeqCst), 3, "one counter for all");
}

#[tokio::test]
async fn a_tool_whose_state_is_missing_stops_the_build_naming_both() {
    let error = TaskServer::builder("state", "1")
        .tool(visit_task_tool())
        .state(Arc::new(Counter::default()))
        .build()
        .expect_err("no String state was given");
    match &error {
        BuildError::MissingState { tool, type_name } => {
            assert_eq!(tool, "visit");
            assert!(type_name.contains("String"), "{type_name}");
        }
        other => panic!("{other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("'visit'") && message.contains(".state("),
        "{message}"
    );
}

#[tokio::test]
async fn tools_built_by_hand_take_state_too_and_tests_give_it_to_a_detached_context() {
    let tool = TaskTool::new(
        "hello",
        |_: Visit, State(greeting): State<String>| async move { Ok::<_, ToolError>(greeting) },
    );
    let built = TaskServer::builder("s", "1").tool(tool.clone()).build();
    assert!(matches!(built, Err(BuildError::MissingState { .. })));
    TaskServer::builder("s", "1")
        .tool(tool)
        .state(String::from("hi"))
        .build()
        .unwrap();
    // A unit test hands state through the context it builds.
    let ctx = TaskContext::detached("me").with_state(Arc::new(Counter::default()));
    let counter: Arc<Counter> = ctx.state().expect("given");
    counter.0.fetch_add(5, Ordering::SeqCst);
    assert_eq!(
        ctx.state::<Arc<Counter>>()
            .unwrap()
            .0
            .load(Ordering::SeqCst),
        5
    );
    assert!(ctx.state::<String>().is_none());
}
