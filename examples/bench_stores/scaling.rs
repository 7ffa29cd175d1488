//! The cost of a create and a get with N live tasks stored, and the bytes
//! per live task.

use crate::alloc::counting_allocations;
use crate::report::{human, median, us};
use crate::stores::{Kind, Store};
use crate::Options;
use pmcp_tasks_examples::bench::thousands;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most creates a store makes per round in the scaling measurement.
pub(crate) const OPS_PER_ROUND: usize = 100;
pub(crate) const OWNERS: [usize; 2] = [1, 1_000];

pub(crate) struct Point {
    pub(crate) kind: Kind,
    pub(crate) live: usize,
    pub(crate) owners: usize,
    pub(crate) create: Duration,
    pub(crate) get: Duration,
    /// Create cost ÷ create cost of a store of the same kind at the
    /// smallest size, median of the per-round ratios of the same rounds.
    pub(crate) vs_base: Option<f64>,
    /// Net bytes allocated per live task by the fill.
    pub(crate) bytes: f64,
}

#[derive(Clone, Copy)]
pub(crate) struct Progress {
    done: usize,
    took: Duration,
    fit: QuadFit,
}

impl Progress {
    /// "not measured: …" for a fill of `live` tasks.
    pub(crate) fn not_measured(&self, live: usize) -> String {
        let n = live as f64;
        format!(
            "not measured: filling {} would take about {} ({} fill, extrapolated from {} tasks \
             filled in {}); one create there would cost about {}",
            thousands(n),
            human(self.fit.total(n)),
            if self.fit.b * n > self.fit.a {
                "quadratic"
            } else {
                "linear"
            },
            thousands(self.done as f64),
            human(self.took),
            human(self.fit.marginal(n))
        )
    }
}

/// How a fill went.
pub(crate) enum Fill {
    Done {
        store: Store,
        progress: Progress,
        bytes_per_task: f64,
    },
    /// The budget ran out first.
    OutOfBudget(Progress),
}

#[derive(Clone, Copy)]
pub(crate) struct QuadFit {
    a: f64,
    b: f64,
}

impl QuadFit {
    /// Fit through two points of cumulative time: (n1, t1) and (n2, t2).
    pub(crate) fn through(n1: f64, t1: f64, n2: f64, t2: f64) -> QuadFit {
        // t = a n + b n²; with one point, a straight line.
        if n2 <= n1 {
            return QuadFit { a: t2 / n2, b: 0.0 };
        }
        let det = n1 * n2 * n2 - n2 * n1 * n1;
        let b = ((t2 * n1 - t1 * n2) / det).max(0.0);
        let a = ((t1 - b * n1 * n1) / n1).max(0.0);
        QuadFit { a, b }
    }

    pub(crate) fn total(&self, n: f64) -> Duration {
        Duration::from_secs_f64(self.a * n + self.b * n * n)
    }

    pub(crate) fn marginal(&self, n: f64) -> Duration {
        Duration::from_secs_f64(self.a + 2.0 * self.b * n)
    }
}

/// Fills a new store with `live` tasks spread over `owners`, unless that
/// takes more than `budget`. pmcp's store, whose fill is quadratic, is
/// filled from every core at once (its map is concurrent); the others from
/// one task.
pub(crate) async fn fill(kind: Kind, live: usize, owners: usize, budget: Duration) -> Fill {
    let workers = if kind == Kind::Pmcp {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    };
    let ((store, progress), bytes) = counting_allocations(async {
        let store = Store::new(kind);
        let start = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        // (tasks done, time taken) every 256 tasks of a worker, for the fit.
        let marks = Arc::new(Mutex::new(Vec::<(usize, Duration)>::new()));
        let worker = {
            let (store, next, stop, marks) =
                (store.clone(), next.clone(), stop.clone(), marks.clone());
            move || {
                let (store, next, stop, marks) =
                    (store.clone(), next.clone(), stop.clone(), marks.clone());
                async move {
                    let mut mine = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= live {
                            break;
                        }
                        store.fill_one(&format!("owner-{}", i % owners)).await;
                        mine += 1;
                        if mine.is_multiple_of(256) {
                            let took = start.elapsed();
                            marks.lock().unwrap().push((i + 1, took));
                            if took > budget {
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
        };
        if workers == 1 {
            worker().await;
        } else {
            let handles: Vec<_> = (0..workers).map(|_| tokio::spawn(worker())).collect();
            for h in handles {
                h.await.unwrap();
            }
        }
        let took = start.elapsed();
        let done = next.load(Ordering::Relaxed).min(live);
        let mut marks = marks.lock().unwrap().clone();
        marks.sort();
        let (n1, t1) = marks
            .get(marks.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or((done, took));
        let progress = Progress {
            done,
            took,
            fit: QuadFit::through(
                n1 as f64,
                t1.as_secs_f64(),
                done.max(1) as f64,
                took.as_secs_f64(),
            ),
        };
        if stop.load(Ordering::Relaxed) {
            (None, progress)
        } else {
            (Some(store), progress)
        }
    })
    .await;
    match store {
        Some(store) => Fill::Done {
            store,
            progress,
            bytes_per_task: bytes as f64 / live.max(1) as f64,
        },
        None => Fill::OutOfBudget(progress),
    }
}

/// One round of `ops` creates then `ops` gets of what was created: the
/// time of each batch.
pub(crate) async fn create_get_round(
    store: &Store,
    owner: &str,
    ops: usize,
) -> (Duration, Duration) {
    let mut ids = Vec::with_capacity(ops);
    let start = Instant::now();
    for _ in 0..ops {
        ids.push(store.create(owner).await);
    }
    let creates = start.elapsed();
    let start = Instant::now();
    for id in &ids {
        store.get(owner, id).await;
    }
    (creates, start.elapsed())
}

pub(crate) async fn scaling_section(opts: &Options) -> Vec<Point> {
    println!(
        "\n## One create and one get with N live tasks (µs per operation, median of {} rounds)\n",
        opts.rounds
    );
    let max_measured = opts.rounds * OPS_PER_ROUND;
    println!(
        "Each store is filled to N − {} and then creates up to {} more in the rounds, so it \
         holds N ± {} live tasks while measured. The measured creates and gets are by \
         `owner-0`; with 1 000 owners the fill spreads tasks over `owner-0` … `owner-999`. \
         0.2.0's store is filled through its public storage backend with the bytes its \
         `create` writes (its `create` clones every one of the owner's records); pmcp's \
         through `create`, from every core. Each store is filled and measured on its \
         own, in turn with a fresh store of its kind holding {} tasks (column \
         \"create ÷ create at\": the median of the per-round ratios), then dropped.",
        max_measured / 2,
        max_measured,
        max_measured / 2,
        thousands(opts.levels[0] as f64)
    );
    println!();
    println!(
        "| live tasks | owners | store | create µs | get µs | create + get µs | ÷ ours | create ÷ create at {} (same rounds) | bytes per live task | fill time |",
        thousands(opts.levels[0] as f64)
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut points = Vec::new();
    // The last fill of each store and owner count. A store whose fill ran
    // out of budget, or whose last fill (of a second or more) extrapolates
    // to more than the budget, is not filled at larger sizes.
    let mut last: Vec<(Kind, usize, Progress, bool)> = Vec::new();
    let base = opts.levels[0];
    for &live in &opts.levels {
        for owners in OWNERS {
            let target = live.saturating_sub(max_measured / 2);
            let mut ours_pair = None;
            for &kind in &opts.kinds {
                let row = |text: String| {
                    println!(
                        "| {} | {} | {} | {text} |",
                        thousands(live as f64),
                        thousands(owners as f64),
                        kind.short()
                    )
                };
                let before = last
                    .iter()
                    .find(|(k, o, ..)| *k == kind && *o == owners)
                    .map(|(_, _, p, gave_up)| (*p, *gave_up));
                if let Some((p, gave_up)) = before {
                    let hopeless = p.took >= Duration::from_secs(1)
                        && p.fit.total(target as f64) > opts.fill_budget;
                    if gave_up || hopeless {
                        row(format!("{} | | | | | | |", p.not_measured(live)));
                        continue;
                    }
                }
                last.retain(|(k, o, ..)| !(*k == kind && *o == owners));
                let (store, progress, bytes) =
                    match fill(kind, target, owners, opts.fill_budget).await {
                        Fill::Done {
                            store,
                            progress,
                            bytes_per_task,
                        } => (store, progress, bytes_per_task),
                        Fill::OutOfBudget(progress) => {
                            row(format!("{} | | | | | | |", progress.not_measured(live)));
                            last.push((kind, owners, progress, true));
                            continue;
                        }
                    };
                last.push((kind, owners, progress, false));
                // Beside it, a fresh store of the same kind at the smallest
                // size, measured in the same rounds: the ratio of the two
                // does not depend on how loaded the machine was when.
                let reference = if live == base {
                    None
                } else {
                    let target = base.saturating_sub(max_measured / 2);
                    match fill(kind, target, owners, opts.fill_budget).await {
                        Fill::Done { store, .. } => Some(store),
                        Fill::OutOfBudget(_) => None,
                    }
                };
                // How many creates per round the store can afford.
                let start = Instant::now();
                create_get_round(&store, "owner-0", 1).await;
                let one = start.elapsed().max(Duration::from_nanos(1));
                let ops = ((opts.round_budget.as_secs_f64() / one.as_secs_f64()) as usize)
                    .clamp(3, OPS_PER_ROUND);
                let (mut creates, mut gets, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
                for round in 0..opts.rounds {
                    let mut reference_create = None;
                    // The two in turn, each first every other round.
                    if round % 2 == 1 {
                        if let Some(r) = &reference {
                            let (c, _) = create_get_round(r, "owner-0", OPS_PER_ROUND).await;
                            reference_create = Some(c / OPS_PER_ROUND as u32);
                        }
                    }
                    let (c, g) = create_get_round(&store, "owner-0", ops).await;
                    let (c, g) = (c / ops as u32, g / ops as u32);
                    creates.push(c);
                    gets.push(g);
                    if round % 2 == 0 {
                        if let Some(r) = &reference {
                            let (rc, _) = create_get_round(r, "owner-0", OPS_PER_ROUND).await;
                            reference_create = Some(rc / OPS_PER_ROUND as u32);
                        }
                    }
                    if let Some(rc) = reference_create {
                        ratios.push(c.as_secs_f64() / rc.as_secs_f64());
                    }
                }
                drop(store);
                drop(reference);
                let create = median(creates);
                let get = median(gets);
                let pair = us(create + get);
                if kind == Kind::Ours {
                    ours_pair = Some(pair);
                }
                let vs_base = if live == base {
                    Some(1.0)
                } else if ratios.is_empty() {
                    None
                } else {
                    ratios.sort_by(f64::total_cmp);
                    Some(ratios[ratios.len() / 2])
                };
                row(format!(
                    "{:.2} | {:.2} | {:.2} | {} | {} | {} | {}{}",
                    us(create),
                    us(get),
                    pair,
                    ours_pair.map_or("—".to_owned(), |o| format!("{:.1}", pair / o)),
                    vs_base.map_or("—".to_owned(), |r| format!("{r:.2}")),
                    thousands(bytes),
                    human(progress.took),
                    if ops < OPS_PER_ROUND {
                        format!(" ({ops} creates per round)")
                    } else {
                        String::new()
                    }
                ));
                points.push(Point {
                    kind,
                    live,
                    owners,
                    create,
                    get,
                    vs_base,
                    bytes,
                });
            }
        }
    }
    points
}
