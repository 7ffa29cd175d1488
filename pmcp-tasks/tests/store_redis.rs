//! The backend conformance suite against a real `redis-server` (each test
//! starts its own on a free loopback port; install it with
//! `apt-get install redis-server`). `PMCP_TASKS_REDIS_URL` points the tests
//! at an already running server instead.
#![cfg(feature = "redis")]

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
