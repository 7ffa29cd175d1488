//! Lifecycle throughput and allocations per lifecycle.

use crate::alloc::{counting_allocations, ALLOCATIONS, ASKED_BYTES};
use crate::report::{median, us};
use crate::stores::{Kind, Store};
use crate::{Options, IN_FLIGHT};
use pmcp_tasks_examples::bench::thousands;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `n` lifecycles on each of `stores` fresh stores in turn, `in_flight` at a
/// time; the time per store. (A sample of one store of 640 tasks lasts about
/// two milliseconds, of which waking the runtime's second worker is a noisy
/// part: several stores per sample measure the stores rather than that.)
pub(crate) async fn lifecycle_run(
    kind: Kind,
    n: usize,
    in_flight: usize,
    stores: usize,
) -> Duration {
    let fresh: Vec<Store> = (0..stores.max(1)).map(|_| Store::new(kind)).collect();
    let start = Instant::now();
    for store in &fresh {
        if in_flight <= 1 {
            for _ in 0..n {
                store.lifecycle("alice").await;
            }
            continue;
        }
        let per = n / in_flight;
        let workers: Vec<_> = (0..in_flight)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..per {
                        store.lifecycle("alice").await;
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
    }
    let elapsed = start.elapsed();
    drop(fresh);
    elapsed / stores.max(1) as u32
}

/// How far a fill got: tasks stored, the time it took, and a fit of
/// `a·n + b·n²` to its progress (for extrapolating to larger fills).
/// (tasks per round, in flight, kind) → median time of a round.
pub(crate) type LifecycleResults = Vec<(usize, usize, Kind, Duration)>;

pub(crate) async fn lifecycle_section(opts: &Options) -> LifecycleResults {
    // Warm up every path once.
    let kinds = &opts.kinds;
    for &kind in kinds {
        lifecycle_run(kind, 64, 1, 1).await;
        lifecycle_run(kind, 64, IN_FLIGHT, 1).await;
    }
    let configs: Vec<(usize, usize)> = opts
        .lifecycle_sizes
        .iter()
        .flat_map(|&n| [(n, 1), (n, IN_FLIGHT)])
        .collect();
    let mut samples = vec![vec![Vec::new(); kinds.len()]; configs.len()];
    for round in 0..opts.rounds {
        for (c, &(n, in_flight)) in configs.iter().enumerate() {
            for k in 0..kinds.len() {
                let k = (k + round) % kinds.len();
                let stores = opts.tasks_per_sample.div_ceil(n);
                samples[c][k].push(lifecycle_run(kinds[k], n, in_flight, stores).await);
            }
        }
    }
    println!(
        "\n## Lifecycle: create → complete with result → get → get result (median of {} rounds)\n",
        opts.rounds
    );
    println!(
        "Each round starts from an empty store and leaves its tasks in it (all of one owner); \
         a sample runs rounds on fresh stores in turn until it has done at least {} tasks \
         (`--tasks-per-sample N`).",
        opts.tasks_per_sample
    );
    println!();
    println!("| tasks per round | in flight | store | µs per task | tasks/s | ours ÷ this (throughput) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut results = Vec::new();
    for (c, &(n, in_flight)) in configs.iter().enumerate() {
        let medians: Vec<Duration> = samples[c].iter().map(|s| median(s.clone())).collect();
        let ours = kinds
            .iter()
            .position(|k| *k == Kind::Ours)
            .map(|k| medians[k]);
        for (k, kind) in kinds.iter().enumerate() {
            let d = medians[k];
            println!(
                "| {} | {} | {} | {:.2} | {} | {:.2} |",
                thousands(n as f64),
                in_flight,
                kind.name(),
                us(d) / n as f64,
                thousands(n as f64 / d.as_secs_f64()),
                ours.map_or(f64::NAN, |o| d.as_secs_f64() / o.as_secs_f64())
            );
            results.push((n, in_flight, *kind, d));
        }
    }
    results
}

/// Lifecycles whose allocations are counted, per store, one at a time.
pub(crate) const COUNTED_LIFECYCLES: usize = 1_000;

pub(crate) async fn allocations_section(opts: &Options) {
    println!(
        "\n## Allocations per lifecycle ({} lifecycles one at a time, after {} to warm up)\n",
        thousands(COUNTED_LIFECYCLES as f64),
        thousands(COUNTED_LIFECYCLES as f64)
    );
    println!(
        "Counted by the benchmark's global allocator: every allocation and reallocation, \
         and the bytes each asked for (not net of frees), including the record the \
         lifecycle creates and the result it completes with.\n"
    );
    println!("| store | allocations | bytes asked |");
    println!("| --- | --- | --- |");
    for &kind in &opts.kinds {
        let store = Store::new(kind);
        for _ in 0..COUNTED_LIFECYCLES {
            store.lifecycle("alice").await;
        }
        let ((), _) = counting_allocations(async {
            for _ in 0..COUNTED_LIFECYCLES {
                store.lifecycle("alice").await;
            }
        })
        .await;
        let per =
            |total: &AtomicUsize| total.load(Ordering::SeqCst) as f64 / COUNTED_LIFECYCLES as f64;
        println!(
            "| {} | {:.1} | {} |",
            kind.name(),
            per(&ALLOCATIONS),
            thousands(per(&ASKED_BYTES))
        );
    }
}
