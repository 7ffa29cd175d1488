//! The three stores behind one face.

use chrono::Utc;
use pmcp::server::task_store::{InMemoryTaskStore, StoreConfig, TaskStore as PmcpStore};
use pmcp::types::tasks::TaskStatus as PmcpStatus;
use pmcp::types::{CallToolResult, Content};
use pmcp_tasks::domain::{Era, NewTask, TaskRecord};
use pmcp_tasks::store::{MemoryStore, OwnerQuota, TaskStore};
use pmcp_tasks_020::store::backend::{make_key, StorageBackend};
use pmcp_tasks_020::store::generic::GenericTaskStore;
use pmcp_tasks_020::store::memory::InMemoryBackend;
use pmcp_tasks_020::types::task::TaskStatus as V020Status;
use pmcp_tasks_020::TaskSecurityConfig;
use pmcp_tasks_examples::bench;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// pmcp-tasks 0.2.0's in-memory store: `InMemoryTaskStore` is this type
/// behind a delegating wrapper; used directly so the benchmark can fill its
/// backend without going through the quadratic `create`.
pub(crate) type V020Store = GenericTaskStore<InMemoryBackend>;

pub(crate) const TTL: Duration = Duration::from_secs(3600);
pub(crate) const TTL_MS: u64 = 3_600_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Ours,
    Pmcp,
    V020,
}

pub(crate) const KINDS: [Kind; 3] = [Kind::Ours, Kind::Pmcp, Kind::V020];

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Ours => "pmcp-tasks MemoryStore (ours)",
            Kind::Pmcp => "pmcp 2.23 InMemoryTaskStore",
            Kind::V020 => "pmcp-tasks 0.2.0 InMemoryTaskStore",
        }
    }

    pub(crate) fn key(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Pmcp => "pmcp",
            Kind::V020 => "v020",
        }
    }

    pub(crate) fn short(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Pmcp => "pmcp 2.23",
            Kind::V020 => "pmcp-tasks 0.2.0",
        }
    }
}

#[derive(Clone)]
pub(crate) enum Store {
    Ours(Arc<MemoryStore>),
    Pmcp(Arc<InMemoryTaskStore>),
    V020(Arc<V020Store>),
}

pub(crate) fn new_task(owner: &str) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: owner.into(),
            era: Era::V2025_11_25,
            tool: "job".into(),
            arguments: json!({}),
            ttl: Some(TTL),
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        Utc::now(),
    )
}

impl Store {
    pub(crate) fn new(kind: Kind) -> Store {
        match kind {
            Kind::Ours => Store::Ours(Arc::new(MemoryStore::new())),
            Kind::Pmcp => Store::Pmcp(Arc::new(InMemoryTaskStore::with_config(StoreConfig {
                max_tasks_per_owner: usize::MAX,
                max_ttl_ms: None,
                ..StoreConfig::default()
            }))),
            // What `InMemoryTaskStore::new()` builds, without the per-owner
            // limit of 100.
            Kind::V020 => Store::V020(Arc::new(
                GenericTaskStore::new(InMemoryBackend::new())
                    .with_poll_interval(5000)
                    .with_security(
                        TaskSecurityConfig::default().with_max_tasks_per_owner(usize::MAX),
                    ),
            )),
        }
    }

    pub(crate) async fn create(&self, owner: &str) -> String {
        match self {
            Store::Ours(s) => s
                .create(new_task(owner), OwnerQuota::unlimited(), Utc::now())
                .await
                .unwrap()
                .id
                .clone(),
            Store::Pmcp(s) => s.create(owner, Some(TTL_MS)).await.unwrap().task_id,
            Store::V020(s) => {
                s.create(owner, "tools/call", Some(TTL_MS))
                    .await
                    .unwrap()
                    .task
                    .task_id
            }
        }
    }

    /// What the store holds after `create`, written without the store's
    /// own `create` where that is quadratic and the state can be reached
    /// otherwise (0.2.0: its public storage backend takes the very bytes
    /// its `create` would write). pmcp's store keeps its map private, so it
    /// is filled through `create`.
    pub(crate) async fn fill_one(&self, owner: &str) {
        match self {
            Store::V020(s) => {
                let mut record = pmcp_tasks_020::TaskRecord::new(
                    owner.to_owned(),
                    "tools/call".to_owned(),
                    Some(TTL_MS),
                );
                record.task.poll_interval = Some(5000);
                let key = make_key(owner, &record.task.task_id);
                let bytes = serde_json::to_vec(&record).unwrap();
                s.backend().put(&key, &bytes).await.unwrap();
            }
            _ => {
                self.create(owner).await;
            }
        }
    }

    pub(crate) async fn get(&self, owner: &str, id: &str) {
        match self {
            Store::Ours(s) => {
                s.get(owner, id, Utc::now()).await.unwrap();
            }
            Store::Pmcp(s) => {
                s.get(id, owner).await.unwrap();
            }
            Store::V020(s) => {
                s.get(id, owner).await.unwrap();
            }
        }
    }

    /// A task created and completed with the lifecycle's small result,
    /// left in the store (what a finished task costs to keep).
    pub(crate) async fn fill_finished(&self, owner: &str) {
        self.create_finished(owner).await;
    }

    /// Creates a task and completes it with the lifecycle's result (one
    /// atomic write where the store has one); returns its id.
    async fn create_finished(&self, owner: &str) -> String {
        match self {
            Store::Ours(s) => bench::create_finished(&**s, new_task(owner))
                .await
                .id
                .clone(),
            Store::Pmcp(s) => {
                let t = s.create(owner, Some(TTL_MS)).await.unwrap();
                s.set_result(
                    &t.task_id,
                    owner,
                    CallToolResult::new(vec![Content::text("done")]),
                )
                .await
                .unwrap();
                s.update_status(&t.task_id, owner, PmcpStatus::Completed, None)
                    .await
                    .unwrap();
                t.task_id
            }
            Store::V020(s) => {
                let t = s.create(owner, "tools/call", Some(TTL_MS)).await.unwrap();
                s.complete_with_result(
                    &t.task.task_id,
                    owner,
                    V020Status::Completed,
                    None,
                    json!({"content": [{"type": "text", "text": "done"}]}),
                )
                .await
                .unwrap();
                t.task.task_id
            }
        }
    }

    /// One task's life as a server drives it: create; complete with the
    /// result (one atomic write where the store has one); `tasks/get`;
    /// `tasks/result`.
    pub(crate) async fn lifecycle(&self, owner: &str) {
        match self {
            Store::Ours(s) => bench::lifecycle(&**s, new_task(owner)).await,
            Store::Pmcp(s) => {
                let id = self.create_finished(owner).await;
                s.get(&id, owner).await.unwrap();
                s.get_result(&id, owner).await.unwrap();
            }
            Store::V020(s) => {
                let id = self.create_finished(owner).await;
                s.get(&id, owner).await.unwrap();
                s.get_result(&id, owner).await.unwrap();
            }
        }
    }
}
