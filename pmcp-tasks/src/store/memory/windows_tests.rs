//! Creation windows: tasks are found wherever their time puts them, while
//! windows start, fill, shrink and go.

use super::super::ids::v7_at;
use super::*;
use crate::domain::{Era, NewTask, TaskRecord};
use chrono::Utc;
use foldhash::fast::RandomState;
use proptest::prelude::*;
use std::sync::Arc;
use uuid::Uuid;

/// Times are Unix ms.
fn hasher() -> IdHasher {
    IdHasher::with_keys(RandomState::default(), 0)
}

fn slot(id: &str) -> Slot {
    let mut record = TaskRecord::new(
        NewTask {
            owner: "alice".into(),
            era: Era::V2025_11_25,
            tool: "job".into(),
            arguments: serde_json::json!({}),
            ttl: None,
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        Utc::now(),
    );
    record.id = id.to_owned();
    Slot {
        record: Arc::new(record),
        owner: Arc::default(),
        seq: 0,
        bytes: 1,
    }
}

struct Fixture {
    tables: Tables,
    hasher: IdHasher,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            tables: Tables::default(),
            hasher: hasher(),
        }
    }

    fn add(&mut self, id: &str) -> bool {
        let hash = self.hasher.hash(id);
        self.tables.insert(hash, slot(id), &self.hasher).is_ok()
    }

    fn has(&self, id: &str) -> bool {
        let hash = self.hasher.hash(id);
        self.tables.find(hash, |s| s.record.id == id).is_some()
    }

    fn take(&mut self, id: &str) -> bool {
        let hash = self.hasher.hash(id);
        self.tables
            .remove(hash, |s| s.record.id == id, &self.hasher)
            .is_some()
    }

    fn windows(&self) -> usize {
        self.tables.capacities().len()
    }

    /// `n` tasks created at `ms`.
    fn fill(&mut self, ms: u64, n: usize) -> Vec<String> {
        let ids: Vec<_> = (0..n).map(|_| v7_at(ms)).collect();
        for id in &ids {
            assert!(self.add(id));
        }
        ids
    }
}

#[test]
fn a_full_window_gives_way_only_at_a_later_moment() {
    let mut f = Fixture::new();
    let mut ids = f.fill(1_000, WINDOW_TASKS + 3);
    assert_eq!(f.windows(), 1, "one moment is never split");
    ids.extend(f.fill(1_001, 1));
    assert_eq!(f.windows(), 2);
    // Created earlier, stored later: it goes where its time puts it.
    ids.extend(f.fill(999, 1));
    assert_eq!(f.windows(), 2);
    assert_eq!(f.tables.len(), ids.len());
    assert!(ids.iter().all(|id| f.has(id)));
    assert!(!f.has(&v7_at(1_000)));
}

#[test]
fn a_window_ends_early_rather_than_outgrow_its_table() {
    let mut f = Fixture::new();
    // 4 tasks a millisecond: after 8, two more milliseconds like the last
    // would not fit in 14.
    for ms in 1_000..1_004 {
        f.fill(ms, 4);
    }
    assert_eq!(f.windows(), 2);
    let first = f.tables.capacities()[0];
    assert_eq!(
        first, WINDOW_TASKS,
        "the first window never grew past its size"
    );
}

#[test]
fn an_emptied_old_window_goes_and_the_newest_stays() {
    let mut f = Fixture::new();
    let old = f.fill(1_000, WINDOW_TASKS);
    let new = f.fill(2_000, 2);
    assert_eq!(f.windows(), 2);
    for id in &old {
        assert!(f.take(id));
    }
    assert_eq!(f.windows(), 1);
    assert!(new.iter().all(|id| f.has(id)));
    for id in &new {
        assert!(f.take(id));
        assert!(!f.take(id), "taken once only");
    }
    assert_eq!((f.windows(), f.tables.len()), (1, 0));
    // Before every window: the first holds it.
    let early = f.fill(5, 1);
    assert!(f.has(&early[0]));
}

#[test]
fn a_mostly_emptied_old_window_shrinks() {
    let mut f = Fixture::new();
    let mut old = f.fill(1_000, WINDOW_TASKS);
    f.fill(2_000, 1);
    let before = f.tables.capacities()[0];
    let kept = old.split_off(WINDOW_TASKS - 1);
    for id in &old {
        assert!(f.take(id));
    }
    assert!(
        f.tables.capacities()[0] < before / 2,
        "{:?}",
        f.tables.capacities()
    );
    assert!(f.has(&kept[0]));
}

#[test]
fn ids_without_time_keep_to_their_own_table_and_are_not_taken_twice() {
    let mut f = Fixture::new();
    let (plain, keyed) = (Uuid::new_v4().to_string(), "job-1".to_owned());
    assert!(f.add(&plain) && f.add(&keyed));
    assert!(!f.add(&plain), "a taken id is handed back");
    let timed = v7_at(7);
    assert!(f.add(&timed));
    assert!(!f.add(&timed), "a taken id is handed back");
    assert_eq!((f.windows(), f.tables.len()), (1, 3));
    assert!(f.has(&plain) && f.has(&keyed) && f.has(&timed));
}

#[derive(Debug, Clone)]
enum Op {
    /// A task created at this ms (or with an id without time).
    Add(Option<u64>),
    /// Takes out the stored task at this index (modulo their number).
    Take(usize),
    /// Adds again a stored task (refused) or a taken one (stored again),
    /// at this index (modulo their number).
    Again(bool, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..40).prop_map(|t| Op::Add(Some(1_000 + t))),
        1 => Just(Op::Add(None)),
        2 => any::<usize>().prop_map(Op::Take),
        1 => (any::<bool>(), any::<usize>()).prop_map(|(s, i)| Op::Again(s, i)),
    ]
}

proptest! {
    #[test]
    fn every_stored_task_is_found_and_no_other(ops in prop::collection::vec(op(), 1..400)) {
        let mut f = Fixture::new();
        let mut stored: Vec<String> = Vec::new();
        let mut gone: Vec<String> = Vec::new();
        for op in ops {
            match op {
                Op::Add(time) => {
                    let id = time.map_or_else(|| Uuid::new_v4().to_string(), v7_at);
                    prop_assert!(f.add(&id));
                    stored.push(id);
                }
                Op::Take(_) if stored.is_empty() => {}
                Op::Take(i) => {
                    let id = stored.swap_remove(i % stored.len());
                    prop_assert!(f.take(&id));
                    gone.push(id);
                }
                Op::Again(true, i) if !stored.is_empty() => {
                    prop_assert!(!f.add(&stored[i % stored.len()]), "a stored id taken twice");
                }
                Op::Again(false, i) if !gone.is_empty() => {
                    let id = gone.swap_remove(i % gone.len());
                    prop_assert!(f.add(&id));
                    stored.push(id);
                }
                Op::Again(..) => {}
            }
            prop_assert_eq!(f.tables.len(), stored.len());
        }
        for id in &stored {
            prop_assert!(f.has(id), "{} lost", id);
        }
        for id in &gone {
            prop_assert!(!f.has(id), "{} still there", id);
        }
    }
}
