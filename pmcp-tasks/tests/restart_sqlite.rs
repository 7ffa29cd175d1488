//! A task outlives its server: a SQLite-backed server restarted on the same
//! file serves the finished task and its result.
#![cfg(feature = "sqlite")]

mod common;

use common::*;
use pmcp_tasks::store::SqliteStore;
use pmcp_tasks::TaskServer;
use serde_json::json;
use std::sync::Arc;

fn server_on(path: &std::path::Path) -> TaskServer {
    TaskServer::builder("restart", "1")
        .store(Arc::new(SqliteStore::open(path).unwrap()))
        .limits(fast_limits())
        .tool(pmcp_tasks::TaskTool::new(
            "sleepy",
            |a: SleepArgs, ctx: pmcp_tasks::TaskContext| async move {
                ctx.set_var("slept_ms", &a.ms).await?;
                Ok::<_, pmcp_tasks::ToolError>(a.ms)
            },
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_finished_task_and_its_result_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.db");
    let _ = std::fs::remove_file(&path);

    let first = server_on(&path);
    let created = first
        .handle(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "sleepy", "arguments": {"ms": 5}, "task": {"ttl": 60000}}}),
            None,
        )
        .await
        .unwrap();
    let id = ok(&created)["task"]["taskId"].as_str().unwrap().to_owned();
    let result = first
        .handle(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/result", "params": {"taskId": id}}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ok(&result)["content"][0]["text"], "5");
    first.shutdown(std::time::Duration::from_secs(1)).await;
    drop(first);

    let second = server_on(&path);
    let got = second
        .handle(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tasks/get", "params": {"taskId": id}}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ok(&got)["status"], "completed");
    assert_eq!(ok(&got)["_meta"]["pmcp:variables"]["slept_ms"], 5);
    let again = second
        .handle(
            json!({"jsonrpc": "2.0", "id": 4, "method": "tasks/result", "params": {"taskId": id}}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ok(&again)["content"][0]["text"], "5");
    std::fs::remove_dir_all(&dir).unwrap();
}
