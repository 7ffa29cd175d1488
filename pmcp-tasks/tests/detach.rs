//! Plain `tools/call`s from clients that do not speak Tasks: a call that
//! outlasts `detach_after` answers where the job went, and the companion
//! tools follow it (status, result, cancel, answers), owner-checked.

mod common;

use common::{call_as, err_code, fast_limits, ok};
use pmcp_tasks::{TaskContext, TaskServer, TaskSupport, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct Nap {
    secs: u64,
}

async fn nap(args: Nap, ctx: TaskContext) -> Result<String, ToolError> {
    ctx.progress("napping").await?;
    tokio::time::sleep(Duration::from_secs(args.secs)).await;
    Ok(format!("slept {}s", args.secs))
}

#[derive(Deserialize, JsonSchema)]
struct Empty {}

/// Five reports back to back, then the answer: nothing in between for a
/// follower of the store to see them one by one.
async fn burst(_: Empty, ctx: TaskContext) -> Result<String, ToolError> {
    for n in 1..=5 {
        let report = pmcp_tasks::ProgressUpdate::of(n as f64, 5.0);
        ctx.progress(report.message(format!("{n} of 5"))).await?;
    }
    Ok("burst done".into())
}

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

async fn ask(_: Empty, ctx: TaskContext) -> Result<String, ToolError> {
    match ctx.elicit::<Name>("Who are you?").await? {
        pmcp_tasks::Elicited::Accepted(n) => Ok(format!("hi {}", n.name)),
        _ => Ok("no name".into()),
    }
}

fn server() -> TaskServer {
    TaskServer::builder("detach", "1")
        .tool(TaskTool::new("nap", nap))
        .tool(TaskTool::new("burst", burst))
        .tool(
            TaskTool::new("ask", ask)
                .support(TaskSupport::Required)
                .detach_after(Duration::from_secs(1)),
        )
        .tool(TaskTool::new("never", nap).support(TaskSupport::Forbidden))
        .detach_after(Duration::from_secs(5))
        .limits(fast_limits())
        .clock(Arc::new(pmcp_tasks::clock::TokioClock::new()))
        .build()
        .unwrap()
}

async fn tool(server: &TaskServer, who: &str, name: &str, arguments: Value) -> Value {
    call_as(
        server,
        who,
        "tools/call",
        json!({"name": name, "arguments": arguments}),
    )
    .await
}

fn text(result: &Value) -> &str {
    ok(result)["content"][0]["text"].as_str().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_quick_plain_call_answers_its_result_as_before() {
    let server = server();
    let quick = tool(&server, "ana", "nap", json!({"secs": 2})).await;
    assert_eq!(text(&quick), "slept 2s");
}

#[tokio::test(start_paused = true)]
async fn a_long_plain_call_detaches_and_the_companions_follow_it() {
    let server = server();
    let detached = tool(&server, "ana", "nap", json!({"secs": 60})).await;
    let answer = ok(&detached);
    assert!(answer.get("isError").is_none(), "{detached}");
    let id = answer["structuredContent"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(answer["structuredContent"]["status"], "working");
    assert_eq!(answer["structuredContent"]["next"]["result"], "task_result");
    assert!(
        text(&detached).contains(&format!("background task {id}")),
        "{detached}"
    );

    let status = tool(&server, "ana", "task_status", json!({"taskId": id})).await;
    assert_eq!(ok(&status)["structuredContent"]["status"], "working");
    assert!(text(&status).contains("napping"), "{status}");
    let early = tool(&server, "ana", "task_result", json!({"taskId": id})).await;
    assert!(text(&early).contains("has not finished yet"), "{early}");

    // Another owner sees the id as unknown, exactly as tasks/get does.
    for companion in ["task_status", "task_result", "task_cancel"] {
        let theirs = tool(&server, "bob", companion, json!({"taskId": id})).await;
        assert_eq!(err_code(&theirs), -32602, "{companion}: {theirs}");
        assert!(theirs["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not found"));
    }

    tokio::time::sleep(Duration::from_secs(61)).await;
    let done = tool(&server, "ana", "task_result", json!({"taskId": id})).await;
    assert_eq!(text(&done), "slept 60s");
}

#[tokio::test(start_paused = true)]
async fn cancel_and_answer_through_companions() {
    let server = server();
    let detached = tool(&server, "ana", "nap", json!({"secs": 600})).await;
    let id = ok(&detached)["structuredContent"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancelled = tool(&server, "ana", "task_cancel", json!({"taskId": id})).await;
    assert_eq!(ok(&cancelled)["structuredContent"]["status"], "cancelled");
    let result = tool(&server, "ana", "task_result", json!({"taskId": id})).await;
    assert_eq!(ok(&result)["isError"], true);
    assert!(text(&result).contains("cancelled"), "{result}");

    // A required tool admits a plain call once it can detach; its question
    // waits for the answer companion.
    let asking = tool(&server, "ana", "ask", json!({})).await;
    let id = ok(&asking)["structuredContent"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = tool(&server, "ana", "task_status", json!({"taskId": id})).await;
    assert_eq!(
        ok(&status)["structuredContent"]["status"],
        "input_required",
        "{status}"
    );
    assert_eq!(
        ok(&status)["structuredContent"]["questions"]["elicit-1"]["message"],
        "Who are you?"
    );
    assert!(text(&status).contains("task_answer"), "{status}");
    let wrong = tool(
        &server,
        "ana",
        "task_answer",
        json!({"taskId": id, "key": "nope", "answer": {}}),
    )
    .await;
    assert_eq!(ok(&wrong)["isError"], true, "{wrong}");
    let answered = tool(
        &server,
        "ana",
        "task_answer",
        json!({"taskId": id, "key": "elicit-1", "answer": {"name": "Ada"}}),
    )
    .await;
    assert!(ok(&answered).get("isError").is_none(), "{answered}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let result = tool(&server, "ana", "task_result", json!({"taskId": id})).await;
    assert_eq!(text(&result), "hi Ada");
}

#[tokio::test(start_paused = true)]
async fn companions_are_listed_and_a_detaching_tool_advertises_no_output_schema() {
    let server = server();
    let listed = call_as(&server, "ana", "tools/list", json!({})).await;
    let names: Vec<&str> = ok(&listed)["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for companion in ["task_status", "task_result", "task_cancel", "task_answer"] {
        assert!(names.contains(&companion), "{names:?}");
    }
    // Without any detaching tool there are none.
    let plain = TaskServer::builder("plain", "1")
        .tool(TaskTool::new("nap", nap))
        .build()
        .unwrap();
    let listed = call_as(&plain, "ana", "tools/list", json!({})).await;
    assert_eq!(ok(&listed)["tools"].as_array().unwrap().len(), 1);
    let unknown = tool(&plain, "ana", "task_status", json!({"taskId": "x"})).await;
    assert_eq!(err_code(&unknown), -32602, "{unknown}");
    // Forbidden tools never detach: they run inline.
    let inline = tool(&server, "ana", "never", json!({"secs": 30})).await;
    assert_eq!(text(&inline), "slept 30s");
}

#[tokio::test]
async fn a_detaching_call_asks_a_client_that_answers_forms_directly() {
    let server = server();
    let client = common::LineClient::connect(&server, |request| {
        assert_eq!(request["method"], "elicitation/create");
        assert_eq!(request["params"]["message"], "Who are you?");
        json!({"action": "accept", "content": {"name": "Ada"}})
    });
    ok(&client.initialize().await);
    // The question goes to the waiting client, whose answer lets the body
    // finish before the call would detach: the call answers the result.
    let answer = client
        .call("tools/call", json!({"name": "ask", "arguments": {}}))
        .await;
    assert_eq!(ok(&answer)["content"][0]["text"], "hi Ada", "{answer}");
    assert_eq!(client.server_requests.lock().unwrap().len(), 1);

    // A client without forms is not asked: the call detaches and the
    // question waits for the answer companion.
    let plain = common::LineClient::connect(&server, |_| panic!("nothing may be asked"));
    ok(&plain.initialize_with(json!({})).await);
    let detached = plain
        .call("tools/call", json!({"name": "ask", "arguments": {}}))
        .await;
    assert!(text(&detached).contains("background task"), "{detached}");
    assert_eq!(
        ok(&detached)["structuredContent"]["status"],
        "input_required",
        "{detached}"
    );
}

#[tokio::test]
async fn a_waiting_plain_call_gets_every_progress_report_before_its_answer() {
    let server = server();
    let mut client = common::LineClient::connect(&server, |_| json!({}));
    ok(&client.initialize().await);
    let params = json!({"name": "burst", "arguments": {}, "_meta": {"progressToken": "p"}});
    let answer = client.call("tools/call", params).await;
    assert_eq!(text(&answer), "burst done", "{answer}");
    // Everything the server wrote before the answer is read by now.
    let mut reports = Vec::new();
    while let Ok(note) = client.notifications.try_recv() {
        if note["method"] == "notifications/progress" {
            assert_eq!(note["params"]["progressToken"], "p");
            reports.push((
                note["params"]["progress"].as_f64().unwrap(),
                note["params"]["message"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let expected: Vec<_> = (1..=5).map(|n| (n as f64, format!("{n} of 5"))).collect();
    assert_eq!(reports, expected);
}
