//! Every response shape of both eras, pinned with `insta` at the protocol
//! layer (`TaskServer::handle`, no transport): each method's success and
//! each error this crate answers. A change of shape shows up as a snapshot
//! diff to review (`INSTA_UPDATE=always` rewrites them, then read the
//! diff). Task ids and timestamps are redacted; everything else is exact.
//!
//! No notification is sent yet (status and progress notifications are a
//! later issue), so none is pinned.

mod common;

use common::*;
use pmcp::server::auth::AuthContext;
use pmcp_tasks::workflow::{DataSource, SequentialWorkflow, ToolHandle, WorkflowStep};
use pmcp_tasks::{
    AnonymousPolicy, Limits, TaskContext, TaskServer, TaskSupport, TaskTool, ToolError,
};
use serde_json::{json, Value};
use std::sync::Arc;

/// A plain pmcp tool.
struct Echo;

#[async_trait::async_trait]
impl pmcp::ToolHandler for Echo {
    async fn handle(&self, args: Value, _extra: pmcp::RequestHandlerExtra) -> pmcp::Result<Value> {
        Ok(json!({"echo": args}))
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct CityArgs {
    city: String,
}

async fn locate(args: CityArgs, _ctx: TaskContext) -> Result<Value, ToolError> {
    Ok(json!({"city": args.city, "lat": 60.4}))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct BookArgs {
    city: String,
    /// Only the client knows it: the server pauses the workflow for it.
    budget: u32,
}

async fn book(args: BookArgs, _ctx: TaskContext) -> Result<String, ToolError> {
    Ok(format!("booked {} for {}", args.city, args.budget))
}

fn trip() -> SequentialWorkflow {
    SequentialWorkflow::new("trip", "locate, then book")
        .argument("city", "where to", true)
        .step(
            WorkflowStep::new("locate", ToolHandle::new("locate"))
                .arg("city", DataSource::prompt_arg("city"))
                .bind("place"),
        )
        .step(
            WorkflowStep::new("book", ToolHandle::new("book"))
                .arg("city", DataSource::from_step_field("place", "city"))
                .with_guidance("ask the user before booking"),
        )
}

fn shapes_server(limits: Limits) -> TaskServer {
    let mut tools: Vec<TaskTool> = Vec::new();
    tools.push(
        TaskTool::new("confirm", |_: Empty, ctx: TaskContext| async move {
            let answer = ctx
                .elicit_form("ok", "Go ahead?", json!({"type": "object"}))
                .await?;
            Ok::<_, ToolError>(answer.action)
        })
        .support(TaskSupport::Optional)
        .ask_first(
            "ok",
            json!({"method": "elicitation/create", "params": {"mode": "form", "message": "Go ahead?", "requestedSchema": {"type": "object"}}}),
        ),
    );
    tools.push(TaskTool::new("locate", locate).support(TaskSupport::Forbidden));
    tools.push(TaskTool::new("report", locate).immediate_with(|args| {
        format!(
            "Started the report on {}; I will say when it is ready.",
            args["city"].as_str().unwrap_or("?")
        )
    }));
    tools.push(TaskTool::new("book", book).support(TaskSupport::Forbidden));
    with_test_tools(TaskServer::builder("shapes", "1.0.0"))
        .pmcp(|core| core.tool("echo", Echo))
        .tools(tools)
        .workflow(trip())
        .limits(limits)
        .clock(Arc::new(pmcp_tasks::clock::TokioClock::new()))
        .build()
        .unwrap()
}

/// Replaces every UUID (task ids, also inside text) and every timestamp,
/// the only values that differ from run to run.
fn redact(value: &mut Value) {
    match value {
        Value::String(s) => *s = redact_ids(s),
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "createdAt" || key == "lastUpdatedAt" {
                    *v = json!("<time>");
                } else {
                    redact(v);
                }
            }
        }
        _ => {}
    }
}

fn redact_ids(text: &str) -> String {
    let is_uuid = |s: &[u8]| {
        s.len() == 36
            && s.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            out.push_str("<id>");
            i += 36;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn pin(name: &str, mut response: Value) {
    redact(&mut response);
    insta::assert_snapshot!(name, serde_json::to_string_pretty(&response).unwrap());
}

struct Client {
    server: TaskServer,
    next: u64,
}

impl Client {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let request =
            json!({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params});
        self.server
            .handle(request, Some(AuthContext::new("ana")))
            .await
            .expect("a response")
    }

    async fn raw(&mut self, message: Value) -> Value {
        self.server
            .handle(message, Some(AuthContext::new("ana")))
            .await
            .expect("a response")
    }

    async fn task_2025(&mut self, tool: &str, args: Value) -> String {
        let created = self
            .call(
                "tools/call",
                json!({"name": tool, "arguments": args, "task": {"ttl": 60000}}),
            )
            .await;
        ok(&created)["task"]["taskId"].as_str().unwrap().to_owned()
    }

    async fn task_2026(&mut self, tool: &str, args: Value) -> String {
        let created = self
            .call(
                "tools/call",
                v2026(json!({"name": tool, "arguments": args}), true),
            )
            .await;
        ok(&created)["taskId"].as_str().unwrap().to_owned()
    }

    async fn settle(&mut self, id: &str) {
        for _ in 0..200 {
            let got = self.call("tasks/get", json!({"taskId": id})).await;
            if matches!(
                ok(&got)["status"].as_str(),
                Some("completed" | "failed" | "cancelled" | "input_required")
            ) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("task {id} never settled");
    }
}

fn client() -> Client {
    Client {
        server: shapes_server(fast_limits()),
        next: 0,
    }
}

#[tokio::test(start_paused = true)]
async fn shapes_2025_11_25_successes() {
    let mut c = client();
    pin("2025_initialize", c.call("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})).await);
    pin("2025_ping", c.call("ping", json!({})).await);
    pin("2025_tools_list", c.call("tools/list", json!({})).await);
    pin("2025_prompts_list", c.call("prompts/list", json!({})).await);
    pin(
        "2025_tools_call_inline",
        c.call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}}),
        )
        .await,
    );
    pin(
        "2025_tools_call_plain_pmcp_tool",
        c.call("tools/call", json!({"name": "echo", "arguments": {"x": 1}}))
            .await,
    );
    pin(
        "2025_tools_call_task",
        c.call(
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 50}, "task": {"ttl": 60000}}),
        )
        .await,
    );
    let id = c.task_2025("sleepy", json!({"ms": 50})).await;
    pin(
        "2025_tasks_get_working",
        c.call("tasks/get", json!({"taskId": id})).await,
    );
    c.settle(&id).await;
    pin(
        "2025_tasks_get_completed",
        c.call("tasks/get", json!({"taskId": id})).await,
    );
    pin(
        "2025_tasks_result_completed",
        c.call("tasks/result", json!({"taskId": id})).await,
    );
    let failed = c.task_2025("tool_error", json!({})).await;
    c.settle(&failed).await;
    pin(
        "2025_tasks_get_failed_tool_error",
        c.call("tasks/get", json!({"taskId": failed})).await,
    );
    pin(
        "2025_tasks_result_tool_error",
        c.call("tasks/result", json!({"taskId": failed})).await,
    );
    let errored = c.task_2025("protocol_error", json!({})).await;
    c.settle(&errored).await;
    pin(
        "2025_tasks_result_protocol_error",
        c.call("tasks/result", json!({"taskId": errored})).await,
    );
    let running = c.task_2025("sleepy", json!({"ms": 60_000})).await;
    pin(
        "2025_tasks_cancel",
        c.call("tasks/cancel", json!({"taskId": running})).await,
    );
    pin(
        "2025_tasks_result_cancelled",
        c.call("tasks/result", json!({"taskId": running})).await,
    );
    let limits = Limits {
        list_page_size: 2,
        ..fast_limits()
    };
    let mut paged = Client {
        server: shapes_server(limits),
        next: 0,
    };
    for _ in 0..3 {
        paged.task_2025("sleepy", json!({"ms": 1})).await;
    }
    let first = paged.call("tasks/list", json!({})).await;
    let cursor = ok(&first)["nextCursor"].clone();
    pin("2025_tasks_list_first_page", first);
    pin(
        "2025_tasks_list_last_page",
        paged.call("tasks/list", json!({"cursor": cursor})).await,
    );
}

#[tokio::test(start_paused = true)]
async fn shapes_2025_11_25_errors() {
    let mut c = client();
    let done = c.task_2025("sleepy", json!({"ms": 1})).await;
    c.settle(&done).await;
    let cases = [
        (
            "2025_error_task_not_found",
            "tasks/get",
            json!({"taskId": "nope"}),
        ),
        ("2025_error_task_id_missing", "tasks/get", json!({})),
        (
            "2025_error_cancel_terminal",
            "tasks/cancel",
            json!({"taskId": done}),
        ),
        (
            "2025_error_unknown_cursor",
            "tasks/list",
            json!({"cursor": "m99999"}),
        ),
        (
            "2025_error_update_is_2026",
            "tasks/update",
            json!({"taskId": done, "inputResponses": {}}),
        ),
        (
            "2025_error_forbidden_as_task",
            "tools/call",
            json!({"name": "plain", "arguments": {}, "task": {}}),
        ),
        (
            "2025_error_required_inline",
            "tools/call",
            json!({"name": "ask_twice", "arguments": {}}),
        ),
        (
            "2025_error_plain_tool_as_task",
            "tools/call",
            json!({"name": "echo", "arguments": {}, "task": {}}),
        ),
        (
            "2025_error_unknown_tool",
            "tools/call",
            json!({"name": "nope", "arguments": {}}),
        ),
        (
            "2025_error_invalid_arguments",
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": "soon"}, "task": {}}),
        ),
        (
            "2025_error_negative_ttl",
            "tools/call",
            json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {"ttl": -5}}),
        ),
        (
            "2025_error_name_missing",
            "tools/call",
            json!({"arguments": {}}),
        ),
        ("2025_error_unknown_method", "foo/bar", json!({})),
        (
            "2025_error_unsupported_version",
            "tasks/get",
            json!({"taskId": done, "_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}}),
        ),
        (
            "2025_error_meta_not_an_object",
            "tasks/get",
            json!({"taskId": done, "_meta": 5}),
        ),
    ];
    for (name, method, params) in cases {
        pin(name, c.call(method, params).await);
    }
    pin("2025_error_not_an_object", c.raw(json!([1, 2])).await);
    pin(
        "2025_error_no_method",
        c.raw(json!({"jsonrpc": "2.0", "id": 9})).await,
    );
    pin(
        "2025_error_params_not_an_object",
        c.raw(json!({"jsonrpc": "2.0", "id": 9, "method": "tasks/get", "params": [1]}))
            .await,
    );
    let mut limited = Client {
        server: shapes_server(Limits {
            max_active_tasks_per_owner: 1,
            ..fast_limits()
        }),
        next: 0,
    };
    limited.task_2025("sleepy", json!({"ms": 60_000})).await;
    pin(
        "2025_error_too_many_tasks",
        limited
            .call(
                "tools/call",
                json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {}}),
            )
            .await,
    );
    let anonymous = with_test_tools(TaskServer::builder("shapes", "1.0.0"))
        .anonymous(AnonymousPolicy::Reject)
        .build()
        .unwrap();
    let refused = anonymous
        .handle(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/list", "params": {}}),
            None,
        )
        .await
        .unwrap();
    pin("2025_error_authentication_required", refused);
    limited.server.shutdown(std::time::Duration::ZERO).await;
    pin(
        "2025_error_shutting_down",
        limited
            .call(
                "tools/call",
                json!({"name": "sleepy", "arguments": {"ms": 1}, "task": {}}),
            )
            .await,
    );
}

#[tokio::test(start_paused = true)]
async fn shapes_2026_07_28_successes() {
    let mut c = client();
    pin(
        "2026_discover",
        c.call("server/discover", v2026(json!({}), true)).await,
    );
    pin("2026_ping", c.call("ping", v2026(json!({}), true)).await);
    pin(
        "2026_tools_list",
        c.call("tools/list", v2026(json!({}), true)).await,
    );
    pin(
        "2026_tools_call_inline_without_extension",
        c.call(
            "tools/call",
            v2026(json!({"name": "sleepy", "arguments": {"ms": 1}}), false),
        )
        .await,
    );
    pin(
        "2026_tools_call_forbidden_tool_runs_inline",
        c.call(
            "tools/call",
            v2026(json!({"name": "plain", "arguments": {}}), true),
        )
        .await,
    );
    pin(
        "2026_tools_call_task",
        c.call(
            "tools/call",
            v2026(json!({"name": "sleepy", "arguments": {"ms": 50}}), true),
        )
        .await,
    );
    pin(
        "2026_tools_call_task_with_immediate_response",
        c.call(
            "tools/call",
            v2026(
                json!({"name": "report", "arguments": {"city": "Oslo"}}),
                true,
            ),
        )
        .await,
    );
    pin(
        "2026_tools_call_input_required",
        c.call(
            "tools/call",
            v2026(json!({"name": "confirm", "arguments": {}}), true),
        )
        .await,
    );
    let answered = c
        .call(
            "tools/call",
            v2026(
                json!({"name": "confirm", "arguments": {}, "inputResponses": {"ok": {"action": "accept"}}}),
                true,
            ),
        )
        .await;
    let confirmed = ok(&answered)["taskId"].as_str().unwrap().to_owned();
    c.settle(&confirmed).await;
    pin(
        "2026_tasks_get_completed_after_answers_first",
        c.call("tasks/get", v2026(json!({"taskId": confirmed}), true))
            .await,
    );
    let id = c.task_2026("sleepy", json!({"ms": 50})).await;
    pin(
        "2026_tasks_get_working",
        c.call("tasks/get", v2026(json!({"taskId": id}), true))
            .await,
    );
    c.settle(&id).await;
    pin(
        "2026_tasks_get_completed",
        c.call("tasks/get", v2026(json!({"taskId": id}), true))
            .await,
    );
    let asking = c.task_2026("ask_twice", json!({})).await;
    c.settle(&asking).await;
    pin(
        "2026_tasks_get_input_required",
        c.call("tasks/get", v2026(json!({"taskId": asking}), true))
            .await,
    );
    pin(
        "2026_tasks_update",
        c.call(
            "tasks/update",
            v2026(json!({"taskId": asking, "inputResponses": {"first": {"action": "accept", "content": {"v": "a"}}}}), true),
        )
        .await,
    );
    let tool_error = c.task_2026("tool_error", json!({})).await;
    c.settle(&tool_error).await;
    pin(
        "2026_tasks_get_completed_tool_error",
        c.call("tasks/get", v2026(json!({"taskId": tool_error}), true))
            .await,
    );
    let failed = c.task_2026("protocol_error", json!({})).await;
    c.settle(&failed).await;
    pin(
        "2026_tasks_get_failed",
        c.call("tasks/get", v2026(json!({"taskId": failed}), true))
            .await,
    );
    let running = c.task_2026("sleepy", json!({"ms": 60_000})).await;
    pin(
        "2026_tasks_cancel",
        c.call("tasks/cancel", v2026(json!({"taskId": running}), true))
            .await,
    );
    pin(
        "2026_tasks_get_cancelled",
        c.call("tasks/get", v2026(json!({"taskId": running}), true))
            .await,
    );
    pin(
        "2026_tasks_cancel_terminal_is_acknowledged",
        c.call("tasks/cancel", v2026(json!({"taskId": running}), true))
            .await,
    );
}

#[tokio::test(start_paused = true)]
async fn shapes_2026_07_28_errors() {
    let mut c = client();
    let cases = [
        (
            "2026_error_tasks_get_without_extension",
            "tasks/get",
            v2026(json!({"taskId": "nope"}), false),
        ),
        (
            "2026_error_required_tool_without_extension",
            "tools/call",
            v2026(json!({"name": "ask_twice", "arguments": {}}), false),
        ),
        (
            "2026_error_task_not_found",
            "tasks/get",
            v2026(json!({"taskId": "nope"}), true),
        ),
        (
            "2026_error_tasks_result",
            "tasks/result",
            v2026(json!({"taskId": "nope"}), true),
        ),
        (
            "2026_error_tasks_list",
            "tasks/list",
            v2026(json!({}), true),
        ),
        (
            "2026_error_update_without_responses",
            "tasks/update",
            v2026(json!({"taskId": "nope"}), true),
        ),
        (
            "2026_error_listen",
            "subscriptions/listen",
            v2026(json!({"notifications": {"taskIds": []}}), true),
        ),
        (
            "2026_error_listen_without_extension",
            "subscriptions/listen",
            v2026(json!({"notifications": {"taskIds": []}}), false),
        ),
        (
            "2026_error_unknown_tool",
            "tools/call",
            v2026(json!({"name": "nope", "arguments": {}}), true),
        ),
    ];
    for (name, method, params) in cases {
        pin(name, c.call(method, params).await);
    }
}

#[tokio::test(start_paused = true)]
async fn shapes_of_workflow_prompts() {
    let mut c = client();
    let started = c
        .call(
            "prompts/get",
            json!({"name": "trip", "arguments": {"city": "Bergen"}}),
        )
        .await;
    let id = ok(&started)["_meta"]["io.modelcontextprotocol/related-task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    pin("workflow_prompts_get", started);
    pin(
        "workflow_continuation",
        c.call(
            "tools/call",
            json!({"name": "book", "arguments": {"city": "Bergen", "budget": 900},
                   "_meta": {"io.modelcontextprotocol/related-task": {"taskId": id}}}),
        )
        .await,
    );
    pin(
        "workflow_tasks_result",
        c.call("tasks/result", json!({"taskId": id})).await,
    );
    pin(
        "workflow_error_wrong_step",
        c.call(
            "tools/call",
            json!({"name": "locate", "arguments": {"city": "Oslo"},
                   "_meta": {"io.modelcontextprotocol/related-task": {"taskId": id}}}),
        )
        .await,
    );
}
