//! What an HTTP server owes many untrusting clients by default: anonymous
//! sessions kept apart, and bad messages refused with a JSON-RPC error.

mod common;

use common::http::*;
use common::*;
use serde_json::{json, Value};

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
    let id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
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
    // id is the only key there is (random UUIDv4, 122 bits).
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
