//! Spec edge cases, each in both eras: a task asked of a plain tool, an
//! unknown cursor, odd TTLs, and the per-owner task limit.

mod common;

use common::*;
use pmcp_tasks::{Limits, TaskServer};
use serde_json::{json, Value};

/// A plain pmcp tool: no task support at all.
struct Echo;

#[async_trait::async_trait]
impl pmcp::ToolHandler for Echo {
    async fn handle(&self, args: Value, _extra: pmcp::RequestHandlerExtra) -> pmcp::Result<Value> {
        Ok(json!({"echo": args}))
    }
}

fn mixed_server(limits: Limits) -> TaskServer {
    TaskServer::builder("edges", "1")
        .pmcp(|core| core.tool("echo", Echo))
        .limits(limits)
        .clock(std::sync::Arc::new(pmcp_tasks::clock::TokioClock::new()))
        .tool(pmcp_tasks::TaskTool::new(
            "sleepy",
            |a: SleepArgs, _ctx: pmcp_tasks::TaskContext| async move {
                tokio::time::sleep(std::time::Duration::from_millis(a.ms)).await;
                Ok::<_, pmcp_tasks::ToolError>(a.ms)
            },
        ))
        .build()
        .unwrap()
}

fn message(response: &Value) -> &str {
    response["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn a_task_asked_of_a_plain_tool() {
    let server = mixed_server(fast_limits());
    // 2025-11-25: the tool declares no task support, so -32601, and it
    // does not run.
    let refused = call(
        &server,
        "tools/call",
        json!({"name": "echo", "arguments": {"x": 1}, "task": {}}),
    )
    .await;
    assert_eq!(err_code(&refused), -32601, "{refused}");
    assert!(
        message(&refused).contains("'echo' does not support running as a task"),
        "{refused}"
    );
    let plain = call(
        &server,
        "tools/call",
        json!({"name": "echo", "arguments": {"x": 1}}),
    )
    .await;
    assert!(ok(&plain)["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("\"x\""));
    // 2026-07-28: the server decides, and a plain tool runs inline even
    // for a client that can take a task (a stray `task` changes nothing).
    let inline = call(
        &server,
        "tools/call",
        v2026(
            json!({"name": "echo", "arguments": {"x": 1}, "task": {}}),
            true,
        ),
    )
    .await;
    let result = ok(&inline);
    assert_eq!(result["resultType"], "complete", "{inline}");
    assert!(result.get("taskId").is_none());
    assert!(result["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("\"x\""));
}

#[tokio::test(start_paused = true)]
async fn an_unknown_cursor_is_invalid_params() {
    let server = mixed_server(Limits {
        list_page_size: 1,
        ..fast_limits()
    });
    for _ in 0..2 {
        ok(&call(
            &server,
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {}}),
        )
        .await);
    }
    let first = call(&server, "tasks/list", json!({})).await;
    let cursor = ok(&first)["nextCursor"].as_str().unwrap().to_owned();
    let second = call(&server, "tasks/list", json!({"cursor": cursor})).await;
    assert_eq!(ok(&second)["tasks"].as_array().unwrap().len(), 1);
    // 2025-11-25: made-up, altered, or another caller's: all -32602.
    for unknown in [json!("m99999"), json!(format!("{cursor}0")), json!("")] {
        let answer = call(&server, "tasks/list", json!({"cursor": unknown})).await;
        assert_eq!(err_code(&answer), -32602, "{unknown}: {answer}");
        assert!(message(&answer).contains("Invalid cursor"), "{answer}");
    }
    let theirs = call_as(&server, "bob", "tasks/list", json!({"cursor": cursor})).await;
    assert_eq!(err_code(&theirs), -32602, "{theirs}");
    let not_a_string = call(&server, "tasks/list", json!({"cursor": 5})).await;
    assert_eq!(err_code(&not_a_string), -32602);
    assert!(
        message(&not_a_string).contains("tasks/list"),
        "{not_a_string}"
    );
    // 2026-07-28 has no tasks/list at all.
    let listed = call(
        &server,
        "tasks/list",
        v2026(json!({"cursor": "m99999"}), true),
    )
    .await;
    assert_eq!(err_code(&listed), -32601, "{listed}");
}

async fn create_with_ttl(server: &TaskServer, ttl: Value) -> Value {
    call(
        server,
        "tools/call",
        json!({"name": "sleepy", "arguments": {"ms": 60_000}, "task": {"ttl": ttl}}),
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn odd_ttls_are_clamped_or_refused_never_unreadable() {
    // Leases shorter than the shortest TTL, so the TTL reported is the one
    // granted.
    let limits = Limits {
        lease_ttl: std::time::Duration::from_secs(1),
        ..fast_limits()
    };
    let (min, max) = (
        limits.min_ttl.as_millis() as u64,
        limits.max_ttl.unwrap().as_millis() as u64,
    );
    let server = mixed_server(limits);
    // 2025-11-25: too short is raised to the minimum, and the task can be
    // read; absurdly long is clamped to the maximum.
    for (asked, granted) in [
        (json!(0), min),
        (json!(1), min),
        (json!(1e30), max),
        (json!(u64::MAX), max),
        (json!(2.0), min),
    ] {
        let created = create_with_ttl(&server, asked.clone()).await;
        let task = &ok(&created)["task"];
        assert_eq!(task["ttl"], json!(granted), "asked {asked}: {created}");
        let read = call(&server, "tasks/get", json!({"taskId": task["taskId"]})).await;
        assert_eq!(ok(&read)["ttl"], json!(granted), "{read}");
    }
    // Negative, fractional or not a number: -32602 naming the field, and
    // no task.
    let before = ok(&call(&server, "tasks/list", json!({})).await)["tasks"]
        .as_array()
        .unwrap()
        .len();
    for bad in [json!(-1), json!(1.5), json!("10m"), json!({})] {
        let refused = create_with_ttl(&server, bad.clone()).await;
        assert_eq!(err_code(&refused), -32602, "{bad}: {refused}");
        assert!(message(&refused).contains("ttl"), "{refused}");
    }
    let after = ok(&call(&server, "tasks/list", json!({})).await)["tasks"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "a refused call creates nothing");
    // 2026-07-28 defines no requested TTL; one sent in `params.task` anyway
    // is honoured by the same rules, as it always was here.
    let created = call(
        &server,
        "tools/call",
        v2026(
            json!({"name": "sleepy", "arguments": {"ms": 60_000}, "task": {"ttl": 0}}),
            true,
        ),
    )
    .await;
    assert_eq!(ok(&created)["ttlMs"], json!(min), "{created}");
    let refused = call(
        &server,
        "tools/call",
        v2026(
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {"ttl": -1}}),
            true,
        ),
    )
    .await;
    assert_eq!(err_code(&refused), -32602, "{refused}");
}

#[tokio::test(start_paused = true)]
async fn the_task_limit_is_the_callers_problem_in_both_eras() {
    let server = mixed_server(Limits {
        max_active_tasks_per_owner: 2,
        ..fast_limits()
    });
    for _ in 0..2 {
        ok(&create_with_ttl(&server, json!(60_000)).await);
    }
    let over_2025 = create_with_ttl(&server, json!(60_000)).await;
    let over_2026 = call(
        &server,
        "tools/call",
        v2026(json!({"name": "sleepy", "arguments": {"ms": 1}}), true),
    )
    .await;
    for over in [&over_2025, &over_2026] {
        assert_eq!(err_code(over), -32005, "{over}");
        let text = message(over);
        assert!(text.contains("the limit is 2"), "{over}");
        assert!(
            text.contains("frees as soon as one of them finishes"),
            "{over}"
        );
        assert_eq!(over["error"]["data"]["limit"], 2);
        assert_eq!(over["error"]["data"]["active"], 2);
    }
    // Another owner is not limited by ana's tasks.
    let bobs = call_as(
        &server,
        "bob",
        "tools/call",
        json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {}}),
    )
    .await;
    ok(&bobs);
}

#[tokio::test(start_paused = true)]
async fn refusing_anonymous_callers_refuses_tasks_not_plain_tools() {
    let server = TaskServer::builder("edges", "1")
        .pmcp(|core| core.tool("echo", Echo))
        .anonymous(pmcp_tasks::AnonymousPolicy::Reject)
        .tool(pmcp_tasks::TaskTool::new(
            "sleepy",
            |a: SleepArgs, _ctx: pmcp_tasks::TaskContext| async move {
                Ok::<_, pmcp_tasks::ToolError>(a.ms)
            },
        ))
        .build()
        .unwrap();
    let anonymous = |method: &str, params: Value| {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let server = server.clone();
        async move { server.handle(request, None).await.unwrap() }
    };
    let plain = anonymous("tools/call", json!({"name": "echo", "arguments": {}})).await;
    assert!(
        ok(&plain)["content"].is_array(),
        "pmcp's tools are pmcp's: {plain}"
    );
    let unknown = anonymous("tools/call", json!({"name": "nope", "arguments": {}})).await;
    assert_eq!(err_code(&unknown), -32602, "{unknown}");
    for (method, params) in [
        (
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {}}),
        ),
        (
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}}),
        ),
        ("tasks/list", json!({})),
        ("tasks/get", v2026(json!({"taskId": "x"}), true)),
        ("tasks/result", v2026(json!({"taskId": "x"}), true)),
    ] {
        let refused = anonymous(method, params).await;
        assert_eq!(err_code(&refused), -32003, "{method}: {refused}");
    }
}

#[tokio::test(start_paused = true)]
async fn what_pmcp_serves_fails_with_the_code_the_mistake_deserves() {
    let hello = pmcp::server::simple_prompt::SimplePrompt::new("hello", |_args, _extra| {
        Box::pin(async { Ok(pmcp::types::GetPromptResult::new(vec![], Some("hi".into()))) })
    });
    let with_prompt = TaskServer::builder("edges", "1")
        .pmcp(|core| core.prompt("hello", hello))
        .build()
        .unwrap();
    for server in [&mixed_server(Limits::default()), &with_prompt] {
        let unknown = call(server, "prompts/get", json!({"name": "nope"})).await;
        assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
        assert!(message(&unknown).contains("'nope'"), "{unknown}");
        let mistyped = call(server, "prompts/get", json!({"name": 5})).await;
        assert_eq!(mistyped["error"]["code"], -32602, "{mistyped}");
        assert!(message(&mistyped).contains("prompts/get"), "{mistyped}");
        let nothing = call(server, "resources/read", json!({"uri": "file:///x"})).await;
        assert_eq!(nothing["error"]["code"], -32601, "{nothing}");
        let made_up = call(server, "made/up", json!({})).await;
        assert_eq!(made_up["error"]["code"], -32601, "{made_up}");
    }
    // pmcp's own prompt is still served.
    let hello = call(&with_prompt, "prompts/get", json!({"name": "hello"})).await;
    assert_eq!(hello["result"]["description"], "hi", "{hello}");
}

#[test]
fn building_outside_a_tokio_runtime_is_a_clear_error_not_a_panic() {
    let error = pmcp_tasks::TaskServer::builder("s", "1")
        .build()
        .expect_err("no runtime here");
    assert!(matches!(error, pmcp_tasks::BuildError::NoRuntime));
    assert!(error.to_string().contains("#[tokio::main]"), "{error}");
}
