//! Side-by-side benchmark of MCP task servers over streamable HTTP: ours
//! (pmcp-tasks) against rmcp 3.11's task manager and turul 0.4.5, each a
//! separate process started here on a free loopback port. With
//! `--in-process`, the servers that can be served over a byte stream (ours
//! and rmcp) run in this process instead, reached over in-memory streams.
//!
//! One round trip: a task-augmented `tools/call` of `job` (finishes at once,
//! 1 KB text result), `tasks/get` until `completed`, then the result
//! (2025-11-25: `tasks/result`; 2026-07-28: inline in `tasks/get`), checked.
//! At each client count every client is its own connection (and session
//! where the era has sessions). Each phase starts a fresh server, connects
//! and warms up (not measured), then times a fixed number of round trips
//! per client (capped by a time budget) and reads the server's CPU time
//! from /proc before and after. Rounds alternate the servers so that
//! machine noise hits all of them.
//!
//! ```text
//! peer-bench [--quick] [--rounds N] [--sqlite] [--in-process] [--bin-dir DIR] [--only ours,rmcp,turul]
//! ```

mod client;
mod inproc;
mod report;
mod server;

use client::{Client, Era};
use report::{Outcome, Phase, Row};
use server::Server;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One server in one era and store, or a sentence on why it cannot be run.
struct Target {
    server: &'static str,
    binary: &'static str,
    era: Era,
    store: &'static str,
    cannot: Option<&'static str>,
}

/// A client count with its workload.
#[derive(Clone, Copy)]
struct Level {
    clients: usize,
    warmup_per_client: u64,
    per_client: u64,
    /// Clients start no new round trip after this long.
    budget: Duration,
}

/// Why turul is not run in process.
const TURUL_NOT_IN_PROCESS: &str = "cannot in process: turul-mcp-server 0.4.5 serves streamable HTTP (and Lambda) only; its `run()` binds its own socket and it has no stream or stdio transport";

fn targets(sqlite: bool, in_process: bool) -> Vec<Target> {
    let t = |server, binary, era, store, cannot| Target { server, binary, era, store, cannot };
    if in_process {
        let mut all = vec![
            t("ours", "", Era::V2025, "memory", None),
            t("ours", "", Era::V2026, "memory", None),
            t("rmcp", "", Era::V2025, "memory", Some("cannot: rmcp 3.11 has no 2025-11-25 tasks (its TaskManager is the 2026-07-28 extension only: no `task` param, no tasks/result, no tasks/list)")),
            t("rmcp", "", Era::V2026, "memory", None),
            t("turul", "", Era::V2025, "memory", Some(TURUL_NOT_IN_PROCESS)),
            t("turul", "", Era::V2026, "memory", Some(TURUL_NOT_IN_PROCESS)),
        ];
        for era in [Era::V2025, Era::V2026] {
            all.push(t("ours", "", era, "sqlite", (!sqlite).then_some("not run (pass --sqlite)")));
            all.push(t("rmcp", "", era, "sqlite", Some("cannot: rmcp's TaskManager keeps tasks in process memory only")));
            all.push(t("turul", "", era, "sqlite", Some(TURUL_NOT_IN_PROCESS)));
        }
        return all;
    }
    let mut all = vec![
        t("ours", "peer-ours", Era::V2025, "memory", None),
        t("ours", "peer-ours", Era::V2026, "memory", None),
        t("rmcp", "peer-rmcp", Era::V2025, "memory", Some("cannot: rmcp 3.11 has no 2025-11-25 tasks (its TaskManager is the 2026-07-28 extension only: no `task` param, no tasks/result, no tasks/list)")),
        t("rmcp", "peer-rmcp", Era::V2026, "memory", None),
        t("turul", "peer-turul-2025", Era::V2025, "memory", None),
        t("turul", "peer-turul-2026", Era::V2026, "memory", None),
    ];
    let not_run = "not built: turul's SQLite stores (sqlx 0.9) need libsqlite3-sys < 0.38 and ours' rusqlite 0.41 needs 0.39; one Cargo.lock cannot hold both (links = sqlite3)";
    for era in [Era::V2025, Era::V2026] {
        if sqlite {
            all.push(t("ours", "peer-ours", era, "sqlite", None));
        } else {
            all.push(t("ours", "peer-ours", era, "sqlite", Some("not run (pass --sqlite)")));
        }
        all.push(t("rmcp", "peer-rmcp", era, "sqlite", Some("cannot: rmcp's TaskManager keeps tasks in process memory only")));
        all.push(t("turul", if era == Era::V2025 { "peer-turul-2025" } else { "peer-turul-2026" }, era, "sqlite", Some(not_run)));
    }
    all
}

fn levels(quick: bool) -> Vec<Level> {
    if quick {
        vec![
            Level { clients: 1, warmup_per_client: 20, per_client: 300, budget: Duration::from_secs(3) },
            Level { clients: 64, warmup_per_client: 2, per_client: 20, budget: Duration::from_secs(3) },
        ]
    } else {
        vec![
            Level { clients: 1, warmup_per_client: 100, per_client: 3000, budget: Duration::from_secs(15) },
            Level { clients: 64, warmup_per_client: 5, per_client: 150, budget: Duration::from_secs(15) },
        ]
    }
}

/// One measured phase against a fresh server: a process of its own, or
/// (`in_process`) a runtime of its own in this process.
async fn run_phase(bin_dir: &Path, target: &Target, level: Level, tag: usize, in_process: bool) -> Result<Phase, String> {
    let db = std::env::temp_dir().join(format!("peer-bench-{}-{tag}.db", std::process::id()));
    let store_url = if target.store == "sqlite" { format!("sqlite:{}", db.display()) } else { "memory".to_owned() };
    let outcome = if in_process {
        let server = inproc::InProcess::start(target.server, &store_url, tag).await?;
        let outcome = drive(&Endpoint::InProcess(&server), target.era, level).await;
        server.stop().await;
        outcome
    } else {
        let mut args = Vec::new();
        if target.store == "sqlite" {
            args = vec!["--store".to_string(), store_url];
        }
        let server = Server::start(&bin_dir.join(target.binary), &args).await?;
        let outcome = drive(&Endpoint::Process(&server), target.era, level).await;
        server.stop().await;
        outcome
    };
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    outcome
}

/// Where the clients find the server, and how its CPU time is read.
enum Endpoint<'a> {
    Process(&'a Server),
    InProcess(&'a inproc::InProcess),
}

impl Endpoint<'_> {
    async fn connect(&self, era: Era) -> Result<Client, String> {
        match self {
            Endpoint::Process(server) => Client::connect(&server.url, era).await,
            Endpoint::InProcess(server) => Client::over_stream(server.connect(), era).await,
        }
    }

    /// The server's CPU seconds so far, and the client's (this process's,
    /// less the server's threads when the server runs here).
    fn cpu_seconds(&self) -> Result<(f64, f64), String> {
        let own = server::own_cpu_seconds()?;
        match self {
            Endpoint::Process(server) => Ok((server.cpu_seconds()?, own)),
            Endpoint::InProcess(server) => {
                let serving = server.cpu_seconds()?;
                Ok((serving, own - serving))
            }
        }
    }
}

async fn drive(endpoint: &Endpoint<'_>, era: Era, level: Level) -> Result<Phase, String> {
    let mut clients = Vec::new();
    for _ in 0..level.clients {
        clients.push(endpoint.connect(era).await?);
    }
    // Warm-up: every client at once, not measured.
    let clients = run_all(clients, 1_000_000_000, level.warmup_per_client, None).await?;
    let (server_before, client_before) = endpoint.cpu_seconds()?;
    let started = Instant::now();
    let deadline = started + level.budget;
    let results = run_all(clients.into_iter().map(|(c, _, _)| c).collect(), 0, level.per_client, Some(deadline)).await?;
    let wall_s = started.elapsed().as_secs_f64();
    let (server_after, client_after) = endpoint.cpu_seconds()?;
    let mut phase = Phase {
        wall_s,
        server_cpu_s: server_after - server_before,
        client_cpu_s: client_after - client_before,
        ..Phase::default()
    };
    for (client, gets, latencies) in results {
        phase.sse_methods.extend(client.sse_methods);
        phase.gets += gets;
        phase.tasks += latencies.len() as u64;
        phase.latencies_ms.extend(latencies);
    }
    Ok(phase)
}

/// Every client runs up to `count` round trips at once (none started past
/// `deadline`); each returns its client, its tasks/get count and latencies.
async fn run_all(
    clients: Vec<Client>,
    n_base: u64,
    count: u64,
    deadline: Option<Instant>,
) -> Result<Vec<(Client, u64, Vec<f64>)>, String> {
    let mut running = Vec::new();
    for (i, mut client) in clients.into_iter().enumerate() {
        running.push(tokio::spawn(async move {
            let mut gets = 0u64;
            let mut latencies = Vec::with_capacity(count as usize);
            for k in 0..count {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = n_base + i as u64 * 1_000_000 + k;
                let started = Instant::now();
                gets += u64::from(client.round_trip(n).await?);
                latencies.push(started.elapsed().as_secs_f64() * 1e3);
            }
            Ok::<_, String>((client, gets, latencies))
        }));
    }
    let mut done = Vec::new();
    for r in running {
        done.push(r.await.map_err(|e| e.to_string())??);
    }
    Ok(done)
}

/// The 1-minute load average, to show whether other work shared the machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

struct Options {
    quick: bool,
    rounds: usize,
    sqlite: bool,
    in_process: bool,
    bin_dir: PathBuf,
    only: Option<Vec<String>>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned());
    let quick = args.iter().any(|a| a == "--quick");
    let here = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf));
    Options {
        quick,
        rounds: value("--rounds").and_then(|r| r.parse().ok()).unwrap_or(if quick { 1 } else { 5 }),
        sqlite: args.iter().any(|a| a == "--sqlite"),
        in_process: args.iter().any(|a| a == "--in-process"),
        bin_dir: value("--bin-dir").map(PathBuf::from).or(here).unwrap_or_else(|| ".".into()),
        only: value("--only").map(|o| o.split(',').map(str::to_owned).collect()),
    }
}

#[tokio::main]
async fn main() {
    let opts = options();
    let targets: Vec<Target> = targets(opts.sqlite, opts.in_process)
        .into_iter()
        .filter(|t| opts.only.as_ref().is_none_or(|only| only.iter().any(|o| o == t.server)))
        .collect();
    let levels = levels(opts.quick);
    if opts.in_process {
        println!("## MCP task servers side by side (in process: in-memory streams of newline-delimited JSON-RPC)\n");
    } else {
        println!("## MCP task servers side by side (streamable HTTP, loopback)\n");
    }
    println!(
        "{} run: {} round(s); per phase a fresh server; levels: {}. Latency = one whole round trip; CPU = utime+stime from /proc over the measured phase ÷ tasks. Figures are medians over rounds; p50/p99 over all round trips of all rounds.\n",
        if opts.quick { "Quick" } else { "Full" },
        opts.rounds,
        levels
            .iter()
            .map(|l| format!("{} client(s) × ≤{} round trips (≤{} s, after {} warm-up each)", l.clients, l.per_client, l.budget.as_secs(), l.warmup_per_client))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if opts.in_process {
        println!("In process, a server runs on a runtime of its own (2 worker threads, like each server binary's) in the driver's process: its CPU is that of the runtime's threads (/proc/self/task/TID/stat, the threads named after the phase), the client's the rest of the process.\n");
    }
    let started = Instant::now();
    let load_before = load_average();
    // (target, level) -> phases so far, or why not.
    let mut results: Vec<Vec<Result<Vec<Phase>, String>>> =
        targets.iter().map(|_| levels.iter().map(|_| Ok(Vec::new())).collect()).collect();
    let mut tag = 0;
    for round in 0..opts.rounds {
        for (li, level) in levels.iter().enumerate() {
            // Rotate the order each round, so no server always goes first.
            let order: Vec<usize> = (0..targets.len()).map(|i| (i + round) % targets.len()).collect();
            for ti in order {
                let target = &targets[ti];
                if target.cannot.is_some() || results[ti][li].is_err() {
                    continue;
                }
                if !opts.in_process && !opts.bin_dir.join(target.binary).exists() {
                    results[ti][li] = Err(format!("not built: {} is missing", target.binary));
                    continue;
                }
                tag += 1;
                let t0 = Instant::now();
                let outcome = run_phase(&opts.bin_dir, target, *level, tag, opts.in_process).await;
                eprintln!(
                    "round {}: {} {} {} clients={}: {} ({:.1} s)",
                    round + 1, target.server, target.era.version(), target.store, level.clients,
                    match &outcome {
                        Ok(p) => format!("{} tasks, {:.0}/s", p.tasks, p.tasks as f64 / p.wall_s),
                        Err(e) => format!("FAILED: {e}"),
                    },
                    t0.elapsed().as_secs_f64()
                );
                match outcome {
                    Ok(phase) => {
                        if let Ok(phases) = &mut results[ti][li] {
                            phases.push(phase);
                        }
                    }
                    Err(e) => results[ti][li] = Err(format!("failed: {e}")),
                }
            }
        }
    }
    let mut rows = Vec::new();
    for (ti, target) in targets.iter().enumerate() {
        for (li, level) in levels.iter().enumerate() {
            let outcome = match (&target.cannot, &results[ti][li]) {
                (Some(why), _) => Outcome::Missing(why.to_string()),
                (None, Err(e)) => Outcome::Missing(e.replace('|', "/").chars().take(300).collect()),
                (None, Ok(phases)) => Outcome::Measured(phases.clone()),
            };
            rows.push(Row { server: target.server, era: target.era, store: target.store, clients: level.clients, outcome });
        }
    }
    rows.sort_by_key(|r| (r.store != "memory", r.era, r.clients, r.server != "ours"));
    report::print_table(&rows);
    report::print_comparisons(&rows);
    println!(
        "\n(driver wall time {:.0} s; {} CPUs, shared by the driver and the servers; load average before {} and after {}: above ~1 other work was competing)",
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        load_before,
        load_average()
    );
}
