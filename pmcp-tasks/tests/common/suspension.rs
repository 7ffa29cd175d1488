//! One scenario, run on every durable store: a resumable body waiting for
//! input lets go of its worker on instance A, A goes away, and the answer
//! sent to instance B resumes it there from its step journal.

use super::{call, ok, v2026};
use pmcp_tasks::clock::SystemClock;
use pmcp_tasks::store::TaskStore;
use pmcp_tasks::{Elicited, Limits, TaskContext, TaskServer, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
pub struct Order {
    pub item: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct Approval {
    pub approve: bool,
}

/// A server whose resumable `order` tool prepares (a step, counted in
/// `prepared`), asks for approval, and answers.
pub fn server(store: Arc<dyn TaskStore>, prepared: Arc<AtomicUsize>) -> TaskServer {
    let tool = TaskTool::new("order", move |args: Order, ctx: TaskContext| {
        let prepared = prepared.clone();
        async move {
            let quote: u64 = ctx
                .step("prepare", async {
                    prepared.fetch_add(1, Ordering::SeqCst);
                    Ok(42)
                })
                .await?;
            let verdict = match ctx
                .elicit::<Approval>(&format!("Order {}?", args.item))
                .await?
            {
                Elicited::Accepted(a) if a.approve => "approved",
                _ => "declined",
            };
            Ok::<_, ToolError>(format!("{} at {quote}: {verdict}", args.item))
        }
    })
    .resumable();
    TaskServer::builder("suspension", "1")
        .store(store)
        .tool(tool)
        .limits(Limits {
            poll_interval: Duration::from_millis(20),
            watch_poll: Duration::from_millis(20),
            lease_ttl: Duration::from_secs(3),
            suspend_after: Some(Duration::from_millis(200)),
            ..Limits::default()
        })
        .clock(Arc::new(SystemClock))
        .sweep_every(Duration::from_millis(100))
        .build()
        .expect("server builds")
}

/// Polls `owner`'s stored task (every 20 ms, for up to 20 s) until `ready`.
pub async fn until(
    server: &TaskServer,
    owner: &str,
    id: &str,
    ready: impl Fn(&pmcp_tasks::domain::TaskRecord) -> bool,
) -> Arc<pmcp_tasks::domain::TaskRecord> {
    let poll = async {
        loop {
            if let Ok(record) = server.runtime().get(owner, id).await {
                if ready(&record) {
                    return record;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .expect("the task reached the expected state")
}

/// The scenario. `a` and `b` are two handles on one store (as two
/// processes would have).
pub async fn a_waiting_body_suspends_and_resumes_on_another_instance(
    a: Arc<dyn TaskStore>,
    b: Arc<dyn TaskStore>,
) {
    let prepared = Arc::new(AtomicUsize::new(0));
    let first = server(a, prepared.clone());
    let second = server(b, prepared.clone());
    let created = call(
        &first,
        "tools/call",
        v2026(json!({"name": "order", "arguments": {"item": "tea"}}), true),
    )
    .await;
    let id = ok(&created)["taskId"].as_str().unwrap().to_owned();

    // A lets go: the task waits for input with no lease and no worker.
    let suspended = until(&first, "user:ana", &id, |t| t.suspended).await;
    assert_eq!(suspended.status, pmcp_tasks::TaskStatus::InputRequired);
    assert!(suspended.lease().is_none(), "{:?}", suspended.lease());
    // The worker lets go just after the suspension is written.
    let freed = async {
        while first.runtime().running_count() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), freed)
        .await
        .expect("A's worker is free");
    let got = ok(&call(&second, "tasks/get", v2026(json!({"taskId": id}), true)).await).clone();
    assert_eq!(got["status"], "input_required", "{got}");
    let key = got["inputRequests"]
        .as_object()
        .and_then(|r| r.keys().next().cloned())
        .expect("the question is shown to the client");

    // A goes away. Its suspended task is not failed by its shutdown, nor
    // taken over as a crash by B's recovery meanwhile.
    assert_eq!(first.shutdown(Duration::from_secs(5)).await, 0);
    drop(first);
    assert_eq!(
        second.runtime().recover_lapsed().await,
        Ok(0),
        "nothing to take over"
    );
    let still = until(&second, "user:ana", &id, |_| true).await;
    assert!(still.suspended && still.status == pmcp_tasks::TaskStatus::InputRequired);

    // The answer goes to B, which resumes the body: the step is replayed
    // from the journal, not run again.
    let answered = call(
        &second,
        "tasks/update",
        v2026(
            json!({"taskId": id, "inputResponses": {key: {"action": "accept", "content": {"approve": true}}}}),
            true,
        ),
    )
    .await;
    ok(&answered);
    let done = until(&second, "user:ana", &id, |t| t.status.is_terminal()).await;
    assert_eq!(done.status, pmcp_tasks::TaskStatus::Completed, "{done:?}");
    let got = ok(&call(&second, "tasks/get", v2026(json!({"taskId": id}), true)).await).clone();
    let result: Value = got["result"].clone();
    assert_eq!(result["content"][0]["text"], "tea at 42: approved", "{got}");
    assert_eq!(prepared.load(Ordering::SeqCst), 1, "the step ran once");
    second.shutdown(Duration::from_secs(5)).await;
}
