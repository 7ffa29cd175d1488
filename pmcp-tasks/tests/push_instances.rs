//! A change made on one instance reaches a listener on another at once,
//! through the store's change feed: SQLite (another process on the same
//! file; here another store on it) and Redis (pub/sub). The listening
//! instance polls only once a minute, so only the feed can deliver in time.
#![cfg(any(feature = "sqlite", feature = "redis"))]

mod common;
mod local_server;

use common::*;
use pmcp_tasks::store::TaskStore;
use pmcp_tasks::{Limits, TaskServer};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn instance(store: Arc<dyn TaskStore>, watch_poll: Duration) -> TaskServer {
    with_test_tools(TaskServer::builder("instance", "1"))
        .store(store)
        .limits(Limits {
            watch_poll,
            ..fast_limits()
        })
        .build()
        .unwrap()
}

/// Creates a task on `a`, listens for it on `b`, and returns how long after
/// the task completed on `a` the listener on `b` heard it.
async fn heard_across(a: &TaskServer, b: &TaskServer) -> Duration {
    let created = a
        .handle(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": v2026(json!({"name": "sleepy", "arguments": {"ms": 300}}), true)}),
            None,
        )
        .await
        .unwrap();
    let id = ok(&created)["taskId"].as_str().unwrap().to_owned();
    let mut listener = LineClient::connect(b, |_| json!({}));
    listener
        .send_line(
            &json!({"jsonrpc": "2.0", "id": 5, "method": "subscriptions/listen",
                    "params": v2026(json!({"notifications": {"taskIds": [id]}}), true)})
            .to_string(),
        )
        .await;
    let ack = listener.notification().await;
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([id]));
    loop {
        let n = listener.notification_of("notifications/tasks").await;
        if n["params"]["status"] == "completed" {
            let done = a.runtime().get("anon:local", &id).await.unwrap();
            let ended: chrono::DateTime<chrono::Utc> = done.updated_at;
            let lag = chrono::Utc::now() - ended;
            return lag.to_std().unwrap_or_default();
        }
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_change_on_one_instance_reaches_a_listener_on_another() {
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-push-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.db");
    let open =
        || Arc::new(pmcp_tasks::store::SqliteStore::open(&path).unwrap()) as Arc<dyn TaskStore>;
    let a = instance(open(), Duration::from_secs(60));
    let b = instance(open(), Duration::from_secs(60));
    let lag = heard_across(&a, &b).await;
    assert!(lag < Duration::from_secs(5), "heard after {lag:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_change_on_one_instance_reaches_a_listener_on_another() {
    let redis = local_server::redis("redis-server is needed: apt-get install redis-server").await;
    let port = redis.port;
    let url = format!("redis://127.0.0.1:{port}");
    let open = || async {
        Arc::new(pmcp_tasks::store::RedisStore::connect(&url).await.unwrap()) as Arc<dyn TaskStore>
    };
    let a = instance(open().await, Duration::from_secs(60));
    let b = instance(open().await, Duration::from_secs(60));
    let lag = heard_across(&a, &b).await;
    assert!(lag < Duration::from_secs(5), "heard after {lag:?}");
}
