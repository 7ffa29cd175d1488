//! The in-memory backend: the default, for tests and single-process servers.

use super::{OwnerQuota, OwnerUsage, StoreError, TaskPage, TaskStore};
use crate::domain::TaskRecord;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// Tasks kept in a process's memory; lost when it exits.
///
/// Every operation costs O(log n) at most: tasks are found by id in a hash
/// map, an owner's tasks are kept in their own ordered index (so listing and
/// counting touch only that owner's tasks), and expiry is an ordered index
/// by deadline. The lock is a plain mutex that is never held across an
/// `.await`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tasks: HashMap<String, Entry>,
    owners: HashMap<String, OwnerIndex>,
    /// `(deadline, seq)` of every task with a TTL.
    expiry: BTreeSet<(DateTime<Utc>, u64)>,
    /// `(lease deadline, seq)` of every unfinished task with a lease.
    leases: BTreeSet<(DateTime<Utc>, u64)>,
    /// `seq` to id, for the expiry index.
    ids_by_seq: HashMap<u64, String>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    record: TaskRecord,
    /// Creation order, unique: the key of the owner and expiry indexes.
    seq: u64,
    /// The record's size as compact JSON (what the owner's byte quota counts).
    bytes: u64,
}

#[derive(Debug, Default)]
struct OwnerIndex {
    /// The owner's tasks in creation order.
    by_seq: BTreeMap<u64, String>,
    /// How many of them are not terminal.
    active: usize,
    /// The sum of their [`Entry::bytes`].
    bytes: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored tasks, expired-but-not-purged ones included.
    pub fn len(&self) -> usize {
        self.lock().tasks.len()
    }

    /// Whether no task is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than losing the whole store would.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    fn usage(&self, owner: &str) -> OwnerUsage {
        self.owners
            .get(owner)
            .map_or_else(OwnerUsage::default, |o| OwnerUsage {
                active: o.active,
                stored: o.by_seq.len(),
                bytes: o.bytes,
            })
    }

    fn live(&self, owner: &str, id: &str, now: DateTime<Utc>) -> Result<&Entry, StoreError> {
        match self.tasks.get(id) {
            Some(e) if e.record.owner == owner && !e.record.is_expired(now) => Ok(e),
            _ => Err(StoreError::NotFound),
        }
    }

    fn remove(&mut self, id: &str) {
        let Some(entry) = self.tasks.remove(id) else {
            return;
        };
        self.ids_by_seq.remove(&entry.seq);
        if let Some(at) = entry.record.expires_at() {
            self.expiry.remove(&(at, entry.seq));
        }
        if let Some(at) = entry.record.lease_deadline() {
            self.leases.remove(&(at, entry.seq));
        }
        if let Some(index) = self.owners.get_mut(&entry.record.owner) {
            index.by_seq.remove(&entry.seq);
            if !entry.record.status.is_terminal() {
                index.active = index.active.saturating_sub(1);
            }
            index.bytes = index.bytes.saturating_sub(entry.bytes);
            if index.by_seq.is_empty() {
                self.owners.remove(&entry.record.owner);
            }
        }
    }
}

#[async_trait]
impl TaskStore for MemoryStore {
    async fn create(
        &self,
        mut record: TaskRecord,
        quota: OwnerQuota,
        _now: DateTime<Utc>,
    ) -> Result<TaskRecord, StoreError> {
        record.version = 1;
        // Measured before the lock is taken: it walks the whole record.
        let bytes = super::record_bytes(&record);
        let mut inner = self.lock();
        if inner.tasks.contains_key(&record.id) {
            return Err(StoreError::Duplicate);
        }
        quota.check(inner.usage(&record.owner), bytes)?;
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let index = inner.owners.entry(record.owner.clone()).or_default();
        index.by_seq.insert(seq, record.id.clone());
        index.bytes += bytes;
        if !record.status.is_terminal() {
            index.active += 1;
        }
        if let Some(at) = record.expires_at() {
            inner.expiry.insert((at, seq));
        }
        if let Some(at) = record.lease_deadline() {
            inner.leases.insert((at, seq));
        }
        inner.ids_by_seq.insert(seq, record.id.clone());
        inner.tasks.insert(
            record.id.clone(),
            Entry {
                record: record.clone(),
                seq,
                bytes,
            },
        );
        Ok(record)
    }

    async fn usage(&self, owner: &str, _now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        Ok(self.lock().usage(owner))
    }

    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<TaskRecord, StoreError> {
        let inner = self.lock();
        inner.live(owner, id, now).map(|e| e.record.clone())
    }

    async fn compare_and_set(
        &self,
        mut record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<TaskRecord, StoreError> {
        let bytes = super::record_bytes(&record);
        let mut inner = self.lock();
        let (seq, was_active, old_expiry, old_lease, old_bytes) = {
            let entry = inner.live(&record.owner, &record.id, now)?;
            if entry.record.version != record.version {
                return Err(StoreError::Conflict {
                    current: Box::new(entry.record.clone()),
                });
            }
            (
                entry.seq,
                !entry.record.status.is_terminal(),
                entry.record.expires_at(),
                entry.record.lease_deadline(),
                entry.bytes,
            )
        };
        record.version += 1;
        let is_active = !record.status.is_terminal();
        if let Some(index) = inner.owners.get_mut(&record.owner) {
            if was_active != is_active {
                if is_active {
                    index.active += 1;
                } else {
                    index.active = index.active.saturating_sub(1);
                }
            }
            index.bytes = (index.bytes + bytes).saturating_sub(old_bytes);
        }
        let new_expiry = record.expires_at();
        if old_expiry != new_expiry {
            if let Some(at) = old_expiry {
                inner.expiry.remove(&(at, seq));
            }
            if let Some(at) = new_expiry {
                inner.expiry.insert((at, seq));
            }
        }
        let new_lease = record.lease_deadline();
        if old_lease != new_lease {
            if let Some(at) = old_lease {
                inner.leases.remove(&(at, seq));
            }
            if let Some(at) = new_lease {
                inner.leases.insert((at, seq));
            }
        }
        if let Some(entry) = inner.tasks.get_mut(&record.id) {
            entry.record = record.clone();
            entry.bytes = bytes;
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
        let inner = self.lock();
        let Some(index) = inner.owners.get(owner) else {
            return Ok(TaskPage {
                tasks: Vec::new(),
                next_cursor: None,
            });
        };
        let mut tasks = Vec::new();
        let mut next_cursor = None;
        for (&seq, id) in index.by_seq.range(start..) {
            let Some(entry) = inner.tasks.get(id) else {
                continue;
            };
            if entry.record.is_expired(now) {
                continue;
            }
            if tasks.len() == limit.max(1) {
                next_cursor = Some(super::cursor::encode('m', owner, seq));
                break;
            }
            tasks.push(entry.record.clone());
        }
        Ok(TaskPage { tasks, next_cursor })
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut inner = self.lock();
        let mut purged = Vec::new();
        while let Some(&(at, seq)) = inner.expiry.first() {
            if at > now {
                break;
            }
            inner.expiry.pop_first();
            if let Some(id) = inner.ids_by_seq.get(&seq).cloned() {
                inner.remove(&id);
                purged.push(id);
            }
        }
        Ok(purged)
    }

    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let inner = self.lock();
        let mut found = Vec::new();
        for &(at, seq) in &inner.leases {
            if at > now || found.len() == limit {
                break;
            }
            let record = inner
                .ids_by_seq
                .get(&seq)
                .and_then(|id| inner.tasks.get(id))
                .map(|e| &e.record);
            if let Some(record) = record.filter(|r| !r.is_expired(now)) {
                found.push(record.clone());
            }
        }
        Ok(found)
    }
}
