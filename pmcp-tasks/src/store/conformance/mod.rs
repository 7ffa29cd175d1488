//! Behaviour every [`TaskStore`] must show: one suite, run against every
//! backend. Each check takes a fresh, empty store and panics on a violation.
//!
//! A backend's tests call [`store_conformance_tests!`](crate::store_conformance_tests)
//! with an expression that builds a fresh store.

mod isolation;
mod quotas;
mod races;

pub use isolation::owners_in_random_interleavings_never_leak;
pub use quotas::{
    active_limit_counts_only_unfinished_tasks, concurrent_creates_never_pass_the_quotas,
    creates_racing_with_one_id_store_one_task, stored_tasks_and_bytes_are_counted_and_capped,
};
pub use races::{
    cancel_racing_complete_ends_in_exactly_one_terminal_state,
    creates_racing_the_sweep_keep_exact_counts, update_racing_cancel_never_revives_a_task,
    RaceRounds,
};

use super::*;
use crate::clock::ManualClock;
use crate::domain::{Era, NewTask, TaskOutcome, TaskStatus};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn record(owner: &str, ttl: Option<Duration>, now: DateTime<Utc>) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: owner.into(),
            era: Era::V2025_11_25,
            tool: "job".into(),
            arguments: json!({"n": 1}),
            ttl,
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        now,
    )
}

/// See the module docs.
pub async fn create_then_get_round_trips(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let name = "store";
    let created = store
        .create(record("alice", None, now), OwnerQuota::active(10), now)
        .await
        .unwrap();
    assert_eq!(created.version, 1, "{name}");
    let got = store.get("alice", &created.id, now).await.unwrap();
    assert_eq!(got, created, "{name}");
}

/// See the module docs.
pub async fn owners_sharing_a_prefix_never_see_each_other(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let name = "store";
    let a = store
        .create(record("tenant", None, now), OwnerQuota::active(10), now)
        .await
        .unwrap();
    let b = store
        .create(
            record("tenant:alice", None, now),
            OwnerQuota::active(10),
            now,
        )
        .await
        .unwrap();
    let c = store
        .create(record("tenan", None, now), OwnerQuota::active(10), now)
        .await
        .unwrap();
    assert_eq!(
        store.get("tenant", &b.id, now).await,
        Err(StoreError::NotFound),
        "{name}"
    );
    assert_eq!(
        store.get("tenant:alice", &a.id, now).await,
        Err(StoreError::NotFound),
        "{name}"
    );
    assert_eq!(
        store.get("tenan", &a.id, now).await,
        Err(StoreError::NotFound),
        "{name}"
    );
    for (owner, mine) in [("tenant", &a), ("tenant:alice", &b), ("tenan", &c)] {
        let page = store.list(owner, None, 100, now).await.unwrap();
        let ids: Vec<_> = page.tasks.iter().map(|t| t.id.clone()).collect();
        assert_eq!(ids, vec![mine.id.clone()], "{name}: {owner}");
    }
    let mut foreign = TaskRecord::clone(&b);
    foreign.owner = "tenant".into();
    foreign.status = TaskStatus::Cancelled;
    assert_eq!(
        store.compare_and_set(foreign, now).await,
        Err(StoreError::NotFound),
        "{name}: a write naming another owner is refused"
    );
}

/// See the module docs.
pub async fn compare_and_set_refuses_a_stale_version_and_shows_the_current(
    store: Arc<dyn TaskStore>,
) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let name = "store";
    let created = store
        .create(record("alice", None, now), OwnerQuota::active(10), now)
        .await
        .unwrap();
    let mut first = TaskRecord::clone(&created);
    first.set_message("first", now).unwrap();
    let written = store.compare_and_set(first, now).await.unwrap();
    assert_eq!(written.version, 2, "{name}");
    let mut stale = TaskRecord::clone(&created);
    stale.set_message("stale", now).unwrap();
    match store.compare_and_set(stale, now).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, written, "{name}"),
        other => panic!("{name}: expected a conflict, got {other:?}"),
    }
    assert_eq!(
        store.get("alice", &created.id, now).await.unwrap(),
        written,
        "{name}"
    );
}

/// See the module docs.
pub async fn completion_and_result_land_together(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let name = "store";
    let created = store
        .create(record("alice", None, now), OwnerQuota::active(10), now)
        .await
        .unwrap();
    let (done, ()) = update(&*store, &clock, "alice", &created.id, |t, now| {
        t.finish(TaskOutcome::result(json!({"content": []})), now)
    })
    .await
    .unwrap();
    let read = store.get("alice", &created.id, now).await.unwrap();
    assert_eq!(read, done, "{name}");
    assert_eq!(read.status, TaskStatus::Completed, "{name}");
    assert!(
        read.outcome().is_some(),
        "{name}: completed without its result"
    );
}

/// See the module docs.
pub async fn expired_tasks_vanish_and_are_purged(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let name = "store";
    let short = store
        .create(
            record("alice", Some(Duration::from_millis(1)), now),
            OwnerQuota::active(10),
            now,
        )
        .await
        .unwrap();
    let long = store
        .create(
            record("alice", Some(Duration::from_secs(600)), now),
            OwnerQuota::active(10),
            now,
        )
        .await
        .unwrap();
    clock.advance(Duration::from_millis(5));
    let now = clock.now();
    assert_eq!(
        store.get("alice", &short.id, now).await,
        Err(StoreError::NotFound),
        "{name}"
    );
    let page = store.list("alice", None, 10, now).await.unwrap();
    assert_eq!(page.tasks.len(), 1, "{name}");
    let purged = store.purge_expired(now).await.unwrap();
    assert_eq!(purged, vec![short.id.clone()], "{name}");
    assert!(store.get("alice", &long.id, now).await.is_ok(), "{name}");
    // A purged task is no longer stored, nor are its bytes.
    let usage = store.usage("alice", now).await.unwrap();
    assert_eq!(usage.stored, 1, "{name}: {usage:?}");
    assert_eq!(usage.bytes, record_bytes(&long), "{name}: {usage:?}");
    // The purged task no longer counts against the limit.
    store
        .create(record("alice", None, now), OwnerQuota::active(2), now)
        .await
        .unwrap();
}

/// See the module docs.
pub async fn pagination_walks_every_task_once_in_creation_order(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let name = "store";
    let mut ids = Vec::new();
    for _ in 0..7 {
        // Creation order is time order (DynamoDB sorts by creation time).
        clock.advance(Duration::from_millis(1));
        let now = clock.now();
        ids.push(
            store
                .create(record("alice", None, now), OwnerQuota::active(100), now)
                .await
                .unwrap()
                .id
                .clone(),
        );
    }
    let now = clock.now();
    store
        .create(record("bob", None, now), OwnerQuota::active(100), now)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut handed_out = Vec::new();
    loop {
        let page = store
            .list("alice", cursor.as_deref(), 3, now)
            .await
            .unwrap();
        seen.extend(page.tasks.iter().map(|t| t.id.clone()));
        match page.next_cursor {
            Some(c) => {
                handed_out.push(c.clone());
                cursor = Some(c);
            }
            None => break,
        }
    }
    assert_eq!(seen, ids, "{name}");
    assert_eq!(handed_out.len(), 2, "{name}: three pages");
    let tag = &handed_out[0][..1];
    // Well-formed looking, but never handed out; another owner's; altered.
    let mut refused = vec![
        "not-a-cursor".to_owned(),
        String::new(),
        format!("{tag}99999"),
        format!("{tag}0"),
    ];
    let mut altered = handed_out[0].clone();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    refused.push(altered);
    for cursor in &refused {
        assert_eq!(
            store.list("alice", Some(cursor), 3, now).await,
            Err(StoreError::InvalidCursor),
            "{name}: {cursor:?}"
        );
    }
    assert_eq!(
        store.list("bob", Some(&handed_out[0]), 3, now).await,
        Err(StoreError::InvalidCursor),
        "{name}: alice's cursor is not bob's"
    );
}

/// See the module docs.
pub async fn leases_that_ran_out_are_found_and_only_those(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let with_lease = |until: chrono::DateTime<Utc>| {
        let mut r = record("alice", Some(Duration::from_secs(600)), now);
        r.hold_lease("dead-instance", until).unwrap();
        r
    };
    let lapsed = store
        .create(
            with_lease(now - chrono::Duration::seconds(5)),
            OwnerQuota::active(100),
            now,
        )
        .await
        .unwrap();
    let alive = store
        .create(
            with_lease(now + chrono::Duration::seconds(60)),
            OwnerQuota::active(100),
            now,
        )
        .await
        .unwrap();
    let none = store
        .create(record("bob", None, now), OwnerQuota::active(100), now)
        .await
        .unwrap();
    let found: Vec<String> = store
        .expired_leases(now, 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(found, vec![lapsed.id.clone()]);
    let _ = (alive, none);
    // Renewing the lease takes the task out of the index...
    let (renewed, ()) = update(&*store, &clock, "alice", &lapsed.id, |t, _| {
        t.hold_lease("new-instance", now + chrono::Duration::seconds(60))
    })
    .await
    .unwrap();
    assert!(store.expired_leases(now, 10).await.unwrap().is_empty());
    // ...and so does finishing the task, whatever its lease said.
    let mut stale = TaskRecord::clone(&renewed);
    stale
        .hold_lease("x", now - chrono::Duration::seconds(1))
        .unwrap();
    let stale = store.compare_and_set(stale, now).await.unwrap();
    assert_eq!(store.expired_leases(now, 10).await.unwrap().len(), 1);
    // ...and so does giving the lease up while unfinished (a body that let
    // go of its worker to wait for an answer)...
    let mut let_go = TaskRecord::clone(&stale);
    let_go.release_lease();
    let_go.suspended = true;
    let let_go = store.compare_and_set(let_go, now).await.unwrap();
    assert!(store.expired_leases(now, 10).await.unwrap().is_empty());
    assert!(store.get("alice", &let_go.id, now).await.unwrap().suspended);
    let mut lapsed_again = TaskRecord::clone(&let_go);
    lapsed_again
        .hold_lease("x", now - chrono::Duration::seconds(1))
        .unwrap();
    let stale = store.compare_and_set(lapsed_again, now).await.unwrap();
    assert_eq!(store.expired_leases(now, 10).await.unwrap().len(), 1);
    update(&*store, &clock, "alice", &stale.id, |t, now| t.cancel(now))
        .await
        .unwrap();
    assert!(store.expired_leases(now, 10).await.unwrap().is_empty());
}

/// See the module docs.
pub async fn variables_up_to_the_limit_are_kept_and_over_it_change_nothing(
    store: Arc<dyn TaskStore>,
) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let limit = crate::domain::Limits::default().max_variable_bytes;
    let created = store
        .create(record("alice", None, now), OwnerQuota::active(10), now)
        .await
        .unwrap();
    // Just under the limit: `{"blob":"…"}` plus the string.
    let blob = "v".repeat(limit - 64);
    let (written, ()) = update(&*store, &clock, "alice", &created.id, |t, now| {
        t.set_variable("blob", Some(json!(blob)), limit, now)
    })
    .await
    .unwrap();
    assert_eq!(written.variables()["blob"], json!(blob));
    assert_eq!(store.get("alice", &created.id, now).await.unwrap(), written);
    let refused = update(&*store, &clock, "alice", &created.id, |t, now| {
        t.set_variable("more", Some(json!("v".repeat(128))), limit, now)
    })
    .await;
    assert!(
        matches!(
            refused,
            Err(UpdateError::Domain(DomainError::VariablesTooLarge { .. }))
        ),
        "{refused:?}"
    );
    assert_eq!(
        store.get("alice", &created.id, now).await.unwrap(),
        written,
        "a refused write changes nothing"
    );
}

/// See the module docs. A backend with a change feed reports every write,
/// by anyone, on it; a backend without one answers `None`.
pub async fn changes_are_fed_when_the_backend_can(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let Some(mut feed) = store.changes().await else {
        return;
    };
    async fn next(feed: &mut ChangeFeed) -> String {
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            futures::StreamExt::next(feed),
        )
        .await
        .expect("a change on the feed within 5 s")
        .expect("the feed stays open")
    }
    let created = store
        .create(record("alice", None, now), OwnerQuota::active(10), now)
        .await
        .unwrap();
    assert_eq!(next(&mut feed).await, created.id, "a create is fed");
    update(&*store, &clock, "alice", &created.id, |t, now| {
        t.set_message("x", now)
    })
    .await
    .unwrap();
    assert_eq!(next(&mut feed).await, created.id, "a write is fed");
}

/// A store that keeps something alive for as long as it lives: a backend's
/// tests hand the suite their store together with the server process it
/// talks to.
pub struct Guarded<S> {
    /// The store.
    pub store: S,
    _guard: Box<dyn Send + Sync>,
}

impl<S> Guarded<S> {
    /// `store`, keeping `guard` alive with it.
    pub fn new(store: S, guard: impl Send + Sync + 'static) -> Self {
        Guarded {
            store,
            _guard: Box::new(guard),
        }
    }
}

#[async_trait::async_trait]
impl<S: TaskStore> TaskStore for Guarded<S> {
    async fn create(
        &self,
        record: TaskRecord,
        quota: OwnerQuota,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.store.create(record, quota, now).await
    }
    async fn usage(&self, owner: &str, now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        self.store.usage(owner, now).await
    }
    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.store.get(owner, id, now).await
    }
    async fn compare_and_set(
        &self,
        record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.store.compare_and_set(record, now).await
    }
    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        self.store.list(owner, cursor, limit, now).await
    }
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        self.store.purge_expired(now).await
    }
    async fn changes(&self) -> Option<ChangeFeed> {
        self.store.changes().await
    }
    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError> {
        self.store.expired_leases(now, limit).await
    }
}

/// Expands to one `#[tokio::test]` per conformance check, each on a fresh
/// store built by `$make` (an expression, awaited if `async`). The races
/// run [`RaceRounds::FULL`] times unless a second argument says otherwise.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!($make, $crate::store::conformance::RaceRounds::FULL);
    };
    ($make:expr, $rounds:expr) => {
        $crate::store_conformance_tests!(@tests $make, stored_tasks_and_bytes_are_counted_and_capped, concurrent_creates_never_pass_the_quotas, creates_racing_with_one_id_store_one_task, create_then_get_round_trips, owners_sharing_a_prefix_never_see_each_other, compare_and_set_refuses_a_stale_version_and_shows_the_current, completion_and_result_land_together, active_limit_counts_only_unfinished_tasks, expired_tasks_vanish_and_are_purged, pagination_walks_every_task_once_in_creation_order, leases_that_ran_out_are_found_and_only_those, variables_up_to_the_limit_are_kept_and_over_it_change_nothing, changes_are_fed_when_the_backend_can, owners_in_random_interleavings_never_leak);
        $crate::store_conformance_tests!(@races $make, $rounds, cancel_racing_complete_ends_in_exactly_one_terminal_state, update_racing_cancel_never_revives_a_task, creates_racing_the_sweep_keep_exact_counts);
    };
    (@tests $make:expr, $($check:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store: ::std::sync::Arc<dyn $crate::store::TaskStore> = $make;
                $crate::store::conformance::$check(store).await;
            }
        )*
    };
    (@races $make:expr, $rounds:expr, $($check:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store: ::std::sync::Arc<dyn $crate::store::TaskStore> = $make;
                $crate::store::conformance::$check(store, $rounds).await;
            }
        )*
    };
}
