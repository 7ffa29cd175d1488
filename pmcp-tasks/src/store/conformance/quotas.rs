//! Owner quotas: unfinished tasks, stored tasks and their bytes, as
//! [`TaskStore::create`] checks them.

use super::record;
use crate::clock::{Clock, ManualClock};
use crate::domain::TaskOutcome;
use crate::store::{
    record_bytes, update, OwnerQuota, OwnerUsage, QuotaKind, StoreError, TaskStore,
};
use chrono::Utc;
use serde_json::json;
use std::sync::Arc;

/// See the module docs.
pub async fn active_limit_counts_only_unfinished_tasks(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let name = "store";
    let a = store
        .create(record("alice", None, now), OwnerQuota::active(2), now)
        .await
        .unwrap();
    store
        .create(record("alice", None, now), OwnerQuota::active(2), now)
        .await
        .unwrap();
    assert_eq!(
        store
            .create(record("alice", None, now), OwnerQuota::active(2), now)
            .await,
        Err(StoreError::LimitExceeded {
            quota: QuotaKind::ActiveTasks,
            used: 2,
            limit: 2
        }),
        "{name}"
    );
    store
        .create(record("bob", None, now), OwnerQuota::active(2), now)
        .await
        .expect("other owners are not limited");
    update(&*store, &clock, "alice", &a.id, |t, now| t.cancel(now))
        .await
        .unwrap();
    store
        .create(record("alice", None, now), OwnerQuota::active(2), now)
        .await
        .expect("a finished task frees a place");
}

/// See the module docs.
pub async fn stored_tasks_and_bytes_are_counted_and_capped(store: Arc<dyn TaskStore>) {
    let clock = ManualClock::new(Utc::now());
    let now = clock.now();
    let two = OwnerQuota {
        max_stored: 2,
        ..OwnerQuota::active(10)
    };
    let a = store
        .create(record("alice", None, now), two, now)
        .await
        .unwrap();
    let b = store
        .create(record("alice", None, now), two, now)
        .await
        .unwrap();
    assert_eq!(
        store.usage("alice", now).await.unwrap(),
        OwnerUsage {
            active: 2,
            stored: 2,
            bytes: record_bytes(&a) + record_bytes(&b),
        }
    );
    // A finished task still counts as stored, and its result's bytes too.
    let (done, ()) = update(&*store, &clock, "alice", &a.id, |t, now| {
        t.finish(
            TaskOutcome::result(json!({"content": [{"type": "text", "text": "x".repeat(500)}]})),
            now,
        )
    })
    .await
    .unwrap();
    let usage = store.usage("alice", now).await.unwrap();
    assert_eq!(
        usage,
        OwnerUsage {
            active: 1,
            stored: 2,
            bytes: record_bytes(&done) + record_bytes(&b),
        }
    );
    assert_eq!(
        store.create(record("alice", None, now), two, now).await,
        Err(StoreError::LimitExceeded {
            quota: QuotaKind::StoredTasks,
            used: 2,
            limit: 2
        })
    );
    store
        .create(record("bob", None, now), two, now)
        .await
        .expect("other owners are not limited");
    // Bytes: one more record fits exactly, one byte less does not.
    let next = record("alice", None, now);
    let mut probe = next.clone();
    probe.version = 1;
    let exact = usage.bytes + record_bytes(&probe);
    let tight = OwnerQuota {
        max_stored_bytes: exact - 1,
        ..OwnerQuota::active(10)
    };
    assert_eq!(
        store.create(next.clone(), tight, now).await,
        Err(StoreError::LimitExceeded {
            quota: QuotaKind::StoredBytes,
            used: exact,
            limit: exact - 1
        })
    );
    assert_eq!(
        store.usage("alice", now).await.unwrap(),
        usage,
        "nothing written"
    );
    let fits = OwnerQuota {
        max_stored_bytes: exact,
        ..OwnerQuota::active(10)
    };
    store
        .create(next, fits, now)
        .await
        .expect("exactly at the quota");
    assert_eq!(store.usage("alice", now).await.unwrap().bytes, exact);
}

/// See the module docs.
pub async fn concurrent_creates_never_pass_the_quotas(store: Arc<dyn TaskStore>) {
    let now = Utc::now();
    let quota = OwnerQuota {
        max_stored: 5,
        ..OwnerQuota::active(100)
    };
    let creates = (0..40).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.create(record("alice", None, now), quota, now).await })
    });
    let mut created = 0;
    for outcome in futures::future::join_all(creates).await {
        match outcome.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::LimitExceeded {
                quota: QuotaKind::StoredTasks,
                ..
            }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        created, 5,
        "exactly the quota is created, however the creates race"
    );
    assert_eq!(store.usage("alice", now).await.unwrap().stored, 5);
}

/// See the module docs: creates racing with one id (an idempotent create's
/// retries) store one task, counted once.
pub async fn creates_racing_with_one_id_store_one_task(store: Arc<dyn TaskStore>) {
    let now = Utc::now();
    let first = record("alice", None, now);
    let creates = (0..16).map(|n| {
        let store = store.clone();
        let mut attempt = first.clone();
        // Each racer's record differs, so none is mistaken for a retry of
        // another's write.
        attempt.arguments = json!({"n": n}).into();
        tokio::spawn(async move { store.create(attempt, OwnerQuota::active(100), now).await })
    });
    let mut stored = Vec::new();
    for outcome in futures::future::join_all(creates).await {
        match outcome.unwrap() {
            Ok(created) => stored.push(created),
            Err(StoreError::Duplicate) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(stored.len(), 1, "exactly one create with an id wins");
    assert_eq!(
        store.get("alice", &first.id, now).await.unwrap(),
        stored[0],
        "the winner is what is stored"
    );
    let usage = store.usage("alice", now).await.unwrap();
    assert_eq!((usage.active, usage.stored), (1, 1), "counted once");
}
