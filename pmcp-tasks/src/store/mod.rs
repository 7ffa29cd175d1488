//! Store layer: one storage trait with atomic compare-and-set writes, and its
//! backends.
//!
//! A store keeps whole [`TaskRecord`]s. Every change is read, validated by the
//! domain rules, and written back with [`TaskStore::compare_and_set`], which
//! only succeeds if nobody wrote the task in between. Completing a task is a
//! single such write carrying both the terminal status and the outcome, so a
//! task is never seen `completed` without its result.

#[cfg(feature = "dynamodb")]
mod dynamodb;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;
pub mod url;

#[cfg(feature = "dynamodb")]
pub use self::dynamodb::DynamoDbStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::domain::{DomainError, TaskRecord};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A failure of a store operation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// No such task for this owner: unknown, owned by someone else, or
    /// expired. The three are deliberately indistinguishable.
    #[error("task not found")]
    NotFound,
    /// Somebody else wrote the task since it was read; here is what they
    /// wrote. Never retry blindly: re-validate the change against it.
    #[error("the task was changed concurrently (now at version {})", current.version)]
    Conflict {
        /// The record as it is now.
        current: Box<TaskRecord>,
    },
    /// The owner already has as many unfinished tasks as allowed.
    #[error("owner has {active} unfinished tasks, the limit is {limit}")]
    LimitExceeded {
        /// Unfinished tasks the owner has.
        active: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A `tasks/list` cursor this store did not hand out.
    #[error("the cursor is not one this server handed out")]
    InvalidCursor,
    /// The record is larger than the backend can store in one item; nothing
    /// was written.
    #[error("the task record is {bytes} bytes, more than the store's limit of {limit}")]
    TooLarge {
        /// The encoded size of the record.
        bytes: usize,
        /// What the backend allows.
        limit: usize,
    },
    /// A task with this id exists already.
    #[error("a task with this id exists already")]
    Duplicate,
    /// The storage engine failed.
    #[error("task storage failed: {0}")]
    Backend(String),
}

/// One page of an owner's tasks, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPage {
    /// The tasks of this page.
    pub tasks: Vec<TaskRecord>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<String>,
}

/// Durable (or not) storage of task records.
///
/// Implementations must make [`compare_and_set`](TaskStore::compare_and_set)
/// atomic, must treat a task of another owner exactly as a missing one, and
/// must not scan all tasks to count or list one owner's.
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Stores a new record (at version 1) unless its owner already has
    /// `max_active` unfinished tasks; the check and the insert are one
    /// atomic step.
    async fn create(&self, record: TaskRecord, max_active: usize)
        -> Result<TaskRecord, StoreError>;

    /// The owner's task `id`, unless it is missing, foreign or expired.
    async fn get(&self, owner: &str, id: &str) -> Result<TaskRecord, StoreError>;

    /// Replaces the stored record if its version still equals
    /// `record.version`; the stored copy gets `version + 1` and is returned.
    async fn compare_and_set(&self, record: TaskRecord) -> Result<TaskRecord, StoreError>;

    /// A page of the owner's live tasks, oldest first.
    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<TaskPage, StoreError>;

    /// Deletes every task whose TTL ran out by `now`; returns their ids.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError>;

    /// Up to `limit` unfinished, unexpired tasks whose lease ran out by
    /// `now` (their instance died), soonest first, from an index: no scan.
    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, StoreError>;
}

/// `tasks/list` cursors: a backend's tag letter and the creation sequence
/// of the first task of the next page, in hex. Opaque to clients; a cursor
/// of another backend (or a forged one) is refused as invalid.
pub(crate) mod cursor {
    use super::StoreError;

    pub(crate) fn encode(tag: char, seq: u64) -> String {
        format!("{tag}{seq:x}")
    }

    pub(crate) fn decode(tag: char, cursor: &str) -> Result<u64, StoreError> {
        cursor
            .strip_prefix(tag)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .ok_or(StoreError::InvalidCursor)
    }

    /// Where a page starts: the decoded cursor, or 0 without one.
    pub(crate) fn start(tag: char, cursor: Option<&str>) -> Result<u64, StoreError> {
        cursor.map_or(Ok(0), |c| decode(tag, c))
    }
}

/// A failed read-modify-write: the store failed or the domain refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    /// The store failed (missing task included).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change is not allowed in the task's current state.
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// How often [`update`] re-applies a change after losing a race before it
/// gives up: each round re-validates against fresh state, so this only
/// bounds a pathological livelock.
const MAX_CAS_ROUNDS: usize = 32;

/// Applies `change` to the owner's task and writes it with compare-and-set.
///
/// On a conflict the change is applied again to the record the store
/// returned, so the domain rules are checked against what is really stored
/// (a cancel that lost to a completion sees the completed task and refuses).
pub async fn update<T>(
    store: &dyn TaskStore,
    owner: &str,
    id: &str,
    mut change: impl FnMut(&mut TaskRecord, DateTime<Utc>) -> Result<T, DomainError>,
) -> Result<(TaskRecord, T), UpdateError> {
    let mut current = store.get(owner, id).await?;
    for _ in 0..MAX_CAS_ROUNDS {
        let mut next = current.clone();
        let out = change(&mut next, Utc::now())?;
        if next == current {
            return Ok((current, out));
        }
        match store.compare_and_set(next).await {
            Ok(written) => return Ok((written, out)),
            Err(StoreError::Conflict { current: fresh }) => current = *fresh,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Backend(format!(
        "task {id} kept changing under {MAX_CAS_ROUNDS} consecutive writes"
    ))
    .into())
}

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

#[cfg(test)]
mod memory_conformance {
    crate::store_conformance_tests!(std::sync::Arc::new(crate::store::MemoryStore::new()));
}
