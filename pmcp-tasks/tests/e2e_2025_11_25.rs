//! 2025-11-25 tasks end to end, through the real pmcp server behind our
//! stdio loop.

mod common;

use common::*;
use pmcp_tasks::Limits;
use serde_json::{json, Value};
use std::time::Duration;

async fn connected(limits: Limits) -> (pmcp_tasks::TaskServer, LineClient) {
    let server = server(limits);
    let client = LineClient::connect(&server, |req| {
        // Answers every elicitation by echoing the question.
        json!({"action": "accept", "content": {"v": req["params"]["message"]}})
    });
    ok(&client.initialize().await);
    (server, client)
}

async fn create(client: &LineClient, tool: &str, args: Value, ttl: Option<u64>) -> Value {
    let task = match ttl {
        Some(ms) => json!({"ttl": ms}),
        None => json!({}),
    };
    let response = client
        .call(
            "tools/call",
            json!({"name": tool, "arguments": args, "task": task}),
        )
        .await;
    let created = ok(&response)["task"].clone();
    assert_eq!(
        ok(&response)["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        created["taskId"],
        "the create result is related to its task"
    );
    created
}

#[tokio::test(start_paused = true)]
async fn create_poll_and_fetch_the_result() {
    let (_server, client) = connected(fast_limits()).await;
    let task = create(&client, "sleepy", json!({"ms": 100}), Some(30_000)).await;
    assert_eq!(task["status"], "working");
    assert_eq!(task["ttl"], 30_000, "the requested TTL is honoured");
    let id = task["taskId"].as_str().unwrap();
    let done = poll_until_terminal(&client, id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["_meta"]["pmcp:variables"]["slept_ms"], 100);
    let result = ok(&client.call("tasks/result", json!({"taskId": id})).await).clone();
    assert_eq!(result["structuredContent"], json!({"slept_ms": 100}));
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id
    );
}

#[tokio::test(start_paused = true)]
async fn tasks_result_blocks_while_get_and_cancel_keep_answering() {
    let (_server, client) = connected(fast_limits()).await;
    let slow = create(&client, "sleepy", json!({"ms": 400}), None).await;
    let other = create(&client, "sleepy", json!({"ms": 60_000}), None).await;
    let slow_id = slow["taskId"].as_str().unwrap().to_owned();
    let client = &client;
    let waiting = {
        let id = slow_id.clone();
        async move { client.call("tasks/result", json!({"taskId": id})).await }
    };
    let meanwhile = async {
        let got = client.call("tasks/get", json!({"taskId": slow_id})).await;
        assert_eq!(
            ok(&got)["status"],
            "working",
            "tasks/get answered while tasks/result waits"
        );
        let cancelled = client
            .call("tasks/cancel", json!({"taskId": other["taskId"]}))
            .await;
        assert_eq!(ok(&cancelled)["status"], "cancelled");
        tokio::time::Instant::now()
    };
    let (result, answered_at) = tokio::join!(waiting, meanwhile);
    assert!(
        answered_at.elapsed() >= Duration::from_millis(100),
        "tasks/result returned before the task ended"
    );
    assert_eq!(ok(&result)["structuredContent"]["slept_ms"], 400);
}

#[tokio::test(start_paused = true)]
async fn unknown_ids_are_invalid_params_on_every_method() {
    let (_server, client) = connected(fast_limits()).await;
    for method in ["tasks/get", "tasks/result", "tasks/cancel"] {
        let response = client.call(method, json!({"taskId": "nope"})).await;
        assert_eq!(err_code(&response), -32602, "{method}: {response}");
        assert!(response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not found"));
    }
    let missing = client.call("tasks/get", json!({})).await;
    assert_eq!(err_code(&missing), -32602);
}

#[tokio::test(start_paused = true)]
async fn cancel_of_a_terminal_task_is_invalid_params_and_changes_nothing() {
    let (_server, client) = connected(fast_limits()).await;
    let task = create(&client, "sleepy", json!({"ms": 1}), None).await;
    let id = task["taskId"].as_str().unwrap();
    let done = poll_until_terminal(&client, id).await;
    let response = client.call("tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(err_code(&response), -32602);
    assert_eq!(
        response["error"]["message"],
        "Cannot cancel task: already in terminal status 'completed'"
    );
    let after = ok(&client.call("tasks/get", json!({"taskId": id})).await).clone();
    assert_eq!(after["status"], "completed");
    assert_eq!(after["lastUpdatedAt"], done["lastUpdatedAt"]);
}

#[tokio::test(start_paused = true)]
async fn list_pages_with_an_opaque_cursor() {
    let limits = Limits {
        list_page_size: 2,
        ..fast_limits()
    };
    let (_server, client) = connected(limits).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(create(&client, "sleepy", json!({"ms": 1}), None).await["taskId"].clone());
    }
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = ok(&client.call("tasks/list", json!({"cursor": cursor})).await).clone();
        let tasks = page["tasks"].as_array().unwrap();
        assert!(tasks.len() <= 2);
        seen.extend(tasks.iter().map(|t| t["taskId"].clone()));
        match page.get("nextCursor") {
            Some(next) => cursor = next.clone(),
            None => break,
        }
    }
    assert_eq!(seen, created);
    let bad = client.call("tasks/list", json!({"cursor": "forged"})).await;
    assert_eq!(err_code(&bad), -32602);
}

#[tokio::test(start_paused = true)]
async fn requested_ttl_is_clamped_and_expired_tasks_disappear() {
    // A lease shorter than the TTL: the TTL reported is the one granted
    // (a working body's lease past it would extend it).
    let limits = Limits {
        max_ttl: Some(Duration::from_millis(300)),
        lease_ttl: Duration::from_millis(100),
        ..fast_limits()
    };
    let (_server, client) = connected(limits).await;
    let task = create(&client, "sleepy", json!({"ms": 1}), Some(3_600_000)).await;
    assert_eq!(task["ttl"], 300, "clamped to the configured maximum");
    let id = task["taskId"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    let gone = client.call("tasks/get", json!({"taskId": id})).await;
    assert_eq!(err_code(&gone), -32602);
    let listed = ok(&client.call("tasks/list", json!({})).await).clone();
    assert_eq!(listed["tasks"], json!([]));
}

#[tokio::test(start_paused = true)]
async fn a_tool_error_fails_the_task_and_result_returns_it_verbatim() {
    let (_server, client) = connected(fast_limits()).await;
    let task = create(&client, "tool_error", json!({}), None).await;
    let id = task["taskId"].as_str().unwrap();
    let done = poll_until_terminal(&client, id).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["statusMessage"], "the tool failed");
    let result = ok(&client.call("tasks/result", json!({"taskId": id})).await).clone();
    assert_eq!(result["isError"], true);
    assert_eq!(result["content"][0]["text"], "the tool failed");
}

#[tokio::test(start_paused = true)]
async fn a_protocol_error_is_returned_by_tasks_result_as_the_same_error() {
    let (_server, client) = connected(fast_limits()).await;
    let task = create(&client, "protocol_error", json!({}), None).await;
    let id = task["taskId"].as_str().unwrap();
    assert_eq!(poll_until_terminal(&client, id).await["status"], "failed");
    let response = client.call("tasks/result", json!({"taskId": id})).await;
    assert_eq!(
        response["error"],
        json!({"code": -32050, "message": "upstream exploded"})
    );
}

#[tokio::test(start_paused = true)]
async fn task_support_is_enforced_with_method_not_found() {
    let (_server, client) = connected(fast_limits()).await;
    let forbidden = client
        .call(
            "tools/call",
            json!({"name": "plain", "arguments": {}, "task": {}}),
        )
        .await;
    assert_eq!(err_code(&forbidden), -32601);
    let required = client
        .call("tools/call", json!({"name": "ask_twice", "arguments": {}}))
        .await;
    assert_eq!(err_code(&required), -32601);
    assert!(required["error"]["message"]
        .as_str()
        .unwrap()
        .contains("add \"task\": {}"));
    let inline = client
        .call("tools/call", json!({"name": "plain", "arguments": {}}))
        .await;
    assert_eq!(ok(&inline)["content"][0]["text"], "inline=true");
    let optional_inline = client
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}}),
        )
        .await;
    assert_eq!(ok(&optional_inline)["structuredContent"]["slept_ms"], 1);
}

#[tokio::test(start_paused = true)]
async fn input_requests_are_sent_during_tasks_result_with_related_task_meta() {
    let (_server, client) = connected(fast_limits()).await;
    let task = create(&client, "ask_twice", json!({}), None).await;
    let id = task["taskId"].as_str().unwrap();
    let result = ok(&client.call("tasks/result", json!({"taskId": id})).await).clone();
    assert_eq!(result["content"][0]["text"], "First? Second?");
    let asked = client.server_requests.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    for request in &asked {
        assert_eq!(request["method"], "elicitation/create");
        assert_eq!(
            request["params"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
            id
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_without_elicitation_gets_a_prompt_failure_instead_of_a_wait() {
    let server = server(fast_limits());
    let client = LineClient::connect(&server, |_| panic!("nothing may be asked"));
    ok(&client.initialize_with(json!({"roots": {}})).await);
    let task = create(&client, "ask_twice", json!({}), None).await;
    let id = task["taskId"].as_str().unwrap();
    let done = poll_until_terminal(&client, id).await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["statusMessage"].as_str().unwrap();
    assert!(
        message.contains("declared no elicitation capability"),
        "{message}"
    );
    assert!(client.server_requests.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn bad_arguments_are_invalid_params_and_create_nothing() {
    let (_server, client) = connected(fast_limits()).await;
    let response = client
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": "soon"}, "task": {}}),
        )
        .await;
    assert_eq!(err_code(&response), -32602);
    assert!(response["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid type"));
    assert_eq!(
        ok(&client.call("tasks/list", json!({})).await)["tasks"],
        json!([])
    );
    let bad_ttl = client
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {"ttl": "long"}}),
        )
        .await;
    assert_eq!(err_code(&bad_ttl), -32602);
}

#[tokio::test(start_paused = true)]
async fn the_owner_limit_refuses_more_unfinished_tasks() {
    let limits = Limits {
        max_active_tasks_per_owner: 2,
        ..fast_limits()
    };
    let (_server, client) = connected(limits).await;
    for _ in 0..2 {
        create(&client, "sleepy", json!({"ms": 60_000}), None).await;
    }
    let third = client
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {}}),
        )
        .await;
    assert!(
        third["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit is 2"),
        "{third}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_leaves_no_task_working() {
    let (server, client) = connected(fast_limits()).await;
    let task = create(&client, "sleepy", json!({"ms": 60_000}), None).await;
    let id = task["taskId"].as_str().unwrap();
    server.shutdown(Duration::from_millis(100)).await;
    let after = ok(&client.call("tasks/get", json!({"taskId": id})).await).clone();
    assert_eq!(after["status"], "failed");
    assert!(after["statusMessage"]
        .as_str()
        .unwrap()
        .contains("shut down"));
    let refused = client
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {}}),
        )
        .await;
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("shutting down"));
}

#[tokio::test(start_paused = true)]
async fn the_stdio_loop_survives_unknown_methods_bad_lines_and_notifications() {
    let (_server, client) = connected(fast_limits()).await;
    let unknown = client.call("foo/bar", json!({})).await;
    assert_eq!(err_code(&unknown), -32601);
    client.send_line("this is not json").await;
    client.send_line("").await;
    client
        .send_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    let update = client
        .call("tasks/update", json!({"taskId": "x", "inputResponses": {}}))
        .await;
    assert_eq!(
        err_code(&update),
        -32601,
        "tasks/update is a 2026-07-28 method"
    );
    let no_version = client.call_raw(json!({"id": 99, "method": "ping"})).await;
    assert_eq!(err_code(&no_version), -32600);
    let ping = client.call("ping", json!({})).await;
    assert_eq!(ok(&ping), &json!({}));
    let tools = client.call("tools/list", json!({})).await;
    let names: Vec<_> = ok(&tools)["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![
            "ask_twice",
            "plain",
            "protocol_error",
            "sleepy",
            "tool_error"
        ]
    );
}

/// A plain pmcp tool, to show that everything but tasks is pmcp's.
struct Echo;

#[async_trait::async_trait]
impl pmcp::ToolHandler for Echo {
    async fn handle(&self, args: Value, _extra: pmcp::RequestHandlerExtra) -> pmcp::Result<Value> {
        Ok(json!({"echo": args}))
    }
}

#[tokio::test(start_paused = true)]
async fn plain_pmcp_tools_are_served_by_pmcp_beside_task_tools() {
    let server = pmcp_tasks::TaskServer::builder("mixed", "1")
        .pmcp(|core| core.tool("echo", Echo))
        .tool(pmcp_tasks::TaskTool::new(
            "sleepy",
            |a: SleepArgs, _ctx: pmcp_tasks::TaskContext| async move {
                Ok::<_, pmcp_tasks::ToolError>(a.ms)
            },
        ))
        .build()
        .unwrap();
    let client = LineClient::connect(&server, |_| json!({}));
    ok(&client.initialize().await);
    let listed = client.call("tools/list", json!({})).await;
    let names: Vec<_> = ok(&listed)["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, vec!["echo", "sleepy"]);
    let echoed = client
        .call("tools/call", json!({"name": "echo", "arguments": {"x": 1}}))
        .await;
    assert!(
        ok(&echoed)["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"x\""),
        "{echoed}"
    );
    let task = client
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {}}),
        )
        .await;
    assert_eq!(ok(&task)["task"]["status"], "working");
}
