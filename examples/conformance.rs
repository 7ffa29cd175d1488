//! The fixture server of the official MCP conformance suite's `tasks-*`
//! scenarios (npm `@modelcontextprotocol/conformance`), written with
//! `#[task_tool]`.
//!
//! ```text
//! cargo run --example conformance -- --http 127.0.0.1:8080   # http://127.0.0.1:8080/mcp
//! cargo run --example conformance                            # stdio
//! ```

use pmcp_tasks::{shutdown_signal, task_tool, TaskContext, TaskServer, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// Who to greet.
    name: String,
}

/// Greets at once; never a task.
#[task_tool(support = "forbidden")]
async fn greet(args: GreetArgs) -> Result<String, ToolError> {
    Ok(format!("Hello, {}!", args.name))
}

#[derive(Deserialize, JsonSchema)]
struct SlowComputeArgs {
    /// How long to compute, in seconds.
    seconds: u64,
    /// A label echoed in the result.
    #[serde(default)]
    label: String,
}

/// Computes for `seconds`: a task when the client supports tasks, inline otherwise.
#[task_tool(support = "optional")]
async fn slow_compute(args: SlowComputeArgs, ctx: TaskContext) -> Result<String, ToolError> {
    for second in 0..args.seconds.min(3600) {
        ctx.progress(format!("{second} of {} seconds", args.seconds))
            .await
            .ok();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(format!(
        "Computed '{}' in {} seconds",
        args.label, args.seconds
    ))
}

/// Fails with a tool error (`isError`) after a second; only as a task.
#[task_tool(support = "required")]
async fn failing_job() -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(ToolError::new(
        "The job failed: the input could not be processed",
    ))
}

/// Fails with a JSON-RPC error after a moment; only as a task.
#[task_tool(support = "required")]
async fn protocol_error_job() -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Err(ToolError::protocol(-32603, "The job hit an internal error"))
}

fn confirm_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"confirm": {"type": "boolean", "description": "Go ahead?"}},
        "required": ["confirm"]
    })
}

#[derive(Deserialize, JsonSchema)]
struct ConfirmDeleteArgs {
    /// The file to delete.
    filename: String,
}

/// Asks for confirmation, then (pretends to) delete the file.
#[task_tool(support = "required")]
async fn confirm_delete(args: ConfirmDeleteArgs, ctx: TaskContext) -> Result<String, ToolError> {
    let message = format!("Delete {}?", args.filename);
    let answer = ctx
        .elicit_form("confirm", &message, confirm_schema())
        .await?;
    let confirmed = answer.accepted()
        && answer.content.as_ref().and_then(|c| c.get("confirm")) == Some(&json!(true));
    Ok(if confirmed {
        format!("Deleted {}", args.filename)
    } else {
        format!("Kept {}", args.filename)
    })
}

/// Asks two questions at once and waits for both answers.
#[task_tool(support = "required")]
async fn multi_input(ctx: TaskContext) -> Result<String, ToolError> {
    let name_schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    let (first, second) = tokio::join!(
        ctx.elicit_form("name", "What is your name?", name_schema),
        ctx.elicit_form("confirm", "Continue?", confirm_schema()),
    );
    let name = first?
        .content
        .and_then(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    Ok(format!(
        "Received {name}; confirmed: {}",
        second?.accepted()
    ))
}

const USER_NAME: &str = "user_name";

/// Asks for a name before the task starts (multi round-trip), then greets.
#[task_tool(support = "required")]
async fn test_tool_with_task(ctx: TaskContext) -> Result<String, ToolError> {
    let answer = ctx.request_input(USER_NAME, user_name_request()).await?;
    let name = ["name", USER_NAME]
        .iter()
        .find_map(|k| answer["content"][k].as_str())
        .unwrap_or("stranger");
    Ok(format!("Hello, {name}!"))
}

fn user_name_request() -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": "What is your name?",
            "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
        }
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let http = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--http"), Some(addr)) => Some(addr),
        _ => {
            eprintln!("usage: conformance [--http ADDR]   (stdio without --http)");
            std::process::exit(2);
        }
    };
    let server = TaskServer::builder("pmcp-tasks-conformance", env!("CARGO_PKG_VERSION"))
        .tools([
            greet_task_tool(),
            slow_compute_task_tool(),
            failing_job_task_tool(),
            protocol_error_job_task_tool(),
            confirm_delete_task_tool(),
            multi_input_task_tool(),
            test_tool_with_task_task_tool().ask_first(USER_NAME, user_name_request()),
        ])
        .build()?;
    match http {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            eprintln!(
                "conformance fixtures at http://{}/mcp",
                listener.local_addr()?
            );
            server.serve_http(listener, shutdown_signal()).await?;
        }
        None => {
            eprintln!("conformance fixtures over stdio");
            tokio::select! {
                r = server.serve_stdio() => r?,
                _ = shutdown_signal() => {}
            }
        }
    }
    server.shutdown(Duration::from_secs(2)).await;
    Ok(())
}
