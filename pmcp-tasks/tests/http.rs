//! The streamable HTTP endpoint, driven over real loopback HTTP.

mod common;

use async_trait::async_trait;
use common::http::*;
use common::*;
use pmcp::server::auth::{AuthContext, AuthProvider};
use pmcp_tasks::TaskServer;
use serde_json::{json, Value};
use std::sync::Arc;

/// Bearer tokens are user names: enough to test owner binding.
struct NameIsToken;

#[async_trait]
impl AuthProvider for NameIsToken {
    async fn validate_request(&self, header: Option<&str>) -> pmcp::Result<Option<AuthContext>> {
        match header.and_then(|h| h.strip_prefix("Bearer ")) {
            Some("bad") => Err(pmcp::Error::authentication("token rejected")),
            Some(name) => Ok(Some(AuthContext::new(name))),
            None => Ok(None),
        }
    }
}

#[tokio::test]
async fn a_2025_session_runs_a_task_and_gets_input_requests_on_the_result_stream() {
    let url = start(server(fast_limits())).await;
    let mut http = Http::new(&url);
    http.initialize().await;
    let created = http
        .call(
            "tools/call",
            json!({"name": "ask_twice", "arguments": {}, "task": {"ttl": 60000}}),
        )
        .await;
    let id = task_id(&created);

    // tasks/result answers as a stream: two elicitations, then (after we
    // answer them by POST) the result.
    let mut stream = http
        .post(
            &json!({"jsonrpc": "2.0", "id": 9, "method": "tasks/result", "params": {"taskId": id}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    let mut answered = 0;
    let mut statuses = Vec::new();
    let result = loop {
        let chunk = stream
            .chunk()
            .await
            .unwrap()
            .expect("stream ended before the result");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        let Some(end) = buffer.rfind("\n\n") else {
            continue;
        };
        let complete: String = buffer.drain(..end + 2).collect();
        let mut done = None;
        for message in sse_messages(&complete) {
            if message["method"] == "notifications/tasks/status" {
                // With no GET stream open, the session's notifications
                // travel on the stream it waits on.
                assert_eq!(message["params"]["taskId"], id.as_str());
                statuses.push(message["params"]["status"].as_str().unwrap().to_owned());
            } else if message["method"] == "elicitation/create" {
                assert_eq!(
                    message["params"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
                    id.as_str()
                );
                let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": {"action": "accept", "content": {"v": message["params"]["message"]}}});
                let status = http.post(&reply).send().await.unwrap().status();
                assert_eq!(status, 202);
                answered += 1;
            } else {
                done = Some(message);
            }
        }
        if let Some(done) = done {
            break done;
        }
    };
    assert_eq!(answered, 2);
    for status in &statuses {
        assert!(
            ["input_required", "working", "completed"].contains(&status.as_str()),
            "{statuses:?}"
        );
    }
    assert_eq!(result["id"], 9);
    assert_eq!(result["result"]["content"][0]["text"], "First? Second?");
    assert_eq!(
        http.call("tasks/get", json!({"taskId": id})).await["result"]["status"],
        "completed"
    );
}

/// A `tasks/result` whose task has ended has nothing to send before its
/// answer: it is answered as plain JSON, not as a stream (one that waits is
/// a stream: see the test above).
#[tokio::test]
async fn a_result_ready_at_once_is_answered_as_plain_json() {
    let url = start(server(fast_limits())).await;
    let mut http = Http::new(&url);
    http.initialize().await;
    let created = http
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {"ttl": 60000}}),
        )
        .await;
    let id = task_id(&created);
    // The first tasks/result waits for the end (as a stream, unless the
    // task ended within the plain-answer wait); read it to its end.
    let first = http
        .post(
            &json!({"jsonrpc": "2.0", "id": 8, "method": "tasks/result", "params": {"taskId": id}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.text().await.unwrap().contains("slept_ms"));
    let response = http
        .post(
            &json!({"jsonrpc": "2.0", "id": 9, "method": "tasks/result", "params": {"taskId": id}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["id"], 9);
    assert_eq!(
        answer["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );

    // A task that ended with a JSON-RPC error answers it with HTTP 200 (a
    // client reads another status as a transport failure), either way.
    let failed = http
        .call(
            "tools/call",
            json!({"name": "protocol_error", "arguments": {}, "task": {"ttl": 60000}}),
        )
        .await;
    let id = task_id(&failed);
    let result =
        json!({"jsonrpc": "2.0", "id": 10, "method": "tasks/result", "params": {"taskId": id}});
    for _ in 0..2 {
        let response = http.post(&result).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert!(body.contains("upstream exploded"), "{body}");
    }
}

#[tokio::test]
async fn stateless_2026_requests_need_no_session() {
    let url = start(server(fast_limits())).await;
    let http = Http::new(&url);
    let created = http
        .call(
            "tools/call",
            v2026(json!({"name": "sleepy", "arguments": {"ms": 1}}), true),
        )
        .await;
    assert_eq!(created["result"]["resultType"], "task");
    let missing = http
        .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": v2026(json!({"name": "ask_twice", "arguments": {}}), false)}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400, "-32021 travels with HTTP 400");
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["code"],
        -32021
    );
}

#[tokio::test]
async fn sessions_origins_methods_and_bad_bodies() {
    let url = start(server(fast_limits())).await;
    let mut http = Http::new(&url);
    http.initialize().await;
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 405);
    let unknown = client
        .post(&url)
        .header("mcp-session-id", "forged")
        .body("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let evil = client
        .post(&url)
        .header("origin", "https://evil.example")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let local = client
        .post(&url)
        .header("origin", "http://localhost:3000")
        .body("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200);
    let ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    let text = client
        .post(&url)
        .header("content-type", "text/plain")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    let html = client
        .post(&url)
        .header("accept", "text/html")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 406);
    let garbage = client.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(garbage.status(), 400);
    assert_eq!(
        garbage.json::<Value>().await.unwrap()["error"]["code"],
        -32700
    );
    let notification = http
        .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert_eq!(notification.status(), 202);
    let session = http.session.clone().unwrap();
    let deleted = client
        .delete(&url)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        http.post(&json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn the_auth_subject_owns_the_task() {
    let server = TaskServer::builder("auth", "1")
        .auth_provider(Arc::new(NameIsToken))
        .anonymous(pmcp_tasks::AnonymousPolicy::Reject)
        .tool(pmcp_tasks::TaskTool::new(
            "sleepy",
            |a: SleepArgs, _ctx: pmcp_tasks::TaskContext| async move {
                tokio::time::sleep(std::time::Duration::from_millis(a.ms)).await;
                Ok::<_, pmcp_tasks::ToolError>(a.ms)
            },
        ))
        .build()
        .unwrap();
    let url = start(server).await;
    let mut alice = Http::new(&url);
    alice.token = Some("alice".into());
    let created = alice
        .call(
            "tools/call",
            v2026(json!({"name": "sleepy", "arguments": {"ms": 60000}}), true),
        )
        .await;
    let id = created["result"]["taskId"].clone();
    assert_eq!(
        alice
            .call("tasks/get", v2026(json!({"taskId": id}), true))
            .await["result"]["status"],
        "working"
    );
    let mut bob = Http::new(&url);
    bob.token = Some("bob".into());
    assert_eq!(
        bob.call("tasks/get", v2026(json!({"taskId": id}), true))
            .await["error"]["code"],
        -32602
    );
    let anonymous = Http::new(&url);
    assert_eq!(
        anonymous
            .call("tasks/get", v2026(json!({"taskId": id}), true))
            .await["error"]["code"],
        -32003
    );
    let mut bad = Http::new(&url);
    bad.token = Some("bad".into());
    let refused = bad
        .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
}
