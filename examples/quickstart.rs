//! A task server with a few tools that show what pmcp-tasks does.
//!
//! ```text
//! cargo run --example quickstart                       # stdio
//! cargo run --example quickstart -- --http 127.0.0.1:8080   # http://127.0.0.1:8080/mcp
//! ```

use pmcp_tasks::{
    shutdown_signal, task_tool, AnonymousPolicy, Limits, ProgressUpdate, TaskContext, TaskServer,
    TaskVariables, ToolError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
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

/// Works for `seconds`, reporting progress every second.
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

/// Asks the user for their name, then greets them.
#[task_tool(support = "required")]
async fn greet_user(args: GreetArgs, ctx: TaskContext) -> Result<String, ToolError> {
    let answer = ctx
        .elicit(
            "name",
            &args.question,
            json!({
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"]
            }),
        )
        .await?;
    if !answer.accepted() {
        return Err(ToolError::new(format!(
            "no name given (the user chose '{}')",
            answer.action
        )));
    }
    let name = answer
        .content
        .as_ref()
        .and_then(|c| c.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("stranger")
        .to_owned();
    Ok(format!("Hello, {name}!"))
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
                Ok::<_, ToolError>(StepRun {
                    step,
                    pid: std::process::id(),
                })
            })
            .await?;
        steps.push(run);
    }
    Ok(StepsReport { steps })
}

const USAGE: &str =
    "usage: quickstart [--http ADDR] [--store URL] [--grace SECONDS] [--page-size N]
  --http ADDR      serve streamable HTTP at http://ADDR/mcp (default: stdio)
  --store URL      where tasks are kept: memory (default), sqlite:PATH, redis://HOST:PORT,
                   dynamodb://TABLE[?endpoint=URL]; or set PMCP_TASKS_STORE
  --grace SECONDS  how long running tasks may finish after SIGINT/SIGTERM (default 10)
  --page-size N    tasks per tasks/list page (default 50)
  --lease SECONDS  how soon the tasks of a server that died are taken over (default 30)
  --shared-owner NAME
                   every anonymous caller owns tasks as 'anon:NAME', across sessions,
                   restarts and instances: only for one trusted user (default: each
                   HTTP session owns its own tasks)";

/// Command-line options.
struct Options {
    /// Serve streamable HTTP at this address instead of stdio.
    http: Option<String>,
    /// How long running tasks may finish after a shutdown signal.
    grace: Duration,
    /// Tasks per `tasks/list` page.
    page_size: Option<usize>,
    /// Where tasks are kept.
    store: Option<String>,
    /// Lease of a running body.
    lease: Option<Duration>,
    /// One owner for every anonymous caller.
    shared_owner: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        http: None,
        grace: Duration::from_secs(10),
        page_size: None,
        store: None,
        lease: None,
        shared_owner: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--http" => {
                let addr = args
                    .next()
                    .ok_or("--http needs an address, e.g. --http 127.0.0.1:8080")?;
                options.http = Some(addr);
            }
            "--grace" => {
                let value = args.next().ok_or("--grace needs a number of seconds")?;
                let seconds: f64 = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| {
                        format!("--grace takes seconds (a number >= 0), not '{value}'")
                    })?;
                options.grace = Duration::from_secs_f64(seconds);
            }
            "--lease" => {
                let value = args.next().ok_or("--lease needs a number of seconds")?;
                let seconds: f64 = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| {
                        format!("--lease takes seconds (a number > 0), not '{value}'")
                    })?;
                options.lease = Some(Duration::from_secs_f64(seconds));
            }
            "--store" => {
                options.store = Some(
                    args.next()
                        .ok_or("--store needs a URL, e.g. sqlite:tasks.db")?,
                );
            }
            "--shared-owner" => {
                let name = args.next().filter(|n| !n.is_empty());
                options.shared_owner =
                    Some(name.ok_or("--shared-owner needs a name, e.g. --shared-owner me")?);
            }
            "--page-size" => {
                let value = args.next().ok_or("--page-size needs a number")?;
                let size = value
                    .parse()
                    .ok()
                    .filter(|n: &usize| *n > 0)
                    .ok_or_else(|| {
                        format!("--page-size takes a whole number > 0, not '{value}'")
                    })?;
                options.page_size = Some(size);
            }
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument '{other}'; {USAGE}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let options = match parse_options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("quickstart: {e}");
            std::process::exit(2)
        }
    };
    let mut limits = Limits::default();
    if let Some(size) = options.page_size {
        limits.list_page_size = size;
    }
    let mut sweep_every = Duration::from_secs(5);
    if let Some(lease) = options.lease {
        limits.lease_ttl = lease;
        sweep_every = sweep_every.min(lease / 2);
    }
    let store_url = options
        .store
        .or_else(|| std::env::var("PMCP_TASKS_STORE").ok())
        .unwrap_or_else(|| "memory".into());
    let (store, store_name) = match pmcp_tasks::store::url::open(&store_url).await {
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
    let server = TaskServer::builder("pmcp-tasks-quickstart", env!("CARGO_PKG_VERSION"))
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
