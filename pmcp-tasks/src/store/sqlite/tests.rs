//! The SQLite store's own tests, and the conformance suite on a file.

use super::*;
use crate::domain::{Era, NewTask};
use serde_json::json;

#[tokio::test]
async fn tasks_survive_reopening_the_file() {
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.db");
    let now = Utc::now();
    let record = TaskRecord::new(
        NewTask {
            owner: "alice".into(),
            era: Era::V2026_07_28,
            tool: "t".into(),
            arguments: json!({"n": 1}),
            ttl: None,
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        now,
    );
    let created = SqliteStore::open(&path)
        .unwrap()
        .create(record, OwnerQuota::active(10), now)
        .await
        .unwrap();
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(
        reopened.get("alice", &created.id, now).await.unwrap(),
        created
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Two stores on one file, as two processes would have: the quota check
/// and the insert are one transaction, so racing creates never pass it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_openers_of_one_file_never_pass_the_stored_quota_together() {
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.db");
    let stores = [
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    ];
    let quota = OwnerQuota {
        max_stored: 5,
        ..OwnerQuota::active(100)
    };
    let now = Utc::now();
    let creates = (0..40).map(|i| {
        let store = stores[i % 2].clone();
        let record = TaskRecord::new(
            NewTask {
                owner: "alice".into(),
                era: Era::V2026_07_28,
                tool: "t".into(),
                arguments: json!({}),
                ttl: None,
                poll_interval: None,
                input_responses: Default::default(),
                variables: Default::default(),
                client_elicits: None,
            },
            now,
        );
        tokio::spawn(async move { store.create(record, quota, now).await })
    });
    let created = futures::future::join_all(creates)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(created, 5);
    assert_eq!(stores[0].usage("alice", now).await.unwrap().stored, 5);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unopenable_path_is_a_clear_error() {
    let err = SqliteStore::open("/nonexistent-dir/x/tasks.db").unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot open /nonexistent-dir/x/tasks.db"),
        "{err}"
    );
}

/// The suite on a file (not `in_memory`, which has no change feed), in a
/// directory removed when the store goes.
mod conformance {
    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn on_a_file() -> crate::store::conformance::Guarded<crate::store::SqliteStore> {
        let dir = std::env::temp_dir().join(format!("pmcp-tasks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = crate::store::SqliteStore::open(dir.join("tasks.db")).unwrap();
        crate::store::conformance::Guarded::new(store, TempDir(dir))
    }

    crate::store_conformance_tests!(std::sync::Arc::new(on_a_file()));
}

/// A record whose arguments take about `bytes`.
fn bulky(owner: &str, bytes: usize, now: DateTime<Utc>) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: owner.into(),
            era: Era::V2026_07_28,
            tool: "t".into(),
            arguments: json!({"pad": "x".repeat(bytes)}),
            ttl: None,
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        now,
    )
}

/// A full disk, simulated with the size cap (SQLite answers both with the
/// same `SQLITE_FULL`): writes are refused whole as an outage, what was
/// stored stays intact and counted, and room made ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_refuses_writes_as_unavailable_and_keeps_what_it_has() {
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("tasks.db")).unwrap();
    store.set_max_size(256 * 1024).await.unwrap();
    let now = Utc::now();
    let mut kept = Vec::new();
    let refusal = loop {
        match store
            .create(bulky("alice", 8 * 1024, now), OwnerQuota::unlimited(), now)
            .await
        {
            Ok(created) => kept.push(created),
            Err(e) => break e,
        }
        assert!(kept.len() < 200, "the cap never bit");
    };
    assert!(
        matches!(&refusal, StoreError::Unavailable(m) if m.contains("cannot grow")),
        "{refusal:?}"
    );
    assert!(!kept.is_empty());
    // An update that grows a record is refused too, and changes nothing.
    let mut grown = TaskRecord::clone(&kept[0]);
    grown
        .variables_mut()
        .insert("big".into(), json!("y".repeat(64 * 1024)));
    let refused = store.compare_and_set(grown, now).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    for task in &kept {
        assert_eq!(&store.get("alice", &task.id, now).await.unwrap(), task);
    }
    let usage = store.usage("alice", now).await.unwrap();
    assert_eq!(
        usage.stored,
        kept.len(),
        "no half-written create is counted"
    );
    store.set_max_size(64 * 1024 * 1024).await.unwrap();
    store
        .create(bulky("alice", 8 * 1024, now), OwnerQuota::unlimited(), now)
        .await
        .expect("room made, writes work again");
    std::fs::remove_dir_all(dir).unwrap();
}
