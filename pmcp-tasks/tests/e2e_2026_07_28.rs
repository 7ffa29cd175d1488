//! 2026-07-28 (`io.modelcontextprotocol/tasks`) end to end through the real
//! pmcp server, as stateless requests.

mod common;

use common::*;
use pmcp::server::auth::AuthContext;
use pmcp_tasks::TaskServer;
use serde_json::{json, Value};
use std::time::Duration;

async fn call(server: &TaskServer, method: &str, params: Value) -> Value {
    call_as(server, None, method, params).await
}

async fn call_as(server: &TaskServer, auth: Option<&str>, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    server
        .handle(request, auth.map(AuthContext::new))
        .await
        .expect("a request gets a response")
}

async fn create(server: &TaskServer, tool: &str, args: Value) -> Value {
    let response = call(
        server,
        "tools/call",
        v2026(json!({"name": tool, "arguments": args}), true),
    )
    .await;
    ok(&response).clone()
}

async fn get(server: &TaskServer, id: &str) -> Value {
    ok(&call(server, "tasks/get", v2026(json!({"taskId": id}), true)).await).clone()
}

async fn until(server: &TaskServer, id: &str, status: &str) -> Value {
    for _ in 0..500 {
        let task = get(server, id).await;
        if task["status"] == status {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {id} never reached {status}")
}

#[tokio::test(start_paused = true)]
async fn create_returns_a_flat_task_and_get_inlines_the_result() {
    let server = server(fast_limits());
    let created = create(&server, "sleepy", json!({"ms": 50})).await;
    assert_eq!(created["resultType"], "task");
    assert_eq!(created["status"], "working");
    assert!(created["ttlMs"].is_u64());
    assert!(created.get("task").is_none() && created.get("ttl").is_none());
    assert_eq!(
        created["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "e2e"
    );
    let id = created["taskId"].as_str().unwrap();
    let done = until(&server, id, "completed").await;
    assert_eq!(done["resultType"], "complete");
    assert_eq!(done["result"]["structuredContent"], json!({"slept_ms": 50}));
    assert_eq!(done["_meta"]["pmcp:variables"]["slept_ms"], 50);
}

#[tokio::test(start_paused = true)]
async fn without_the_extension_optional_tools_run_inline_and_required_ones_refuse() {
    let server = server(fast_limits());
    let inline = call(
        &server,
        "tools/call",
        v2026(json!({"name": "sleepy", "arguments": {"ms": 1}}), false),
    )
    .await;
    assert_eq!(ok(&inline)["resultType"], "complete");
    assert_eq!(ok(&inline)["structuredContent"]["slept_ms"], 1);
    let refused = call(
        &server,
        "tools/call",
        v2026(json!({"name": "ask_twice", "arguments": {}}), false),
    )
    .await;
    assert_eq!(err_code(&refused), -32021);
    assert_eq!(
        refused["error"]["data"],
        json!({"requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}})
    );
    let forbidden = call(
        &server,
        "tools/call",
        v2026(json!({"name": "plain", "arguments": {}}), true),
    )
    .await;
    assert_eq!(
        ok(&forbidden)["content"][0]["text"],
        "inline=true",
        "forbidden tools never become tasks"
    );
}

#[tokio::test(start_paused = true)]
async fn task_methods_need_the_extension() {
    let server = server(fast_limits());
    let id = create(&server, "sleepy", json!({"ms": 1})).await["taskId"].clone();
    for method in ["tasks/get", "tasks/cancel"] {
        let response = call(&server, method, v2026(json!({"taskId": id}), false)).await;
        assert_eq!(err_code(&response), -32021, "{method}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_declares_no_elicitation_is_not_asked() {
    let server = server(fast_limits());
    let mut params = v2026(json!({"name": "ask_twice", "arguments": {}}), true);
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"]
        .as_object_mut()
        .unwrap()
        .remove("elicitation");
    let created = call(&server, "tools/call", params).await;
    let id = ok(&created)["taskId"].as_str().unwrap().to_owned();
    let done = until(&server, &id, "failed").await;
    assert!(
        done.to_string()
            .contains("declared no elicitation capability"),
        "{done}"
    );
    assert!(done.get("inputRequests").is_none(), "{done}");
}

#[tokio::test(start_paused = true)]
async fn a_question_before_the_task_is_not_put_to_a_client_without_forms() {
    let form = json!({"method": "elicitation/create",
                      "params": {"mode": "form", "message": "Name?", "requestedSchema": {"type": "object", "properties": {}}}});
    let server = pmcp_tasks::TaskServer::builder("ask", "1")
        .tool(
            pmcp_tasks::TaskTool::new("named", |_: serde_json::Map<String, Value>| async {
                Ok::<_, pmcp_tasks::ToolError>("ok")
            })
            .ask_first("name", form),
        )
        .build()
        .unwrap();
    let mut params = v2026(json!({"name": "named", "arguments": {}}), true);
    let declared = params["_meta"]["io.modelcontextprotocol/clientCapabilities"]
        .as_object_mut()
        .unwrap();
    declared.remove("elicitation");
    let refused = call(&server, "tools/call", params.clone()).await;
    assert_eq!(err_code(&refused), -32602, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("declared no elicitation capability"),
        "{refused}"
    );
    // A client that can answer is asked.
    let asked = call(
        &server,
        "tools/call",
        v2026(json!({"name": "named", "arguments": {}}), true),
    )
    .await;
    assert_eq!(ok(&asked)["resultType"], "input_required", "{asked}");
}

#[tokio::test(start_paused = true)]
async fn input_requests_show_in_get_and_partial_updates_keep_waiting() {
    let server = server(fast_limits());
    let id = create(&server, "ask_twice", json!({})).await["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut waiting = until(&server, &id, "input_required").await;
    for _ in 0..100 {
        if waiting["inputRequests"].as_object().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        waiting = get(&server, &id).await;
    }
    let requests = waiting["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests["first"]["method"], "elicitation/create");
    let ack = call(
        &server,
        "tasks/update",
        v2026(
            json!({"taskId": id, "inputResponses": {
                "first": {"action": "accept", "content": {"v": "a"}},
                "never-asked": {"action": "accept"}
            }}),
            true,
        ),
    )
    .await;
    assert_eq!(ok(&ack)["resultType"], "complete");
    let partial = get(&server, &id).await;
    assert_eq!(partial["status"], "input_required");
    assert_eq!(
        partial["inputRequests"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["second"]
    );
    call(
        &server,
        "tasks/update",
        v2026(json!({"taskId": id, "inputResponses": {"second": {"action": "accept", "content": {"v": "b"}}}}), true),
    )
    .await;
    let done = until(&server, &id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "a b");
}

#[tokio::test(start_paused = true)]
async fn cancel_acknowledges_even_a_finished_task() {
    let server = server(fast_limits());
    let running = create(&server, "sleepy", json!({"ms": 60_000})).await["taskId"].clone();
    let ack = call(
        &server,
        "tasks/cancel",
        v2026(json!({"taskId": running}), true),
    )
    .await;
    assert_eq!(
        ok(&ack),
        &json!({"resultType": "complete", "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "e2e", "version": "1.0.0"}}})
    );
    assert_eq!(
        get(&server, running.as_str().unwrap()).await["status"],
        "cancelled"
    );
    let again = call(
        &server,
        "tasks/cancel",
        v2026(json!({"taskId": running}), true),
    )
    .await;
    assert_eq!(ok(&again)["resultType"], "complete");
    let unknown = call(
        &server,
        "tasks/cancel",
        v2026(json!({"taskId": "nope"}), true),
    )
    .await;
    assert_eq!(err_code(&unknown), -32602);
}

#[tokio::test(start_paused = true)]
async fn errors_map_to_completed_or_failed_as_the_extension_says() {
    let server = server(fast_limits());
    let tool_error = create(&server, "tool_error", json!({})).await["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = until(&server, &tool_error, "completed").await;
    assert_eq!(
        done["result"]["isError"], true,
        "isError results are completed on 2026-07-28"
    );
    let protocol = create(&server, "protocol_error", json!({})).await["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = until(&server, &protocol, "failed").await;
    assert_eq!(
        failed["error"],
        json!({"code": -32050, "message": "upstream exploded"})
    );
}

#[tokio::test(start_paused = true)]
async fn removed_methods_unknown_ids_and_versions() {
    let server = server(fast_limits());
    for method in ["tasks/result", "tasks/list"] {
        let response = call(&server, method, v2026(json!({"taskId": "x"}), true)).await;
        assert_eq!(err_code(&response), -32601, "{method}");
    }
    let listen = json!({"notifications": {"taskIds": ["x"]}});
    let undeclared = call(
        &server,
        "subscriptions/listen",
        v2026(listen.clone(), false),
    )
    .await;
    assert_eq!(err_code(&undeclared), -32021, "{undeclared}");
    let declared = call(&server, "subscriptions/listen", v2026(listen, true)).await;
    assert_eq!(
        err_code(&declared),
        -32600,
        "in process there is no stream to listen on: {declared}"
    );
    let unknown = call(&server, "tasks/get", v2026(json!({"taskId": "nope"}), true)).await;
    assert_eq!(err_code(&unknown), -32602);
    let mut params = v2026(json!({"taskId": "x"}), true);
    params["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("1999-01-01");
    let bad_version = call(&server, "tasks/get", params).await;
    assert_eq!(err_code(&bad_version), -32022);
    assert_eq!(bad_version["error"]["data"]["requested"], "1999-01-01");
}

#[tokio::test(start_paused = true)]
async fn discover_advertises_the_extension_and_not_the_legacy_capability() {
    let server = server(fast_limits());
    let response = call(&server, "server/discover", v2026(json!({}), true)).await;
    let result = ok(&response);
    assert_eq!(
        result["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"],
        json!({})
    );
    assert!(result["capabilities"].get("tasks").is_none());
    assert!(result["supportedVersions"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-07-28")));
    assert_eq!(result["resultType"], "complete");
    let tools = call(&server, "tools/list", v2026(json!({}), true)).await;
    let tools = ok(&tools);
    assert_eq!(tools["resultType"], "complete");
    assert!(tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("execution").is_none()));
}

#[tokio::test(start_paused = true)]
async fn another_owner_sees_exactly_what_an_unknown_id_shows() {
    let server = server(fast_limits());
    let created = call_as(
        &server,
        Some("alice"),
        "tools/call",
        v2026(json!({"name": "sleepy", "arguments": {"ms": 60_000}}), true),
    )
    .await;
    let id = ok(&created)["taskId"].clone();
    let mine = call_as(
        &server,
        Some("alice"),
        "tasks/get",
        v2026(json!({"taskId": id}), true),
    )
    .await;
    assert_eq!(ok(&mine)["status"], "working");
    for who in [Some("bob"), Some("alic"), None] {
        for method in ["tasks/get", "tasks/cancel", "tasks/update"] {
            let theirs = call_as(
                &server,
                who,
                method,
                v2026(json!({"taskId": id, "inputResponses": {}}), true),
            )
            .await;
            let unknown = call_as(
                &server,
                who,
                method,
                v2026(json!({"taskId": "nope", "inputResponses": {}}), true),
            )
            .await;
            assert_eq!(err_code(&theirs), -32602, "{who:?} {method}");
            assert_eq!(
                theirs["error"]["message"]
                    .as_str()
                    .unwrap()
                    .replace(id.as_str().unwrap(), "ID"),
                unknown["error"]["message"]
                    .as_str()
                    .unwrap()
                    .replace("nope", "ID"),
                "a foreign task is indistinguishable from a missing one"
            );
        }
    }
    // And on 2025-11-25, tasks/list of another owner is empty.
    let list = call_as(&server, Some("bob"), "tasks/list", json!({})).await;
    assert_eq!(ok(&list)["tasks"], json!([]));
    let own = call_as(&server, Some("alice"), "tasks/list", json!({})).await;
    assert_eq!(ok(&own)["tasks"].as_array().unwrap().len(), 1);
}
