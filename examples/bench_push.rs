//! How soon a listener on one instance hears of a task that ends on
//! another: the latency from the store write (the task's `lastUpdatedAt`,
//! written on instance A) to the `notifications/tasks` a
//! `subscriptions/listen` on instance B receives, for each shared store,
//! through its change feed and, beside it, by polling at the default
//! client poll interval (1 s).
//!
//! ```sh
//! cargo run --release --example bench_push            # 200 tasks per row
//! cargo run --release --example bench_push -- --quick # 20
//! ```
//!
//! Both instances run in this process, each with its own runtime, sharing
//! only the store, so only the store (its feed, or B's next look) can carry
//! the change; times come from one clock. It starts its own `redis-server`
//! and dynalite (from `client-tests/node_modules`); a backend it cannot
//! start is reported as not measured.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pmcp_tasks::domain::TaskRecord;
use pmcp_tasks::store::{
    ChangeFeed, DynamoDbStore, OwnerQuota, OwnerUsage, RedisStore, SqliteStore, StoreError,
    TaskPage, TaskStore,
};
use pmcp_tasks::{Limits, TaskContext, TaskServer, TaskTool, ToolError};
use pmcp_tasks_examples::bench::servers::{start_dynalite, start_redis};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A store with its change feed hidden: listeners find changes by polling.
struct Polled(Arc<dyn TaskStore>);

#[async_trait]
impl TaskStore for Polled {
    async fn create(
        &self,
        r: TaskRecord,
        quota: OwnerQuota,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.0.create(r, quota, now).await
    }
    async fn usage(&self, owner: &str, now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        self.0.usage(owner, now).await
    }
    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.0.get(owner, id, now).await
    }
    async fn compare_and_set(
        &self,
        r: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.0.compare_and_set(r, now).await
    }
    async fn list(
        &self,
        owner: &str,
        c: Option<&str>,
        l: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        self.0.list(owner, c, l, now).await
    }
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        self.0.purge_expired(now).await
    }
    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        l: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError> {
        self.0.expired_leases(now, l).await
    }
    async fn changes(&self) -> Option<ChangeFeed> {
        None
    }
}

fn instance(store: Arc<dyn TaskStore>, watch_poll: Duration) -> TaskServer {
    TaskServer::builder("bench-push", "1")
        .store(store)
        .limits(Limits {
            watch_poll,
            max_creates_per_minute: None,
            max_stored_tasks_per_owner: usize::MAX,
            ..Limits::default()
        })
        .tool(TaskTool::new(
            "pause",
            |_: Value, _ctx: TaskContext| async move {
                // Long enough for the listener to be in place first.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, ToolError>("done")
            },
        ))
        .build()
        .expect("a server")
}

const META: fn() -> Value = || {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    })
};

/// Latencies, one per task, from its completion on `a` to a listener on
/// `b` hearing it.
async fn measure(a: &TaskServer, b: &TaskServer, tasks: usize) -> Vec<Duration> {
    let (client, server_side) = tokio::io::duplex(1 << 20);
    let (read, write) = tokio::io::split(server_side);
    let b = b.clone();
    tokio::spawn(async move { b.serve_stream(read, write).await });
    let (client_read, mut client_write) = tokio::io::split(client);
    let mut lines = BufReader::new(client_read).lines();
    let mut out = Vec::with_capacity(tasks);
    for n in 0..tasks {
        let created = a
            .handle(
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "pause", "arguments": {}, "_meta": META()}}),
                None,
            )
            .await
            .expect("an answer");
        let id = created["result"]["taskId"]
            .as_str()
            .expect("a task")
            .to_owned();
        let listen = json!({"jsonrpc": "2.0", "id": format!("l{n}"), "method": "subscriptions/listen",
            "params": {"notifications": {"taskIds": [id]}, "_meta": META()}});
        client_write
            .write_all(format!("{listen}\n").as_bytes())
            .await
            .expect("written");
        loop {
            let line = lines.next_line().await.expect("read").expect("a line");
            let heard_at = Utc::now();
            let message: Value = serde_json::from_str(&line).expect("JSON");
            if message["method"] == "notifications/tasks"
                && message["params"]["status"] == "completed"
            {
                let ended: DateTime<Utc> = message["params"]["lastUpdatedAt"]
                    .as_str()
                    .and_then(|t| t.parse().ok())
                    .expect("a timestamp");
                out.push((heard_at - ended).to_std().unwrap_or_default());
                let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {"requestId": format!("l{n}")}});
                client_write
                    .write_all(format!("{cancel}\n").as_bytes())
                    .await
                    .expect("written");
                break;
            }
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn row(
    label: &str,
    a: Arc<dyn TaskStore>,
    b: Arc<dyn TaskStore>,
    poll: Duration,
    tasks: usize,
) {
    let a = instance(a, poll);
    let b = instance(b, poll);
    let mut lat = measure(&a, &b, tasks).await;
    lat.sort();
    println!(
        "| {label} | {tasks} | {:.1} | {:.1} | {:.1} |",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let tasks = if std::env::args().any(|a| a == "--quick") {
        20
    } else {
        200
    };
    let second = Duration::from_secs(1);
    let default_poll = Limits::default().watch_poll;
    println!("| store, how B learns | tasks | p50 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- |");
    match start_redis().await {
        Ok((_server, port)) => {
            let url = format!("redis://127.0.0.1:{port}");
            let open = || async {
                Arc::new(RedisStore::connect(&url).await.expect("redis")) as Arc<dyn TaskStore>
            };
            row(
                "Redis, change feed (pub/sub)",
                open().await,
                open().await,
                default_poll,
                tasks,
            )
            .await;
            let polled = || async { Arc::new(Polled(open().await)) as Arc<dyn TaskStore> };
            row(
                "Redis, polling every 1 s",
                polled().await,
                polled().await,
                second,
                tasks,
            )
            .await;
        }
        Err(e) => println!("| Redis | not measured: {e} | | | |"),
    }
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-bench-push-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join("tasks.db");
    let sqlite = || Arc::new(SqliteStore::open(&path).expect("sqlite")) as Arc<dyn TaskStore>;
    row(
        "SQLite file, change log read every 50 ms",
        sqlite(),
        sqlite(),
        default_poll,
        tasks,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    match start_dynalite().await {
        Ok((_server, port)) => {
            let endpoint = format!("http://127.0.0.1:{port}");
            let table = format!("bench-push-{}", std::process::id());
            let open = || async {
                Arc::new(
                    DynamoDbStore::connect(&table, Some(&endpoint))
                        .await
                        .expect("dynamodb"),
                ) as Arc<dyn TaskStore>
            };
            row(
                &format!(
                    "DynamoDB (dynalite), polling every {} ms",
                    default_poll.as_millis()
                ),
                open().await,
                open().await,
                default_poll,
                tasks,
            )
            .await;
        }
        Err(e) => println!("| DynamoDB | not measured: {e} | | | |"),
    }
}
