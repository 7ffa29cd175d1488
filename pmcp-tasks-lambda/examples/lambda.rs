//! One binary for both functions of `deploy/lambda.yaml`:
//!
//! - `PMCP_TASKS_ROLE=http`: the MCP endpoint (function URL). A task tool
//!   called with a task is recorded in the table and handed to the queue;
//! - `PMCP_TASKS_ROLE=worker`: triggered by the queue (runs the bodies) and
//!   by a schedule (expiry and crash recovery).
//!
//! Both read `PMCP_TASKS_TABLE` (the DynamoDB table) and the endpoint
//! `PMCP_TASKS_QUEUE_URL`; `AWS_ENDPOINT_URL` points both at a local
//! emulator. Build for Lambda with `cargo lambda build --release --example
//! lambda` (or any `aarch64-unknown-linux-gnu` build named `bootstrap`).

use pmcp_tasks::store::DynamoDbStore;
use pmcp_tasks::{task_tool, Limits, TaskContext, TaskServer, ToolError};
use pmcp_tasks_lambda::SqsDispatch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize, JsonSchema)]
struct ReportArgs {
    /// How many sections the report has.
    sections: u32,
}

#[derive(Serialize, JsonSchema)]
struct Report {
    sections: Vec<String>,
}

/// Writes a report section by section. Each section is a checkpointed
/// step, so a worker that dies mid-way is replaced by one that carries on
/// from the last finished section.
#[task_tool(support = "optional", ttl = "1h", resumable)]
async fn write_report(args: ReportArgs, ctx: TaskContext) -> Result<Report, ToolError> {
    let mut sections = Vec::new();
    for n in 1..=args.sections.min(100) {
        ctx.progress(format!("section {n} of {}", args.sections))
            .await?;
        let section = ctx
            .step(&format!("section-{n}"), async move {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                Ok(format!("Section {n}: done"))
            })
            .await?;
        sections.push(section);
    }
    Ok(Report { sections })
}

fn var(name: &str) -> Result<String, pmcp_tasks_lambda::Error> {
    std::env::var(name).map_err(|_| format!("set {name} (see deploy/lambda.yaml)").into())
}

#[tokio::main]
async fn main() -> Result<(), pmcp_tasks_lambda::Error> {
    tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .init();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let store = DynamoDbStore::connect(&var("PMCP_TASKS_TABLE")?, endpoint.as_deref()).await?;
    let builder = TaskServer::builder("lambda-reports", env!("CARGO_PKG_VERSION"))
        .store(Arc::new(store))
        .registered_tools()
        // Sweeping and recovery run in the worker's scheduled round, which
        // waits for what it starts; never in a frozen background.
        .without_sweeper()
        // A body waiting for an answer lets go of its (billed) invocation at
        // once; the answer, at the endpoint, queues it again.
        .limits(Limits {
            suspend_after: Some(std::time::Duration::ZERO),
            ..Limits::default()
        });
    match var("PMCP_TASKS_ROLE")?.as_str() {
        "http" => {
            let queue =
                SqsDispatch::connect(var("PMCP_TASKS_QUEUE_URL")?, endpoint.as_deref()).await;
            pmcp_tasks_lambda::run_http(builder.dispatch(Arc::new(queue)).build()?).await
        }
        "worker" => pmcp_tasks_lambda::run_worker(builder.build()?).await,
        other => Err(format!("PMCP_TASKS_ROLE is '{other}': say http or worker").into()),
    }
}
