//! The bounds a server puts on every caller: creation rate, argument and
//! result size, bodies running at once, and the length of status messages.

mod common;

use common::call_as;

use common::*;
use pmcp_tasks::{Limits, TaskContext, TaskServer, TaskTool, ToolError, STATUS_MESSAGE_MAX_CHARS};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct Size {
    bytes: usize,
}

async fn big_result(args: Size, _ctx: TaskContext) -> Result<String, ToolError> {
    Ok("r".repeat(args.bytes))
}

async fn big_failure(args: Size, _ctx: TaskContext) -> Result<String, ToolError> {
    Err(ToolError::new("e".repeat(args.bytes)))
}

fn limited(limits: Limits) -> TaskServer {
    with_test_tools(TaskServer::builder("limits", "1"))
        .tool(TaskTool::new("big_result", big_result))
        .tool(TaskTool::new("big_failure", big_failure))
        .limits(limits)
        .clock(Arc::new(pmcp_tasks::clock::TokioClock::new()))
        .build()
        .unwrap()
}

async fn create(server: &TaskServer, who: &str, tool: &str, arguments: Value) -> Value {
    call_as(
        server,
        who,
        "tools/call",
        json!({"name": tool, "arguments": arguments, "task": {"ttl": 600_000}}),
    )
    .await
}

fn task_id(created: &Value) -> String {
    ok(created)["task"]["taskId"].as_str().unwrap().to_owned()
}

async fn settled(server: &TaskServer, who: &str, id: &str) -> Value {
    loop {
        let task = call_as(server, who, "tasks/get", json!({"taskId": id})).await;
        if !matches!(ok(&task)["status"].as_str(), Some("working")) {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn each_owner_creates_at_most_its_rate_and_hears_when_to_retry() {
    let server = limited(Limits {
        max_creates_per_minute: NonZeroU32::new(3),
        ..fast_limits()
    });
    for _ in 0..3 {
        task_id(&create(&server, "ana", "sleepy", json!({"ms": 1})).await);
    }
    let refused = create(&server, "ana", "sleepy", json!({"ms": 1})).await;
    assert_eq!(refused["error"]["code"], -32005, "{refused}");
    assert_eq!(refused["error"]["data"]["reason"], "rateLimited");
    assert!(refused["error"]["data"]["retryAfterMs"].as_u64().unwrap() > 0);
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("3 per minute"));
    // Another owner has its own allowance; inline calls are not counted.
    task_id(&create(&server, "bob", "sleepy", json!({"ms": 1})).await);
    let inline = call_as(
        &server,
        "ana",
        "tools/call",
        json!({"name": "sleepy", "arguments": {"ms": 1}}),
    )
    .await;
    assert!(inline.get("result").is_some(), "{inline}");
}

#[tokio::test(start_paused = true)]
async fn oversized_arguments_are_refused_before_anything_is_stored() {
    let server = limited(Limits {
        max_argument_bytes: 100,
        ..fast_limits()
    });
    let refused = create(
        &server,
        "ana",
        "big_result",
        json!({"bytes": 1, "pad": "x".repeat(200)}),
    )
    .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("more than this server accepts (100 bytes)"));
    let listed = call_as(&server, "ana", "tasks/list", json!({})).await;
    assert_eq!(ok(&listed)["tasks"], json!([]));
}

#[tokio::test(start_paused = true)]
async fn an_oversized_outcome_fails_the_task_saying_why() {
    let server = limited(Limits {
        max_result_bytes: 1000,
        ..fast_limits()
    });
    let fits = task_id(&create(&server, "ana", "big_result", json!({"bytes": 100})).await);
    assert_eq!(
        ok(&settled(&server, "ana", &fits).await)["status"],
        "completed"
    );
    let big = task_id(&create(&server, "ana", "big_result", json!({"bytes": 5000})).await);
    let task = settled(&server, "ana", &big).await;
    assert_eq!(ok(&task)["status"], "failed", "{task}");
    let message = ok(&task)["statusMessage"].as_str().unwrap();
    assert!(
        message.contains("more than this server stores (1000 bytes"),
        "{message}"
    );
    let result = call_as(&server, "ana", "tasks/result", json!({"taskId": big})).await;
    assert_eq!(result["error"]["code"], -32603, "{result}");

    // A huge failure is cut to fit, and its status message to its length.
    let failing = task_id(&create(&server, "ana", "big_failure", json!({"bytes": 50_000})).await);
    let task = settled(&server, "ana", &failing).await;
    assert_eq!(ok(&task)["status"], "failed");
    let listed = call_as(&server, "ana", "tasks/list", json!({})).await;
    for task in ok(&listed)["tasks"].as_array().unwrap() {
        let chars = task["statusMessage"]
            .as_str()
            .map_or(0, |m| m.chars().count());
        assert!(chars <= STATUS_MESSAGE_MAX_CHARS + 1, "{chars} characters");
    }
}

#[tokio::test(start_paused = true)]
async fn a_long_status_message_is_cut_in_listings() {
    let server = limited(Limits {
        max_result_bytes: 1024 * 1024,
        ..fast_limits()
    });
    let failing = task_id(&create(&server, "ana", "big_failure", json!({"bytes": 10_000})).await);
    let task = settled(&server, "ana", &failing).await;
    let message = ok(&task)["statusMessage"].as_str().unwrap();
    assert_eq!(message.chars().count(), STATUS_MESSAGE_MAX_CHARS + 1);
    assert!(message.ends_with('…'));
    // The result keeps the whole error.
    let result = call_as(&server, "ana", "tasks/result", json!({"taskId": failing})).await;
    let text = result["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(text.len(), 10_000, "{result}");
}

#[tokio::test(start_paused = true)]
async fn bodies_beyond_the_running_limit_wait_queued_then_run() {
    let server = limited(Limits {
        max_running_bodies: 1,
        ..fast_limits()
    });
    let first = task_id(&create(&server, "ana", "sleepy", json!({"ms": 1000})).await);
    let second = task_id(&create(&server, "ana", "sleepy", json!({"ms": 1000})).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = call_as(&server, "ana", "tasks/get", json!({"taskId": second})).await;
    assert_eq!(ok(&waiting)["status"], "working");
    let message = ok(&waiting)["statusMessage"].as_str().unwrap();
    assert!(message.starts_with("Queued"), "{message}");
    assert_eq!(server.runtime().running_count(), 2, "both are tracked");
    assert_eq!(
        ok(&settled(&server, "ana", &first).await)["status"],
        "completed"
    );
    let done = settled(&server, "ana", &second).await;
    assert_eq!(ok(&done)["status"], "completed", "{done}");
}

#[tokio::test(start_paused = true)]
async fn finished_tasks_count_toward_what_an_owner_may_keep_until_they_expire() {
    let server = limited(Limits {
        max_stored_tasks_per_owner: 2,
        ..fast_limits()
    });
    let short =
        |ms: u64| json!({"name": "sleepy", "arguments": {"ms": ms}, "task": {"ttl": 10_000}});
    for _ in 0..2 {
        let id = task_id(&call_as(&server, "ana", "tools/call", short(1)).await);
        assert_eq!(
            ok(&settled(&server, "ana", &id).await)["status"],
            "completed"
        );
    }
    let refused = call_as(&server, "ana", "tools/call", short(1)).await;
    assert_eq!(refused["error"]["code"], -32005, "{refused}");
    assert_eq!(refused["error"]["data"]["reason"], "tooManyStoredTasks");
    assert_eq!(refused["error"]["data"]["stored"], 2);
    // Another owner keeps its own; once ana's tasks expire, she may again.
    task_id(&call_as(&server, "bob", "tools/call", short(1)).await);
    tokio::time::sleep(Duration::from_secs(16)).await;
    task_id(&call_as(&server, "ana", "tools/call", short(1)).await);
}

#[tokio::test(start_paused = true)]
async fn the_bytes_an_owner_keeps_are_bounded_and_freed_by_expiry() {
    let server = limited(Limits {
        max_stored_bytes_per_owner: 20_000,
        ..fast_limits()
    });
    let big = |bytes: usize| json!({"name": "big_result", "arguments": {"bytes": bytes}, "task": {"ttl": 10_000}});
    // Two tasks fit, each created while there was room; their ~10 KB
    // results then fill the quota, so a third is refused.
    for _ in 0..2 {
        let id = task_id(&call_as(&server, "ana", "tools/call", big(9_800)).await);
        assert_eq!(
            ok(&settled(&server, "ana", &id).await)["status"],
            "completed"
        );
    }
    let refused = call_as(&server, "ana", "tools/call", big(9_800)).await;
    assert_eq!(refused["error"]["code"], -32005, "{refused}");
    assert_eq!(refused["error"]["data"]["reason"], "tooManyStoredBytes");
    assert_eq!(refused["error"]["data"]["limit"], 20_000);
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("20000"), "{message}");
    // Another owner is not affected; once ana's tasks expire, she may again.
    task_id(&call_as(&server, "bob", "tools/call", big(9_800)).await);
    tokio::time::sleep(Duration::from_secs(16)).await;
    task_id(&call_as(&server, "ana", "tools/call", big(9_800)).await);
}
