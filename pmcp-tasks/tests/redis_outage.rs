//! A Redis outage under two instances: `redis-server` (append-only
//! persistence, as `docs/deployment.md` asks) is killed with SIGKILL while
//! tasks run on both, and restarted on the same port and directory, the
//! outage longer than the leases. Nothing is lost: finished results are
//! still there, the running bodies (whose progress writes wait for Redis)
//! finish and their results are stored when
//! Redis is back (none is taken over or reported as a crashed server), the
//! instances reconnect by themselves, and a request
//! during the outage gets a clear `-32006` at once rather than a hang or an
//! internal error.
#![cfg(feature = "redis")]

mod common;
mod local_server;

use common::{call, ok, task_id};
use local_server::{free_port, LocalServer};
use pmcp_tasks::store::{Persistence, RedisStore};
use pmcp_tasks::{Limits, TaskContext, TaskServer, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct Job {
    ms: u64,
}

/// `redis-server` on `port`, persisting to an append-only file in `dir`.
async fn redis(port: u16, dir: &Path) -> LocalServer {
    let mut command = Command::new("redis-server");
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir);
    LocalServer::start(
        command,
        port,
        Duration::from_secs(5),
        "redis-server is needed: apt-get install redis-server",
    )
    .await
}

async fn instance(url: &str) -> TaskServer {
    let store = RedisStore::connect(url).await.unwrap();
    assert_eq!(store.persistence().await, Persistence::AppendOnly);
    // Leases of 2 s, so the 5 s outage outlasts them, and a sweeper that
    // looks for lapsed leases twice a second: a body whose renewals failed
    // must not be taken over (or failed) by its own instance or the other.
    TaskServer::builder("outage", "1")
        .store(Arc::new(store))
        .limits(Limits {
            poll_interval: Duration::from_millis(50),
            lease_ttl: Duration::from_secs(2),
            ..Limits::default()
        })
        .sweep_every(Duration::from_millis(500))
        .tool(TaskTool::new(
            "job",
            // It reports progress all along, so its writes meet the outage.
            |args: Job, ctx: TaskContext| async move {
                for step in 1..=5 {
                    tokio::time::sleep(Duration::from_millis(args.ms / 5)).await;
                    ctx.progress(format!("step {step} of 5")).await?;
                }
                Ok::<_, ToolError>(args.ms)
            },
        ))
        .build()
        .unwrap()
}

async fn create(server: &TaskServer, ms: u64) -> String {
    let created = call(
        server,
        "tools/call",
        json!({"name": "job", "arguments": {"ms": ms}, "task": {"ttl": 600000}}),
    )
    .await;
    task_id(&created)
}

/// Waits (up to `patience`) until every task in `ids` has ended on `server`;
/// their records.
async fn ended(server: &TaskServer, ids: &[String], patience: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let mut tasks = Vec::new();
        for id in ids {
            let got = call(server, "tasks/get", json!({"taskId": id})).await;
            tasks.push(got.get("result").cloned().unwrap_or(got));
        }
        let done = tasks.iter().all(|t| {
            ["completed", "failed", "cancelled"].contains(&t["status"].as_str().unwrap_or(""))
        });
        if done {
            return tasks;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "tasks did not end: {tasks:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_loses_nothing() {
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-outage-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let first = redis(port, &dir).await;
    let (a, b) = (instance(&url).await, instance(&url).await);

    // Ten finished on A; four running on B across the outage.
    let quick: Vec<String> = futures::future::join_all((0..10).map(|_| create(&a, 10))).await;
    ended(&a, &quick, Duration::from_secs(10)).await;
    let slow: Vec<String> = futures::future::join_all((0..4).map(|_| create(&b, 2500))).await;

    drop(first); // SIGKILL
    let during = tokio::time::timeout(
        Duration::from_secs(10),
        call(&a, "tasks/get", json!({"taskId": quick[0]})),
    )
    .await
    .expect("a request during the outage is answered, not left hanging");
    assert_eq!(during["error"]["code"], -32006, "{during}");
    assert_eq!(during["error"]["data"]["reason"], "storeUnavailable");
    assert!(
        during["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unavailable"),
        "{during}"
    );

    // The bodies finish during the outage, which lasts longer than a few
    // quick retries: their results wait for Redis.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _second = redis(port, &dir).await;

    // Both instances reconnect by themselves; nothing was lost.
    for task in ended(&a, &quick, Duration::from_secs(20)).await {
        assert_eq!(task["status"], "completed", "{task}");
    }
    for task in ended(&a, &slow, Duration::from_secs(30)).await {
        assert_eq!(task["status"], "completed", "{task}");
    }
    let result = call(&b, "tasks/result", json!({"taskId": slow[0]})).await;
    assert_eq!(ok(&result)["content"][0]["text"], "2500");
    let result = call(&b, "tasks/result", json!({"taskId": quick[9]})).await;
    assert_eq!(ok(&result)["content"][0]["text"], "10");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_redis_without_persistence_is_named_and_can_be_refused() {
    let local = local_server::redis("redis-server is needed: apt-get install redis-server").await;
    let url = format!("redis://127.0.0.1:{}", local.port);
    let store = RedisStore::connect(&url).await.unwrap();
    assert_eq!(store.persistence().await, Persistence::None);
    let refused = store.require_persistence().await.unwrap_err();
    assert!(refused.to_string().contains("appendonly yes"), "{refused}");
}
