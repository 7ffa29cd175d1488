//! The backend conformance suite against a real `redis-server` (each test
//! starts its own on a free loopback port; install it with
//! `apt-get install redis-server`). `PMCP_TASKS_REDIS_URL` points the tests
//! at an already running server instead.
#![cfg(all(feature = "redis", feature = "conformance"))]

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pmcp_tasks::domain::TaskRecord;
use pmcp_tasks::store::{RedisStore, StoreError, TaskPage, TaskStore};
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

/// A store that keeps its Redis server alive as long as it lives.
#[derive(Debug)]
struct WithServer {
    store: RedisStore,
    _server: Arc<RedisServerHandle>,
}

struct RedisServerHandle(#[allow(dead_code)] RedisServer);

impl std::fmt::Debug for RedisServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("redis-server")
    }
}

#[async_trait]
impl TaskStore for WithServer {
    async fn create(
        &self,
        record: TaskRecord,
        max_active: usize,
    ) -> Result<TaskRecord, StoreError> {
        self.store.create(record, max_active).await
    }
    async fn get(&self, owner: &str, id: &str) -> Result<TaskRecord, StoreError> {
        self.store.get(owner, id).await
    }
    async fn compare_and_set(&self, record: TaskRecord) -> Result<TaskRecord, StoreError> {
        self.store.compare_and_set(record).await
    }
    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<TaskPage, StoreError> {
        self.store.list(owner, cursor, limit).await
    }
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        self.store.purge_expired(now).await
    }
    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        self.store.expired_leases(now, limit).await
    }
}

async fn fresh_store() -> Arc<dyn TaskStore> {
    let server = redis_server().await;
    let prefix = format!("test-{}", uuid::Uuid::new_v4());
    let store = RedisStore::connect_with_prefix(&server.url, &prefix)
        .await
        .unwrap();
    Arc::new(WithServer {
        store,
        _server: Arc::new(RedisServerHandle(server)),
    })
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
