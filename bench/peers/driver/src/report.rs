//! Figures per server, era and client count, as markdown tables, with the
//! ratios of ours to each peer and the two targets' verdicts.

use crate::client::Era;

/// What one measured phase saw.
#[derive(Default, Clone)]
pub struct Phase {
    pub tasks: u64,
    pub gets: u64,
    pub wall_s: f64,
    pub server_cpu_s: f64,
    pub client_cpu_s: f64,
    /// Each round trip's latency, in milliseconds.
    pub latencies_ms: Vec<f64>,
    pub sse_methods: std::collections::BTreeSet<String>,
}

/// One row: a server in one era and store at one client count.
pub struct Row {
    pub server: &'static str,
    pub era: Era,
    pub store: &'static str,
    pub clients: usize,
    pub outcome: Outcome,
}

pub enum Outcome {
    /// Every round's phase.
    Measured(Vec<Phase>),
    /// Why there is no figure (cannot do it, or failed).
    Missing(String),
}

/// Medians over rounds, and latency percentiles over every round trip of
/// every round.
pub struct Figures {
    pub per_s: f64,
    /// The slowest and fastest round's throughput: how noisy the rounds were.
    pub per_s_range: (f64, f64),
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub server_us: f64,
    pub client_us: f64,
    pub server_cores: f64,
    pub client_cores: f64,
    pub gets: f64,
    pub tasks: u64,
    pub rounds: usize,
    pub sse_methods: std::collections::BTreeSet<String>,
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[i - 1]
}

pub fn figures(phases: &[Phase]) -> Figures {
    let per_phase = |f: &dyn Fn(&Phase) -> f64| median(phases.iter().map(f).collect());
    let mut latencies: Vec<f64> = phases.iter().flat_map(|p| p.latencies_ms.iter().copied()).collect();
    latencies.sort_by(f64::total_cmp);
    let tasks = |p: &Phase| p.tasks.max(1) as f64;
    Figures {
        per_s: per_phase(&|p| p.tasks as f64 / p.wall_s),
        per_s_range: phases.iter().map(|p| p.tasks as f64 / p.wall_s).fold((f64::INFINITY, 0.0), |(lo, hi), r| (lo.min(r), hi.max(r))),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        server_us: per_phase(&|p| p.server_cpu_s * 1e6 / tasks(p)),
        client_us: per_phase(&|p| p.client_cpu_s * 1e6 / tasks(p)),
        server_cores: per_phase(&|p| p.server_cpu_s / p.wall_s),
        client_cores: per_phase(&|p| p.client_cpu_s / p.wall_s),
        gets: per_phase(&|p| p.gets as f64 / tasks(p)),
        tasks: phases.iter().map(|p| p.tasks).sum(),
        rounds: phases.len(),
        sse_methods: phases.iter().flat_map(|p| p.sse_methods.iter().cloned()).collect(),
    }
}

fn era_name(era: Era) -> &'static str {
    era.version()
}

/// The main table: one line per row, a sentence where there is no figure.
pub fn print_table(rows: &[Row]) {
    println!("| server | era | store | clients | round trips/s (rounds' range) | p50 ms | p99 ms | server CPU µs/task | client CPU µs/task | server cores busy | client cores busy | tasks/get per task | tasks (rounds) | notes |");
    println!("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
    for row in rows {
        let head = format!("| {} | {} | {} | {} ", row.server, era_name(row.era), row.store, row.clients);
        match &row.outcome {
            Outcome::Measured(phases) => {
                let f = figures(phases);
                let note = if f.sse_methods.is_empty() {
                    String::new()
                } else {
                    format!("SSE answers: {}", f.sse_methods.iter().cloned().collect::<Vec<_>>().join(", "))
                };
                println!(
                    "{head}| {:.0} ({:.0}–{:.0}) | {:.3} | {:.3} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} ({}) | {note} |",
                    f.per_s, f.per_s_range.0, f.per_s_range.1, f.p50_ms, f.p99_ms, f.server_us, f.client_us, f.server_cores, f.client_cores, f.gets, f.tasks, f.rounds
                );
            }
            Outcome::Missing(why) => {
                println!("{head}| – | – | – | – | – | – | – | – | – | {why} |");
            }
        }
    }
}

fn measured(row: &Row) -> Option<Figures> {
    match &row.outcome {
        Outcome::Measured(phases) if !phases.is_empty() => Some(figures(phases)),
        _ => None,
    }
}

/// Ours against each peer measured in the same era, store and client count,
/// then the two targets, one line each per era and client count.
pub fn print_comparisons(rows: &[Row]) {
    println!("\n### Ours ÷ each peer (same era, store, clients)\n");
    println!("Below 1 is better for ours in the CPU and latency columns; above 1 is better in the throughput column.\n");
    println!("| era | store | clients | peer | server CPU/task ours÷peer | p50 ours÷peer | p99 ours÷peer | round trips/s ours÷peer |");
    println!("|---|---|--:|---|--:|--:|--:|--:|");
    let mut verdicts = Vec::new();
    for ours in rows.iter().filter(|r| r.server == "ours") {
        let Some(o) = measured(ours) else { continue };
        let peers: Vec<(&Row, Figures)> = rows
            .iter()
            .filter(|r| r.server != "ours" && r.era == ours.era && r.store == ours.store && r.clients == ours.clients)
            .filter_map(|r| measured(r).map(|f| (r, f)))
            .collect();
        for (peer, p) in &peers {
            println!(
                "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                era_name(ours.era), ours.store, ours.clients, peer.server,
                o.server_us / p.server_us, o.p50_ms / p.p50_ms, o.p99_ms / p.p99_ms, o.per_s / p.per_s
            );
        }
        let Some((best_cpu, bc)) = peers.iter().min_by(|a, b| a.1.server_us.total_cmp(&b.1.server_us)) else {
            verdicts.push(format!(
                "- {} {} clients={}: no peer measured here, no verdict",
                era_name(ours.era), ours.store, ours.clients
            ));
            continue;
        };
        let (best_lat, bl) = peers.iter().min_by(|a, b| a.1.p50_ms.total_cmp(&b.1.p50_ms)).expect("one peer");
        let half = o.server_us <= 0.5 * bc.server_us;
        verdicts.push(format!(
            "- {} {} clients={}: \"ours needs at most half the server CPU per task of the best peer\": **{}** (ours {:.0} µs, best peer {} {:.0} µs, ratio {:.2})",
            era_name(ours.era), ours.store, ours.clients, if half { "MET" } else { "NOT MET" },
            o.server_us, best_cpu.server, bc.server_us, o.server_us / bc.server_us
        ));
        let not_behind = o.p50_ms <= bl.p50_ms;
        verdicts.push(format!(
            "- {} {} clients={}: \"ours not behind on p50 latency\": **{}** (ours {:.3} ms, best peer {} {:.3} ms, ratio {:.2})",
            era_name(ours.era), ours.store, ours.clients, if not_behind { "MET" } else { "NOT MET" },
            o.p50_ms, best_lat.server, bl.p50_ms, o.p50_ms / bl.p50_ms
        ));
    }
    println!("\n### Targets\n");
    for line in verdicts {
        println!("{line}");
    }
}
