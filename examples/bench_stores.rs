//! Store benchmark, side by side in one process: our `MemoryStore` against
//! pmcp 2.23's `InMemoryTaskStore`.
//!
//! ```text
//! cargo run --release --example bench_stores
//! ```
//!
//! 1. Lifecycle throughput, one task at a time: create → complete with its
//!    result → get → read the result.
//! 2. The cost of one create and one get with N live tasks already stored,
//!    for N = 1 000, 10 000 and 100 000, one owner and 1 000 owners.
//!
//! Each figure is the median of 5 rounds, alternating the stores so machine
//! noise hits both. Read the ratios, not the absolute numbers.

use chrono::Utc;
use pmcp::server::task_store::{InMemoryTaskStore, StoreConfig, TaskStore as PmcpStore};
use pmcp::types::tasks::TaskStatus as PmcpStatus;
use pmcp::types::{CallToolResult, Content};
use pmcp_tasks::domain::{Era, NewTask, TaskOutcome, TaskRecord};
use pmcp_tasks::store::{self, MemoryStore, TaskStore};
use serde_json::json;
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;

fn new_task(owner: &str) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: owner.into(),
            era: Era::V2025_11_25,
            tool: "job".into(),
            arguments: json!({}),
            ttl: Some(Duration::from_secs(3600)),
            poll_interval: None,
            input_responses: Default::default(),
        },
        Utc::now(),
    )
}

fn pmcp_store() -> InMemoryTaskStore {
    InMemoryTaskStore::with_config(StoreConfig {
        max_tasks_per_owner: usize::MAX,
        max_ttl_ms: None,
        ..StoreConfig::default()
    })
}

async fn ours_lifecycle(store: &MemoryStore, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let t = store.create(new_task("alice"), usize::MAX).await.unwrap();
        store::update(store, "alice", &t.id, |r, now| {
            r.finish(
                TaskOutcome::Result {
                    value: json!({"content": [{"type": "text", "text": "done"}]}),
                },
                now,
            )
        })
        .await
        .unwrap();
        let got = store.get("alice", &t.id).await.unwrap();
        assert!(got.outcome.is_some());
    }
    start.elapsed()
}

async fn pmcp_lifecycle(store: &InMemoryTaskStore, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let t = store.create("alice", Some(3_600_000)).await.unwrap();
        store
            .set_result(
                &t.task_id,
                "alice",
                CallToolResult::new(vec![Content::text("done")]),
            )
            .await
            .unwrap();
        store
            .update_status(&t.task_id, "alice", PmcpStatus::Completed, None)
            .await
            .unwrap();
        store.get(&t.task_id, "alice").await.unwrap();
        store.get_result(&t.task_id, "alice").await.unwrap();
    }
    start.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn per_op(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("# Store benchmark (`cargo run --release --example bench_stores`)\n");
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. Lifecycle, on stores that start empty and grow by n per round.
    let n = 5_000;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(ours_lifecycle(&MemoryStore::new(), n).await);
        theirs.push(pmcp_lifecycle(&pmcp_store(), n).await);
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!("\n## Lifecycle, one at a time ({n} tasks per round, median of {ROUNDS})\n");
    println!("| store | µs per task | tasks/s | ratio (pmcp / ours) |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| pmcp-tasks MemoryStore | {:.2} | {:.0} | 1.00 |",
        per_op(ours, n),
        n as f64 / ours.as_secs_f64()
    );
    println!(
        "| pmcp 2.23 InMemoryTaskStore | {:.2} | {:.0} | {:.2} |",
        per_op(theirs, n),
        n as f64 / theirs.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );

    // 2. Create and get with N live tasks.
    println!(
        "\n## One create + one get with N live tasks (µs, median of {ROUNDS} × 200 operations)\n"
    );
    println!("| live tasks | owners | ours create+get | pmcp create+get | ratio (pmcp / ours) |");
    println!("| --- | --- | --- | --- | --- |");
    for live in [1_000usize, 10_000, 100_000] {
        for owners in [1usize, 1_000] {
            let ours_store = MemoryStore::new();
            let pmcp = pmcp_store();
            for i in 0..live {
                let owner = format!("owner-{}", i % owners);
                ours_store
                    .create(new_task(&owner), usize::MAX)
                    .await
                    .unwrap();
                pmcp.create(&owner, Some(3_600_000)).await.unwrap();
            }
            let ops = 200;
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                let start = Instant::now();
                for _ in 0..ops {
                    let t = ours_store
                        .create(new_task("owner-0"), usize::MAX)
                        .await
                        .unwrap();
                    ours_store.get("owner-0", &t.id).await.unwrap();
                }
                a.push(start.elapsed());
                let start = Instant::now();
                for _ in 0..ops {
                    let t = pmcp.create("owner-0", Some(3_600_000)).await.unwrap();
                    pmcp.get(&t.task_id, "owner-0").await.unwrap();
                }
                b.push(start.elapsed());
            }
            let (a, b) = (median(a), median(b));
            println!(
                "| {live} | {owners} | {:.2} | {:.2} | {:.1} |",
                per_op(a, ops),
                per_op(b, ops),
                b.as_secs_f64() / a.as_secs_f64()
            );
        }
    }
}
