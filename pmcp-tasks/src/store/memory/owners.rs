//! What the memory store knows of each owner: its tasks in creation order
//! (for listing) and its counts (for quotas), each owner behind its own lock
//! so one owner's creates never wait for another's.

use super::super::{OwnerQuota, OwnerUsage, StoreError};
use super::sorted::SortedRuns;
use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Shards of the owner map: creates of different owners rarely share one.
const SHARDS: usize = 16;

/// One shard of the owner map.
type OwnerShard = Mutex<HashMap<Arc<str>, Arc<Owner>, RandomState>>;

/// Every owner with a stored task, by name.
#[derive(Debug)]
pub(super) struct Owners {
    shards: Box<[OwnerShard]>,
    hasher: RandomState,
}

/// One owner's tasks.
///
/// The listing and the stored count change under [`Owner::tasks`]'s lock,
/// which every create of the owner takes, so quota checks of concurrent
/// creates are exact. `active` and `bytes` are atomics so that a write to a
/// task (which may end it, or change its size) never takes the owner's
/// lock: between creates they can only fall, except for bytes a write adds
/// (the documented byte overshoot).
#[derive(Debug, Default)]
pub(super) struct Owner {
    tasks: Mutex<Listing>,
    /// How many of its tasks are not terminal.
    pub(super) active: AtomicUsize,
    /// The sum of its tasks' sizes.
    pub(super) bytes: AtomicU64,
}

#[derive(Debug, Default)]
struct Listing {
    /// Creation sequence and the hash of the task's id (where the task
    /// map finds it), by creation sequence.
    by_seq: SortedRuns<(u64, u64)>,
    /// The next creation sequence: per owner, since only an owner's tasks
    /// are listed together (and a global counter is one more cache line
    /// every create on every core fights over).
    next_seq: u64,
    /// Taken out of the owner map (it had no tasks left): a create that
    /// found it there just before must look again.
    retired: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic under one of these locks leaves counts at worst off by one
    // task; losing the whole store would be worse.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Default for Owners {
    fn default() -> Self {
        Owners {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::default(),
        }
    }
}

impl Owners {
    fn shard(&self, owner: &str) -> &OwnerShard {
        &self.shards[self.hasher.hash_one(owner) as usize % SHARDS]
    }

    /// The owner, if it has stored tasks.
    pub(super) fn get(&self, owner: &str) -> Option<Arc<Owner>> {
        lock(self.shard(owner)).get(owner).cloned()
    }

    /// Counts a new task of `owner` (`bytes` long, unfinished or not, its id
    /// hashing to `id_hash`) under `quota` and lists it; the check and the
    /// count are one step. Returns the owner and the task's creation
    /// sequence.
    pub(super) fn admit(
        &self,
        owner: &str,
        id_hash: u64,
        active: bool,
        bytes: u64,
        quota: &OwnerQuota,
    ) -> Result<(Arc<Owner>, u64), StoreError> {
        loop {
            let entry = {
                let mut shard = lock(self.shard(owner));
                match shard.get(owner) {
                    Some(entry) => entry.clone(),
                    None => shard.entry(Arc::from(owner)).or_default().clone(),
                }
            };
            let mut listing = lock(&entry.tasks);
            if listing.retired {
                continue;
            }
            quota.check(entry.usage_with(&listing), bytes)?;
            let seq = listing.next_seq;
            listing.next_seq += 1;
            listing.by_seq.insert((seq, id_hash));
            if active {
                entry.active.fetch_add(1, Ordering::Relaxed);
            }
            entry.bytes.fetch_add(bytes, Ordering::Relaxed);
            drop(listing);
            return Ok((entry, seq));
        }
    }

    /// Forgets a task of `owner` listed at `seq` (its id hashing to
    /// `id_hash`): it was purged, or its create lost a race for its id.
    /// Retires an owner left with none.
    pub(super) fn forget(
        &self,
        owner: &str,
        entry: &Owner,
        seq: u64,
        id_hash: u64,
        active: bool,
        bytes: u64,
    ) {
        let mut shard = lock(self.shard(owner));
        let mut listing = lock(&entry.tasks);
        listing.by_seq.remove(&(seq, id_hash));
        if active {
            entry.active.fetch_sub(1, Ordering::Relaxed);
        }
        entry.bytes.fetch_sub(bytes, Ordering::Relaxed);
        if listing.by_seq.is_empty() && !listing.retired {
            listing.retired = true;
            shard.remove(owner);
        }
    }

    /// What `owner` holds.
    pub(super) fn usage(&self, owner: &str) -> OwnerUsage {
        self.get(owner).map_or_else(OwnerUsage::default, |entry| {
            entry.usage_with(&lock(&entry.tasks))
        })
    }
}

impl Owner {
    fn usage_with(&self, listing: &Listing) -> OwnerUsage {
        OwnerUsage {
            active: self.active.load(Ordering::Relaxed),
            stored: listing.by_seq.len(),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    /// Up to `limit` of its tasks from creation sequence `start` on, as
    /// `visit` finds them (it skips a task by answering `None`), and the
    /// sequence the next page starts at, if any. `visit` is given each
    /// task's creation sequence and id hash.
    pub(super) fn page<R>(
        &self,
        start: u64,
        limit: usize,
        mut visit: impl FnMut(u64, u64) -> Option<R>,
    ) -> (Vec<R>, Option<u64>) {
        let listing = lock(&self.tasks);
        let mut found = Vec::new();
        for &(seq, hash) in listing.by_seq.iter_from(&(start, 0)) {
            let Some(item) = visit(seq, hash) else {
                continue;
            };
            if found.len() == limit {
                return (found, Some(seq));
            }
            found.push(item);
        }
        (found, None)
    }

    /// Records that a write changed a task from `was` to `is` (unfinished
    /// or not) and its size from `old` to `new` bytes.
    pub(super) fn changed(&self, was_active: bool, is_active: bool, old: u64, new: u64) {
        match (was_active, is_active) {
            (true, false) => {
                self.active.fetch_sub(1, Ordering::Relaxed);
            }
            (false, true) => {
                self.active.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        if new > old {
            self.bytes.fetch_add(new - old, Ordering::Relaxed);
        } else if new < old {
            self.bytes.fetch_sub(old - new, Ordering::Relaxed);
        }
    }
}
