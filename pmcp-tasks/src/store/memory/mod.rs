//! The in-memory backend: the default, for tests and single-process servers.

mod ids;
mod owners;
mod shard;
mod sorted;
mod windows;

use super::{OwnerQuota, OwnerUsage, StoreError, TaskPage, TaskStore};
use crate::domain::TaskRecord;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ids::IdHasher;
use owners::Owners;
use shard::{Deadline, Shard, Slot};
use std::sync::{Arc, Mutex, MutexGuard};

/// Shards of the task map. Enough that both cores rarely want one shard at
/// once, few enough that the sweeper's walk over them stays cheap.
const SHARDS: usize = 16;

/// Tasks kept in a process's memory; lost when it exits.
///
/// Every operation costs O(log n), apart from moving part of an index's
/// list of runs (one entry per 64 tasks) now and then, and records are
/// shared, never copied: a read hands out the stored [`Arc<TaskRecord>`],
/// a write stores the record it was given. Tasks are found by their id's hash in a table
/// split into shards, each with its own lock and its own deadline indexes
/// (expiry, leases), and each shard's table into windows of creation time
/// (read from the UUIDv7 ids that [`TaskRecord::new`] mints), so that
/// creating a task costs about the same at a million tasks as at a
/// thousand. An owner's tasks are listed and counted from the
/// owner's own index, behind the owner's own lock. No lock is held across
/// an `.await`. Locks nest in one order only (owner map, then an owner's
/// listing, then a task shard), and a task shard's is never held while
/// another is taken, so there is no lock-order cycle.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    owners: Owners,
    hasher: IdHasher,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            owners: Owners::default(),
            hasher: IdHasher::default(),
        }
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic under the lock cannot leave a shard half-updated in a way
    // that matters more than losing the whole store would.
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored tasks, expired-but-not-purged ones included.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether no task is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash(id)
    }

    fn shard(&self, hash: u64) -> &Mutex<Shard> {
        &self.shards[ids::shard_of(hash, SHARDS)]
    }

    /// The owner's task `id` as stored, unless missing, foreign or expired.
    fn live(&self, owner: &str, id: &str, now: DateTime<Utc>) -> Option<Arc<TaskRecord>> {
        let hash = self.hash(id);
        let shard = lock(self.shard(hash));
        shard
            .get(hash, id)
            .map(|slot| &slot.record)
            .filter(|r| r.owner == owner && !r.is_expired(now))
            .cloned()
    }
}

#[async_trait]
impl TaskStore for MemoryStore {
    async fn create(
        &self,
        mut record: TaskRecord,
        quota: OwnerQuota,
        _now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        record.version = 1;
        // Measured before any lock is taken: it walks the whole record.
        let bytes = super::record_bytes(&record);
        let hash = self.hash(&record.id);
        let shard = self.shard(hash);
        let active = !record.status.is_terminal();
        // Counted first, under the owner's lock, so concurrent creates of
        // one owner never pass its quota; listed before it can be got. A
        // duplicate id (a retried keyed create) is undone below; one refused
        // for its quota is still answered as the duplicate it is.
        let (owner, seq) = match self
            .owners
            .admit(&record.owner, hash, active, bytes, &quota)
        {
            Ok(admitted) => admitted,
            Err(_) if lock(shard).get(hash, &record.id).is_some() => {
                return Err(StoreError::Duplicate)
            }
            Err(refused) => return Err(refused),
        };
        let record = Arc::new(record);
        let slot = Slot {
            record: record.clone(),
            owner,
            seq,
            bytes,
        };
        let inserted = lock(shard).insert(hash, slot, &self.hasher);
        if let Err(slot) = inserted {
            self.owners
                .forget(&record.owner, &slot.owner, seq, hash, active, bytes);
            return Err(StoreError::Duplicate);
        }
        Ok(record)
    }

    async fn usage(&self, owner: &str, _now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        Ok(self.owners.usage(owner))
    }

    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.live(owner, id, now).ok_or(StoreError::NotFound)
    }

    async fn compare_and_set(
        &self,
        mut record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        let bytes = super::record_bytes(&record);
        let hash = self.hash(&record.id);
        let mut shard = lock(self.shard(hash));
        let Some(slot) = shard.get_mut(hash, &record.id) else {
            return Err(StoreError::NotFound);
        };
        let stored = &slot.record;
        if stored.owner != record.owner || stored.is_expired(now) {
            return Err(StoreError::NotFound);
        }
        if stored.version != record.version {
            return Err(StoreError::Conflict {
                current: stored.clone(),
            });
        }
        record.version += 1;
        slot.owner.changed(
            !stored.status.is_terminal(),
            !record.status.is_terminal(),
            slot.bytes,
            bytes,
        );
        let record = Arc::new(record);
        let old = std::mem::replace(&mut slot.record, record.clone());
        slot.bytes = bytes;
        for which in [Deadline::Expiry, Deadline::Lease] {
            let (was, is) = (which.of(&old), which.of(&record));
            shard.reindex(which, hash, was, is, &self.hasher);
        }
        Ok(record)
    }

    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        let start = super::cursor::start('m', owner, cursor)?;
        let Some(entry) = self.owners.get(owner) else {
            return Ok(TaskPage {
                tasks: Vec::new(),
                next_cursor: None,
            });
        };
        let (tasks, next) = entry.page(start, limit.max(1), |seq, hash| {
            let shard = lock(self.shard(hash));
            let record = &shard.listed(hash, &entry, seq)?.record;
            (!record.is_expired(now)).then(|| record.clone())
        });
        Ok(TaskPage {
            tasks,
            next_cursor: next.map(|seq| super::cursor::encode('m', owner, seq)),
        })
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut purged = Vec::new();
        for shard in self.shards.iter() {
            let removed = lock(shard).purge(now, &self.hasher);
            // The owners' counts after the shard's lock is let go: an
            // owner's lock is never taken under a shard's.
            for (hash, slot) in removed {
                let active = !slot.record.status.is_terminal();
                self.owners.forget(
                    &slot.record.owner,
                    &slot.owner,
                    slot.seq,
                    hash,
                    active,
                    slot.bytes,
                );
                purged.push(slot.record.id.clone());
            }
        }
        Ok(purged)
    }

    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError> {
        let mut found = Vec::new();
        for shard in self.shards.iter() {
            found.extend(lock(shard).lapsed(now, limit, &self.hasher));
        }
        // Soonest first across the shards.
        found.sort_by_key(|(at, _)| *at);
        Ok(found.into_iter().take(limit).map(|(_, r)| r).collect())
    }
}
