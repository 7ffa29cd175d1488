//! Idempotent task creation: a task-creating `tools/call` with
//! `_meta["pmcp-tasks/idempotency-key"]` gets one task however often it is
//! sent (at once or later), in both eras; the body runs once; the key with
//! other arguments, a malformed key or a caller with no identity is
//! `-32602`; after its task expired the key is refused with what to do until
//! the task is purged, and then starts anew.

mod common;

use common::{call_as, err_code, ok, task_id, v2026};
use pmcp_tasks::clock::TokioClock;
use pmcp_tasks::{Limits, TaskContext, TaskServer, TaskServerBuilder, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct Job {
    n: u64,
}

fn server(runs: Arc<AtomicUsize>) -> TaskServer {
    builder(runs).build().unwrap()
}

fn builder(runs: Arc<AtomicUsize>) -> TaskServerBuilder {
    let count = runs.clone();
    TaskServer::builder("idempotency", "1")
        .limits(Limits {
            poll_interval: Duration::from_millis(20),
            min_ttl: Duration::from_secs(1),
            ..Limits::default()
        })
        .clock(Arc::new(TokioClock::new()))
        .tool(TaskTool::new("job", move |args: Job, _ctx: TaskContext| {
            let runs = count.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok::<_, ToolError>(args.n)
            }
        }))
        .tool(TaskTool::new(
            "other",
            |args: Job, _ctx: TaskContext| async move { Ok::<_, ToolError>(args.n) },
        ))
}

async fn call_tool(server: &TaskServer, who: &str, params: Value) -> Value {
    call_as(server, who, "tools/call", params).await
}

fn keyed(tool: &str, n: u64, key: Value) -> Value {
    json!({"name": tool, "arguments": {"n": n}, "task": {"ttl": 2000},
           "_meta": {"pmcp-tasks/idempotency-key": key}})
}

#[tokio::test(start_paused = true)]
async fn one_key_one_task_one_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = server(runs.clone());
    // Eight at once: one task.
    let racing = (0..8).map(|_| call_tool(&server, "ana", keyed("job", 7, json!("k-1"))));
    let ids: Vec<String> = futures::future::join_all(racing)
        .await
        .iter()
        .map(task_id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    // Later, finished: the same task, with its result; the body ran once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = call_tool(&server, "ana", keyed("job", 7, json!("k-1"))).await;
    assert_eq!(task_id(&again), ids[0]);
    assert_eq!(ok(&again)["task"]["status"], "completed");
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // The key is the owner's and the tool's: others get their own task.
    let bob = call_tool(&server, "bob", keyed("job", 7, json!("k-1"))).await;
    assert_ne!(task_id(&bob), ids[0]);
    let other_tool = call_tool(&server, "ana", keyed("other", 7, json!("k-1"))).await;
    assert_ne!(task_id(&other_tool), ids[0]);

    // The same key with other arguments is refused, and runs nothing.
    let refused = call_tool(&server, "ana", keyed("job", 8, json!("k-1"))).await;
    assert_eq!(err_code(&refused), -32602, "{refused}");
    assert!(refused.to_string().contains("other arguments"), "{refused}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "ana's and bob's runs only");

    // Once its task expired and was purged, the key starts a new one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.runtime().sweep_expired().await.unwrap();
    let anew = call_tool(&server, "ana", keyed("job", 9, json!("k-1"))).await;
    assert_eq!(ok(&anew)["task"]["status"], "working", "{anew}");
}

#[tokio::test(start_paused = true)]
async fn an_expired_key_is_refused_until_its_task_is_purged() {
    let runs = Arc::new(AtomicUsize::new(0));
    // No background sweeper: the test says when expired tasks go.
    let server = builder(runs.clone()).without_sweeper().build().unwrap();
    let first = call_tool(&server, "ana", keyed("job", 1, json!("k-exp"))).await;
    let id = task_id(&first);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Expired (its TTL is 2 s) but still stored: the key cannot start a
    // second task under the same id, and the caller is told what to do.
    for n in [1, 2] {
        let stale = call_tool(&server, "ana", keyed("job", n, json!("k-exp"))).await;
        assert_eq!(err_code(&stale), -32602, "{stale}");
        let message = stale["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("'k-exp'") && message.contains("has expired; use a new key"),
            "{stale}"
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "nothing ran for the refusals"
    );
    // A new key works at once; the old one once the task is purged, under
    // the same id (the key's), as a new task.
    let fresh = call_tool(&server, "ana", keyed("job", 1, json!("k-new"))).await;
    assert_eq!(ok(&fresh)["task"]["status"], "working", "{fresh}");
    server.runtime().sweep_expired().await.unwrap();
    let anew = call_tool(&server, "ana", keyed("job", 1, json!("k-exp"))).await;
    assert_eq!(task_id(&anew), id);
    assert_eq!(ok(&anew)["task"]["status"], "working", "{anew}");
}

#[tokio::test(start_paused = true)]
async fn malformed_keys_are_refused_before_anything_is_made() {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = server(runs.clone());
    for key in [json!(""), json!(12), json!("x".repeat(256)), json!({})] {
        let refused = call_tool(&server, "ana", keyed("job", 1, key.clone())).await;
        assert_eq!(err_code(&refused), -32602, "{key}: {refused}");
        assert!(
            refused.to_string().contains("pmcp-tasks/idempotency-key"),
            "{refused}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn the_2026_era_takes_the_key_too() {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = server(runs.clone());
    let params = || {
        let mut params = v2026(json!({"name": "job", "arguments": {"n": 3}}), true);
        params["_meta"]["pmcp-tasks/idempotency-key"] = json!("k-2026");
        params
    };
    let first = call_tool(&server, "ana", params()).await;
    let second = call_tool(&server, "ana", params()).await;
    assert_eq!(ok(&first)["resultType"], "task");
    assert_eq!(ok(&first)["taskId"], ok(&second)["taskId"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_caller_with_no_identity_cannot_use_a_key() {
    let url = common::http::start(server(Arc::default())).await;
    let http = common::http::Http::new(&url);
    let mut params = v2026(json!({"name": "job", "arguments": {"n": 1}}), true);
    params["_meta"]["pmcp-tasks/idempotency-key"] = json!("guessable");
    let refused = http.call("tools/call", params).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(
        refused
            .to_string()
            .contains("needs a caller this server can tell apart"),
        "{refused}"
    );
}
