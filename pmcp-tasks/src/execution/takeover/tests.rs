//! A create whose answer is lost to an outage: the task the store kept
//! gets its body once the store answers again.

use super::super::{TaskBody, TaskRuntime};
use crate::domain::{Era, Limits, NewTask, TaskOutcome, TaskRecord, TaskStatus};
use crate::store::{
    ChangeFeed, MemoryStore, OwnerQuota, OwnerUsage, StoreError, TaskPage, TaskStore,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A memory store that applies the next create but answers it as an
/// outage, and stays out of reach (for every call) until `back`.
#[derive(Default)]
struct LostAnswer {
    store: MemoryStore,
    away: AtomicBool,
}

impl LostAnswer {
    fn check(&self) -> Result<(), StoreError> {
        match self.away.load(Ordering::SeqCst) {
            true => Err(StoreError::Unavailable("connection reset".into())),
            false => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl TaskStore for LostAnswer {
    async fn create(
        &self,
        record: TaskRecord,
        quota: OwnerQuota,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.check()?;
        self.store.create(record, quota, now).await?;
        self.away.store(true, Ordering::SeqCst);
        Err(StoreError::Unavailable("connection reset".into()))
    }
    async fn usage(&self, owner: &str, now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        self.check()?;
        self.store.usage(owner, now).await
    }
    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.check()?;
        self.store.get(owner, id, now).await
    }
    async fn compare_and_set(
        &self,
        record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.check()?;
        self.store.compare_and_set(record, now).await
    }
    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        self.check()?;
        self.store.list(owner, cursor, limit, now).await
    }
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        self.check()?;
        self.store.purge_expired(now).await
    }
    async fn changes(&self) -> Option<ChangeFeed> {
        None
    }
    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError> {
        self.check()?;
        self.store.expired_leases(now, limit).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_create_stored_despite_an_outage_answer_runs_its_body_once_the_store_is_back() {
    let store = Arc::new(LostAnswer::default());
    let rt = TaskRuntime::with_clock(
        store.clone(),
        Limits::default(),
        Arc::new(crate::clock::TokioClock::new()),
    );
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let body: TaskBody = Box::new(move |_ctx| {
        Box::pin(async move {
            counter.fetch_add(1, Ordering::SeqCst);
            TaskOutcome::result(json!({"content": []}))
        })
    });
    let new = NewTask {
        owner: "alice".into(),
        era: Era::V2026_07_28,
        tool: "t".into(),
        arguments: json!({}),
        ttl: Some(Duration::from_secs(600)),
        poll_interval: None,
        input_responses: Default::default(),
        variables: Default::default(),
        client_elicits: None,
    };
    let refused = rt.start(new, body).await;
    assert!(
        matches!(
            refused,
            Err(super::super::StartError::Store(StoreError::Unavailable(_)))
        ),
        "{refused:?}"
    );
    // While the store is away nothing runs.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    store.away.store(false, Ordering::SeqCst);
    let id = store
        .store
        .list("alice", None, 10, Utc::now())
        .await
        .unwrap()
        .tasks[0]
        .id
        .clone();
    let done = rt.wait_terminal("alice", &id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
