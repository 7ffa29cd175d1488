//! Store benchmark, side by side in one process: our `MemoryStore`, pmcp
//! 2.23's `InMemoryTaskStore` and the published pmcp-tasks 0.2.0's in-memory
//! store.
//!
//! ```text
//! cargo run --release --example bench_stores              # the full run (about 10 minutes on 2 cores)
//! cargo run --release --example bench_stores -- --quick   # a smoke run with small sizes
//! ```
//!
//! 1. Lifecycle throughput: create → complete with its result → get → get
//!    the result, one task at a time and 64 in flight (64 tokio tasks on a
//!    multi-thread runtime), on stores that start empty.
//! 2. The cost of one create and one get with N live tasks already stored,
//!    for N = 1 000, 10 000, 100 000 and 1 000 000, one owner and 1 000
//!    owners. A store whose fill does not finish within the fill budget is
//!    reported as not measured, with an extrapolation of the fill time.
//!    The curve is drawn to `docs/benchmarks-scaling.svg`.
//! 3. Memory per live task: the bytes the store asked the allocator for
//!    while it was filled (net of what it gave back), divided by N.
//!
//! Every figure is the median of the rounds; each round runs every store,
//! in a rotating order, so machine noise hits all of them. Read the
//! ratios, not the absolute numbers.
//!
//! Options: `--quick`; `--rounds R` (default 7); `--fill-budget SECONDS` (default 600:
//! a fill expected to take longer is not attempted); `--stores ours,pmcp,v020`;
//! `--levels 1000,1000000`; `--plot PATH` (where the SVG goes); `--tasks-per-sample N`
//! (default 6 400: a lifecycle sample runs fresh stores of the round's size in turn
//! until it has done N tasks; 1 gives one store per sample);
//! `--sections lifecycle,allocations,scaling`.

use chrono::Utc;
use plotters::prelude::*;
use pmcp::server::task_store::{InMemoryTaskStore, StoreConfig, TaskStore as PmcpStore};
use pmcp::types::tasks::TaskStatus as PmcpStatus;
use pmcp::types::{CallToolResult, Content};
use pmcp_tasks::domain::{Era, NewTask, TaskRecord};
use pmcp_tasks::store::{MemoryStore, OwnerQuota, TaskStore};
use pmcp_tasks_020::store::backend::{make_key, StorageBackend};
use pmcp_tasks_020::store::generic::GenericTaskStore;
use pmcp_tasks_020::store::memory::InMemoryBackend;
use pmcp_tasks_020::types::task::TaskStatus as V020Status;
use pmcp_tasks_020::TaskSecurityConfig;
use pmcp_tasks_examples::bench::{self, thousands};
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// A counting allocator: on only while a store is filled or a lifecycle's
// allocations are counted.
// ---------------------------------------------------------------------------

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static NET_BYTES: AtomicIsize = AtomicIsize::new(0);
/// Allocations (and reallocations) made, and the bytes they asked for.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static ASKED_BYTES: AtomicUsize = AtomicUsize::new(0);

fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        NET_BYTES.fetch_add(delta, Ordering::Relaxed);
    }
}

fn count_allocation(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ASKED_BYTES.fetch_add(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only adds to a counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
            count_allocation(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
            count_allocation(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
            count_allocation(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` with allocation counting on; returns its output and the net
/// bytes allocated meanwhile.
async fn counting_allocations<T>(f: impl std::future::Future<Output = T>) -> (T, isize) {
    NET_BYTES.store(0, Ordering::SeqCst);
    ALLOCATIONS.store(0, Ordering::SeqCst);
    ASKED_BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let out = f.await;
    COUNTING.store(false, Ordering::SeqCst);
    (out, NET_BYTES.load(Ordering::SeqCst))
}

// ---------------------------------------------------------------------------
// The three stores behind one face.
// ---------------------------------------------------------------------------

/// pmcp-tasks 0.2.0's in-memory store: `InMemoryTaskStore` is this type
/// behind a delegating wrapper; used directly so the benchmark can fill its
/// backend without going through the quadratic `create`.
type V020Store = GenericTaskStore<InMemoryBackend>;

const TTL: Duration = Duration::from_secs(3600);
const TTL_MS: u64 = 3_600_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ours,
    Pmcp,
    V020,
}

const KINDS: [Kind; 3] = [Kind::Ours, Kind::Pmcp, Kind::V020];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ours => "pmcp-tasks MemoryStore (ours)",
            Kind::Pmcp => "pmcp 2.23 InMemoryTaskStore",
            Kind::V020 => "pmcp-tasks 0.2.0 InMemoryTaskStore",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Pmcp => "pmcp",
            Kind::V020 => "v020",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Pmcp => "pmcp 2.23",
            Kind::V020 => "pmcp-tasks 0.2.0",
        }
    }
}

#[derive(Clone)]
enum Store {
    Ours(Arc<MemoryStore>),
    Pmcp(Arc<InMemoryTaskStore>),
    V020(Arc<V020Store>),
}

fn new_task(owner: &str) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: owner.into(),
            era: Era::V2025_11_25,
            tool: "job".into(),
            arguments: json!({}),
            ttl: Some(TTL),
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        Utc::now(),
    )
}

impl Store {
    fn new(kind: Kind) -> Store {
        match kind {
            Kind::Ours => Store::Ours(Arc::new(MemoryStore::new())),
            Kind::Pmcp => Store::Pmcp(Arc::new(InMemoryTaskStore::with_config(StoreConfig {
                max_tasks_per_owner: usize::MAX,
                max_ttl_ms: None,
                ..StoreConfig::default()
            }))),
            // What `InMemoryTaskStore::new()` builds, without the per-owner
            // limit of 100.
            Kind::V020 => Store::V020(Arc::new(
                GenericTaskStore::new(InMemoryBackend::new())
                    .with_poll_interval(5000)
                    .with_security(
                        TaskSecurityConfig::default().with_max_tasks_per_owner(usize::MAX),
                    ),
            )),
        }
    }

    async fn create(&self, owner: &str) -> String {
        match self {
            Store::Ours(s) => s
                .create(new_task(owner), OwnerQuota::unlimited(), Utc::now())
                .await
                .unwrap()
                .id
                .clone(),
            Store::Pmcp(s) => s.create(owner, Some(TTL_MS)).await.unwrap().task_id,
            Store::V020(s) => {
                s.create(owner, "tools/call", Some(TTL_MS))
                    .await
                    .unwrap()
                    .task
                    .task_id
            }
        }
    }

    /// What the store holds after `create`, written without the store's
    /// own `create` where that is quadratic and the state can be reached
    /// otherwise (0.2.0: its public storage backend takes the very bytes
    /// its `create` would write). pmcp's store keeps its map private, so it
    /// is filled through `create`.
    async fn fill_one(&self, owner: &str) {
        match self {
            Store::V020(s) => {
                let mut record = pmcp_tasks_020::TaskRecord::new(
                    owner.to_owned(),
                    "tools/call".to_owned(),
                    Some(TTL_MS),
                );
                record.task.poll_interval = Some(5000);
                let key = make_key(owner, &record.task.task_id);
                let bytes = serde_json::to_vec(&record).unwrap();
                s.backend().put(&key, &bytes).await.unwrap();
            }
            _ => {
                self.create(owner).await;
            }
        }
    }

    async fn get(&self, owner: &str, id: &str) {
        match self {
            Store::Ours(s) => {
                s.get(owner, id, Utc::now()).await.unwrap();
            }
            Store::Pmcp(s) => {
                s.get(id, owner).await.unwrap();
            }
            Store::V020(s) => {
                s.get(id, owner).await.unwrap();
            }
        }
    }

    /// One task's life as a server drives it: create; complete with the
    /// result (one atomic write where the store has one); `tasks/get`;
    /// `tasks/result`.
    async fn lifecycle(&self, owner: &str) {
        match self {
            Store::Ours(s) => bench::lifecycle(&**s, new_task(owner)).await,
            Store::Pmcp(s) => {
                let t = s.create(owner, Some(TTL_MS)).await.unwrap();
                s.set_result(
                    &t.task_id,
                    owner,
                    CallToolResult::new(vec![Content::text("done")]),
                )
                .await
                .unwrap();
                s.update_status(&t.task_id, owner, PmcpStatus::Completed, None)
                    .await
                    .unwrap();
                s.get(&t.task_id, owner).await.unwrap();
                s.get_result(&t.task_id, owner).await.unwrap();
            }
            Store::V020(s) => {
                let t = s.create(owner, "tools/call", Some(TTL_MS)).await.unwrap();
                let id = &t.task.task_id;
                s.complete_with_result(
                    id,
                    owner,
                    V020Status::Completed,
                    None,
                    json!({"content": [{"type": "text", "text": "done"}]}),
                )
                .await
                .unwrap();
                s.get(id, owner).await.unwrap();
                s.get_result(id, owner).await.unwrap();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Measurements.
// ---------------------------------------------------------------------------

/// `n` lifecycles on each of `stores` fresh stores in turn, `in_flight` at a
/// time; the time per store. (A sample of one store of 640 tasks lasts about
/// two milliseconds, of which waking the runtime's second worker is a noisy
/// part: several stores per sample measure the stores rather than that.)
async fn lifecycle_run(kind: Kind, n: usize, in_flight: usize, stores: usize) -> Duration {
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
#[derive(Clone, Copy)]
struct Progress {
    done: usize,
    took: Duration,
    fit: QuadFit,
}

impl Progress {
    /// "not measured: …" for a fill of `live` tasks.
    fn not_measured(&self, live: usize) -> String {
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
enum Fill {
    Done {
        store: Store,
        progress: Progress,
        bytes_per_task: f64,
    },
    /// The budget ran out first.
    OutOfBudget(Progress),
}

#[derive(Clone, Copy)]
struct QuadFit {
    a: f64,
    b: f64,
}

impl QuadFit {
    /// Fit through two points of cumulative time: (n1, t1) and (n2, t2).
    fn through(n1: f64, t1: f64, n2: f64, t2: f64) -> QuadFit {
        // t = a n + b n²; with one point, a straight line.
        if n2 <= n1 {
            return QuadFit { a: t2 / n2, b: 0.0 };
        }
        let det = n1 * n2 * n2 - n2 * n1 * n1;
        let b = ((t2 * n1 - t1 * n2) / det).max(0.0);
        let a = ((t1 - b * n1 * n1) / n1).max(0.0);
        QuadFit { a, b }
    }

    fn total(&self, n: f64) -> Duration {
        Duration::from_secs_f64(self.a * n + self.b * n * n)
    }

    fn marginal(&self, n: f64) -> Duration {
        Duration::from_secs_f64(self.a + 2.0 * self.b * n)
    }
}

/// Fills a new store with `live` tasks spread over `owners`, unless that
/// takes more than `budget`. pmcp's store, whose fill is quadratic, is
/// filled from every core at once (its map is concurrent); the others from
/// one task.
async fn fill(kind: Kind, live: usize, owners: usize, budget: Duration) -> Fill {
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
async fn create_get_round(store: &Store, owner: &str, ops: usize) -> (Duration, Duration) {
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

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 2.0 * 86_400.0 {
        format!("{:.1} days", s / 86_400.0)
    } else if s >= 2.0 * 3600.0 {
        format!("{:.1} hours", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.0} minutes", s / 60.0)
    } else if s >= 1.0 {
        format!("{s:.1} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

// ---------------------------------------------------------------------------
// Options.
// ---------------------------------------------------------------------------

struct Options {
    quick: bool,
    /// The stores to run (`--stores ours,pmcp,v020`; all by default).
    kinds: Vec<Kind>,
    rounds: usize,
    lifecycle_sizes: Vec<usize>,
    /// The fewest lifecycles one sample runs, on as many fresh stores of
    /// the round's size as that takes.
    tasks_per_sample: usize,
    levels: Vec<usize>,
    fill_budget: Duration,
    /// Aim for at most this much time per store per round of creates.
    round_budget: Duration,
    plot: PathBuf,
    /// The sections to run (`--sections lifecycle,allocations,scaling`;
    /// all by default).
    sections: Vec<String>,
}

impl Options {
    fn runs(&self, section: &str) -> bool {
        self.sections.iter().any(|s| s == section)
    }
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let default_plot = if quick {
        manifest.join("../target/bench-quick/benchmarks-scaling.svg")
    } else {
        manifest.join("../docs/benchmarks-scaling.svg")
    };
    let kinds = match value("--stores") {
        None => KINDS.to_vec(),
        Some(list) => KINDS
            .into_iter()
            .filter(|k| list.split(',').any(|w| w == k.key()))
            .collect(),
    };
    assert!(
        !kinds.is_empty(),
        "--stores takes a list of ours, pmcp, v020"
    );
    Options {
        quick,
        kinds,
        rounds: value("--rounds")
            .map(|v| v.parse().expect("--rounds takes a number"))
            .unwrap_or(if quick { 3 } else { 7 }),
        lifecycle_sizes: if quick { vec![640] } else { vec![640, 6400] },
        tasks_per_sample: value("--tasks-per-sample")
            .map(|v| v.parse().expect("--tasks-per-sample takes a number"))
            .unwrap_or(6400),
        levels: match value("--levels") {
            Some(list) => list
                .split(',')
                .map(|n| n.parse().expect("--levels takes numbers"))
                .collect(),
            None if quick => vec![1_000, 10_000],
            None => vec![1_000, 10_000, 100_000, 1_000_000],
        },
        fill_budget: Duration::from_secs_f64(
            value("--fill-budget")
                .map(|v| v.parse().expect("--fill-budget takes seconds"))
                .unwrap_or(if quick { 3.0 } else { 600.0 }),
        ),
        round_budget: Duration::from_millis(if quick { 200 } else { 1000 }),
        plot: value("--plot").map(PathBuf::from).unwrap_or(default_plot),
        sections: value("--sections")
            .unwrap_or_else(|| "lifecycle,allocations,scaling".into())
            .split(',')
            .map(str::to_owned)
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------

/// The most creates a store makes per round in the scaling measurement.
const OPS_PER_ROUND: usize = 100;
const IN_FLIGHT: usize = 64;
const OWNERS: [usize; 2] = [1, 1_000];

struct Point {
    kind: Kind,
    live: usize,
    owners: usize,
    create: Duration,
    get: Duration,
    /// Create cost ÷ create cost of a store of the same kind at the
    /// smallest size, median of the per-round ratios of the same rounds.
    vs_base: Option<f64>,
    /// Net bytes allocated per live task by the fill.
    bytes: f64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let opts = options();
    println!(
        "# Store benchmark (`cargo run --release --example bench_stores{}`)\n",
        if opts.quick { " -- --quick" } else { "" }
    );
    println!(
        "cores: {}; rounds: {}; fill budget: {} per store and size{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        opts.rounds,
        human(opts.fill_budget),
        if opts.quick {
            " (quick: small sizes, a smoke test)"
        } else {
            ""
        }
    );
    if cfg!(debug_assertions) {
        println!("WARNING: a debug build; the figures mean nothing, use --release");
    }

    let lifecycle = if opts.runs("lifecycle") {
        lifecycle_section(&opts).await
    } else {
        Vec::new()
    };
    if opts.runs("allocations") {
        allocations_section(&opts).await;
    }
    let points = if opts.runs("scaling") {
        scaling_section(&opts).await
    } else {
        Vec::new()
    };
    memory(&points);
    targets(&lifecycle, &points);
    if points.is_empty() {
        return;
    }
    match plot(&opts.plot, &points) {
        Ok(()) => println!("\nplot of the scaling curve: {}", opts.plot.display()),
        Err(e) => println!("\nthe plot could not be written: {e}"),
    }
}

/// (tasks per round, in flight, kind) → median time of a round.
type LifecycleResults = Vec<(usize, usize, Kind, Duration)>;

async fn lifecycle_section(opts: &Options) -> LifecycleResults {
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
const COUNTED_LIFECYCLES: usize = 1_000;

async fn allocations_section(opts: &Options) {
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

async fn scaling_section(opts: &Options) -> Vec<Point> {
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

fn memory(points: &[Point]) {
    if points.is_empty() {
        return;
    }
    println!("\n## Memory per live task (bytes the fill allocated, net, ÷ tasks)\n");
    println!(
        "Bytes asked of the allocator, not counting its own overhead. A `TaskRecord` (ours) \
         is {} bytes before its heap parts.\n",
        std::mem::size_of::<TaskRecord>()
    );
    println!("| store | live tasks | 1 owner | 1 000 owners |");
    println!("| --- | --- | --- | --- |");
    for kind in KINDS {
        let mine: Vec<&Point> = points.iter().filter(|p| p.kind == kind).collect();
        let Some(largest) = mine.iter().map(|p| p.live).max() else {
            continue;
        };
        let at = |owners: usize| {
            mine.iter()
                .find(|p| p.live == largest && p.owners == owners)
                .map_or("—".to_owned(), |p| thousands(p.bytes))
        };
        println!(
            "| {} | {} | {} | {} |",
            kind.name(),
            thousands(largest as f64),
            at(1),
            at(1_000)
        );
    }
}

fn targets(lifecycle: &LifecycleResults, points: &[Point]) {
    println!("\n## Targets\n");
    let find = |n: usize, f: usize, kind: Kind| {
        lifecycle
            .iter()
            .find(|(a, b, k, _)| *a == n && *b == f && *k == kind)
            .map(|r| r.3)
    };
    let mut sizes: Vec<usize> = lifecycle.iter().map(|r| r.0).collect();
    sizes.dedup();
    for (other, want) in [(Kind::Pmcp, 2.0), (Kind::V020, 3.0)] {
        for &n in &sizes {
            for f in [1, IN_FLIGHT] {
                if let (Some(ours), Some(theirs)) = (find(n, f, Kind::Ours), find(n, f, other)) {
                    let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
                    println!(
                        "- lifecycle throughput ≥ {want}× {} ({} tasks per round, {f} in flight): \
                         {ratio:.2}× — {}",
                        other.short(),
                        thousands(n as f64),
                        if ratio >= want { "met" } else { "MISSED" }
                    );
                }
            }
        }
    }
    for owners in OWNERS {
        let at = |live: usize| {
            points
                .iter()
                .find(|p| p.kind == Kind::Ours && p.live == live && p.owners == owners)
        };
        let lo = points
            .iter()
            .filter(|p| p.kind == Kind::Ours)
            .map(|p| p.live)
            .min();
        let hi = points
            .iter()
            .filter(|p| p.kind == Kind::Ours)
            .map(|p| p.live)
            .max();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if let (Some(a), Some(b)) = (at(lo), at(hi)) {
                let across = b.create.as_secs_f64() / a.create.as_secs_f64();
                let Some(ratio) = b.vs_base else { continue };
                println!(
                    "- our create at {} live tasks within 1.2× of its cost at {} ({} owner{}): \
                     {ratio:.2}× in the same rounds ({across:.2}× between the two rows, \
                     measured at different times) — {}",
                    thousands(hi as f64),
                    thousands(lo as f64),
                    thousands(owners as f64),
                    if owners == 1 { "" } else { "s" },
                    if ratio <= 1.2 { "met" } else { "MISSED" }
                );
            }
        }
    }
}

fn plot(path: &std::path::Path, points: &[Point]) -> Result<(), Box<dyn std::error::Error>> {
    if points.is_empty() {
        return Err("nothing measured".into());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let pair = |p: &Point| us(p.create + p.get);
    let x_max = points.iter().map(|p| p.live).max().unwrap_or(1) as f64;
    let x_min = points.iter().map(|p| p.live).min().unwrap_or(1) as f64;
    let y_max = points.iter().map(pair).fold(f64::MIN, f64::max);
    let y_min = points.iter().map(pair).fold(f64::MAX, f64::min);
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "One create + one get with N live tasks, µs (median; log–log)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (x_min / 1.5..x_max * 1.5).log_scale(),
            (y_min / 2.0..y_max * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("live tasks")
        .y_desc("µs per create + get")
        .x_label_formatter(&|v| thousands(*v))
        .y_label_formatter(&|v| {
            if *v >= 1.0 {
                thousands(*v)
            } else {
                format!("{v}")
            }
        })
        .draw()?;
    let colours = [BLUE, RED, RGBColor(0, 140, 0)];
    for (k, kind) in KINDS.iter().enumerate() {
        for owners in OWNERS {
            let mut series: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.kind == *kind && p.owners == owners)
                .map(|p| (p.live as f64, pair(p)))
                .collect();
            if series.is_empty() {
                continue;
            }
            series.sort_by(|a, b| a.0.total_cmp(&b.0));
            let colour = colours[k];
            let label = format!(
                "{}, {} owner{}",
                kind.short(),
                thousands(owners as f64),
                if owners == 1 { "" } else { "s" }
            );
            if owners == 1 {
                chart
                    .draw_series(LineSeries::new(series.clone(), colour.stroke_width(2)))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
                chart.draw_series(series.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
            } else {
                chart
                    .draw_series(DashedLineSeries::new(
                        series.clone(),
                        6,
                        4,
                        colour.stroke_width(2),
                    ))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(1))
                    });
                chart.draw_series(
                    series
                        .iter()
                        .map(|&p| TriangleMarker::new(p, 5, colour.filled())),
                )?;
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}
