//! Index entries shared by tasks whose ids hash alike: with a hasher that
//! gives every id the same hash, so that what is rare in use is certain.
//! Most ids here carry no time (see `ids`), so their hash is the keyed one
//! alone; the last test's are UUIDv7 of one millisecond, which collide too.

use super::super::windows::WINDOW_TASKS;
use super::*;
use crate::domain::{Era, NewTask, TaskOutcome, RECOVERY_GRACE};
use serde_json::json;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Default)]
struct Constant;

impl Hasher for Constant {
    fn finish(&self) -> u64 {
        0x5eed
    }
    fn write(&mut self, _: &[u8]) {}
}

type Collide = IdHasher<BuildHasherDefault<Constant>>;

fn collide() -> Collide {
    IdHasher::with_keys(BuildHasherDefault::default(), 0)
}

const HASH: u64 = 0x5eed;

/// A task whose id carries no time.
fn task(now: DateTime<Utc>, ttl_secs: u64) -> TaskRecord {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut record = TaskRecord::new(
        NewTask {
            owner: "alice".into(),
            era: Era::V2025_11_25,
            tool: "job".into(),
            arguments: json!({}),
            ttl: Some(Duration::from_secs(ttl_secs)),
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        now,
    );
    record.id = format!("task-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    record
}

fn slot(record: TaskRecord) -> Slot {
    Slot {
        record: Arc::new(record),
        owner: Arc::default(),
        seq: 0,
        bytes: 1,
    }
}

fn secs(s: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(s)
}

/// Two tasks with one hash, one expiry and one lease deadline.
fn twins(now: DateTime<Utc>) -> (Shard, String, String) {
    let hasher = collide();
    let mut shard = Shard::default();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut record = task(now, 60);
        record.hold_lease("instance", now + secs(10)).unwrap();
        ids.push(record.id.clone());
        shard.insert(HASH, slot(record), &hasher).unwrap();
    }
    assert_eq!(
        (shard.len(), shard.expiry.len(), shard.leases.len()),
        (2, 1, 1)
    );
    let second = ids.pop().unwrap();
    (shard, ids.pop().unwrap(), second)
}

/// Ends task `id` as a server would: a new record, then the reindexing.
fn finish(shard: &mut Shard, id: &str, now: DateTime<Utc>) {
    let slot = shard.get_mut(HASH, id).unwrap();
    let mut record = (*slot.record).clone();
    record.finish(TaskOutcome::result(json!({})), now).unwrap();
    let old = std::mem::replace(&mut slot.record, Arc::new(record));
    let new = slot.record.clone();
    for which in [Deadline::Expiry, Deadline::Lease] {
        shard.reindex(which, HASH, which.of(&old), which.of(&new), &collide());
    }
}

#[test]
fn a_shared_lease_entry_stays_until_neither_task_holds_it() {
    let now = Utc::now();
    let (mut shard, first, second) = twins(now);
    finish(&mut shard, &first, now);
    assert_eq!(
        shard.leases.len(),
        1,
        "the second task still holds its lease"
    );
    let lapsed = shard.lapsed(now + secs(11), 10, &collide());
    assert_eq!(lapsed.len(), 1);
    assert_eq!(lapsed[0].1.id, second);
    finish(&mut shard, &second, now);
    assert!(shard.leases.is_empty());
    assert!(shard.lapsed(now + secs(11), 10, &collide()).is_empty());
}

#[test]
fn purging_a_shared_expiry_entry_takes_every_task_it_stands_for() {
    let now = Utc::now();
    let (mut shard, first, second) = twins(now);
    // Leased: kept for recovery until a grace period after the lease.
    let expiry = now + secs(10) + RECOVERY_GRACE;
    assert!(shard.purge(expiry - secs(1), &collide()).is_empty());
    let mut purged: Vec<_> = shard
        .purge(expiry, &collide())
        .into_iter()
        .map(|(hash, s)| {
            assert_eq!(hash, HASH);
            s.record.id.clone()
        })
        .collect();
    purged.sort();
    let mut both = vec![first, second];
    both.sort();
    assert_eq!(purged, both);
    assert_eq!(
        (shard.len(), shard.expiry.len(), shard.leases.len()),
        (0, 0, 0)
    );
}

#[test]
fn tasks_of_one_hash_and_different_deadlines_leave_one_at_a_time() {
    let hasher = collide();
    let now = Utc::now();
    let mut shard = Shard::default();
    let soon = task(now, 30);
    let later = task(now, 90);
    let later_id = later.id.clone();
    shard.insert(HASH, slot(soon), &hasher).unwrap();
    shard.insert(HASH, slot(later), &hasher).unwrap();
    assert_eq!(shard.expiry.len(), 2);
    assert_eq!(shard.purge(now + secs(30), &hasher).len(), 1);
    assert_eq!(shard.len(), 1);
    assert!(shard.get(HASH, &later_id).is_some());
    assert_eq!(shard.expiry.len(), 1);
}

#[test]
fn an_id_taken_is_handed_back() {
    let hasher = collide();
    let now = Utc::now();
    let mut shard = Shard::default();
    let record = task(now, 60);
    let mut again = record.clone();
    again.set_ttl(Some(Duration::from_secs(90)));
    let (first, second) = (slot(record), slot(again));
    let (stored, refused) = (first.record.clone(), second.record.clone());
    shard.insert(HASH, first, &hasher).unwrap();
    let back = shard.insert(HASH, second, &hasher).unwrap_err();
    assert!(
        Arc::ptr_eq(&back.record, &refused),
        "the refused task comes back"
    );
    let kept = &shard.get(HASH, &stored.id).unwrap().record;
    assert!(Arc::ptr_eq(kept, &stored), "the stored task is untouched");
    assert_eq!((shard.len(), shard.expiry.len()), (1, 1));
}

#[test]
fn index_deadlines_keep_their_order_and_clamp_outside_it() {
    let now = Utc::now();
    assert!(at(now) < at(now + chrono::TimeDelta::nanoseconds(1)));
    let far = DateTime::parse_from_rfc3339("2300-01-01T00:00:00Z").unwrap();
    let long_ago = DateTime::parse_from_rfc3339("1600-01-01T00:00:00Z").unwrap();
    assert_eq!(at(far.to_utc()), At::MAX);
    assert_eq!(at(long_ago.to_utc()), At::MIN);
}

/// A task whose id is a UUIDv7 of `ms`.
fn task_at(now: DateTime<Utc>, ttl_secs: u64, ms: u64) -> TaskRecord {
    let mut record = task(now, ttl_secs);
    record.id = super::super::ids::v7_at(ms);
    record
}

#[test]
fn purging_the_last_tasks_of_an_old_window_drops_it_and_leaves_the_rest() {
    let now = Utc::now();
    let ms = now.timestamp_millis() as u64;
    // Every id of one millisecond hashes alike: one index entry per deadline.
    let hasher = IdHasher::with_keys(BuildHasherDefault::<Constant>::default(), ms - 1_000);
    let mut shard = Shard::default();
    let mut add = |record: TaskRecord| {
        let hash = hasher.hash(&record.id);
        shard.insert(hash, slot(record), &hasher).unwrap();
        hash
    };
    let twin = add(task_at(now, 60, ms));
    assert_eq!(add(task_at(now, 60, ms)), twin);
    for _ in 0..WINDOW_TASKS - 2 {
        add(task_at(now, 90, ms));
    }
    let later = add(task_at(now, 120, ms + 1));
    assert_ne!(later, twin);
    assert_eq!(
        shard.tasks.capacities().len(),
        2,
        "the full window gave way"
    );
    assert_eq!(shard.expiry.len(), 3);

    let purged = shard.purge(now + secs(60), &hasher);
    assert_eq!(purged.len(), 2, "both tasks of the shared entry");
    assert_eq!(shard.tasks.capacities().len(), 2);
    let purged = shard.purge(now + secs(90), &hasher);
    assert_eq!(purged.len(), WINDOW_TASKS - 2);
    assert_eq!(
        (
            shard.len(),
            shard.expiry.len(),
            shard.tasks.capacities().len()
        ),
        (1, 1, 1),
        "the emptied window is gone, the newest stays"
    );
    assert_eq!(shard.purge(now + secs(120), &hasher).len(), 1);
}
