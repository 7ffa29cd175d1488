//! Suspension without a live worker, on the in-memory store shared by two
//! instances (the durable stores run the same scenario in their own test
//! files).

mod common;

use pmcp_tasks::store::MemoryStore;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_task_resumes_on_another_instance() {
    let store = Arc::new(MemoryStore::new());
    common::suspension::a_waiting_body_suspends_and_resumes_on_another_instance(
        store.clone(),
        store,
    )
    .await;
}

/// The 2025-11-25 path: the client waits in `tasks/result`, which puts the
/// suspended body's question to it; its answer resumes the body on the
/// instance it is connected to (the second one), and `tasks/result`
/// answers the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2025_result_flow_answers_a_suspended_body_on_another_instance() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let store = Arc::new(MemoryStore::new());
    let prepared = Arc::new(AtomicUsize::new(0));
    let first = common::suspension::server(store.clone(), prepared.clone());
    let second = common::suspension::server(store, prepared.clone());
    let asking = common::LineClient::connect(&first, |_| serde_json::json!({}));
    common::ok(&asking.initialize().await);
    let created = asking
        .call(
            "tools/call",
            serde_json::json!({"name": "order", "arguments": {"item": "jam"}, "task": {}}),
        )
        .await;
    let id = common::ok(&created)["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let suspended = common::suspension::until(&first, "anon:local", &id, |t| t.suspended).await;
    assert_eq!(suspended.lease(), None);
    assert_eq!(first.shutdown(std::time::Duration::from_secs(5)).await, 0);

    // A client of the second instance (the same owner: both connect as
    // the same local user) waits for the result and answers the question.
    let answering = common::LineClient::connect(&second, |request| {
        assert_eq!(request["method"], "elicitation/create");
        assert_eq!(request["params"]["message"], "Order jam?");
        serde_json::json!({"action": "accept", "content": {"approve": true}})
    });
    common::ok(&answering.initialize().await);
    let result = answering
        .call("tasks/result", serde_json::json!({"taskId": id}))
        .await;
    assert_eq!(
        common::ok(&result)["content"][0]["text"],
        "jam at 42: approved",
        "{result}"
    );
    assert_eq!(answering.server_requests.lock().unwrap().len(), 1);
    assert_eq!(prepared.load(Ordering::SeqCst), 1, "the step ran once");
    second.shutdown(std::time::Duration::from_secs(5)).await;
}
