//! The driver's promises: bodies run in the background, cancel reaches
//! them, panics and shutdowns end tasks `failed`, a working body keeps its
//! task and an ended one is kept its TTL after its end.
//!
//! Every test runs on tokio's paused time with a [`TokioClock`]: grace
//! periods, TTLs and leases pass in virtual time, deterministically.

use super::runtime::CRASH_MESSAGE;
use super::*;
use crate::domain::{Era, Limits, NewTask, TaskOutcome, TaskStatus};
use crate::store::{MemoryStore, StoreError};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A runtime on tokio's paused time: its clock, its timers and the
/// tests' waits all move together, in virtual time.
fn paused(store: Arc<dyn crate::store::TaskStore>, limits: Limits) -> TaskRuntime {
    TaskRuntime::with_clock(store, limits, Arc::new(crate::clock::TokioClock::new()))
}

fn runtime() -> TaskRuntime {
    paused(
        Arc::new(MemoryStore::new()),
        Limits {
            poll_interval: Duration::from_millis(20),
            ..Limits::default()
        },
    )
}

/// Lets every task that can run do so, without moving virtual time.
async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

fn new_task(ttl: Duration) -> NewTask {
    NewTask {
        owner: "alice".into(),
        era: Era::V2026_07_28,
        tool: "t".into(),
        arguments: json!({}),
        ttl: Some(ttl),
        poll_interval: None,
        input_responses: Default::default(),
        variables: Default::default(),
        client_elicits: None,
    }
}

fn body<F>(f: F) -> TaskBody
where
    F: FnOnce(TaskContext) -> futures::future::BoxFuture<'static, TaskOutcome> + Send + 'static,
{
    Box::new(f)
}

fn ok() -> TaskOutcome {
    TaskOutcome::result(json!({"content": []}))
}

#[tokio::test(start_paused = true)]
async fn body_runs_in_background_and_completes_with_result() {
    let rt = runtime();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let t = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(|_ctx| {
                Box::pin(async move {
                    rx.await.ok();
                    ok()
                })
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        rt.get("alice", &t.id).await.unwrap().status,
        TaskStatus::Working
    );
    tx.send(()).unwrap();
    let done = rt.wait_terminal("alice", &t.id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.outcome(), Some(&ok()));
}

#[tokio::test(start_paused = true)]
async fn cancel_reaches_the_running_body() {
    let rt = runtime();
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let flag = saw_cancel.clone();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel();
    let t = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(move |ctx| {
                Box::pin(async move {
                    // A guard observes that the body is dropped.
                    struct Dropped(Arc<AtomicBool>, Option<tokio::sync::oneshot::Sender<()>>);
                    impl Drop for Dropped {
                        fn drop(&mut self) {
                            self.0.store(true, Ordering::SeqCst);
                            if let Some(tx) = self.1.take() {
                                let _ = tx.send(());
                            }
                        }
                    }
                    let _guard = Dropped(flag, Some(dropped_tx));
                    started_tx.send(()).unwrap();
                    ctx.cancelled().await;
                    std::future::pending::<()>().await;
                    ok()
                })
            }),
        )
        .await
        .unwrap();
    started_rx.await.unwrap();
    let cancelled = rt.cancel("alice", &t.id).await.unwrap();
    assert_eq!(cancelled.status, TaskStatus::Cancelled);
    tokio::time::timeout(Duration::from_secs(2), dropped_rx)
        .await
        .expect("the body was stopped")
        .unwrap();
    assert!(saw_cancel.load(Ordering::SeqCst));
    settle().await;
    assert_eq!(rt.running_count(), 0);
    // Terminal is forever: a second cancel is refused.
    assert!(rt.cancel("alice", &t.id).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn a_panicking_body_fails_its_task() {
    let rt = runtime();
    let t = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(|_ctx| Box::pin(async { panic!("kaboom") })),
        )
        .await
        .unwrap();
    let done = rt.wait_terminal("alice", &t.id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Failed);
    assert!(done.status_message().unwrap().contains("kaboom"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_quick_bodies_and_fails_slow_ones() {
    let rt = runtime();
    let quick = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(|_ctx| {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    ok()
                })
            }),
        )
        .await
        .unwrap();
    let slow = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(|_ctx| {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    ok()
                })
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        rt.shutdown(Duration::from_millis(200)).await,
        1,
        "only the slow task is cut short"
    );
    assert_eq!(
        rt.get("alice", &quick.id).await.unwrap().status,
        TaskStatus::Completed
    );
    let slow = rt.get("alice", &slow.id).await.unwrap();
    assert_eq!(slow.status, TaskStatus::Failed);
    assert_eq!(slow.status_message(), Some(SHUTDOWN_MESSAGE));
    assert!(matches!(
        rt.start(
            new_task(Duration::from_secs(1)),
            body(|_| Box::pin(async { ok() }))
        )
        .await,
        Err(StartError::ShuttingDown)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_working_body_keeps_its_task_and_an_ended_one_is_kept_its_ttl_after_the_end() {
    let rt = runtime();
    let (finish, finished) = tokio::sync::oneshot::channel::<()>();
    let t = rt
        .start(
            new_task(Duration::from_millis(30)),
            body(|_ctx| {
                Box::pin(async move {
                    let _ = finished.await;
                    ok()
                })
            }),
        )
        .await
        .unwrap();
    // Five minutes on a 30 ms TTL: the body renews its lease, so its task
    // stays, and the TTL it reports has grown past the time it has run.
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(
        rt.sweep_expired().await.unwrap(),
        0,
        "a working task is kept"
    );
    let running = rt.get("alice", &t.id).await.unwrap();
    assert_eq!(running.status, TaskStatus::Working);
    assert!(running.reported_ttl().unwrap() > Duration::from_secs(300));
    // Once it ends, it is kept its TTL counted from the end.
    finish.send(()).unwrap();
    settle().await;
    let ended = rt.get("alice", &t.id).await.unwrap();
    assert_eq!(ended.status, TaskStatus::Completed);
    tokio::time::advance(Duration::from_millis(29)).await;
    assert_eq!(rt.sweep_expired().await.unwrap(), 0, "not expired yet");
    assert!(rt.get("alice", &t.id).await.is_ok());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(matches!(
        rt.get("alice", &t.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(rt.sweep_expired().await.unwrap(), 1);
    assert_eq!(rt.running_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_task_whose_holder_died_past_its_ttl_is_failed_by_recovery_not_deleted() {
    // Its process died holding a lease until 200 ms, on a 30 ms TTL.
    let store: Arc<dyn crate::store::TaskStore> = Arc::new(MemoryStore::new());
    let rt = paused(store.clone(), Limits::default());
    let now = rt.clock().now();
    let mut record = crate::domain::TaskRecord::new(new_task(Duration::from_millis(30)), now);
    record
        .hold_lease("dead", now + chrono::Duration::milliseconds(200))
        .unwrap();
    let t = store
        .create(record, crate::store::OwnerQuota::active(10), now)
        .await
        .unwrap();
    tokio::time::advance(Duration::from_millis(250)).await;
    // Past both its TTL and its lease, it is still there for recovery,
    // which fails it saying why (it is not resumable)...
    assert_eq!(rt.sweep_expired().await.unwrap(), 0);
    assert_eq!(rt.recover_lapsed().await.unwrap(), 1);
    let failed = rt.get("alice", &t.id).await.unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.status_message(), Some(CRASH_MESSAGE));
    // ...and it is then kept its TTL after that end.
    tokio::time::advance(Duration::from_millis(30)).await;
    assert_eq!(rt.sweep_expired().await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn elicitation_waits_for_the_answer_and_resumes() {
    let rt = runtime();
    let t = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(|ctx| {
                Box::pin(async move {
                    let answer = ctx
                        .elicit_form("name", "Your name?", json!({"type":"object"}))
                        .await
                        .unwrap();
                    ctx.set_var("answered", &answer.action).await.unwrap();
                    TaskOutcome::result(json!({"content": [], "answer": answer.content}))
                })
            }),
        )
        .await
        .unwrap();
    let waiting = rt
        .wait_until("alice", &t.id, Duration::from_millis(20), |r| {
            r.status == TaskStatus::InputRequired
        })
        .await
        .unwrap();
    assert_eq!(
        waiting.input_requests()["name"]["params"]["message"],
        "Your name?"
    );
    let mut answers = serde_json::Map::new();
    answers.insert(
        "name".into(),
        json!({"action": "accept", "content": {"name": "Luca"}}),
    );
    assert_eq!(
        rt.answer_input("alice", &t.id, &answers).await.unwrap(),
        vec!["name"]
    );
    let done = rt.wait_terminal("alice", &t.id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.variables()["answered"], "accept");
    assert_eq!(
        done.outcome(),
        Some(&TaskOutcome::result(
            json!({"content": [], "answer": {"name": "Luca"}})
        ))
    );
}

#[tokio::test(start_paused = true)]
async fn variables_over_the_limit_are_refused_and_nothing_changes() {
    let rt = paused(
        Arc::new(MemoryStore::new()),
        Limits {
            max_variable_bytes: 32,
            ..Limits::default()
        },
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    let t = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(move |ctx| {
                Box::pin(async move {
                    ctx.set_var("a", &1).await.unwrap();
                    let too_big = ctx.set_var("b", &"x".repeat(100)).await;
                    tx.send(too_big.map_err(|e| e.to_string())).unwrap();
                    ok()
                })
            }),
        )
        .await
        .unwrap();
    let err = rx.await.unwrap().unwrap_err();
    assert!(err.contains("limit of 32 bytes"), "{err}");
    let done = rt.wait_terminal("alice", &t.id).await.unwrap();
    assert_eq!(done.variables().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_served_by_another_instance_stops_the_body_here() {
    let store = Arc::new(MemoryStore::new());
    let limits = Limits {
        external_cancel_poll: Duration::from_millis(50),
        ..Limits::default()
    };
    let here = paused(store.clone(), limits.clone());
    let there = paused(store, limits);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let t = here
        .start(
            new_task(Duration::from_secs(60)),
            body(|_ctx| {
                Box::pin(async move {
                    started_tx.send(()).unwrap();
                    std::future::pending::<()>().await;
                    ok()
                })
            }),
        )
        .await
        .unwrap();
    started_rx.await.unwrap();
    assert_eq!(here.running_count(), 1);
    there.cancel("alice", &t.id).await.unwrap();
    // The body here learns of it at its next look at the store, one
    // `external_cancel_poll` (50 ms) later, in virtual time.
    tokio::time::advance(Duration::from_millis(49)).await;
    settle().await;
    assert_eq!(here.running_count(), 1, "not seen before the next poll");
    tokio::time::advance(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(here.running_count(), 0, "stopped at the next poll");
    assert_eq!(
        here.get("alice", &t.id).await.unwrap().status,
        TaskStatus::Cancelled
    );
}

/// A task whose instance died: its lease ran out, and it was left `working`.
async fn orphan(
    store: &Arc<MemoryStore>,
    now: chrono::DateTime<chrono::Utc>,
    tool: &str,
    checkpoints: &[(&str, serde_json::Value)],
) -> String {
    let mut record = crate::domain::TaskRecord::new(
        NewTask {
            tool: tool.into(),
            ..new_task(Duration::from_secs(600))
        },
        now,
    );
    record
        .hold_lease("a-dead-instance", now - chrono::Duration::seconds(1))
        .unwrap();
    for (name, value) in checkpoints {
        record.checkpoint(name, value.clone(), now).unwrap();
    }
    crate::store::TaskStore::create(&**store, record, crate::store::OwnerQuota::active(100), now)
        .await
        .unwrap()
        .id
        .clone()
}

#[tokio::test(start_paused = true)]
async fn a_lapsed_resumable_task_runs_again_and_replays_its_completed_steps() {
    use std::sync::atomic::AtomicUsize;
    let store = Arc::new(MemoryStore::new());
    let rt = paused(store.clone(), Limits::default());
    let runs_of_step_one = Arc::new(AtomicUsize::new(0));
    let counter = runs_of_step_one.clone();
    rt.set_resumer(move |record| {
        if record.tool != "resumable" {
            return None;
        }
        let counter = counter.clone();
        Some(body(move |ctx| {
            Box::pin(async move {
                let one: u32 = ctx
                    .step("one", async {
                        counter.fetch_add(1, Ordering::SeqCst);
                        Ok(1)
                    })
                    .await
                    .unwrap();
                let two: u32 = ctx.step("two", async { Ok(one + 1) }).await.unwrap();
                TaskOutcome::result(json!({"content": [], "two": two}))
            })
        }))
    });
    let now = rt.clock().now();
    let resumable = orphan(&store, now, "resumable", &[("one", json!(41))]).await;
    let other = orphan(&store, now, "plain", &[]).await;
    assert_eq!(rt.recover_lapsed().await.unwrap(), 2);
    let done = rt.wait_terminal("alice", &resumable).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(
        done.outcome(),
        Some(&TaskOutcome::result(json!({"content": [], "two": 42})))
    );
    assert_eq!(
        runs_of_step_one.load(Ordering::SeqCst),
        0,
        "step one was replayed, not re-run"
    );
    assert_eq!(done.checkpoints()["two"], 42);
    let failed = rt.get("alice", &other).await.unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.status_message(), Some(CRASH_MESSAGE));
    assert_eq!(
        rt.recover_lapsed().await.unwrap(),
        0,
        "nothing left to take over"
    );
}

#[tokio::test(start_paused = true)]
async fn a_running_body_renews_its_lease() {
    let store = Arc::new(MemoryStore::new());
    let limits = Limits {
        lease_ttl: Duration::from_millis(300),
        external_cancel_poll: Duration::from_millis(20),
        ..Limits::default()
    };
    let rt = paused(store, limits);
    let t = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(|_| Box::pin(std::future::pending())),
        )
        .await
        .unwrap();
    let first = t.lease().cloned().unwrap().until;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let now = rt.get("alice", &t.id).await.unwrap();
    assert!(
        now.lease().as_ref().unwrap().until > first,
        "the lease was renewed"
    );
    assert_eq!(
        rt.recover_lapsed().await.unwrap(),
        0,
        "a live lease is not taken over"
    );
}

/// A memory store that, like DynamoDB, refuses records above a size.
struct SizeLimited {
    inner: MemoryStore,
    limit: usize,
}

#[async_trait::async_trait]
impl crate::store::TaskStore for SizeLimited {
    async fn create(
        &self,
        record: crate::domain::TaskRecord,
        quota: crate::store::OwnerQuota,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Arc<crate::domain::TaskRecord>, StoreError> {
        self.inner.create(record, quota, now).await
    }
    async fn usage(
        &self,
        owner: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::store::OwnerUsage, StoreError> {
        self.inner.usage(owner, now).await
    }
    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Arc<crate::domain::TaskRecord>, StoreError> {
        self.inner.get(owner, id, now).await
    }
    async fn compare_and_set(
        &self,
        record: crate::domain::TaskRecord,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Arc<crate::domain::TaskRecord>, StoreError> {
        let bytes = serde_json::to_vec(&record).unwrap().len();
        if bytes > self.limit {
            return Err(StoreError::TooLarge {
                bytes,
                limit: self.limit,
            });
        }
        self.inner.compare_and_set(record, now).await
    }
    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::store::TaskPage, StoreError> {
        self.inner.list(owner, cursor, limit, now).await
    }
    async fn purge_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.inner.purge_expired(now).await
    }
    async fn expired_leases(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<Arc<crate::domain::TaskRecord>>, StoreError> {
        self.inner.expired_leases(now, limit).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_result_too_large_for_the_store_fails_the_task_saying_so() {
    let rt = paused(
        Arc::new(SizeLimited {
            inner: MemoryStore::new(),
            limit: 4096,
        }),
        Limits::default(),
    );
    let t = rt
        .start(
            new_task(Duration::from_secs(60)),
            body(|_ctx| {
                Box::pin(async move {
                    TaskOutcome::result(
                        json!({"content": [{"type": "text", "text": "x".repeat(10_000)}]}),
                    )
                })
            }),
        )
        .await
        .unwrap();
    let done = rt.wait_terminal("alice", &t.id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Failed);
    let Some(TaskOutcome::Error { error }) = &done.outcome() else {
        panic!("expected an error outcome, got {:?}", done.outcome());
    };
    assert!(
        error
            .message
            .contains("more than the task store's limit of 4096"),
        "{}",
        error.message
    );
}
