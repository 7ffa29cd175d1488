//! Races between writers of one task, and between creates and the sweep,
//! run many times over: each round ends in one state the rules allow, and
//! the owner's counters stay exact.

use super::record;
use crate::clock::{Clock, ManualClock};
use crate::domain::{TaskOutcome, TaskStatus};
use crate::store::{record_bytes, update, OwnerQuota, TaskStore};
use chrono::Utc;
use futures::StreamExt;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How many times each race runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaceRounds {
    /// Cancel versus complete.
    pub cancel_complete: usize,
    /// A variable write versus cancel.
    pub update_cancel: usize,
    /// Creates versus the sweep (each round several creates and a sweep).
    pub create_sweep: usize,
}

impl RaceRounds {
    /// What every backend runs unless its engine cannot take it.
    pub const FULL: RaceRounds = RaceRounds {
        cancel_complete: 10_000,
        update_cancel: 2_000,
        create_sweep: 300,
    };

    /// [`FULL`](Self::FULL) divided by `by` (at least 10 of each): for an
    /// engine too slow for the full count whose atomicity is not what is
    /// under test (an emulator that serializes every request).
    pub const fn divided_by(by: usize) -> RaceRounds {
        const fn part(n: usize, by: usize) -> usize {
            let n = n / by;
            if n < 10 {
                10
            } else {
                n
            }
        }
        RaceRounds {
            cancel_complete: part(Self::FULL.cancel_complete, by),
            update_cancel: part(Self::FULL.update_cancel, by),
            create_sweep: part(Self::FULL.create_sweep, by),
        }
    }
}

/// Rounds in flight at once: enough to keep a networked store busy.
const IN_FLIGHT: usize = 16;

/// Runs `round(i)` for `0..rounds`, `IN_FLIGHT` at a time, each on its own
/// tokio task so the two sides of a race really run in parallel.
async fn rounds<F, Fut>(rounds: usize, round: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    futures::stream::iter(0..rounds)
        .map(|i| tokio::spawn(round(i)))
        .buffer_unordered(IN_FLIGHT)
        .for_each(|joined| async move { joined.expect("a round panicked") })
        .await;
}

/// A cancel and a completion of one working task, at once: exactly one
/// wins, and the task shows the winner's end (a completed task its result,
/// a cancelled one none).
pub async fn cancel_racing_complete_ends_in_exactly_one_terminal_state(
    store: Arc<dyn TaskStore>,
    rounds_of: RaceRounds,
) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    rounds(rounds_of.cancel_complete, |i| {
        let (store, clock) = (store.clone(), clock.clone());
        async move {
            let owner = format!("o{}", i % 64);
            let now = clock.now();
            let t = store
                .create(record(&owner, None, now), OwnerQuota::unlimited(), now)
                .await
                .unwrap();
            let cancel = update(&*store, &*clock, &owner, &t.id, |t, now| t.cancel(now));
            let complete = update(&*store, &*clock, &owner, &t.id, |t, now| {
                t.finish(TaskOutcome::result(json!({"content": [], "round": i})), now)
            });
            let (cancelled, completed) = tokio::join!(cancel, complete);
            let (cancelled, completed) = (cancelled.is_ok(), completed.is_ok());
            assert!(cancelled ^ completed, "round {i}: exactly one side wins");
            let end = store.get(&owner, &t.id, clock.now()).await.unwrap();
            if cancelled {
                assert_eq!(end.status, TaskStatus::Cancelled, "round {i}");
                assert!(end.outcome().is_none(), "round {i}");
            } else {
                assert_eq!(end.status, TaskStatus::Completed, "round {i}");
                assert_eq!(
                    end.outcome(),
                    Some(&TaskOutcome::result(json!({"content": [], "round": i}))),
                    "round {i}"
                );
            }
        }
    })
    .await;
}

/// A variable write (what a body or a client does while a task works) and
/// a cancel, at once: the cancel always wins in the end, and the variable is
/// kept exactly when its write was accepted (before the cancel); a write
/// after the cancel is refused, never reviving the task.
pub async fn update_racing_cancel_never_revives_a_task(
    store: Arc<dyn TaskStore>,
    rounds_of: RaceRounds,
) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    rounds(rounds_of.update_cancel, |i| {
        let (store, clock) = (store.clone(), clock.clone());
        async move {
            let owner = format!("o{}", i % 64);
            let now = clock.now();
            let t = store
                .create(record(&owner, None, now), OwnerQuota::unlimited(), now)
                .await
                .unwrap();
            let write = update(&*store, &*clock, &owner, &t.id, |t, now| {
                t.set_variable("round", Some(json!(i)), 64 * 1024, now)
            });
            let cancel = update(&*store, &*clock, &owner, &t.id, |t, now| t.cancel(now));
            let (written, cancelled) = tokio::join!(write, cancel);
            assert!(cancelled.is_ok(), "round {i}: {cancelled:?}");
            let end = store.get(&owner, &t.id, clock.now()).await.unwrap();
            assert_eq!(end.status, TaskStatus::Cancelled, "round {i}");
            assert_eq!(
                end.variables().get("round"),
                written.is_ok().then(|| json!(i)).as_ref(),
                "round {i}: the variable is there exactly when its write won ({written:?})"
            );
        }
    })
    .await;
}

/// Creates while the sweep purges the owner's expired tasks: the sweep
/// deletes only expired ones, every create it let through is kept and
/// listed, and the owner's counters equal what is still stored (expired
/// tasks count until purged; an index that lags may leave one for the
/// next sweep).
pub async fn creates_racing_the_sweep_keep_exact_counts(
    store: Arc<dyn TaskStore>,
    rounds_of: RaceRounds,
) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let short = Some(Duration::from_millis(1));
    let long = Some(Duration::from_secs(3600));
    for round in 0..rounds_of.create_sweep {
        let owner = format!("sweep-{round}");
        let now = clock.now();
        let mut doomed = HashMap::new();
        for _ in 0..3 {
            let t = store
                .create(record(&owner, short, now), OwnerQuota::unlimited(), now)
                .await
                .unwrap();
            doomed.insert(t.id.clone(), record_bytes(&t));
        }
        clock.advance(Duration::from_millis(5));
        let now = clock.now();
        // Room for the three expired ones and two more: a create that
        // comes before the purge may be refused, never one after it.
        let quota = OwnerQuota {
            max_stored: 5,
            ..OwnerQuota::unlimited()
        };
        let creates = (0..4).map(|_| {
            let store = store.clone();
            let owner = owner.clone();
            tokio::spawn(async move { store.create(record(&owner, long, now), quota, now).await })
        });
        let sweep = {
            let store = store.clone();
            tokio::spawn(async move { store.purge_expired(now).await })
        };
        let created: Vec<_> = futures::future::join_all(creates)
            .await
            .into_iter()
            .map(|joined| joined.unwrap())
            .collect();
        let purged: HashSet<_> = sweep.await.unwrap().unwrap().into_iter().collect();
        let kept: Vec<_> = created.into_iter().filter_map(Result::ok).collect();
        assert!(kept.len() >= 2, "round {round}: at least the two that fit");
        for t in &kept {
            assert!(
                !purged.contains(&t.id),
                "round {round}: a live task was purged"
            );
            assert!(store.get(&owner, &t.id, now).await.is_ok(), "round {round}");
        }
        let listed = store.list(&owner, None, 100, now).await.unwrap().tasks;
        let mut listed_ids: Vec<_> = listed.iter().map(|t| t.id.clone()).collect();
        let mut kept_ids: Vec<_> = kept.iter().map(|t| t.id.clone()).collect();
        listed_ids.sort();
        kept_ids.sort();
        assert_eq!(
            listed_ids, kept_ids,
            "round {round}: every create kept is listed"
        );
        let left: Vec<u64> = doomed
            .iter()
            .filter(|(id, _)| !purged.contains(*id))
            .map(|(_, bytes)| *bytes)
            .collect();
        let usage = store.usage(&owner, now).await.unwrap();
        let stored = kept.len() + left.len();
        assert_eq!(usage.stored, stored, "round {round}: {usage:?}");
        assert_eq!(usage.active, stored, "round {round}: {usage:?}");
        let bytes: u64 =
            kept.iter().map(|r| record_bytes(r)).sum::<u64>() + left.iter().sum::<u64>();
        assert_eq!(usage.bytes, bytes, "round {round}: {usage:?}");
    }
}
