//! A task server with a few tools that show what pmcp-tasks does.
//!
//! ```text
//! cargo run --example quickstart                       # stdio
//! cargo run --example quickstart -- --http 127.0.0.1:8080   # http://127.0.0.1:8080/mcp
//! ```

use pmcp_tasks::{
    shutdown_signal, task_tool, AnonymousPolicy, Elicited, Limits, ProgressUpdate, TaskContext,
    TaskServer, TaskVariables, ToolError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct SlowJobArgs {
    /// How long the job runs, in seconds.
    seconds: f64,
}

#[derive(Serialize, JsonSchema)]
struct SlowJobReport {
    seconds: f64,
    steps: u64,
}

/// What `slow_job` shows the client while it runs (`_meta["pmcp:variables"]`).
#[derive(TaskVariables)]
struct SlowJobVars {
    steps_done: u64,
}

/// Works for `seconds`, reporting progress every second. Its result is kept
/// ten minutes after it ends (the TTL counts from the end; the task is kept
/// for as long as the job works, up to the hour it accepts).
#[task_tool(
    support = "optional",
    ttl = "10m",
    immediate = "The job is running; I will report when it is done."
)]
async fn slow_job(args: SlowJobArgs, ctx: TaskContext) -> Result<SlowJobReport, ToolError> {
    if !(0.0..=3600.0).contains(&args.seconds) {
        return Err(ToolError::invalid_params(
            "seconds must be between 0 and 3600",
        ));
    }
    let total = Duration::from_secs_f64(args.seconds);
    let steps = total.as_secs();
    for step in 1..=steps {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // A number for clients that sent a progressToken, and the
        // statusMessage for everyone.
        let report = ProgressUpdate::of(step as f64, steps as f64);
        ctx.progress(report.message(format!("step {step} of {steps}")))
            .await?;
        ctx.vars::<SlowJobVars>().set_steps_done(&step).await?;
    }
    tokio::time::sleep(total - Duration::from_secs(steps)).await;
    Ok(SlowJobReport {
        seconds: args.seconds,
        steps,
    })
}

#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// What to ask the user.
    #[serde(default = "default_question")]
    question: String,
}

fn default_question() -> String {
    "What is your name?".into()
}

/// The form `greet_user` asks the user to fill in.
#[derive(Deserialize, JsonSchema)]
struct Name {
    /// Your name.
    name: String,
}

/// Asks the user for their name, then greets them.
#[task_tool(support = "required")]
async fn greet_user(args: GreetArgs, ctx: TaskContext) -> Result<String, ToolError> {
    match ctx.elicit_keyed::<Name>("name", &args.question).await? {
        Elicited::Accepted(Name { name }) => Ok(format!("Hello, {name}!")),
        Elicited::Declined => Err(ToolError::new("no name given (the user declined)")),
        Elicited::Cancelled => Err(ToolError::new("no name given (the user cancelled)")),
    }
}

#[derive(Deserialize, JsonSchema)]
struct FailArgs {
    /// The failure message.
    #[serde(default)]
    message: Option<String>,
}

/// Always fails, after a short moment: shows how failures look.
#[task_tool(support = "optional")]
async fn failing_job(args: FailArgs, _ctx: TaskContext) -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Err(ToolError::new(
        args.message
            .unwrap_or_else(|| "the job failed on purpose".into()),
    ))
}

#[derive(Deserialize, JsonSchema)]
struct StepsArgs {
    /// How many half-second steps to run.
    steps: u32,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct StepRun {
    step: u32,
    /// The process that ran the step: after a crash, completed steps keep
    /// the pid of the process that died.
    pid: u32,
}

#[derive(Serialize, JsonSchema)]
struct StepsReport {
    steps: Vec<StepRun>,
}

/// Runs half-second checkpointed steps; if its server dies, another one
/// carries on from the last completed step.
#[task_tool(support = "optional", resumable)]
async fn resumable_job(args: StepsArgs, ctx: TaskContext) -> Result<StepsReport, ToolError> {
    let mut steps = Vec::new();
    for step in 0..args.steps.min(1000) {
        let run = ctx
            .step(&format!("step-{step}"), async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                Ok(StepRun {
                    step,
                    pid: std::process::id(),
                })
            })
            .await?;
        steps.push(run);
    }
    Ok(StepsReport { steps })
}

/// A task server with a few tools that show what pmcp-tasks does, over
/// stdio (the default) or streamable HTTP.
#[derive(clap::Parser)]
#[command(name = "quickstart", version)]
struct Options {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio.
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// Where tasks are kept: memory, sqlite:PATH, redis://HOST:PORT or
    /// dynamodb://TABLE[?endpoint=URL].
    #[arg(
        long,
        value_name = "URL",
        env = "PMCP_TASKS_STORE",
        default_value = "memory"
    )]
    store: String,
    /// How long running tasks may finish after SIGINT or SIGTERM.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds_at_least_zero)]
    grace: Duration,
    /// Tasks per tasks/list page [default: 50].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    page_size: Option<u32>,
    /// How soon the tasks of a server that died are taken over [default: 30].
    #[arg(long, value_name = "SECONDS", value_parser = seconds_above_zero)]
    lease: Option<Duration>,
    /// A plain tools/call (from a client that does not speak Tasks) still
    /// running after this many seconds answers that the job goes on in the
    /// background, and the companion tools task_status, task_result,
    /// task_cancel and task_answer follow it [default: plain calls wait].
    #[arg(long, value_name = "SECONDS", value_parser = seconds_above_zero)]
    detach_after: Option<Duration>,
    /// Every anonymous caller owns tasks as 'anon:NAME', across sessions,
    /// restarts and instances: only for one trusted user (by default each
    /// HTTP session owns its own tasks).
    #[arg(long, value_name = "NAME", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    shared_owner: Option<String>,
}

fn seconds(value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite())
        .ok_or_else(|| format!("'{value}' is not a number of seconds"))
}

fn seconds_at_least_zero(value: &str) -> Result<Duration, String> {
    let s = seconds(value)?;
    (s >= 0.0)
        .then(|| Duration::from_secs_f64(s))
        .ok_or_else(|| format!("takes seconds (a number >= 0), not '{value}'"))
}

fn seconds_above_zero(value: &str) -> Result<Duration, String> {
    let s = seconds(value)?;
    (s > 0.0)
        .then(|| Duration::from_secs_f64(s))
        .ok_or_else(|| format!("takes seconds (a number > 0), not '{value}'"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let options = <Options as clap::Parser>::parse();
    let mut limits = Limits::default();
    if let Some(size) = options.page_size {
        limits.list_page_size = size as usize;
    }
    let mut sweep_every = Duration::from_secs(5);
    if let Some(lease) = options.lease {
        limits.lease_ttl = lease;
        sweep_every = sweep_every.min(lease / 2);
    }
    let (store, store_name) = match pmcp_tasks::store::url::open(&options.store).await {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("quickstart: {e}");
            std::process::exit(2);
        }
    };
    eprintln!("pmcp-tasks quickstart: tasks are kept in {store_name}");
    let anonymous = match options.shared_owner {
        Some(name) => AnonymousPolicy::Shared(name),
        None => AnonymousPolicy::PerConnection,
    };
    let mut builder = TaskServer::builder("pmcp-tasks-quickstart", env!("CARGO_PKG_VERSION"));
    if let Some(wait) = options.detach_after {
        builder = builder.detach_after(wait);
    }
    let server = builder
        .anonymous(anonymous)
        .store(store)
        .limits(limits)
        .sweep_every(sweep_every)
        .registered_tools()
        .build()?;
    let grace = options.grace;
    match options.http {
        None => {
            eprintln!("pmcp-tasks quickstart: serving MCP over stdio (both task eras: 2025-11-25 and 2026-07-28).");
            eprintln!("  Connect a client by launching this command, e.g.: npx @modelcontextprotocol/inspector cargo run --example quickstart");
            tokio::select! {
                r = server.serve_stdio() => r?,
                _ = shutdown_signal() => {}
            }
        }
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let local = listener.local_addr()?;
            eprintln!(
                "pmcp-tasks quickstart: serving MCP over streamable HTTP at http://{local}/mcp"
            );
            eprintln!("  Connect a client to that URL, e.g.: npx @modelcontextprotocol/inspector  (transport: Streamable HTTP)");
            server.serve_http(listener, shutdown_signal()).await?;
        }
    }
    eprintln!(
        "pmcp-tasks quickstart: shutting down (running tasks get up to {:.1}s to finish)",
        grace.as_secs_f64()
    );
    let failed = server.shutdown(grace).await;
    eprintln!("pmcp-tasks quickstart: stopped; {failed} unfinished task(s) marked failed");
    Ok(())
}
