//! Owner isolation as a property: random interleavings of creates, reads,
//! lists, cancels and forged writes by owners whose names share prefixes,
//! are empty, Unicode, quote-laden or 2 KB long. No operation of one owner
//! may show, change or count another owner's task.

use super::record;
use crate::clock::{Clock, ManualClock};
use crate::domain::{TaskRecord, TaskStatus};
use crate::store::{update, OwnerQuota, StoreError, TaskStore};
use chrono::Utc;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Owners chosen to trip up key schemes: prefixes of each other, empty,
/// separators, quotes and wildcards, Unicode, and one 2 KB long.
fn owners() -> Vec<String> {
    vec![
        "tenant".into(),
        "tenant:alice".into(),
        "tenan".into(),
        String::new(),
        "ünïcödé/🦀".into(),
        "a'b\"c\\d%_*#".into(),
        "o".repeat(2048),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Get(usize, usize),
    List(usize),
    Cancel(usize, usize),
    /// A write of another owner's task under this owner's name.
    Forge(usize, usize),
}

fn ops(owners: usize) -> impl Strategy<Value = Vec<Op>> {
    let who = 0..owners;
    let op = prop_oneof![
        3 => who.clone().prop_map(Op::Create),
        2 => (who.clone(), any::<usize>()).prop_map(|(o, t)| Op::Get(o, t)),
        1 => who.clone().prop_map(Op::List),
        2 => (who.clone(), any::<usize>()).prop_map(|(o, t)| Op::Cancel(o, t)),
        1 => (who, any::<usize>()).prop_map(|(o, t)| Op::Forge(o, t)),
    ];
    prop::collection::vec(op, 10..40)
}

/// See the module docs. Runs a fixed set of random sequences (the seed is
/// fixed, so a failure repeats).
pub async fn owners_in_random_interleavings_never_leak(store: Arc<dyn TaskStore>) {
    let owners = owners();
    let clock = ManualClock::new(Utc::now());
    let mut runner = TestRunner::deterministic();
    // What each owner has, as the store should see it: id → (owner, status).
    let mut model: BTreeMap<String, (usize, TaskStatus)> = BTreeMap::new();
    let mut ids: Vec<String> = Vec::new();
    for _ in 0..6 {
        let sequence = ops(owners.len()).new_tree(&mut runner).unwrap().current();
        for op in sequence {
            let now = clock.now();
            let pick = |t: usize| (!ids.is_empty()).then(|| ids[t % ids.len()].clone());
            match op {
                Op::Create(o) => match store
                    .create(record(&owners[o], None, now), OwnerQuota::active(1000), now)
                    .await
                {
                    Ok(created) => {
                        assert_eq!(created.owner, owners[o]);
                        model.insert(created.id.clone(), (o, created.status));
                        ids.push(created.id.clone());
                    }
                    // A backend may refuse a name it cannot key (say so,
                    // never store it under another owner).
                    Err(StoreError::Backend(why)) => {
                        assert!(owners[o].len() > 1000, "refused '{}': {why}", owners[o]);
                    }
                    Err(e) => panic!("create for '{}': {e}", owners[o]),
                },
                Op::Get(o, t) => {
                    let Some(id) = pick(t) else { continue };
                    let (owner, status) = model[&id];
                    match store.get(&owners[o], &id, now).await {
                        Ok(task) => {
                            assert_eq!(owner, o, "owner {o} read owner {owner}'s task");
                            assert_eq!(task.owner, owners[o]);
                            assert_eq!(task.status, status);
                        }
                        Err(StoreError::NotFound) => assert_ne!(owner, o, "lost own task"),
                        Err(e) => panic!("get: {e}"),
                    }
                }
                Op::List(o) => {
                    let mut listed = Vec::new();
                    let mut cursor: Option<String> = None;
                    loop {
                        let page = store
                            .list(&owners[o], cursor.as_deref(), 7, now)
                            .await
                            .unwrap();
                        for task in &page.tasks {
                            assert_eq!(task.owner, owners[o], "a foreign task listed");
                        }
                        listed.extend(page.tasks.iter().map(|t| t.id.clone()));
                        match page.next_cursor {
                            Some(next) => cursor = Some(next),
                            None => break,
                        }
                    }
                    let mine: Vec<&String> = model
                        .iter()
                        .filter(|(_, (owner, _))| *owner == o)
                        .map(|(id, _)| id)
                        .collect();
                    let mut listed_sorted: Vec<&String> = listed.iter().collect();
                    listed_sorted.sort();
                    assert_eq!(listed_sorted, mine, "owner {o} lists exactly its own");
                    // And counts exactly its own (where the backend counts).
                    let usage = store.usage(&owners[o], now).await.unwrap();
                    assert_eq!(usage.stored, mine.len(), "owner {o} counts exactly its own");
                }
                Op::Cancel(o, t) => {
                    let Some(id) = pick(t) else { continue };
                    let (owner, status) = model[&id];
                    let cancelled = update(store.as_ref(), &clock, &owners[o], &id, |r, now| {
                        r.cancel(now)
                    })
                    .await;
                    match cancelled {
                        Ok((task, ())) => {
                            assert_eq!(owner, o, "owner {o} cancelled owner {owner}'s task");
                            model.insert(id, (o, task.status));
                        }
                        Err(crate::store::UpdateError::Store(StoreError::NotFound)) => {
                            assert_ne!(owner, o, "lost own task");
                        }
                        // Already terminal: the domain refuses, nothing changes.
                        Err(crate::store::UpdateError::Domain(_)) => {
                            assert_eq!(owner, o);
                            assert!(status.is_terminal());
                        }
                        Err(e) => panic!("cancel: {e}"),
                    }
                }
                Op::Forge(o, t) => {
                    let Some(id) = pick(t) else { continue };
                    let (owner, status) = model[&id];
                    if owner == o {
                        continue;
                    }
                    let mut forged =
                        TaskRecord::clone(&store.get(&owners[owner], &id, now).await.unwrap());
                    forged.owner = owners[o].clone();
                    forged.status = TaskStatus::Cancelled;
                    assert!(
                        store.compare_and_set(forged, now).await.is_err(),
                        "a write naming another owner is refused"
                    );
                    let kept = store.get(&owners[owner], &id, now).await.unwrap();
                    assert_eq!(kept.status, status, "the real owner's task is unchanged");
                }
            }
        }
    }
    assert!(!ids.is_empty());
}
