//! Push instead of polling: 2025-11-25 status and progress notifications to
//! the session that created a task, and 2026-07-28 `subscriptions/listen`,
//! over stdio and over real HTTP.

mod common;

use common::http::*;
use common::*;
use pmcp::server::auth::AuthContext;
use pmcp_tasks::TaskServer;
use serde_json::{json, Value};
use std::time::Duration;

const SUBSCRIPTION: &str = "io.modelcontextprotocol/subscriptionId";

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test(start_paused = true)]
async fn a_2025_session_hears_status_and_progress_over_stdio() {
    let server = server(fast_limits());
    let mut client = LineClient::connect(&server, |_| json!({}));
    ok(&client.initialize().await);
    let created = client
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 200}, "task": {},
                   "_meta": {"progressToken": "p-1"}}),
        )
        .await;
    let id = ok(&created)["task"]["taskId"].as_str().unwrap().to_owned();
    let mut progress = Vec::new();
    let done = loop {
        let n = client.notification().await;
        match n["method"].as_str().unwrap() {
            "notifications/progress" => {
                assert_eq!(n["params"]["progressToken"], "p-1");
                assert_eq!(n["params"]["total"], 2.0);
                progress.push(n["params"]["progress"].as_f64().unwrap());
            }
            "notifications/tasks/status" => {
                let task = &n["params"];
                assert_eq!(task["taskId"], id.as_str());
                assert!(
                    task.get("_meta")
                        .and_then(|m| m.get("io.modelcontextprotocol/related-task"))
                        .is_none(),
                    "no related-task _meta on a status notification: {n}"
                );
                if task["status"] == "completed" {
                    break task.clone();
                }
            }
            other => panic!("unexpected notification {other}"),
        }
    };
    // The full task, as tasks/get answers it.
    let got = ok(&client.call("tasks/get", json!({"taskId": id})).await).clone();
    assert_eq!(keys(&done), keys(&got));
    assert_eq!(done["statusMessage"], got["statusMessage"]);
    // Progress moves forward only, with the token of the creating call.
    assert!(!progress.is_empty(), "progress notifications were sent");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(progress.last(), Some(&1.0));
}

#[tokio::test(start_paused = true)]
async fn without_a_progress_token_only_status_is_sent() {
    let server = server(fast_limits());
    let mut client = LineClient::connect(&server, |_| json!({}));
    ok(&client.initialize().await);
    client
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 50}, "task": {}}),
        )
        .await;
    loop {
        let n = client.notification().await;
        assert_eq!(n["method"], "notifications/tasks/status", "{n}");
        if n["params"]["status"] == "completed" {
            break;
        }
    }
}

fn listen_request(id: u64, task_ids: &[&str], with_tasks: bool) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
           "params": v2026(json!({"notifications": {"taskIds": task_ids}}), with_tasks)})
}

async fn create_2026(server: &TaskServer, who: Option<&str>, ms: u64) -> String {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": v2026(json!({"name": "sleepy", "arguments": {"ms": ms}}), true)});
    let response = server
        .handle(request, who.map(AuthContext::new))
        .await
        .unwrap();
    ok(&response)["taskId"].as_str().unwrap().to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_listener_on_stdio_hears_its_own_tasks_to_the_end() {
    let server = server(fast_limits());
    let mut client = LineClient::connect(&server, |_| json!({}));
    // Over stdio the caller is the one local client.
    let mine = create_2026(&server, None, 200).await;
    let theirs = create_2026(&server, Some("bob"), 200).await;
    client
        .send_line(&listen_request(40, &[&mine, &theirs, "no-such-task"], true).to_string())
        .await;
    let ack = client.notification().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["notifications"]["taskIds"],
        json!([mine]),
        "only the caller's own task, and nothing said of the others"
    );
    assert_eq!(ack["params"]["_meta"][SUBSCRIPTION], 40);
    // The body reports progress twice, yet only notifications/tasks come
    // on a task stream: nothing between the current state and the end.
    let first = client.notification().await;
    assert_eq!(first["method"], "notifications/tasks");
    assert_eq!(first["params"]["taskId"], mine.as_str());
    assert_eq!(first["params"]["status"], "working");
    assert_eq!(first["params"]["_meta"][SUBSCRIPTION], 40);
    let last = client.notification().await;
    assert_eq!(last["method"], "notifications/tasks");
    assert_eq!(last["params"]["status"], "completed");
    // The same DetailedTask tasks/get answers, result inlined.
    assert_eq!(
        last["params"]["result"]["structuredContent"]["slept_ms"],
        200
    );
    let got = server
        .handle(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/get",
                   "params": v2026(json!({"taskId": mine}), true)}),
            None,
        )
        .await
        .unwrap();
    let mut expected = ok(&got).clone();
    let mut pushed = last["params"].clone();
    for v in [&mut expected, &mut pushed] {
        v.as_object_mut().unwrap().remove("_meta");
        v.as_object_mut().unwrap().remove("resultType");
    }
    assert_eq!(pushed, expected);
    // A second subscription, on a task still running, that the client
    // cancels: the task's end, which comes later, is not sent to it.
    let long = create_2026(&server, None, 1000).await;
    client
        .send_line(&listen_request(42, &[&long], true).to_string())
        .await;
    let ack = client.notification().await;
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([long]));
    let working = client.notification().await;
    assert_eq!(working["params"]["status"], "working");
    assert_eq!(working["params"]["_meta"][SUBSCRIPTION], 42);
    client
        .send_line(
            &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": 42}})
            .to_string(),
        )
        .await;
    let ended = server
        .runtime()
        .wait_terminal("anon:local", &long)
        .await
        .unwrap();
    assert_eq!(ended.status.to_string(), "completed");
    let ping = client.call("ping", json!({})).await;
    ok(&ping);
    while let Ok(heard) = client.notifications.try_recv() {
        assert_ne!(
            heard["params"]["_meta"][SUBSCRIPTION], 42,
            "nothing more on a cancelled subscription: {heard}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn listen_refuses_what_it_should() {
    let server = server(fast_limits());
    let client = LineClient::connect(&server, |_| json!({}));
    let undeclared = client.call_raw(listen_request(41, &["x"], false)).await;
    assert_eq!(err_code(&undeclared), -32021, "{undeclared}");
    assert_eq!(
        undeclared["error"]["data"]["requiredCapabilities"]["extensions"],
        json!({"io.modelcontextprotocol/tasks": {}})
    );
    for (filter, field) in [
        (json!({"taskIds": "x"}), "invalid type"),
        (json!({"toolsListChanged": 3}), "invalid type"),
    ] {
        let bad = client
            .call_raw(
                json!({"jsonrpc": "2.0", "id": 42, "method": "subscriptions/listen",
                              "params": v2026(json!({"notifications": filter}), true)}),
            )
            .await;
        assert_eq!(err_code(&bad), -32602, "{bad}");
        assert!(
            bad["error"]["message"].as_str().unwrap().contains(field),
            "{bad}"
        );
    }
    let missing = client
        .call_raw(
            json!({"jsonrpc": "2.0", "id": 43, "method": "subscriptions/listen",
                          "params": v2026(json!({}), true)}),
        )
        .await;
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("notifications"),
        "{missing}"
    );
    let on_2025 = client
        .call_raw(
            json!({"jsonrpc": "2.0", "id": 44, "method": "subscriptions/listen",
                          "params": {"notifications": {"taskIds": []}}}),
        )
        .await;
    assert_eq!(err_code(&on_2025), -32601, "{on_2025}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_answers_an_open_listen() {
    let server = server(fast_limits());
    let mut client = LineClient::connect(&server, |_| json!({}));
    let mine = create_2026(&server, None, 60_000).await;
    let answer = {
        let client = &client;
        let request = listen_request(45, &[&mine], true);
        async move { client.call_raw(request).await }
    };
    let shut = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.shutdown(Duration::ZERO).await;
    };
    let (answer, ()) = tokio::join!(answer, shut);
    let result = ok(&answer);
    assert_eq!(result["_meta"][SUBSCRIPTION], 45, "{answer}");
    assert_eq!(result["resultType"], "complete");
    let ack = client.notification().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
}

#[tokio::test]
async fn over_http_a_session_get_stream_and_a_listen_stream_carry_notifications() {
    let server = with_test_tools(TaskServer::builder("push", "1"))
        .limits(fast_limits())
        .heartbeat(Duration::from_millis(100))
        .build()
        .unwrap();
    let url = start(server.clone()).await;
    // 2025-11-25: the session's GET stream.
    let mut http = Http::new(&url);
    http.initialize().await;
    let get = http
        .client
        .get(&url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", http.session.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["content-type"], "text/event-stream");
    let mut stream = SseReader::new(get);
    let created = http
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 300}, "task": {},
                   "_meta": {"progressToken": 7}}),
        )
        .await;
    let id = created["result"]["task"]["taskId"].clone();
    let mut saw_progress = false;
    loop {
        let n = stream.next().await.expect("the GET stream stays open");
        if n["method"] == "notifications/progress" {
            assert_eq!(n["params"]["progressToken"], 7);
            saw_progress = true;
        } else if n["method"] == "notifications/tasks/status" {
            assert_eq!(n["params"]["taskId"], id);
            if n["params"]["status"] == "completed" {
                break;
            }
        }
    }
    assert!(saw_progress);
    // An idle stream carries keep-alives.
    let idle = tokio::time::timeout(Duration::from_secs(2), async {
        while stream.comments == 0 {
            let _ = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        }
    })
    .await;
    assert!(idle.is_ok(), "a heartbeat within 2 s at a 100 ms interval");

    // 2026-07-28: a listen answered as an SSE stream, for a task made by
    // a stateless anonymous request (reached by its id alone).
    let created = Http::new(&url)
        .call(
            "tools/call",
            v2026(json!({"name": "sleepy", "arguments": {"ms": 200}}), true),
        )
        .await;
    let task = ok(&created)["taskId"].as_str().unwrap().to_owned();
    let listen = Http::new(&url)
        .post(&listen_request(9, &[&task], true))
        .send()
        .await
        .unwrap();
    assert_eq!(listen.headers()["content-type"], "text/event-stream");
    let mut listen = SseReader::new(listen);
    let ack = listen.next().await.unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([task]));
    loop {
        let n = listen.next().await.unwrap();
        assert_eq!(n["method"], "notifications/tasks");
        assert_eq!(n["params"]["_meta"][SUBSCRIPTION], 9);
        if n["params"]["status"] == "completed" {
            break;
        }
    }
    // Shutdown ends the listen with its answer, and the stream closes.
    server.shutdown(Duration::from_secs(1)).await;
    let answer = listen.next().await.expect("the answer");
    assert_eq!(answer["id"], 9);
    assert_eq!(answer["result"]["_meta"][SUBSCRIPTION], 9);
    assert!(listen.next().await.is_none(), "the stream ends");
}
