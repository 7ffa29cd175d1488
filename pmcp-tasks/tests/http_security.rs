//! What an HTTP server owes many untrusting clients by default: anonymous
//! sessions kept apart, and bad messages refused with a JSON-RPC error.

mod common;

use common::http::*;
use common::*;
use pmcp_tasks::{TaskServer, TransportLimits};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn session(url: &str) -> Http {
    let mut http = Http::new(url);
    http.initialize().await;
    http
}

fn listen(id: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 40, "method": "subscriptions/listen",
           "params": v2026(json!({"notifications": {"taskIds": [id]}}), true)})
}

#[tokio::test]
async fn two_anonymous_sessions_never_see_each_others_tasks() {
    let url = start(server(fast_limits())).await;
    let alice = session(&url).await;
    let bob = session(&url).await;
    let created = alice
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 60000}, "task": {"ttl": 60000}}),
        )
        .await;
    let id = task_id(&created);
    let listed = |page: &Value| -> Vec<Value> {
        page["result"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["taskId"].clone())
            .collect()
    };
    assert_eq!(
        listed(&alice.call("tasks/list", json!({})).await),
        vec![json!(id)]
    );
    assert!(listed(&bob.call("tasks/list", json!({})).await).is_empty());
    for method in ["tasks/get", "tasks/result", "tasks/cancel"] {
        // Plain JSON answers (a 2025-11-25 tasks/result would stream).
        let answer: Value = bob
            .client
            .post(&url)
            .header("mcp-session-id", bob.session.as_deref().unwrap())
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(
                json!({"jsonrpc": "2.0", "id": 3, "method": method, "params": {"taskId": id}})
                    .to_string(),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["error"]["code"], -32602, "{method}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not found"),
            "{answer}"
        );
    }
    let update = bob
        .call(
            "tasks/update",
            v2026(
                json!({"taskId": id, "inputResponses": {"k": {"action": "cancel"}}}),
                true,
            ),
        )
        .await;
    assert_eq!(update["error"]["code"], -32602, "{update}");
    // Bob's listen on his session acknowledges nothing of Alice's.
    let mut stream = SseReader::new(bob.post(&listen(&id)).send().await.unwrap());
    let ack = stream.next().await.unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    let acked = &ack["params"]["notifications"]["taskIds"];
    assert!(acked.as_array().is_none_or(Vec::is_empty), "{ack}");
    drop(stream);

    // A stateless anonymous request is bound to no one: it cannot read a
    // session's task, and it is not offered tasks/list at all.
    let stateless = Http::new(&url);
    let read = stateless
        .call("tasks/get", v2026(json!({"taskId": id}), true))
        .await;
    assert_eq!(read["error"]["code"], -32602, "{read}");
    let list = stateless.call("tasks/list", json!({})).await;
    assert_eq!(list["error"]["code"], -32601, "{list}");
    assert!(list["error"]["message"]
        .as_str()
        .unwrap()
        .contains("authenticate"));

    // The task is Alice's still, and only she can cancel it.
    let cancelled = alice.call("tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(cancelled["result"]["status"], "cancelled", "{cancelled}");
}

#[tokio::test]
async fn sessions_are_offered_tasks_list_and_stateless_tasks_are_reached_by_id() {
    let url = start(server(fast_limits())).await;
    let mut http = Http::new(&url);
    http.initialize().await;
    let init = http
        .call(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    assert_eq!(init["result"]["capabilities"]["tasks"]["list"], json!({}));

    let one = Http::new(&url);
    let created = one
        .call(
            "tools/call",
            v2026(json!({"name": "sleepy", "arguments": {"ms": 60000}}), true),
        )
        .await;
    let id = created["result"]["taskId"].clone();
    // Another stateless request that knows the id reaches the task: the
    // id is the only key there is (a UUIDv7, 74 random bits).
    let other = Http::new(&url);
    let read = other
        .call("tasks/get", v2026(json!({"taskId": id}), true))
        .await;
    assert_eq!(read["result"]["status"], "working", "{read}");
    // A session does not.
    let read = http
        .call("tasks/get", v2026(json!({"taskId": id}), true))
        .await;
    assert_eq!(read["error"]["code"], -32602, "{read}");
}

#[tokio::test]
async fn invalid_messages_get_400_and_a_json_rpc_error_as_over_stdio() {
    let url = start(server(fast_limits())).await;
    let http = Http::new(&url);
    let bodies = [
        "[]",
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
        "7",
        "\"ping\"",
        "null",
        "{}",
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":""}"#,
        r#"{"jsonrpc":"2.0","method":""}"#,
        r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}"#,
    ];
    let in_process = server(fast_limits());
    for body in bodies {
        let response = http
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], -32600, "{body}: {answer}");
        // The same message in process (as over stdio) gets the same answer.
        let message: Value = serde_json::from_str(body).unwrap();
        let same = in_process.handle(message, None).await;
        assert_eq!(same, Some(answer), "{body}");
    }
    // A usable id is echoed.
    let answer = http.call("ping", json!([1])).await;
    assert_eq!(answer["error"]["code"], -32602);
    assert_eq!(answer["id"], 7);
}

fn limited(limits: TransportLimits) -> TaskServer {
    with_test_tools(TaskServer::builder("limits", "1"))
        .limits(fast_limits())
        .transport_limits(limits)
        .build()
        .unwrap()
}

#[tokio::test]
async fn oversized_and_stalled_bodies_are_refused_with_a_json_rpc_error() {
    let url = start(limited(TransportLimits {
        max_message_bytes: 1024,
        body_read_timeout: Duration::from_millis(300),
        ..TransportLimits::default()
    }))
    .await;
    let client = reqwest::Client::new();
    let big =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x".repeat(2000)}});
    let refused = client
        .post(&url)
        .header("content-type", "application/json")
        .body(big.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    assert_eq!(refused.headers()["content-type"], "application/json");
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["error"]["code"], -32600);
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1024 bytes"));

    // Headers promise more than is ever sent: the wait ends with 408.
    let mut tcp =
        tokio::net::TcpStream::connect(url.trim_start_matches("http://").trim_end_matches("/mcp"))
            .await
            .unwrap();
    tcp.write_all(
        b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"jsonrpc\"",
    )
    .await
    .unwrap();
    let mut response = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut response))
        .await
        .expect("answered, not left hanging")
        .unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("-32600"), "{response}");
}

#[tokio::test]
async fn the_protocol_version_header_must_agree_with_the_request() {
    let url = start(server(fast_limits())).await;
    let mut http = Http::new(&url);
    http.initialize().await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let send = |version: &'static str| {
        http.post(&ping)
            .header("mcp-protocol-version", version)
            .send()
    };
    let unknown = send("1999-01-01").await.unwrap();
    assert_eq!(unknown.status(), 400);
    assert_eq!(
        unknown.json::<Value>().await.unwrap()["error"]["code"],
        -32022
    );
    let other = send("2026-07-28").await.unwrap();
    assert_eq!(other.status(), 400, "the session agreed 2025-11-25");
    assert_eq!(
        other.json::<Value>().await.unwrap()["error"]["code"],
        -32020
    );
    assert_eq!(send("2025-11-25").await.unwrap().status(), 200);
    // A stateless 2026-07-28 request: the header must say what _meta says.
    let stateless = Http::new(&url);
    let request = json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/get",
                         "params": v2026(json!({"taskId": "x"}), true)});
    let mismatch = stateless
        .post(&request)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), 400);
    assert_eq!(
        mismatch.json::<Value>().await.unwrap()["error"]["code"],
        -32020
    );
}

#[tokio::test]
async fn origins_are_read_as_urls() {
    let url = start(server(fast_limits())).await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let client = reqwest::Client::new();
    for (origin, status) in [
        ("http://127.0.0.1:1@evil.com", 403),
        ("localhost", 403),
        ("null", 403),
        ("http://localhost.evil.com", 403),
        ("http://localhost:3000", 200),
        ("http://127.0.0.1", 200),
        ("https://[::1]:8443", 200),
    ] {
        let response = client
            .post(&url)
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(ping.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{origin}");
    }
}

#[tokio::test]
async fn streamed_answers_do_not_pile_up_in_a_session_and_open_ones_are_capped() {
    let url = start(limited(TransportLimits {
        max_streams_per_session: 2,
        ..TransportLimits::default()
    }))
    .await;
    let http = session(&url).await;
    let created = http
        .call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {"ttl": 60000}}),
        )
        .await;
    let id = task_id(&created);
    // A thousand tasks/result, one after another, on a session allowed
    // two open streams: each takes a stream's place while it is served
    // (and answers as a stream, or as plain JSON once the task has ended
    // and nothing comes first), and each gives its place back.
    let result =
        json!({"jsonrpc": "2.0", "id": 9, "method": "tasks/result", "params": {"taskId": id}});
    for round in 0..1000 {
        let response = http.post(&result).send().await.unwrap();
        assert_eq!(response.status(), 200, "round {round}");
        let answer = if response.headers()["content-type"] == "application/json" {
            response.json::<Value>().await.unwrap()
        } else {
            let mut stream = SseReader::new(response);
            // Status notifications may come first; the answer ends it.
            let answer = loop {
                let message = stream.next().await.unwrap();
                if message.get("method").is_none() {
                    break message;
                }
            };
            assert!(stream.next().await.is_none());
            answer
        };
        assert_eq!(
            answer["result"]["structuredContent"]["slept_ms"], 1,
            "{answer}"
        );
    }
    // Two listens held open fill the session's share; a third is refused.
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = SseReader::new(http.post(&listen("x")).send().await.unwrap());
        stream.next().await.unwrap();
        open.push(stream);
    }
    let third = http.post(&listen("x")).send().await.unwrap();
    assert_eq!(third.status(), 429);
    let answer: Value = third.json().await.unwrap();
    assert_eq!(answer["error"]["code"], -32005, "{answer}");
    assert_eq!(answer["id"], 40);
}

#[tokio::test]
async fn a_full_session_table_refuses_new_sessions_instead_of_evicting() {
    let url = start(limited(TransportLimits {
        max_sessions: 2,
        ..TransportLimits::default()
    }))
    .await;
    let first = session(&url).await;
    let _second = session(&url).await;
    let refused = Http::new(&url)
        .post(&initialize_request())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "30");
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"]["code"],
        -32005
    );
    let ping = first.call("ping", json!({})).await;
    assert_eq!(
        ping["result"],
        json!({}),
        "the first client keeps its session"
    );
}

fn address(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned()
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() {
    let url = start(limited(TransportLimits {
        header_read_timeout: Duration::from_millis(300),
        ..TransportLimits::default()
    }))
    .await;
    // Headers sent a byte at a time never finish: the connection closes.
    let mut slow = tokio::net::TcpStream::connect(address(&url)).await.unwrap();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHo").await.unwrap();
    // An idle connection, after one answered request, closes too.
    let mut idle = tokio::net::TcpStream::connect(address(&url)).await.unwrap();
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{ping}",
        ping.len()
    );
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    for (name, tcp) in [("slow", &mut slow), ("idle", &mut idle)] {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "{name}: the server closed the connection");
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let url = start(limited(TransportLimits {
        max_connections: 2,
        ..TransportLimits::default()
    }))
    .await;
    let first = tokio::net::TcpStream::connect(address(&url)).await.unwrap();
    let _second = tokio::net::TcpStream::connect(address(&url)).await.unwrap();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let waiting = quick.post(&url).json(&ping).send().await;
    assert!(waiting.is_err_and(|e| e.is_timeout()), "the third waits");
    drop(first);
    let served = reqwest::Client::new()
        .post(&url)
        .json(&ping)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200, "a place freed, the next is served");
}

#[tokio::test]
async fn one_address_opens_a_bounded_number_of_sessions() {
    let url = start(limited(TransportLimits {
        sessions_per_minute_per_address: std::num::NonZeroU32::new(2),
        ..TransportLimits::default()
    }))
    .await;
    let first = session(&url).await;
    let _second = session(&url).await;
    let refused = Http::new(&url)
        .post(&initialize_request())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"]["code"],
        -32005
    );
    let ping = first.call("ping", json!({})).await;
    assert_eq!(
        ping["result"],
        json!({}),
        "sessions already open are untouched"
    );
}
