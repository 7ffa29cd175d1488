//! The quickstart's three tools written by hand against pmcp 2.23 alone,
//! with pmcp's own task store: the comparison point of `docs/macros.md`.
//! Serves stdio: `cargo run --example quickstart_pmcp_by_hand`.
//!
//! It is what a user writes without pmcp-tasks, and it inherits pmcp's task
//! surface as it is (flat-task, error-code and stdio gaps listed in
//! `docs/architecture.md`); on 2025-11-25 pmcp has no way for a task to ask
//! the client for input, so `greet_user` only works on 2026-07-28.

use pmcp::server::task_store::{CreatedTask, InMemoryTaskStore, TaskStore};
use pmcp::server::typed_tool::TypedTool;
use pmcp::types::elicitation::{ElicitAction, ElicitRequestParams};
use pmcp::types::mrtr::{InputRequest, InputResponse};
use pmcp::types::tasks::TaskStatus;
use pmcp::types::{CallToolResult, Content, TaskSupport, ToolExecution};
use pmcp::{RequestHandlerExtra, Server};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

type Store = Arc<dyn TaskStore>;

/// The answer to a task-augmented call: pmcp mints the task from it, with the
/// TTL the client asked for (pmcp does not pass it on by itself).
fn task_placeholder(extra: &RequestHandlerExtra) -> Value {
    let ttl = extra
        .task_request
        .as_ref()
        .and_then(|t| t.get("ttl"))
        .cloned();
    json!({"taskId": "pending", "status": "working", "ttl": ttl})
}

/// Runs `body` in the background once pmcp has created the task, and stores
/// its result and then its status (two writes: pmcp has no atomic complete).
fn run_in_background<F, Fut>(extra: &RequestHandlerExtra, store: Store, body: F)
where
    F: FnOnce(Store, String, String) -> Fut + Send + 'static,
    Fut: Future<Output = Result<CallToolResult, String>> + Send + 'static,
{
    extra.on_task_created(move |created: CreatedTask| {
        tokio::spawn(async move {
            let (id, owner) = (created.task.task_id.clone(), created.owner_id.clone());
            let outcome = body(store.clone(), id.clone(), owner.clone()).await;
            let still_running =
                matches!(store.get(&id, &owner).await, Ok(t) if !t.status.is_terminal());
            if !still_running {
                return; // cancelled meanwhile
            }
            match outcome {
                Ok(result) => {
                    let _ = store.set_result(&id, &owner, result).await;
                    let _ = store
                        .update_status(&id, &owner, TaskStatus::Completed, None)
                        .await;
                }
                Err(message) => {
                    let _ = store
                        .set_error(&id, &owner, json!({"code": -32603, "message": message}))
                        .await;
                    let _ = store
                        .update_status(&id, &owner, TaskStatus::Failed, Some(message))
                        .await;
                }
            }
        });
    });
}

async fn is_cancelled(store: &Store, id: &str, owner: &str) -> bool {
    matches!(store.get(id, owner).await, Ok(t) if t.status == TaskStatus::Cancelled)
}

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

async fn slow_job(
    args: SlowJobArgs,
    progress: Option<(Store, String, String)>,
) -> Result<CallToolResult, String> {
    if !(0.0..=3600.0).contains(&args.seconds) {
        return Err("seconds must be between 0 and 3600".into());
    }
    let total = Duration::from_secs_f64(args.seconds);
    let steps = total.as_secs();
    for step in 1..=steps {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some((store, id, owner)) = &progress {
            if is_cancelled(store, id, owner).await {
                return Err("cancelled".into());
            }
            let _ = store
                .set_status_message(id, owner, Some(format!("step {step} of {steps}")))
                .await;
        }
    }
    tokio::time::sleep(total - Duration::from_secs(steps)).await;
    let report = serde_json::to_value(SlowJobReport {
        seconds: args.seconds,
        steps,
    })
    .map_err(|e| e.to_string())?;
    Ok(CallToolResult::structured(report))
}

fn slow_job_tool(store: Store) -> impl pmcp::ToolHandler {
    TypedTool::new(
        "slow_job",
        move |args: SlowJobArgs, extra: RequestHandlerExtra| {
            let store = store.clone();
            Box::pin(async move {
                if !extra.will_create_task() {
                    let result = slow_job(args, None)
                        .await
                        .map_err(pmcp::Error::invalid_params)?;
                    return serde_json::to_value(result)
                        .map_err(|e| pmcp::Error::internal(e.to_string()));
                }
                run_in_background(&extra, store, move |store, id, owner| {
                    slow_job(args, Some((store, id, owner)))
                });
                Ok(task_placeholder(&extra))
            }) as std::pin::Pin<Box<dyn Future<Output = pmcp::Result<Value>> + Send>>
        },
    )
    .with_description("Works for `seconds`, reporting progress every second.")
    .with_execution(ToolExecution::new().with_task_support(TaskSupport::Optional))
}

#[derive(Deserialize, JsonSchema)]
struct FailArgs {
    /// The failure message.
    #[serde(default)]
    message: Option<String>,
}

fn failing_job_tool(store: Store) -> impl pmcp::ToolHandler {
    TypedTool::new(
        "failing_job",
        move |args: FailArgs, extra: RequestHandlerExtra| {
            let store = store.clone();
            Box::pin(async move {
                let message = args
                    .message
                    .unwrap_or_else(|| "the job failed on purpose".into());
                let fail = move || async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Ok(CallToolResult::error(vec![Content::text(message)]))
                };
                if !extra.will_create_task() {
                    let result: Result<CallToolResult, String> = fail().await;
                    return serde_json::to_value(result.unwrap_or_default())
                        .map_err(|e| pmcp::Error::internal(e.to_string()));
                }
                run_in_background(&extra, store, move |_, _, _| fail());
                Ok(task_placeholder(&extra))
            }) as std::pin::Pin<Box<dyn Future<Output = pmcp::Result<Value>> + Send>>
        },
    )
    .with_description("Always fails, after a short moment: shows how failures look.")
    .with_execution(ToolExecution::new().with_task_support(TaskSupport::Optional))
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

async fn greet_user(
    args: GreetArgs,
    store: Store,
    id: String,
    owner: String,
) -> Result<CallToolResult, String> {
    let mut requests = BTreeMap::new();
    let params = ElicitRequestParams::Form {
        message: args.question,
        requested_schema: json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
    };
    requests.insert(
        "name".to_owned(),
        InputRequest::Elicitation(Box::new(params)),
    );
    store
        .record_input_requests(&id, &owner, requests)
        .await
        .map_err(|e| e.to_string())?;
    let answer = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if is_cancelled(&store, &id, &owner).await {
            return Err("cancelled".into());
        }
        let snapshot = store
            .task_input_snapshot(&id, &owner)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(InputResponse::Elicitation(answer)) = snapshot.input_responses.get("name") {
            break answer.clone();
        }
    };
    let _ = store
        .update_status(&id, &owner, TaskStatus::Working, None)
        .await;
    if answer.action != ElicitAction::Accept {
        return Ok(CallToolResult::error(vec![Content::text("no name given")]));
    }
    let name = answer
        .content
        .as_ref()
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("stranger");
    Ok(CallToolResult::new(vec![Content::text(format!(
        "Hello, {name}!"
    ))]))
}

fn greet_user_tool(store: Store) -> impl pmcp::ToolHandler {
    TypedTool::new(
        "greet_user",
        move |args: GreetArgs, extra: RequestHandlerExtra| {
            let store = store.clone();
            Box::pin(async move {
                if !extra.will_create_task() {
                    return Err(pmcp::Error::method_not_found(
                        "greet_user must run as a task",
                    ));
                }
                run_in_background(&extra, store, move |store, id, owner| {
                    greet_user(args, store, id, owner)
                });
                Ok(task_placeholder(&extra))
            }) as std::pin::Pin<Box<dyn Future<Output = pmcp::Result<Value>> + Send>>
        },
    )
    .with_description("Asks the user for their name, then greets them.")
    .with_execution(ToolExecution::new().with_task_support(TaskSupport::Required))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store: Store = Arc::new(InMemoryTaskStore::new());
    let server = Server::builder()
        .name("pmcp-quickstart-by-hand")
        .version("0.1.0")
        .tool("slow_job", slow_job_tool(store.clone()))
        .tool("failing_job", failing_job_tool(store.clone()))
        .tool("greet_user", greet_user_tool(store.clone()))
        .task_store(store)
        .build()?;
    eprintln!("pmcp quickstart (by hand): serving MCP over stdio");
    server.run_stdio().await?;
    Ok(())
}
