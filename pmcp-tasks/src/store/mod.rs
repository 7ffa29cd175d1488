//! Store layer: one storage trait with atomic compare-and-set writes, and its
//! backends.
//!
//! A store keeps whole [`TaskRecord`]s. Every change is read, validated by the
//! domain rules, and written back with [`TaskStore::compare_and_set`], which
//! only succeeds if nobody wrote the task in between. Completing a task is a
//! single such write carrying both the terminal status and the outcome, so a
//! task is never seen `completed` without its result.
//!
//! Records are handed out shared ([`Arc<TaskRecord>`]): a read never copies
//! a record (its result, arguments and variables included), and a change
//! copies it once, to write the changed copy back.

#[cfg(feature = "dynamodb")]
mod dynamodb;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;
pub mod url;

#[cfg(feature = "dynamodb")]
pub use self::dynamodb::{DynamoDbStore, EngineSupport};
#[cfg(feature = "redis")]
pub use self::redis::{Persistence, RedisStore};
pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::clock::Clock;
use crate::domain::{DomainError, TaskRecord};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

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
        current: Arc<TaskRecord>,
    },
    /// The owner is at one of its [`OwnerQuota`]s; nothing was written.
    #[error("owner is over its quota of {quota}: it holds {used}, the limit is {limit}")]
    LimitExceeded {
        /// Which quota.
        quota: QuotaKind,
        /// What the owner holds of it (for bytes: with the new task).
        used: u64,
        /// The configured limit.
        limit: u64,
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
    /// The storage engine cannot be reached now (down, restarting, or the
    /// network to it): worth retrying shortly, and nothing was written.
    #[error("the task store is unavailable: {0}")]
    Unavailable(String),
    /// The storage engine failed.
    #[error("task storage failed: {0}")]
    Backend(String),
}

/// What one owner may hold, checked by [`TaskStore::create`] in the same
/// atomic step as the insert, so concurrent creates cannot pass it together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerQuota {
    /// Unfinished tasks (`working`, `input_required`).
    pub max_active: usize,
    /// Stored tasks, finished ones included until they are purged.
    pub max_stored: usize,
    /// The stored tasks' records, as compact JSON, in bytes. A create is
    /// refused if the owner's records would exceed it with the new one;
    /// records that grow later (a result, variables) are not refused, so an
    /// owner can overshoot by what its unfinished tasks still write, which
    /// the per-task size limits bound.
    pub max_stored_bytes: u64,
}

impl OwnerQuota {
    /// At most `max_active` unfinished tasks, nothing else bounded.
    pub fn active(max_active: usize) -> Self {
        OwnerQuota {
            max_active,
            max_stored: usize::MAX,
            max_stored_bytes: u64::MAX,
        }
    }

    /// No bound at all (benchmarks, tests).
    pub fn unlimited() -> Self {
        Self::active(usize::MAX)
    }

    /// The first quota that `usage`, plus one more task of `bytes`, would
    /// break.
    pub(crate) fn check(&self, usage: OwnerUsage, bytes: u64) -> Result<(), StoreError> {
        let over = |quota, used: u64, limit: u64| StoreError::LimitExceeded { quota, used, limit };
        if usage.active >= self.max_active {
            return Err(over(
                QuotaKind::ActiveTasks,
                usage.active as u64,
                self.max_active as u64,
            ));
        }
        if usage.stored >= self.max_stored {
            return Err(over(
                QuotaKind::StoredTasks,
                usage.stored as u64,
                self.max_stored as u64,
            ));
        }
        let bytes = usage.bytes.saturating_add(bytes);
        if bytes > self.max_stored_bytes {
            return Err(over(QuotaKind::StoredBytes, bytes, self.max_stored_bytes));
        }
        Ok(())
    }
}

/// Which of an [`OwnerQuota`]'s bounds a create ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaKind {
    /// [`OwnerQuota::max_active`].
    ActiveTasks,
    /// [`OwnerQuota::max_stored`].
    StoredTasks,
    /// [`OwnerQuota::max_stored_bytes`].
    StoredBytes,
}

impl std::fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QuotaKind::ActiveTasks => "unfinished tasks",
            QuotaKind::StoredTasks => "stored tasks",
            QuotaKind::StoredBytes => "stored bytes",
        })
    }
}

/// What one owner holds in a store (see [`TaskStore::usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnerUsage {
    /// Unfinished tasks.
    pub active: usize,
    /// Stored tasks, finished ones included.
    pub stored: usize,
    /// Their records' size as compact JSON.
    pub bytes: u64,
}

/// A record's size as its owner's byte quota counts it: its compact JSON,
/// as the durable backends store it.
pub(crate) fn record_bytes(record: &TaskRecord) -> u64 {
    crate::domain::json_len(record) as u64
}

/// Ids of tasks that changed, as a backend sees other processes change them
/// (see [`TaskStore::changes`]).
pub type ChangeFeed = futures::stream::BoxStream<'static, String>;

/// One page of an owner's tasks, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPage {
    /// The tasks of this page.
    pub tasks: Vec<Arc<TaskRecord>>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<String>,
}

/// Durable (or not) storage of task records.
///
/// Every operation that depends on the time takes `now` from the caller
/// (the runtime's [`Clock`]), so expiry follows the
/// one clock tests control. Implementations must make [`compare_and_set`](TaskStore::compare_and_set)
/// atomic, must treat a task of another owner exactly as a missing one, and
/// must not scan all tasks to count or list one owner's.
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Stores a new record (at version 1) unless its owner would break
    /// `quota`: it has `max_active` unfinished or `max_stored` stored tasks
    /// already, or its records with this one would exceed
    /// `max_stored_bytes`. The check and the insert are one atomic step.
    async fn create(
        &self,
        record: TaskRecord,
        quota: OwnerQuota,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError>;

    /// What the owner holds, as the quota check at [`create`](Self::create)
    /// sees it: expired tasks count until they are purged.
    async fn usage(&self, owner: &str, now: DateTime<Utc>) -> Result<OwnerUsage, StoreError>;

    /// The owner's task `id`, unless it is missing, foreign or expired at
    /// `now`.
    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError>;

    /// Replaces the stored record if its version still equals
    /// `record.version` (and it has not expired by `now`); the stored copy
    /// gets `version + 1` and is returned.
    async fn compare_and_set(
        &self,
        record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError>;

    /// A page of the owner's tasks still live at `now`, oldest first. A
    /// cursor this store did not hand out to this owner is
    /// [`StoreError::InvalidCursor`].
    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError>;

    /// Deletes every task whose TTL ran out by `now`; returns their ids.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError>;

    /// Up to `limit` unfinished, unexpired tasks whose lease ran out by
    /// `now` (their instance died), soonest first, from an index: no scan.
    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError>;

    /// The ids of tasks as they change, whoever changes them: the one seam
    /// through which a change made by another instance reaches this one's
    /// listeners at once. Every write after this returns is fed. `None`
    /// (the default) leaves listeners to find a change at their next look
    /// ([`Limits::watch_poll`](crate::Limits::watch_poll)).
    async fn changes(&self) -> Option<ChangeFeed> {
        None
    }
}

/// `tasks/list` cursors: a backend's tag letter, where the next page
/// starts (a creation sequence in hex, or a backend's own sort key), and a
/// check binding both to the owner. Opaque to clients. A cursor of another
/// backend or owner, an altered one and a made-up one are all refused as
/// [`StoreError::InvalidCursor`], as the 2025-11-25 spec asks of an unknown
/// cursor. The check is a hash, not a secret: it tells a cursor this scheme
/// handed out from one it did not, and a forged cursor could at most start
/// a listing of the caller's own tasks somewhere else.
pub(crate) mod cursor {
    use super::StoreError;

    /// The check of `body` for `owner`: the first 12 hex digits of a
    /// name-based UUID (SHA-1), stable across processes and versions, so
    /// every instance sharing a store accepts every other's cursors.
    fn check(tag: char, owner: &str, body: &str) -> String {
        let name = format!("{tag}\u{0}{owner}\u{0}{body}");
        let hash = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes());
        hash.simple().to_string()[..12].to_owned()
    }

    /// A cursor for `owner` whose next page starts at `body`.
    pub(crate) fn seal(tag: char, owner: &str, body: &str) -> String {
        format!("{tag}{body}.{}", check(tag, owner, body))
    }

    /// The start `body` of a cursor this scheme handed to `owner`.
    pub(crate) fn open<'c>(tag: char, owner: &str, cursor: &'c str) -> Result<&'c str, StoreError> {
        let (body, sum) = cursor
            .strip_prefix(tag)
            .and_then(|rest| rest.rsplit_once('.'))
            .ok_or(StoreError::InvalidCursor)?;
        if sum == check(tag, owner, body) {
            Ok(body)
        } else {
            Err(StoreError::InvalidCursor)
        }
    }

    /// A cursor for `owner` whose next page starts at creation sequence
    /// `seq`.
    pub(crate) fn encode(tag: char, owner: &str, seq: u64) -> String {
        seal(tag, owner, &format!("{seq:x}"))
    }

    /// Where a page starts: the decoded cursor, or 0 without one.
    pub(crate) fn start(tag: char, owner: &str, cursor: Option<&str>) -> Result<u64, StoreError> {
        let Some(cursor) = cursor else { return Ok(0) };
        let body = open(tag, owner, cursor)?;
        u64::from_str_radix(body, 16).map_err(|_| StoreError::InvalidCursor)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn cursors_round_trip_only_for_their_owner_and_unaltered() {
            let c = encode('m', "alice", 42);
            assert_eq!(start('m', "alice", Some(&c)), Ok(42));
            assert_eq!(start('m', "bob", Some(&c)), Err(StoreError::InvalidCursor));
            assert_eq!(
                start('s', "alice", Some(&c)),
                Err(StoreError::InvalidCursor)
            );
            let altered = c.replacen("2a", "2b", 1);
            assert_eq!(
                start('m', "alice", Some(&altered)),
                Err(StoreError::InvalidCursor)
            );
            for forged in ["m99999", "m2a", "m2a.", "", ".", "m.x"] {
                assert_eq!(
                    start('m', "alice", Some(forged)),
                    Err(StoreError::InvalidCursor),
                    "{forged}"
                );
            }
            assert_eq!(start('m', "alice", None), Ok(0));
        }
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
    clock: &dyn Clock,
    owner: &str,
    id: &str,
    mut change: impl FnMut(&mut TaskRecord, DateTime<Utc>) -> Result<T, DomainError>,
) -> Result<(Arc<TaskRecord>, T), UpdateError> {
    let mut current = store.get(owner, id, clock.now()).await?;
    for _ in 0..MAX_CAS_ROUNDS {
        // The one copy of a change: the stored record stays as it is for
        // everyone reading it until the changed copy is written.
        let mut next = TaskRecord::clone(&current);
        let now = clock.now();
        let out = change(&mut next, now)?;
        if next == *current {
            return Ok((current, out));
        }
        match store.compare_and_set(next, now).await {
            Ok(written) => return Ok((written, out)),
            Err(StoreError::Conflict { current: fresh }) => current = fresh,
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
