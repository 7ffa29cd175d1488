//! Runnable examples of pmcp-tasks; see `quickstart.rs`. This library only
//! holds what the benchmark examples share.

/// Pieces the `bench_*` examples share.
pub mod bench {
    use chrono::Utc;
    use pmcp_tasks::clock::SystemClock;
    use pmcp_tasks::domain::{TaskOutcome, TaskRecord};
    use pmcp_tasks::store::{self, TaskStore};
    use serde_json::json;

    /// One task's life on one of our stores, as a server drives it: create
    /// `record`, complete it with a result, get it, and get it again for
    /// its result (`tasks/result` reads the record again).
    pub async fn lifecycle(store: &dyn TaskStore, record: TaskRecord) {
        let owner = record.owner.clone();
        let t = store.create(record, usize::MAX, Utc::now()).await.unwrap();
        store::update(store, &SystemClock, &owner, &t.id, |r, now| {
            r.finish(
                TaskOutcome::Result {
                    value: json!({"content": [{"type": "text", "text": "done"}]}),
                },
                now,
            )
        })
        .await
        .unwrap();
        let got = store.get(&owner, &t.id, Utc::now()).await.unwrap();
        assert!(got.status.is_terminal());
        let got = store.get(&owner, &t.id, Utc::now()).await.unwrap();
        assert!(got.outcome.is_some());
    }

    /// `n` rounded, with a space between thousands: `1234567` → `1 234 567`.
    pub fn thousands(n: f64) -> String {
        let s = format!("{:.0}", n);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}
