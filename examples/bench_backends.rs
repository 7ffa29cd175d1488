//! Backend benchmark: our `RedisStore` and `DynamoDbStore`, per store
//! operation, on servers this process starts and stops itself.
//!
//! ```text
//! cargo run --release --example bench_backends              # the full run (about 2 minutes)
//! cargo run --release --example bench_backends -- --quick   # a smoke run
//! ```
//!
//! It starts a `redis-server` and a dynalite (the in-memory DynamoDB of
//! `client-tests/node_modules`, run with `node`) on free loopback ports,
//! and for each backend measures, for create, get, compare-and-set, list (a
//! page of 50 of an owner's 100 tasks) and the lifecycle (create → complete
//! with result → get → get result):
//!
//! - round trips per operation: the requests the client sends, counted by
//!   a small proxy between the store and the server that parses the wire
//!   protocol (RESP commands for Redis, HTTP requests and their
//!   `X-Amz-Target` for DynamoDB); the throughput runs bypass the proxy;
//! - for Redis also the commands the server ran per operation, inside the
//!   Lua scripts included (`INFO stats` `total_commands_processed`);
//! - operations per second, one at a time and 64 in flight (64 tokio tasks
//!   sharing one store, so one multiplexed Redis connection), median of the
//!   rounds.
//!
//! Beside it, `redis-benchmark` against the same server gives the physical
//! bound: plain `GET` and `SET`, one client (`-c 1`), 64 clients (`-c 64`)
//! and one client with 64 pipelined (`-c 1 -P 64`).
//!
//! A backend whose server cannot be started here (no `redis-server`, no
//! `node` or no dynalite) is reported as not measured.

use chrono::Utc;
use pmcp_tasks::domain::{Era, NewTask, TaskRecord};
use pmcp_tasks::store::{DynamoDbStore, OwnerQuota, RedisStore, TaskStore};
use pmcp_tasks_examples::bench::{self, thousands};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const IN_FLIGHT: usize = 64;

use pmcp_tasks_examples::bench::servers::{start_dynalite, start_redis};

// ---------------------------------------------------------------------------
// A counting proxy: forwards bytes both ways and counts the requests the
// client sends, by name.
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Wire {
    Resp,
    Http,
}

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

struct Proxy {
    port: u16,
    counts: Counts,
}

impl Proxy {
    async fn start(upstream: u16, wire: Wire) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts: Counts = Arc::default();
        let shared = counts.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counts = shared.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (mut client_r, mut client_w) = client.into_split();
                    let (mut server_r, mut server_w) = server.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_r, &mut client_w).await;
                        let _ = client_w.shutdown().await;
                    });
                    let mut pending = Vec::new();
                    let mut chunk = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client_r.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        pending.extend_from_slice(&chunk[..n]);
                        let mut used = 0;
                        while let Some((len, name)) = match wire {
                            Wire::Resp => next_resp_command(&pending[used..]),
                            Wire::Http => next_http_request(&pending[used..]),
                        } {
                            used += len;
                            *counts.lock().unwrap().entry(name).or_default() += 1;
                        }
                        pending.drain(..used);
                        if server_w.write_all(&chunk[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = server_w.shutdown().await;
                });
            }
        });
        Proxy { port, counts }
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap().clone()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One complete RESP command at the start of `buf`: its length and name.
fn next_resp_command(buf: &[u8]) -> Option<(usize, String)> {
    let line = find(buf, b"\r\n")?;
    if buf.first() != Some(&b'*') {
        // An inline command.
        let text = String::from_utf8_lossy(&buf[..line]);
        let name = text.split_whitespace().next().unwrap_or("").to_uppercase();
        return Some((line + 2, name));
    }
    let parts: usize = std::str::from_utf8(&buf[1..line]).ok()?.parse().ok()?;
    let mut pos = line + 2;
    let mut name = String::new();
    for i in 0..parts {
        let end = pos + find(&buf[pos..], b"\r\n")?;
        let len: usize = std::str::from_utf8(buf.get(pos + 1..end)?)
            .ok()?
            .parse()
            .ok()?;
        let start = end + 2;
        if buf.len() < start + len + 2 {
            return None;
        }
        if i == 0 {
            name = String::from_utf8_lossy(&buf[start..start + len]).to_uppercase();
        }
        pos = start + len + 2;
    }
    Some((pos, name))
}

/// One complete HTTP/1.1 request at the start of `buf`: its length and the
/// DynamoDB operation of its `X-Amz-Target` (else its request line).
fn next_http_request(buf: &[u8]) -> Option<(usize, String)> {
    let head_end = find(buf, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut lines = head.split("\r\n");
    let mut name = lines.next().unwrap_or("").to_owned();
    let mut body = 0usize;
    for line in lines {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "content-length" => body = value.trim().parse().unwrap_or(0),
            "x-amz-target" => {
                name = value.trim().rsplit('.').next().unwrap_or("").to_owned();
            }
            "transfer-encoding" => {
                panic!("the counting proxy does not parse chunked request bodies")
            }
            _ => {}
        }
    }
    if buf.len() < head_end + body {
        return None;
    }
    Some((head_end + body, name))
}

/// The requests between two snapshots: how many, and which.
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> (u64, String) {
    let mut total = 0;
    let mut parts = Vec::new();
    for (name, &n) in after {
        let d = n - before.get(name).copied().unwrap_or(0);
        if d > 0 {
            total += d;
            parts.push((name.clone(), d));
        }
    }
    let names = parts
        .iter()
        .map(|(name, n)| format!("{name} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    (total, names)
}

// ---------------------------------------------------------------------------
// Redis `INFO`, over a raw connection (the examples do not depend on a
// Redis client).
// ---------------------------------------------------------------------------

/// Sends one command; the reply's text (a status line or a bulk string).
async fn redis_command(port: u16, args: &[&str]) -> Option<String> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let mut request = format!("*{}\r\n", args.len());
    for a in args {
        request.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.write_all(request.as_bytes()).await.ok()?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&chunk[..n]);
        let Some(line) = find(&reply, b"\r\n") else {
            continue;
        };
        match reply[0] {
            b'$' => {
                let len: usize = std::str::from_utf8(&reply[1..line]).ok()?.parse().ok()?;
                if reply.len() >= line + 2 + len {
                    return Some(String::from_utf8_lossy(&reply[line + 2..line + 2 + len]).into());
                }
            }
            b'+' => return Some(String::from_utf8_lossy(&reply[1..line]).into()),
            _ => return None,
        }
    }
}

async fn redis_info_field(port: u16, section: &str, field: &str) -> Option<u64> {
    let text = redis_command(port, &["INFO", section]).await?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
}

// ---------------------------------------------------------------------------
// The operations.
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Create,
    Get,
    CompareAndSet,
    List,
    Lifecycle,
}

const OPS: [Op; 5] = [
    Op::Create,
    Op::Get,
    Op::CompareAndSet,
    Op::List,
    Op::Lifecycle,
];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Get => "get",
            Op::CompareAndSet => "compare_and_set",
            Op::List => "list (page of 50)",
            Op::Lifecycle => "lifecycle (5 store calls)",
        }
    }

    /// Store calls per operation.
    fn calls(self) -> u64 {
        match self {
            Op::Lifecycle => 5,
            _ => 1,
        }
    }
}

fn new_task(owner: &str) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: owner.into(),
            era: Era::V2025_11_25,
            tool: "job".into(),
            arguments: json!({"seconds": 1}),
            ttl: Some(Duration::from_secs(3600)),
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        Utc::now(),
    )
}

type Dyn = Arc<dyn TaskStore>;

/// What the operations work on: per worker an owner, a task to read and a
/// task to rewrite; one owner with 100 tasks to list.
struct Fixture {
    owners: Vec<String>,
    to_get: Vec<String>,
    to_write: Vec<String>,
    lister: String,
}

async fn fixture(store: &Dyn, run: &str) -> Fixture {
    let owners: Vec<String> = (0..IN_FLIGHT).map(|w| format!("{run}-w{w}")).collect();
    let mut to_get = Vec::new();
    let mut to_write = Vec::new();
    for owner in &owners {
        to_get.push(
            store
                .create(new_task(owner), OwnerQuota::unlimited(), Utc::now())
                .await
                .unwrap()
                .id
                .clone(),
        );
        to_write.push(
            store
                .create(new_task(owner), OwnerQuota::unlimited(), Utc::now())
                .await
                .unwrap()
                .id
                .clone(),
        );
    }
    let lister = format!("{run}-lister");
    for _ in 0..100 {
        store
            .create(new_task(&lister), OwnerQuota::unlimited(), Utc::now())
            .await
            .unwrap();
    }
    Fixture {
        owners,
        to_get,
        to_write,
        lister,
    }
}

/// The record a compare-and-set worker starts from (read before timing).
async fn start_record(store: &Dyn, fx: &Fixture, op: Op, worker: usize) -> Option<TaskRecord> {
    match op {
        Op::CompareAndSet => Some(TaskRecord::clone(
            &store
                .get(&fx.owners[worker], &fx.to_write[worker], Utc::now())
                .await
                .unwrap(),
        )),
        _ => None,
    }
}

/// One worker's `iters` operations.
async fn work(
    store: Dyn,
    fx: Arc<Fixture>,
    op: Op,
    worker: usize,
    iters: usize,
    start: Option<TaskRecord>,
) {
    let owner = &fx.owners[worker];
    match op {
        Op::Create => {
            for _ in 0..iters {
                store
                    .create(new_task(owner), OwnerQuota::unlimited(), Utc::now())
                    .await
                    .unwrap();
            }
        }
        Op::Get => {
            for _ in 0..iters {
                store
                    .get(owner, &fx.to_get[worker], Utc::now())
                    .await
                    .unwrap();
            }
        }
        Op::CompareAndSet => {
            let mut record = start.expect("a compare-and-set worker starts from a record");
            for i in 0..iters {
                record.set_message(format!("step {i}"), Utc::now()).unwrap();
                record =
                    TaskRecord::clone(&store.compare_and_set(record, Utc::now()).await.unwrap());
            }
        }
        Op::List => {
            for _ in 0..iters {
                let page = store.list(&fx.lister, None, 50, Utc::now()).await.unwrap();
                assert_eq!(page.tasks.len(), 50);
            }
        }
        Op::Lifecycle => {
            for _ in 0..iters {
                bench::lifecycle(&*store, new_task(owner)).await;
            }
        }
    }
}

/// `total` operations, `in_flight` at a time; the wall time.
async fn run(store: &Dyn, fx: &Arc<Fixture>, op: Op, in_flight: usize, total: usize) -> Duration {
    let per = (total / in_flight).max(1);
    let mut starts = Vec::new();
    for w in 0..in_flight {
        starts.push(start_record(store, fx, op, w).await);
    }
    let start = Instant::now();
    let workers: Vec<_> = starts
        .into_iter()
        .enumerate()
        .map(|(w, first)| tokio::spawn(work(store.clone(), fx.clone(), op, w, per, first)))
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Sizes {
    rounds: usize,
    count: usize,
    sequential: usize,
    parallel: usize,
}

struct Row {
    op: Op,
    round_trips: f64,
    requests: String,
    server_commands: Option<f64>,
    sequential: f64,
    parallel: f64,
}

/// Everything for one backend: round trips through `counted` (the same
/// server behind the proxy), ops/s through `direct`.
async fn measure(
    direct: Dyn,
    counted: Dyn,
    proxy: &Proxy,
    redis_port: Option<u16>,
    sizes: &Sizes,
) -> (Vec<Row>, Vec<(Op, u64, String)>) {
    // Cold (Redis): each operation right after the server lost its script
    // cache (`SCRIPT FLUSH`, as after a restart or a failover).
    let mut cold = Vec::new();
    if let Some(port) = redis_port {
        let fx = Arc::new(fixture(&counted, "cold").await);
        for op in OPS {
            let first = start_record(&counted, &fx, op, 0).await;
            redis_command(port, &["SCRIPT", "FLUSH"])
                .await
                .expect("SCRIPT FLUSH");
            let before = proxy.snapshot();
            work(counted.clone(), fx.clone(), op, 0, 1, first).await;
            let (n, names) = delta(&before, &proxy.snapshot());
            cold.push((op, n, names));
        }
    }

    let fx = Arc::new(fixture(&direct, "run").await);
    let mut rows = Vec::new();
    for op in OPS {
        // Round trips, warm.
        let first = start_record(&counted, &fx, op, 1).await;
        work(counted.clone(), fx.clone(), op, 1, 2, first).await;
        let first = start_record(&counted, &fx, op, 1).await;
        let commands_before = match redis_port {
            Some(p) => redis_info_field(p, "stats", "total_commands_processed").await,
            None => None,
        };
        let before = proxy.snapshot();
        work(counted.clone(), fx.clone(), op, 1, sizes.count, first).await;
        let (n, names) = delta(&before, &proxy.snapshot());
        let commands_after = match redis_port {
            Some(p) => redis_info_field(p, "stats", "total_commands_processed").await,
            None => None,
        };
        let ops = sizes.count as f64;
        let round_trips = n as f64 / ops;
        // `INFO` itself counts as one command.
        let server_commands = match (commands_before, commands_after) {
            (Some(a), Some(b)) => Some((b - a - 1) as f64 / ops),
            _ => None,
        };

        // Throughput, without the proxy, rounds alternating one at a time
        // and 64 in flight.
        run(&direct, &fx, op, 1, 8).await;
        let (mut seq, mut par) = (Vec::new(), Vec::new());
        for _ in 0..sizes.rounds {
            seq.push(run(&direct, &fx, op, 1, sizes.sequential).await);
            par.push(run(&direct, &fx, op, IN_FLIGHT, sizes.parallel).await);
        }
        let per_par = (sizes.parallel / IN_FLIGHT).max(1) * IN_FLIGHT;
        rows.push(Row {
            op,
            round_trips,
            requests: names,
            server_commands,
            sequential: sizes.sequential as f64 / median(seq).as_secs_f64(),
            parallel: per_par as f64 / median(par).as_secs_f64(),
        });
    }
    (rows, cold)
}

fn print_rows(rows: &[Row], redis: bool) {
    if redis {
        println!("| operation | round trips | requests sent | commands Redis ran | ops/s, 1 at a time | ops/s, 64 in flight |");
        println!("| --- | --- | --- | --- | --- | --- |");
    } else {
        println!("| operation | round trips | requests sent | ops/s, 1 at a time | ops/s, 64 in flight |");
        println!("| --- | --- | --- | --- | --- |");
    }
    for r in rows {
        let per_call = if r.op.calls() > 1 {
            format!(
                " ({:.2} per store call)",
                r.round_trips / r.op.calls() as f64
            )
        } else {
            String::new()
        };
        let commands = match r.server_commands {
            Some(c) => format!(" {c:.1} |"),
            None => String::new(),
        };
        println!(
            "| {} | {:.2}{per_call} | {} |{commands} {} | {} |",
            r.op.name(),
            r.round_trips,
            r.requests,
            thousands(r.sequential),
            thousands(r.parallel),
        );
    }
}

fn print_cold(cold: &[(Op, u64, String)]) {
    if cold.is_empty() {
        return;
    }
    println!(
        "\nEach operation once right after `SCRIPT FLUSH` (as after a restart or failover: \
         the script is not loaded, the client retries with `SCRIPT LOAD`), round trips:\n"
    );
    for (op, n, names) in cold {
        println!("- {}: {n} ({names})", op.name());
    }
}

// ---------------------------------------------------------------------------
// redis-benchmark.
// ---------------------------------------------------------------------------

/// `(test, requests per second)` of one `redis-benchmark -q` run.
fn redis_benchmark(port: u16, args: &[&str]) -> Result<Vec<(String, f64)>, String> {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run redis-benchmark: {e}"))?;
    if !out.status.success() {
        return Err(format!("redis-benchmark failed: {}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut found = Vec::new();
    for line in text.split(['\r', '\n']) {
        let Some((test, rest)) = line.split_once(": ") else {
            continue;
        };
        let Some(rate) = rest.split(" requests per second").next() else {
            continue;
        };
        if !rest.contains("requests per second") {
            continue;
        }
        if let Ok(rate) = rate.trim().parse::<f64>() {
            found.push((test.trim().to_owned(), rate));
        }
    }
    if found.is_empty() {
        return Err(format!("no result in redis-benchmark's output: {text}"));
    }
    Ok(found)
}

/// Our `get` and redis-benchmark's `GET` (and `SET`) on the same server,
/// in turn within every round: one at a time against one client, 64 in
/// flight against 64 clients; then one run of 64 pipelined on one client.
async fn physical_bound(direct: &Dyn, port: u16, sizes: &Sizes) {
    println!("\n### The physical bound: `redis-benchmark` on the same server\n");
    let fx = Arc::new(fixture(direct, "bound").await);
    let one = ["-t", "set,get", "-n", "20000", "-c", "1"];
    let many = ["-t", "set,get", "-n", "100000", "-c", "64"];
    let piped = ["-t", "set,get", "-n", "500000", "-c", "1", "-P", "64"];
    let rate = |found: &[(String, f64)], test: &str| {
        found.iter().find(|(n, _)| n == test).map(|(_, r)| *r)
    };
    // Per round: ours one at a time, GET and SET with 1 client, ours 64 in
    // flight, GET and SET with 64 clients.
    let mut samples: Vec<[f64; 6]> = Vec::new();
    for _ in 0..sizes.rounds {
        let seq = run(direct, &fx, Op::Get, 1, sizes.sequential).await;
        let rb1 = match redis_benchmark(port, &one) {
            Ok(found) => found,
            Err(e) => return println!("not measured: {e}"),
        };
        let par = run(direct, &fx, Op::Get, IN_FLIGHT, sizes.parallel).await;
        let rb64 = match redis_benchmark(port, &many) {
            Ok(found) => found,
            Err(e) => return println!("not measured: {e}"),
        };
        let per_par = (sizes.parallel / IN_FLIGHT).max(1) * IN_FLIGHT;
        samples.push([
            sizes.sequential as f64 / seq.as_secs_f64(),
            rate(&rb1, "GET").unwrap_or(f64::NAN),
            rate(&rb1, "SET").unwrap_or(f64::NAN),
            per_par as f64 / par.as_secs_f64(),
            rate(&rb64, "GET").unwrap_or(f64::NAN),
            rate(&rb64, "SET").unwrap_or(f64::NAN),
        ]);
    }
    let med = |f: &dyn Fn(&[f64; 6]) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "Median of {} rounds; in every round our `get` and redis-benchmark run in turn. \
         Our `get` is one `EVALSHA` of a script doing one `HMGET`, answering the task's \
         JSON record.\n",
        sizes.rounds
    );
    println!("| | our `get` ops/s | redis-benchmark `GET` ops/s | `SET` ops/s | ours ÷ `GET` |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| one at a time; 1 client (`{}`) | {} | {} | {} | {:.2} |",
        one.join(" "),
        thousands(med(&|s| s[0])),
        thousands(med(&|s| s[1])),
        thousands(med(&|s| s[2])),
        med(&|s| s[0] / s[1])
    );
    println!(
        "| 64 in flight on one multiplexed connection; 64 clients (`{}`) | {} | {} | {} | {:.2} |",
        many.join(" "),
        thousands(med(&|s| s[3])),
        thousands(med(&|s| s[4])),
        thousands(med(&|s| s[5])),
        med(&|s| s[3] / s[4])
    );
    match redis_benchmark(port, &piped) {
        Ok(found) => println!(
            "| no counterpart; 1 client, 64 pipelined (`{}`), once | | {} | {} | |",
            piped.join(" "),
            rate(&found, "GET").map_or("—".into(), thousands),
            rate(&found, "SET").map_or("—".into(), thousands)
        ),
        Err(e) => println!("| 1 client, 64 pipelined | {e} | | | |"),
    }
}

// ---------------------------------------------------------------------------

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    println!(
        "# Backend benchmark (`cargo run --release --example bench_backends{}`)\n",
        if quick { " -- --quick" } else { "" }
    );
    println!(
        "cores: {}{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if quick { " (quick: a smoke test)" } else { "" }
    );
    if cfg!(debug_assertions) {
        println!("WARNING: a debug build; the figures mean nothing, use --release");
    }

    let redis_sizes = if quick {
        Sizes {
            rounds: 1,
            count: 100,
            sequential: 300,
            parallel: 640,
        }
    } else {
        Sizes {
            rounds: 3,
            count: 1000,
            sequential: 3000,
            parallel: 12_800,
        }
    };
    let dynamo_sizes = if quick {
        Sizes {
            rounds: 1,
            count: 10,
            sequential: 20,
            parallel: 64,
        }
    } else {
        Sizes {
            rounds: 3,
            count: 100,
            sequential: 200,
            parallel: 640,
        }
    };

    // Redis.
    println!("\n## Redis (`RedisStore`, redis-server on loopback)\n");
    match start_redis().await {
        Err(e) => println!("not measured: {e}"),
        Ok((server, port)) => {
            let version = Command::new("redis-server")
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default();
            println!("{version}\n");
            let proxy = Proxy::start(port, Wire::Resp).await;
            let direct: Dyn = Arc::new(
                RedisStore::connect_with_prefix(&format!("redis://127.0.0.1:{port}"), "bench")
                    .await
                    .unwrap(),
            );
            let counted: Dyn = Arc::new(
                RedisStore::connect_with_prefix(
                    &format!("redis://127.0.0.1:{}", proxy.port),
                    "bench",
                )
                .await
                .unwrap(),
            );
            let (rows, cold) =
                measure(direct.clone(), counted, &proxy, Some(port), &redis_sizes).await;
            println!(
                "Median of {} rounds; round trips counted over {} operations; \"commands Redis ran\" \
                 includes the commands inside the Lua scripts.\n",
                redis_sizes.rounds, redis_sizes.count
            );
            print_rows(&rows, true);
            print_cold(&cold);

            physical_bound(&direct, port, &redis_sizes).await;
            println!("\n### Target: every store operation one round trip on Redis\n");
            for r in &rows {
                let per_call = r.round_trips / r.op.calls() as f64;
                println!(
                    "- {}: {:.2} round trips per store call — {}",
                    r.op.name(),
                    per_call,
                    if (per_call - 1.0).abs() < 0.005 {
                        "met"
                    } else {
                        "MISSED"
                    }
                );
            }
            drop(server);
        }
    }

    // DynamoDB.
    println!("\n## DynamoDB (`DynamoDbStore`, dynalite on loopback)\n");
    match start_dynalite().await {
        Err(e) => println!("not measured: {e}"),
        Ok((server, port)) => {
            let proxy = Proxy::start(port, Wire::Http).await;
            let endpoint = |p: u16| format!("http://{}", SocketAddr::from(([127, 0, 0, 1], p)));
            let direct: Dyn = Arc::new(
                DynamoDbStore::connect("bench_tasks", Some(&endpoint(port)))
                    .await
                    .unwrap(),
            );
            let counted: Dyn = Arc::new(
                DynamoDbStore::connect("bench_tasks", Some(&endpoint(proxy.port)))
                    .await
                    .unwrap(),
            );
            let (rows, cold) = measure(direct, counted, &proxy, None, &dynamo_sizes).await;
            println!(
                "Median of {} rounds; round trips counted over {} operations. dynalite is a \
                 Node.js emulator of DynamoDB: its operations per second say nothing about \
                 AWS's; the round trips carry over.\n",
                dynamo_sizes.rounds, dynamo_sizes.count
            );
            print_rows(&rows, false);
            print_cold(&cold);
            drop(server);
        }
    }
}
