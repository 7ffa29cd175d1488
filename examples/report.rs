//! A report-writing server: one long task tool built the way a real server
//! is, beyond the quickstart's one-feature tools.
//!
//! `write_report` gathers sources on a topic from a shared library
//! (application state), drafts a report in checkpointed steps (so another
//! instance can resume it), reports progress, publishes what it found as
//! task variables, reads settings the client wrote into them, and asks for
//! approval before it publishes: with a typed form where the client can
//! answer one, else by waiting for the client to set the `approved`
//! variable (2026-07-28 `tasks/update`).
//!
//! ```text
//! cargo run --example report                              # stdio
//! cargo run --example report -- --http 127.0.0.1:8080     # http://127.0.0.1:8080/mcp
//! ```

use pmcp_tasks::{
    shutdown_signal, task_tool, Elicited, ProgressUpdate, State, TaskContext, TaskError,
    TaskServer, ToolError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The sources reports are written from: the application state every task
/// shares (in a real server, a database pool or a search client).
struct Library {
    /// Source texts by title, each under the topics it covers.
    by_topic: BTreeMap<String, Vec<(String, String)>>,
}

impl Library {
    fn sample() -> Self {
        let mut by_topic: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let sources = [
            (
                "tides",
                "Moon and tides",
                "The moon's pull raises two bulges of water.",
            ),
            (
                "tides",
                "Spring tides",
                "Sun and moon in line make the largest tides.",
            ),
            (
                "tides",
                "Tide tables",
                "Harbours publish predicted high and low water.",
            ),
            (
                "tides",
                "Tidal power",
                "Barrages turn the rise and fall into electricity.",
            ),
            (
                "bees",
                "Waggle dance",
                "A forager's dance tells direction and distance.",
            ),
            (
                "bees",
                "Hive cooling",
                "Bees fan their wings to cool the comb.",
            ),
        ];
        for (topic, title, text) in sources {
            by_topic
                .entry(topic.to_owned())
                .or_default()
                .push((title.to_owned(), text.to_owned()));
        }
        Library { by_topic }
    }

    async fn search(&self, topic: &str) -> Vec<(String, String)> {
        // A real library answers over the network.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.by_topic
            .get(&topic.to_lowercase())
            .cloned()
            .unwrap_or_default()
    }
}

#[derive(Deserialize, JsonSchema)]
struct ReportArgs {
    /// What the report is about (the sample library knows "tides" and
    /// "bees").
    topic: String,
}

/// A source the report cites.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Source {
    title: String,
    text: String,
}

/// The finished report.
#[derive(Serialize, JsonSchema)]
struct Report {
    topic: String,
    sources: Vec<String>,
    text: String,
    /// What the approver said, if anything.
    approval_note: Option<String>,
}

/// The approval form the client fills in.
#[derive(Deserialize, JsonSchema)]
struct Approval {
    /// Publish the report?
    approve: bool,
    /// A note for the record.
    note: Option<String>,
}

/// Settings a client may write into the task's variables, at the start
/// (`_meta["pmcp:variables"]` of `tools/call`) or while it runs.
fn setting<T: serde::de::DeserializeOwned>(
    vars: &serde_json::Map<String, Value>,
    name: &str,
) -> Option<T> {
    vars.get(name)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Writes a short report on a topic from the library's sources, asking for
/// approval before it is published. Client-written variables: `max_sources`
/// (default 3), `style` ("brief" or "full"), and `approved` (a bool) for
/// clients that cannot answer forms.
#[task_tool(support = "optional", ttl = "30m", resumable)]
async fn write_report(
    args: ReportArgs,
    ctx: TaskContext,
    State(library): State<Arc<Library>>,
) -> Result<Report, ToolError> {
    let vars = ctx.variables().await?;
    let max_sources: usize = setting(&vars, "max_sources").unwrap_or(3);
    let topic = args.topic.trim().to_owned();
    if topic.is_empty() {
        return Err(ToolError::invalid_params("topic must not be empty"));
    }

    ctx.progress(ProgressUpdate::of(0.0, 3.0).message("gathering sources"))
        .await?;
    let sources: Vec<Source> = ctx
        .step("gather", async {
            let found = library.search(&topic).await;
            Ok(found
                .into_iter()
                .take(max_sources)
                .map(|(title, text)| Source { title, text })
                .collect())
        })
        .await?;
    if sources.is_empty() {
        return Err(ToolError::new(format!(
            "the library has nothing on '{topic}'; try \"tides\" or \"bees\""
        )));
    }
    ctx.set_var("sources_found", &sources.len()).await?;

    ctx.progress(ProgressUpdate::of(1.0, 3.0).message("drafting"))
        .await?;
    // Read again: the client may have changed the style meanwhile.
    let style: String = setting(&ctx.variables().await?, "style").unwrap_or_else(|| "brief".into());
    let text: String = ctx
        .step("draft", async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let body: Vec<String> = sources
                .iter()
                .map(|s| match style.as_str() {
                    "full" => format!("{}: {}", s.title, s.text),
                    _ => s.title.clone(),
                })
                .collect();
            Ok(format!("Report on {topic}. {}.", body.join("; ")))
        })
        .await?;
    ctx.set_var("draft_words", &text.split_whitespace().count())
        .await?;

    ctx.progress(ProgressUpdate::of(2.0, 3.0).message("waiting for approval"))
        .await?;
    let question = format!("Publish the report on {topic} ({} sources)?", sources.len());
    let note = match ctx.elicit_keyed::<Approval>("approval", &question).await {
        Ok(Elicited::Accepted(Approval {
            approve: true,
            note,
        })) => note,
        Ok(_) => return Err(ToolError::new("the report was not approved")),
        // A client that cannot fill in forms approves through a variable.
        Err(TaskError::ClientCannotAnswer { .. }) => {
            ctx.set_var("awaiting", &"approved").await?;
            let vars = ctx
                .wait_for_variables(|v| v.get("approved").is_some_and(Value::is_boolean))
                .await?;
            if vars.get("approved") != Some(&json!(true)) {
                return Err(ToolError::new("the report was not approved"));
            }
            setting(&vars, "approval_note")
        }
        Err(e) => return Err(e.into()),
    };
    ctx.progress(ProgressUpdate::of(3.0, 3.0).message("published"))
        .await?;
    Ok(Report {
        topic,
        sources: sources.into_iter().map(|s| s.title).collect(),
        text,
        approval_note: note,
    })
}

/// Serves the report tool over stdio or streamable HTTP.
#[derive(clap::Parser)]
#[command(name = "report", version)]
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
    let (store, store_name) = pmcp_tasks::store::url::open(&options.store).await?;
    eprintln!("report: tasks are kept in {store_name}");
    let server = TaskServer::builder("pmcp-tasks-report", env!("CARGO_PKG_VERSION"))
        .store(store)
        .state(Arc::new(Library::sample()))
        .tool(write_report_task_tool())
        .build()?;
    match options.http {
        None => {
            tokio::select! {
                r = server.serve_stdio() => r?,
                _ = shutdown_signal() => {}
            }
        }
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            eprintln!(
                "report: serving MCP at http://{}/mcp",
                listener.local_addr()?
            );
            server.serve_http(listener, shutdown_signal()).await?;
        }
    }
    server.shutdown(Duration::from_secs(10)).await;
    Ok(())
}
