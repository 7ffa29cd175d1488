//! The backend conformance suite against a real `redis-server` (each test
//! starts its own on a free loopback port; install it with
//! `apt-get install redis-server`). `PMCP_TASKS_REDIS_URL` points the tests
//! at an already running server instead.
#![cfg(feature = "redis")]

mod common;
mod local_server;

use local_server::{free_port, LocalServer};
use pmcp_tasks::store::conformance::Guarded;
use pmcp_tasks::store::{RedisStore, TaskStore};
use std::sync::Arc;

/// A private `redis-server` (none when the environment names one), and
/// its URL.
struct RedisServer {
    _local: Option<LocalServer>,
    url: String,
}

async fn redis_server() -> RedisServer {
    if let Ok(url) = std::env::var("PMCP_TASKS_REDIS_URL") {
        return RedisServer { _local: None, url };
    }
    let local = local_server::redis(
        "redis-server is needed for these tests: apt-get install redis-server (or set PMCP_TASKS_REDIS_URL)",
    )
    .await;
    let port = local.port;
    RedisServer {
        _local: Some(local),
        url: format!("redis://127.0.0.1:{port}"),
    }
}

async fn fresh_store() -> Arc<dyn TaskStore> {
    let server = redis_server().await;
    let prefix = format!("test-{}", uuid::Uuid::new_v4());
    let store = RedisStore::connect_with_prefix(&server.url, &prefix)
        .await
        .unwrap();
    Arc::new(Guarded::new(store, server))
}

pmcp_tasks::store_conformance_tests!(fresh_store().await);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_task_resumes_on_another_instance() {
    let server = redis_server().await;
    let prefix = format!("test-{}", uuid::Uuid::new_v4());
    let connect = || RedisStore::connect_with_prefix(&server.url, &prefix);
    let (a, b) = (connect().await.unwrap(), connect().await.unwrap());
    common::suspension::a_waiting_body_suspends_and_resumes_on_another_instance(
        Arc::new(a),
        Arc::new(b),
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_error() {
    let port = free_port();
    let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot reach redis://127.0.0.1"),
        "{err}"
    );
}

#[tokio::test]
async fn a_task_key_gone_before_the_purge_still_gives_its_bytes_back() {
    use chrono::Utc;
    use pmcp_tasks::domain::{Era, NewTask, TaskRecord};
    use pmcp_tasks::store::{OwnerQuota, OwnerUsage};
    let server = redis_server().await;
    let prefix = format!("test-{}", uuid::Uuid::new_v4());
    let store = RedisStore::connect_with_prefix(&server.url, &prefix)
        .await
        .unwrap();
    let now = Utc::now();
    let record = TaskRecord::new(
        NewTask {
            owner: "ana".into(),
            era: Era::V2026_07_28,
            tool: "t".into(),
            arguments: serde_json::json!({"n": 1}),
            ttl: Some(std::time::Duration::from_millis(1)),
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        now,
    );
    let created = store
        .create(record, OwnerQuota::unlimited(), now)
        .await
        .unwrap();
    assert!(store.usage("ana", now).await.unwrap().bytes > 0);
    // Redis dropped the task key first (its backstop expiry, or eviction).
    let deleted = std::process::Command::new("redis-cli")
        .args([
            "-u",
            &server.url,
            "DEL",
            &format!("{{{prefix}}}:task:{}", created.id),
        ])
        .output()
        .expect("redis-cli comes with redis-server");
    assert_eq!(String::from_utf8_lossy(&deleted.stdout).trim(), "1");
    let later = now + chrono::Duration::seconds(1);
    assert_eq!(
        store.purge_expired(later).await.unwrap(),
        vec![created.id.clone()]
    );
    assert_eq!(
        store.usage("ana", later).await.unwrap(),
        OwnerUsage::default()
    );
}
