//! One shard of the memory store's tasks: the tasks, found by their id's
//! hash with no key stored beside them, and the deadline indexes.
//!
//! Keyless because a key would be the id a second time for every task: as
//! an `Arc<str>` shared by the map and both indexes that is 52 bytes per
//! task, plus 16 in each table slot. The indexes hold the id's hash
//! instead; an entry `(deadline, hash)` stands for every task of the shard
//! with that hash and that deadline (almost always exactly one). Which
//! table a hash is in is the business of `windows`.

use super::ids::IdHasher;
use super::owners::Owner;
use super::sorted::SortedRuns;
use super::windows::Tables;
use crate::domain::TaskRecord;
use chrono::{DateTime, Utc};
use std::hash::BuildHasher;
use std::sync::Arc;

/// A stored task.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) record: Arc<TaskRecord>,
    pub(super) owner: Arc<Owner>,
    /// Creation order, unique per owner: the key of the owner's listing.
    pub(super) seq: u64,
    /// The record's size as compact JSON (what the owner's byte quota counts).
    pub(super) bytes: u64,
}

/// The two deadlines tasks are indexed by.
#[derive(Debug, Clone, Copy)]
pub(super) enum Deadline {
    /// When the task expires (its TTL).
    Expiry,
    /// When the lease of an unfinished task lapses.
    Lease,
}

/// A deadline as the indexes keep it: nanoseconds since the Unix epoch,
/// 8 bytes where a `DateTime` takes 12 (and its entry 24 with the hash,
/// where this takes 16). Exact from 1677 to 2262; later deadlines all
/// count as 2262, earlier ones as 1677.
pub(super) type At = i64;

pub(super) fn at(time: DateTime<Utc>) -> At {
    time.timestamp_nanos_opt()
        .unwrap_or(if time.timestamp() > 0 {
            At::MAX
        } else {
            At::MIN
        })
}

impl Deadline {
    pub(super) fn of(self, record: &TaskRecord) -> Option<At> {
        match self {
            Deadline::Expiry => record.expires_at(),
            Deadline::Lease => record.lease_deadline(),
        }
        .map(at)
    }
}

#[derive(Debug, Default)]
pub(super) struct Shard {
    tasks: Tables,
    /// `(deadline, id hash)` of every task of this shard with a TTL.
    expiry: SortedRuns<(At, u64)>,
    /// `(lease deadline, id hash)` of every unfinished task with a lease.
    leases: SortedRuns<(At, u64)>,
}

impl Shard {
    pub(super) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Task `id`, whose hash is `hash`.
    pub(super) fn get(&self, hash: u64, id: &str) -> Option<&Slot> {
        self.tasks.find(hash, |s| s.record.id == id)
    }

    pub(super) fn get_mut(&mut self, hash: u64, id: &str) -> Option<&mut Slot> {
        self.tasks.find_mut(hash, |s| s.record.id == id)
    }

    /// The task `owner` listed at `seq`, whose id hashes to `hash`. An
    /// owner's sequence numbers are never reused while it has tasks (a
    /// retired owner comes back as a new `Owner`), so the pair is unique.
    pub(super) fn listed(&self, hash: u64, owner: &Arc<Owner>, seq: u64) -> Option<&Slot> {
        self.tasks
            .find(hash, |s| s.seq == seq && Arc::ptr_eq(&s.owner, owner))
    }

    /// Stores a new task and indexes it; hands it back if its id is taken.
    pub(super) fn insert<S: BuildHasher>(
        &mut self,
        hash: u64,
        slot: Slot,
        hasher: &IdHasher<S>,
    ) -> Result<(), Slot> {
        let expiry = Deadline::Expiry.of(&slot.record);
        let lease = Deadline::Lease.of(&slot.record);
        self.tasks.insert(hash, slot, hasher)?;
        self.reindex(Deadline::Expiry, hash, None, expiry, hasher);
        self.reindex(Deadline::Lease, hash, None, lease, hasher);
        Ok(())
    }

    /// Moves the task of `hash` in index `which` from `old` to `new`, once
    /// the table holds the task's new record (or no longer holds the task):
    /// an entry goes only when no task of its hash has its deadline left.
    pub(super) fn reindex(
        &mut self,
        which: Deadline,
        hash: u64,
        old: Option<At>,
        new: Option<At>,
        hasher: &IdHasher<impl BuildHasher>,
    ) {
        if old == new {
            return;
        }
        if let Some(at) = old {
            if self.with_deadline(which, at, hash, hasher).next().is_none() {
                self.index(which).remove(&(at, hash));
            }
        }
        if let Some(at) = new {
            self.index(which).insert((at, hash));
        }
    }

    fn index(&mut self, which: Deadline) -> &mut SortedRuns<(At, u64)> {
        match which {
            Deadline::Expiry => &mut self.expiry,
            Deadline::Lease => &mut self.leases,
        }
    }

    /// The tasks an index entry `(at, hash)` stands for.
    fn with_deadline<'a>(
        &'a self,
        which: Deadline,
        at: At,
        hash: u64,
        hasher: &'a IdHasher<impl BuildHasher>,
    ) -> impl Iterator<Item = &'a Slot> + 'a {
        self.tasks
            .with_hash(hash)
            .filter(move |s| stands_for(which, at, hash, hasher, s))
    }

    /// Takes out every task that expired at `now` or before, with its id's
    /// hash.
    pub(super) fn purge(
        &mut self,
        now: DateTime<Utc>,
        hasher: &IdHasher<impl BuildHasher>,
    ) -> Vec<(u64, Slot)> {
        let (now, mut removed) = (at(now), Vec::new());
        while let Some(&(at, hash)) = self.expiry.first() {
            if at > now {
                break;
            }
            self.expiry.pop_first();
            while let Some(slot) = self.tasks.remove(
                hash,
                |s| stands_for(Deadline::Expiry, at, hash, hasher, s),
                hasher,
            ) {
                let lease = Deadline::Lease.of(&slot.record);
                self.reindex(Deadline::Lease, hash, lease, None, hasher);
                removed.push((hash, slot));
            }
        }
        removed
    }

    /// Up to `limit` tasks whose lease lapsed at `now` or before, soonest
    /// first, with their lease deadline; expired ones left out.
    pub(super) fn lapsed(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        hasher: &IdHasher<impl BuildHasher>,
    ) -> Vec<(At, Arc<TaskRecord>)> {
        let due = at(now);
        self.leases
            .iter()
            .take_while(|(at, _)| *at <= due)
            .flat_map(|&(at, hash)| {
                self.with_deadline(Deadline::Lease, at, hash, hasher)
                    .map(move |s| (at, s.record.clone()))
            })
            .filter(|(_, record)| !record.is_expired(now))
            .take(limit)
            .collect()
    }
}

/// Whether index `which`'s entry `(at, hash)` stands for the task in
/// `slot`: a table matches on 7 bits of the hash, so both are checked, the
/// deadline first, as it is cheaper than hashing the id again.
fn stands_for(
    which: Deadline,
    at: At,
    hash: u64,
    hasher: &IdHasher<impl BuildHasher>,
    slot: &Slot,
) -> bool {
    which.of(&slot.record) == Some(at) && hasher.hash(&slot.record.id) == hash
}

#[cfg(test)]
#[path = "shard_tests.rs"]
mod tests;
