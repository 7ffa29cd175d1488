//! A SQLite file that cannot grow (a full disk, simulated with the size
//! cap: SQLite answers both with `SQLITE_FULL`) loses no result: a finished
//! body's result waits for room, clients are told the store is unavailable
//! (`-32006`), and once room is made the task completes with its result.
#![cfg(feature = "sqlite")]

mod common;

use common::{call, err_code, ok, task_id};
use pmcp_tasks::domain::{Era, NewTask, TaskRecord};
use pmcp_tasks::store::{OwnerQuota, SqliteStore, TaskStore};
use pmcp_tasks::{TaskContext, TaskServer, TaskTool, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

#[derive(Deserialize, JsonSchema)]
struct Report {
    bytes: usize,
}

fn filler(pad: usize, now: chrono::DateTime<chrono::Utc>) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: "filler".into(),
            era: Era::V2026_07_28,
            tool: "t".into(),
            arguments: json!({"pad": "x".repeat(pad)}),
            ttl: None,
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        now,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_waits_for_room_on_a_full_disk_and_is_not_lost() {
    let dir = std::env::temp_dir().join(format!("pmcp-tasks-full-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("tasks.db")).unwrap();
    store.set_max_size(512 * 1024).await.unwrap();
    let go = Arc::new(Semaphore::new(0));
    let (returned_tx, mut returned) = mpsc::unbounded_channel();
    let tool = {
        let go = go.clone();
        TaskTool::new("report", move |args: Report, _ctx: TaskContext| {
            let (go, returned_tx) = (go.clone(), returned_tx.clone());
            async move {
                let _ = go.acquire().await;
                let _ = returned_tx.send(args.bytes);
                Ok::<_, ToolError>("r".repeat(args.bytes))
            }
        })
    };
    let server = TaskServer::builder("full", "1")
        .store(Arc::new(store.clone()))
        .tool(tool)
        .limits(common::fast_limits())
        .build()
        .unwrap();
    let created = call(
        &server,
        "tools/call",
        json!({"name": "report", "arguments": {"bytes": 100_000}, "task": {"ttl": 600000}}),
    )
    .await;
    let id = task_id(&created);

    // Fill the database to its cap (ever smaller records fill what is left
    // of its pages), until a create through the server is refused.
    let now = chrono::Utc::now();
    for pad in [8 * 1024, 1024, 256, 0] {
        let mut fillers = 0;
        while store
            .create(filler(pad, now), OwnerQuota::unlimited(), now)
            .await
            .is_ok()
        {
            fillers += 1;
            assert!(fillers < 500, "the cap never bit");
        }
    }
    let mut refused = None;
    for _ in 0..50 {
        let call = call(
            &server,
            "tools/call",
            json!({"name": "report", "arguments": {"bytes": 1}, "task": {"ttl": 600000}}),
        )
        .await;
        if call.get("error").is_some() {
            refused = Some(call);
            break;
        }
    }
    let refused = refused.expect("a create on a full database is refused");
    assert_eq!(err_code(&refused), -32006, "{refused}");
    assert!(refused.to_string().contains("cannot grow"), "{refused}");

    // Let the bodies finish; the big result cannot be stored. The outage
    // lasts longer than the retries any other failure gets.
    go.add_permits(100);
    while returned.recv().await.unwrap() != 100_000 {}
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let meanwhile = call(&server, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(ok(&meanwhile)["status"], "working", "{meanwhile}");

    // Room is made: the result lands, whole.
    store.set_max_size(64 * 1024 * 1024).await.unwrap();
    let done = tokio::time::timeout(
        Duration::from_secs(20),
        server.runtime().wait_terminal("user:ana", &id),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(done.status, pmcp_tasks::TaskStatus::Completed, "{done:?}");
    let result = call(&server, "tasks/result", json!({"taskId": id})).await;
    assert_eq!(
        ok(&result)["content"][0]["text"].as_str().map(str::len),
        Some(100_000)
    );
    server.shutdown(Duration::from_secs(5)).await;
    std::fs::remove_dir_all(dir).unwrap();
}
