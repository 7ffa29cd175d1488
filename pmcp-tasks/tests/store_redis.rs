//! The backend conformance suite against a real `redis-server` (each test
//! starts its own on a free loopback port; install it with
//! `apt-get install redis-server`). `PMCP_TASKS_REDIS_URL` points the tests
//! at an already running server instead.
#![cfg(all(feature = "redis", feature = "conformance"))]

use pmcp_tasks::store::conformance::Guarded;
use pmcp_tasks::store::{RedisStore, TaskStore};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A private `redis-server`, stopped when dropped.
struct RedisServer {
    child: Option<Child>,
    url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn redis_server() -> RedisServer {
    if let Ok(url) = std::env::var("PMCP_TASKS_REDIS_URL") {
        return RedisServer { child: None, url };
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is needed for these tests: apt-get install redis-server (or set PMCP_TASKS_REDIS_URL)");
    let server = RedisServer {
        child: Some(child),
        url: format!("redis://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("redis-server did not start on port {port}");
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot reach redis://127.0.0.1"),
        "{err}"
    );
}
