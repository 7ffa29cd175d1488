//! The serverless model: a server built with a `Dispatch` records each new
//! task and hands it over instead of running it; a worker on the same store
//! runs it with `run_dispatched`, once, however often it is delivered; a
//! task nobody picked up is started by recovery; one that cannot be handed
//! over fails saying why.

mod common;

use common::{call, fast_limits, ok, task_id};
use pmcp_tasks::clock::TokioClock;
use pmcp_tasks::domain::{Limits, TaskRecord, TaskStatus};
use pmcp_tasks::store::{MemoryStore, TaskStore};
use pmcp_tasks::{Dispatch, Dispatched, TaskContext, TaskServer, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Deserialize, JsonSchema)]
struct Job {
    n: u64,
}

/// A tool doubling its number, counting its runs in `runs`.
fn double(runs: Arc<AtomicUsize>) -> TaskTool {
    TaskTool::new("double", move |args: Job, ctx: TaskContext| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            ctx.progress("doubling").await?;
            Ok::<_, ToolError>(args.n * 2)
        }
    })
}

/// Hands tasks over a channel, as a queue would.
struct Channel(mpsc::UnboundedSender<(String, String)>);

#[async_trait::async_trait]
impl Dispatch for Channel {
    async fn dispatch(&self, task: &TaskRecord) -> Result<(), String> {
        self.0
            .send((task.owner.clone(), task.id.clone()))
            .map_err(|e| e.to_string())
    }
}

struct Broken;

#[async_trait::async_trait]
impl Dispatch for Broken {
    async fn dispatch(&self, _: &TaskRecord) -> Result<(), String> {
        Err("the queue is unreachable".into())
    }
}

fn limits() -> Limits {
    Limits {
        lease_ttl: Duration::from_secs(3),
        ..fast_limits()
    }
}

fn server(store: &Arc<MemoryStore>, dispatch: Option<Arc<dyn Dispatch>>) -> TaskServer {
    served(store, dispatch, Arc::default())
}

fn served(
    store: &Arc<MemoryStore>,
    dispatch: Option<Arc<dyn Dispatch>>,
    runs: Arc<AtomicUsize>,
) -> TaskServer {
    let mut builder = TaskServer::builder("dispatch", "1")
        .store(store.clone() as Arc<dyn TaskStore>)
        .limits(limits())
        .clock(Arc::new(TokioClock::new()))
        .tool(double(runs));
    if let Some(dispatch) = dispatch {
        builder = builder.dispatch(dispatch);
    }
    builder.build().unwrap()
}

async fn create(server: &TaskServer, n: u64) -> String {
    let created = call(
        server,
        "tools/call",
        json!({"name": "double", "arguments": {"n": n}, "task": {"ttl": 600000}}),
    )
    .await;
    task_id(&created)
}

#[tokio::test(start_paused = true)]
async fn a_dispatched_task_runs_once_on_the_worker() {
    let store = Arc::new(MemoryStore::new());
    let (tx, mut queue) = mpsc::unbounded_channel();
    let runs = Arc::new(AtomicUsize::new(0));
    let front = served(&store, Some(Arc::new(Channel(tx))), runs.clone());
    let worker = served(&store, None, runs.clone());

    let id = create(&front, 21).await;
    // Recorded, not run: the front runs no body and the task waits, queued.
    assert_eq!(front.runtime().running_count(), 0);
    let got = call(&front, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(ok(&got)["status"], "working");
    let (owner, queued) = queue.recv().await.unwrap();
    assert_eq!(queued, id);

    let ran = worker.runtime().run_dispatched(&owner, &id).await.unwrap();
    assert_eq!(ran, Dispatched::Ran(TaskStatus::Completed));
    let result = call(&front, "tasks/result", json!({"taskId": id})).await;
    assert_eq!(ok(&result)["content"][0]["text"], "42");
    // A second delivery finds it done and runs nothing.
    assert_eq!(
        worker.runtime().run_dispatched(&owner, &id).await.unwrap(),
        Dispatched::Ended
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Ids that are not the owner's are as good as ended.
    assert_eq!(
        worker.runtime().run_dispatched("bob", &id).await.unwrap(),
        Dispatched::Ended
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_nobody_picked_up_is_started_by_recovery() {
    let store = Arc::new(MemoryStore::new());
    let (tx, _queue) = mpsc::unbounded_channel();
    let front = server(&store, Some(Arc::new(Channel(tx))));
    let worker = server(&store, None);
    let id = create(&front, 5).await;
    // Before the queued lease lapses, recovery leaves it to the queue.
    assert_eq!(worker.runtime().recover_lapsed().await.unwrap(), 0);
    tokio::time::sleep(limits().lease_ttl + Duration::from_millis(100)).await;
    // The dispatching front never takes a task over: it may be frozen.
    assert_eq!(front.runtime().recover_lapsed().await.unwrap(), 0);
    assert_eq!(worker.runtime().recover_lapsed().await.unwrap(), 1);
    worker.runtime().idle().await;
    let result = call(&front, "tasks/result", json!({"taskId": id})).await;
    assert_eq!(ok(&result)["content"][0]["text"], "10");
}

#[tokio::test(start_paused = true)]
async fn a_task_that_cannot_be_handed_over_fails_saying_why() {
    let store = Arc::new(MemoryStore::new());
    let front = server(&store, Some(Arc::new(Broken)));
    let id = create(&front, 1).await;
    let got = call(&front, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(ok(&got)["status"], "failed");
    assert!(
        ok(&got)["statusMessage"]
            .as_str()
            .unwrap()
            .contains("could not hand this task to a worker: the queue is unreachable"),
        "{got}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_worker_without_the_tool_fails_the_task_saying_so() {
    let store = Arc::new(MemoryStore::new());
    let (tx, mut queue) = mpsc::unbounded_channel();
    let front = server(&store, Some(Arc::new(Channel(tx))));
    let stranger = TaskServer::builder("other", "1")
        .store(store.clone() as Arc<dyn TaskStore>)
        .build()
        .unwrap();
    let id = create(&front, 1).await;
    let (owner, _) = queue.recv().await.unwrap();
    assert_eq!(
        stranger
            .runtime()
            .run_dispatched(&owner, &id)
            .await
            .unwrap(),
        Dispatched::Failed
    );
    let got = call(&front, "tasks/get", json!({"taskId": id})).await;
    assert!(
        ok(&got)["statusMessage"]
            .as_str()
            .unwrap()
            .contains("serves no tool 'double'"),
        "{got}"
    );
}
