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
//!    while it was filled (net of what it gave back), divided by N; and
//!    (section `finished`, run by default only with `--quick`) the same for
//!    tasks that all ended with a small result.
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
//! `--sections lifecycle,allocations,scaling,finished`.

use std::path::PathBuf;
use std::time::Duration;

mod alloc;
mod finished;
mod lifecycle;
mod report;
mod scaling;
mod stores;

use finished::finished_section;
use lifecycle::{allocations_section, lifecycle_section};
use report::{human, memory, plot, targets};
use scaling::scaling_section;
use stores::{Kind, KINDS};

// ---------------------------------------------------------------------------
// Options.
// ---------------------------------------------------------------------------

pub(crate) struct Options {
    pub(crate) quick: bool,
    /// The stores to run (`--stores ours,pmcp,v020`; all by default).
    pub(crate) kinds: Vec<Kind>,
    pub(crate) rounds: usize,
    pub(crate) lifecycle_sizes: Vec<usize>,
    /// The fewest lifecycles one sample runs, on as many fresh stores of
    /// the round's size as that takes.
    pub(crate) tasks_per_sample: usize,
    pub(crate) levels: Vec<usize>,
    pub(crate) fill_budget: Duration,
    /// Aim for at most this much time per store per round of creates.
    pub(crate) round_budget: Duration,
    pub(crate) plot: PathBuf,
    /// The sections to run (`--sections lifecycle,allocations,scaling`;
    /// all by default).
    pub(crate) sections: Vec<String>,
}

impl Options {
    pub(crate) fn runs(&self, section: &str) -> bool {
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
        // The quick run (CI's smoke run) takes every section, so none rots.
        sections: value("--sections")
            .unwrap_or_else(|| {
                if quick {
                    "lifecycle,allocations,scaling,finished".into()
                } else {
                    "lifecycle,allocations,scaling".into()
                }
            })
            .split(',')
            .map(str::to_owned)
            .collect(),
    }
}

/// Tasks in flight in the "64 in flight" measurements.
pub(crate) const IN_FLIGHT: usize = 64;

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
    if opts.runs("finished") {
        finished_section(&opts).await;
    }
    targets(&lifecycle, &points);
    if points.is_empty() {
        return;
    }
    match plot(&opts.plot, &points) {
        Ok(()) => println!("\nplot of the scaling curve: {}", opts.plot.display()),
        Err(e) => println!("\nthe plot could not be written: {e}"),
    }
}
