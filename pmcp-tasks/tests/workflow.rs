//! Workflow prompts in task mode, end to end through the server in process:
//! `prompts/get` runs what the server can and hands off; `tools/call` with
//! the task in `_meta` continues; the task completes, fails or is
//! cancelled; and a second server on the same SQLite file carries on.

use pmcp::server::workflow::ToolHandle;
use pmcp_tasks::workflow::{DataSource, SequentialWorkflow, WorkflowStep, HANDOFF_META_KEY};
use pmcp_tasks::{task_tool, task_workflow, TaskServer, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

const RELATED: &str = "io.modelcontextprotocol/related-task";

/// How often `geocode` ran, per city (tests may share a process).
static GEOCODE_RUNS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

#[cfg(feature = "sqlite")]
fn geocode_runs(city: &str) -> usize {
    GEOCODE_RUNS
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|m| m.get(city).copied())
        .unwrap_or(0)
}

#[derive(Deserialize, JsonSchema)]
struct City {
    city: String,
}

#[derive(Serialize, JsonSchema)]
struct Place {
    city: String,
    lat: f64,
}

/// Where a city is.
#[task_tool]
async fn geocode(args: City) -> Result<Place, ToolError> {
    *GEOCODE_RUNS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry(args.city.clone())
        .or_default() += 1;
    if args.city == "Atlantis" {
        return Err(ToolError::new("no such city: Atlantis"));
    }
    Ok(Place {
        lat: args.city.len() as f64,
        city: args.city,
    })
}

#[derive(Deserialize, JsonSchema)]
struct Booking {
    city: String,
    budget: u32,
}

#[derive(Serialize, JsonSchema)]
struct Booked {
    hotel: String,
    price: u32,
}

/// Books a hotel within a budget.
#[task_tool]
async fn book_hotel(args: Booking) -> Result<Booked, ToolError> {
    if args.budget < 50 {
        return Err(ToolError::new("nothing under 50 a night"));
    }
    Ok(Booked {
        hotel: format!("Grand {}", args.city),
        price: args.budget - 10,
    })
}

/// A plain pmcp tool: the workflow calls it too.
struct Summarize;

#[async_trait::async_trait]
impl pmcp::ToolHandler for Summarize {
    async fn handle(&self, args: Value, _extra: pmcp::RequestHandlerExtra) -> pmcp::Result<Value> {
        Ok(
            json!({"summary": format!("{} at {}", args["hotel"].as_str().unwrap_or("?"), args["lat"])}),
        )
    }

    fn metadata(&self) -> Option<pmcp::types::ToolInfo> {
        Some(pmcp::types::ToolInfo::new(
            "summarize",
            Some("Summarizes a trip".into()),
            json!({"type": "object", "required": ["hotel"], "properties": {"hotel": {"type": "string"}, "lat": {}}}),
        ))
    }
}

/// Geocode and book (the client supplies the budget), then summarize.
#[task_workflow]
fn trip() -> SequentialWorkflow {
    SequentialWorkflow::new("trip", "Plan a trip to a city")
        .argument("city", "where to go", true)
        .step(
            WorkflowStep::new("locate", ToolHandle::new("geocode"))
                .arg("city", DataSource::prompt_arg("city"))
                .bind("place"),
        )
        .step(
            WorkflowStep::new("book", ToolHandle::new("book_hotel"))
                .arg("city", DataSource::from_step_field("place", "city"))
                .with_guidance("Ask the traveller for a nightly budget")
                .bind("booking"),
        )
        .step(
            WorkflowStep::new("wrap_up", ToolHandle::new("summarize"))
                .arg("hotel", DataSource::from_step_field("booking", "hotel"))
                .arg("lat", DataSource::from_step_field("place", "lat")),
        )
}

fn server_on(store: std::sync::Arc<dyn pmcp_tasks::store::TaskStore>) -> TaskServer {
    TaskServer::builder("trips", "1")
        .pmcp(|core| core.tool("summarize", Summarize))
        .registered_tools()
        .registered_workflows()
        .store(store)
        .clock(std::sync::Arc::new(pmcp_tasks::clock::TokioClock::new()))
        .build()
        .unwrap()
}

fn server() -> TaskServer {
    server_on(std::sync::Arc::new(pmcp_tasks::store::MemoryStore::new()))
}

async fn call(server: &TaskServer, method: &str, params: Value) -> Value {
    server
        .handle(
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
            None,
        )
        .await
        .unwrap()
}

fn result(response: &Value) -> &Value {
    assert!(response.get("error").is_none(), "{response}");
    &response["result"]
}

fn handoff(result: &Value) -> &Value {
    &result["_meta"][HANDOFF_META_KEY]
}

async fn start_trip(server: &TaskServer, city: &str) -> Value {
    let got = call(
        server,
        "prompts/get",
        json!({"name": "trip", "arguments": {"city": city}}),
    )
    .await;
    result(&got).clone()
}

async fn book(server: &TaskServer, task: &str, budget: u32) -> Value {
    call(
        server,
        "tools/call",
        json!({
            "name": "book_hotel",
            "arguments": {"city": "Oslo", "budget": budget},
            "_meta": {RELATED: {"taskId": task}},
        }),
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn the_workflow_is_listed_as_a_prompt() {
    let server = server();
    let listed = call(&server, "prompts/list", json!({})).await;
    assert_eq!(
        result(&listed)["prompts"],
        json!([{"name": "trip", "description": "Plan a trip to a city",
                "arguments": [{"name": "city", "description": "where to go", "required": true}]}])
    );
}

#[tokio::test(start_paused = true)]
async fn prompts_get_runs_what_it_can_then_the_client_continues_to_completion() {
    let server = server();
    let got = start_trip(&server, "Oslo").await;
    let hand = handoff(&got);
    let task = hand["taskId"].as_str().unwrap().to_owned();
    assert_eq!(got["_meta"][RELATED]["taskId"], json!(task));
    assert_eq!(hand["status"], "working");
    assert_eq!(
        hand["steps"],
        json!([
            {"name": "locate", "tool": "geocode", "status": "completed"},
            {"name": "book", "tool": "book_hotel", "status": "pending"},
            {"name": "wrap_up", "tool": "summarize", "status": "pending"},
        ])
    );
    assert_eq!(hand["next"]["step"], "book");
    assert_eq!(hand["next"]["arguments"], json!({"city": "Oslo"}));
    assert_eq!(
        hand["next"]["reason"],
        json!({"type": "schemaMismatch", "step": "book", "tool": "book_hotel", "missingFields": ["budget"]})
    );
    assert_eq!(
        hand["next"]["guidance"],
        "Ask the traveller for a nightly budget"
    );
    assert_eq!(hand["remaining"], json!(["wrap_up"]));
    let narrative = got["messages"].as_array().unwrap().last().unwrap()["content"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        narrative.contains("Next is step 'book'") && narrative.contains("budget"),
        "{narrative}"
    );

    // The task shows where it stands, with each step's output in its variables.
    let polled = call(&server, "tasks/get", json!({"taskId": task})).await;
    let polled = result(&polled);
    assert_eq!(polled["status"], "working");
    assert!(
        polled["statusMessage"]
            .as_str()
            .unwrap()
            .contains("waiting for the client"),
        "{polled}"
    );
    let vars = &polled["_meta"]["pmcp:variables"];
    assert_eq!(
        vars["_workflow.result.locate"],
        json!({"city": "Oslo", "lat": 4.0})
    );
    assert_eq!(vars["_workflow.pause_reason"]["type"], "schemaMismatch");

    // The client runs the step; the server records it and runs the rest.
    let booked = book(&server, &task, 120).await;
    let booked = result(&booked);
    assert_eq!(
        booked["structuredContent"],
        json!({"hotel": "Grand Oslo", "price": 110})
    );
    let hand = handoff(booked);
    assert_eq!(hand["status"], "completed");
    assert_eq!(hand["next"], Value::Null);

    let done = call(&server, "tasks/result", json!({"taskId": task})).await;
    let summary = &result(&done)["structuredContent"];
    assert_eq!(summary["workflow"], "trip");
    assert_eq!(
        summary["steps"][2]["output"],
        json!({"summary": "Grand Oslo at 4.0"})
    );
    assert_eq!(summary["steps"][1]["output"]["price"], 110);
}

#[tokio::test(start_paused = true)]
async fn a_continuation_must_call_the_next_steps_tool() {
    let server = server();
    let got = start_trip(&server, "Oslo").await;
    let task = handoff(&got)["taskId"].as_str().unwrap().to_owned();
    let wrong = call(
        &server,
        "tools/call",
        json!({"name": "summarize", "arguments": {"hotel": "x"}, "_meta": {RELATED: {"taskId": task}}}),
    )
    .await;
    assert_eq!(wrong["error"]["code"], -32602);
    assert!(
        wrong["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expects step 'book' next, which calls tool 'book_hotel', not 'summarize'"),
        "{wrong}"
    );
    // Nothing changed: the right call still works.
    assert_eq!(
        handoff(result(&book(&server, &task, 80).await))["status"],
        "completed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_client_step_fails_the_task_with_its_error() {
    let server = server();
    let got = start_trip(&server, "Oslo").await;
    let task = handoff(&got)["taskId"].as_str().unwrap().to_owned();
    let cheap = book(&server, &task, 10).await;
    let cheap = result(&cheap);
    assert_eq!(cheap["isError"], true);
    assert_eq!(handoff(cheap)["status"], "failed");
    assert_eq!(handoff(cheap)["steps"][1]["status"], "failed");
    let polled = call(&server, "tasks/get", json!({"taskId": task})).await;
    assert_eq!(result(&polled)["status"], "failed");
    let outcome = call(&server, "tasks/result", json!({"taskId": task})).await;
    assert!(
        outcome["error"]["message"]
            .as_str()
            .unwrap()
            .contains("workflow step 'book' failed: nothing under 50 a night"),
        "{outcome}"
    );
    let again = book(&server, &task, 100).await;
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already failed"),
        "{again}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_workflow_takes_no_more_steps() {
    let server = server();
    let got = start_trip(&server, "Oslo").await;
    let task = handoff(&got)["taskId"].as_str().unwrap().to_owned();
    let cancelled = call(&server, "tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(result(&cancelled)["status"], "cancelled");
    let late = book(&server, &task, 100).await;
    assert_eq!(late["error"]["code"], -32602);
    assert!(
        late["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already cancelled"),
        "{late}"
    );
}

#[tokio::test(start_paused = true)]
async fn every_pause_names_its_step_and_what_is_missing() {
    let server = server();
    // A missing prompt argument.
    let got = call(
        &server,
        "prompts/get",
        json!({"name": "trip", "arguments": {}}),
    )
    .await;
    assert_eq!(
        handoff(result(&got))["next"]["reason"],
        json!({"type": "missingInput", "step": "locate", "argument": "city"})
    );
    // A tool the server ran that failed.
    let got = start_trip(&server, "Atlantis").await;
    assert_eq!(
        handoff(&got)["next"]["reason"],
        json!({"type": "toolError", "step": "locate", "tool": "geocode",
               "error": "no such city: Atlantis", "retryable": false})
    );
    // An argument read from a field the earlier step's output lacks (this
    // workflow is added with the builder rather than the attribute).
    let server = TaskServer::builder("trips", "1")
        .registered_tools()
        .workflow(
            SequentialWorkflow::new("by_country", "Book by country")
                .argument("city", "where", true)
                .step(
                    WorkflowStep::new("locate", ToolHandle::new("geocode"))
                        .arg("city", DataSource::prompt_arg("city"))
                        .bind("place"),
                )
                .step(
                    WorkflowStep::new("book", ToolHandle::new("book_hotel"))
                        .arg("city", DataSource::from_step_field("place", "country")),
                ),
        )
        .build()
        .unwrap();
    let got = call(
        &server,
        "prompts/get",
        json!({"name": "by_country", "arguments": {"city": "Oslo"}}),
    )
    .await;
    let reason = &handoff(result(&got))["next"]["reason"];
    assert_eq!(reason["type"], "unresolvableArgument", "{reason}");
    assert_eq!(reason["step"], "book");
    assert_eq!(reason["argument"], "city");
    assert!(
        reason["detail"].as_str().unwrap().contains("no 'country'"),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn workflows_with_clashing_names_or_invalid_steps_do_not_build() {
    let wf = || SequentialWorkflow::new("w", "d");
    let err = TaskServer::builder("x", "1")
        .workflow(wf())
        .workflow(wf())
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("two workflows are both named 'w'"),
        "{err}"
    );
    let err = TaskServer::builder("x", "1")
        .workflow(
            wf().step(
                WorkflowStep::new("s", ToolHandle::new("t"))
                    .arg("a", DataSource::from_step("never_bound")),
            ),
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("workflow 'w'"), "{err}");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_second_server_on_the_same_store_continues_without_rerunning_steps() {
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-wf-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.db");
    let open = || {
        std::sync::Arc::new(pmcp_tasks::store::SqliteStore::open(&path).unwrap())
            as std::sync::Arc<dyn pmcp_tasks::store::TaskStore>
    };
    let first = server_on(open());
    let got = start_trip(&first, "Bergen").await;
    let task = handoff(&got)["taskId"].as_str().unwrap().to_owned();
    first.shutdown(std::time::Duration::from_millis(10)).await;
    drop(first);

    assert_eq!(geocode_runs("Bergen"), 1);
    let second = server_on(open());
    let booked = call(
        &second,
        "tools/call",
        json!({"name": "book_hotel", "arguments": {"city": "Bergen", "budget": 90},
               "_meta": {RELATED: {"taskId": task}}}),
    )
    .await;
    assert_eq!(handoff(result(&booked))["status"], "completed");
    let done = call(&second, "tasks/result", json!({"taskId": task})).await;
    assert_eq!(
        result(&done)["structuredContent"]["steps"][2]["output"],
        json!({"summary": "Grand Bergen at 6.0"}),
        "the last step read the first step's output, replayed from the task"
    );
    // Picking the run up again with prompts/get does not re-run anything either.
    let again = call(
        &second,
        "prompts/get",
        json!({"name": "trip", "_meta": {RELATED: {"taskId": task}}}),
    )
    .await;
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already completed"),
        "{again}"
    );
    assert_eq!(geocode_runs("Bergen"), 1, "geocode ran again");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(start_paused = true)]
async fn a_run_of_a_workflow_whose_steps_changed_is_refused_not_misread() {
    let store: std::sync::Arc<dyn pmcp_tasks::store::TaskStore> =
        std::sync::Arc::new(pmcp_tasks::store::MemoryStore::new());
    let old = server_on(store.clone());
    let got = start_trip(&old, "Oslo").await;
    let task = handoff(&got)["taskId"].as_str().unwrap().to_owned();
    // Redeployed: same prompt name, different steps.
    let new = TaskServer::builder("trips", "2")
        .registered_tools()
        .workflow(
            SequentialWorkflow::new("trip", "Plan a trip, v2")
                .argument("city", "where", true)
                .step(
                    WorkflowStep::new("book", ToolHandle::new("book_hotel"))
                        .arg("city", DataSource::prompt_arg("city")),
                ),
        )
        .store(store)
        .build()
        .unwrap();
    let refused = book(&new, &task, 100).await;
    assert_eq!(refused["error"]["code"], -32602);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("changed since task"),
        "{refused}"
    );
}
