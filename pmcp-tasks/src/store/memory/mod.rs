//! The in-memory backend: the default, for tests and single-process servers.

mod owners;

use super::{OwnerQuota, OwnerUsage, StoreError, TaskPage, TaskStore};
use crate::domain::TaskRecord;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use foldhash::fast::RandomState;
use owners::{Owner, Owners};
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};

/// Shards of the task map. Enough that both cores rarely want one shard at
/// once, few enough that the sweeper's walk over them stays cheap.
const SHARDS: usize = 16;

/// Tasks kept in a process's memory; lost when it exits.
///
/// Every operation costs O(log n) at most, and records are shared, never
/// copied: a read hands out the stored [`Arc<TaskRecord>`], a write stores
/// the record it was given. Tasks are found by id in a hash map split into
/// shards by the id's hash, each with its own lock and its own deadline
/// indexes (expiry, leases); an owner's tasks are listed and counted from
/// the owner's own index, behind the owner's own lock. No lock is held
/// across an `.await`. Locks nest in one order only (owner map, then an
/// owner's listing, then a task shard), and a task shard's is never held
/// while another is taken, so there is no lock-order cycle.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    owners: Owners,
    hasher: RandomState,
}

#[derive(Debug, Default)]
struct Shard {
    tasks: HashMap<Arc<str>, Slot, RandomState>,
    /// `(deadline, id)` of every task of this shard with a TTL.
    expiry: BTreeSet<(DateTime<Utc>, Arc<str>)>,
    /// `(lease deadline, id)` of every unfinished task with a lease.
    leases: BTreeSet<(DateTime<Utc>, Arc<str>)>,
}

#[derive(Debug)]
struct Slot {
    record: Arc<TaskRecord>,
    owner: Arc<Owner>,
    /// Creation order, unique: the key of the owner's listing.
    seq: u64,
    /// The record's size as compact JSON (what the owner's byte quota counts).
    bytes: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            owners: Owners::default(),
            hasher: RandomState::default(),
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
        self.shards.iter().map(|s| lock(s).tasks.len()).sum()
    }

    /// Whether no task is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, id: &str) -> &Mutex<Shard> {
        &self.shards[self.hasher.hash_one(id) as usize % SHARDS]
    }

    /// The owner's task `id` as stored, unless missing, foreign or expired.
    fn live(&self, owner: &str, id: &str, now: DateTime<Utc>) -> Option<Arc<TaskRecord>> {
        let shard = lock(self.shard(id));
        shard
            .tasks
            .get(id)
            .map(|slot| &slot.record)
            .filter(|r| r.owner == owner && !r.is_expired(now))
            .cloned()
    }
}

impl Shard {
    /// Moves a task's entry in a deadline index from `old` to `new`.
    fn reindex(
        index: &mut BTreeSet<(DateTime<Utc>, Arc<str>)>,
        id: &Arc<str>,
        old: Option<DateTime<Utc>>,
        new: Option<DateTime<Utc>>,
    ) {
        if old == new {
            return;
        }
        if let Some(at) = old {
            index.remove(&(at, id.clone()));
        }
        if let Some(at) = new {
            index.insert((at, id.clone()));
        }
    }

    /// Takes a task out of the map and its indexes.
    fn remove(&mut self, id: &str) -> Option<(Arc<str>, Slot)> {
        let (key, slot) = self.tasks.remove_entry(id)?;
        Self::reindex(&mut self.expiry, &key, slot.record.expires_at(), None);
        Self::reindex(&mut self.leases, &key, slot.record.lease_deadline(), None);
        Some((key, slot))
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
        let shard = self.shard(&record.id);
        let id: Arc<str> = Arc::from(record.id.as_str());
        let active = !record.status.is_terminal();
        // Counted first, under the owner's lock, so concurrent creates of
        // one owner never pass its quota; listed before it can be got. A
        // duplicate id (a retried keyed create) is undone below; one refused
        // for its quota is still answered as the duplicate it is.
        let (owner, seq) = match self.owners.admit(&record.owner, &id, active, bytes, &quota) {
            Ok(admitted) => admitted,
            Err(_) if lock(shard).tasks.contains_key(&id) => return Err(StoreError::Duplicate),
            Err(refused) => return Err(refused),
        };
        let record = Arc::new(record);
        let mut guard = lock(shard);
        let Shard {
            tasks,
            expiry,
            leases,
        } = &mut *guard;
        let Entry::Vacant(vacant) = tasks.entry(id.clone()) else {
            drop(guard);
            self.owners
                .forget(&record.owner, &owner, seq, active, bytes);
            return Err(StoreError::Duplicate);
        };
        vacant.insert(Slot {
            record: record.clone(),
            owner,
            seq,
            bytes,
        });
        Shard::reindex(expiry, &id, None, record.expires_at());
        Shard::reindex(leases, &id, None, record.lease_deadline());
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
        let mut shard = lock(self.shard(&record.id));
        let Shard {
            tasks,
            expiry,
            leases,
        } = &mut *shard;
        let Some(key) = tasks
            .get_key_value(record.id.as_str())
            .map(|(k, _)| k.clone())
        else {
            return Err(StoreError::NotFound);
        };
        let Some(slot) = tasks.get_mut(&key) else {
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
        Shard::reindex(expiry, &key, stored.expires_at(), record.expires_at());
        Shard::reindex(
            leases,
            &key,
            stored.lease_deadline(),
            record.lease_deadline(),
        );
        slot.record = Arc::new(record);
        slot.bytes = bytes;
        Ok(slot.record.clone())
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
        let (tasks, next) = entry.page(start, limit.max(1), |id| self.live(owner, id, now));
        Ok(TaskPage {
            tasks,
            next_cursor: next.map(|seq| super::cursor::encode('m', owner, seq)),
        })
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut purged = Vec::new();
        for shard in self.shards.iter() {
            let mut removed = Vec::new();
            {
                let mut shard = lock(shard);
                while let Some((at, id)) = shard.expiry.first().cloned() {
                    if at > now {
                        break;
                    }
                    shard.expiry.pop_first();
                    removed.extend(shard.remove(&id));
                }
            }
            // The owners' counts after the shard's lock is let go: an
            // owner's lock is never taken under a shard's.
            for (id, slot) in removed {
                let active = !slot.record.status.is_terminal();
                self.owners.forget(
                    &slot.record.owner,
                    &slot.owner,
                    slot.seq,
                    active,
                    slot.bytes,
                );
                purged.push(id.to_string());
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
            let shard = lock(shard);
            let lapsed = shard
                .leases
                .iter()
                .take_while(|(at, _)| *at <= now)
                .filter_map(|(at, id)| Some((*at, shard.tasks.get(id)?.record.clone())))
                .filter(|(_, record)| !record.is_expired(now))
                .take(limit);
            found.extend(lapsed);
        }
        // Soonest first across the shards.
        found.sort_by_key(|(at, _)| *at);
        Ok(found.into_iter().take(limit).map(|(_, r)| r).collect())
    }
}
