//! Backpressure: listeners that never read hold up no task body and no
//! other listener, and are let go instead of buffered without end.

use crate::protocol::{Incoming, Session};
use crate::{TaskContext, TaskServer, TaskTool, ToolError};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const LISTENERS: usize = 1000;
const TASKS: usize = 10;
const QUEUE: usize = 8;

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    })
}

#[tokio::test(start_paused = true)]
async fn a_thousand_listeners_some_never_reading_hold_up_nothing() {
    let server = TaskServer::builder("backpressure", "1")
        .clock(Arc::new(crate::clock::TokioClock::new()))
        .tool(TaskTool::new(
            "nap",
            |_: crate::__private::NoArguments, _ctx: TaskContext| async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, ToolError>("rested")
            },
        ))
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..TASKS {
        let created = server
            .handle(
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "nap", "arguments": {}, "_meta": meta()}}),
                None,
            )
            .await
            .unwrap();
        ids.push(created["result"]["taskId"].as_str().unwrap().to_owned());
    }
    let started = tokio::time::Instant::now();
    let mut readers = Vec::new();
    let mut idle = Vec::new();
    let mut listens = Vec::new();
    for n in 0..LISTENERS {
        let (tx, mut rx) = mpsc::channel::<Value>(QUEUE);
        let session = Session::default();
        let request = json!({"jsonrpc": "2.0", "id": n, "method": "subscriptions/listen",
            "params": {"notifications": {"taskIds": ids}, "_meta": meta()}});
        let Incoming::Call(call) = server.inner.router.decode(request, &session) else {
            panic!("a listen is a call");
        };
        let server = server.clone();
        listens.push(tokio::spawn(async move {
            server
                .inner
                .router
                .serve(call, &session, None, Some(tx))
                .await
        }));
        if n % 2 == 0 {
            readers.push(tokio::spawn(async move {
                let mut completed = 0;
                while let Some(message) = rx.recv().await {
                    if message["params"]["status"] == "completed" {
                        completed += 1;
                        if completed == TASKS {
                            return completed;
                        }
                    }
                }
                completed
            }));
        } else {
            // Never read: held open, full.
            idle.push(rx);
        }
    }
    for id in &ids {
        server
            .runtime()
            .wait_terminal("anon:local", id)
            .await
            .unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the bodies ran unhindered ({:?} of virtual time)",
        started.elapsed()
    );
    for reader in readers {
        assert_eq!(
            reader.await.unwrap(),
            TASKS,
            "a reading listener hears every end"
        );
    }
    // Every idle listener was let go: its subscription was ended by the
    // server (answered with SubscriptionsListenResult), and its stream
    // released: what it queued drains and then the channel closes.
    let mut let_go = 0;
    for (n, listen) in listens.into_iter().enumerate() {
        if n % 2 == 1 {
            let reply = tokio::time::timeout(Duration::from_secs(5), listen)
                .await
                .expect("an idle listener is let go")
                .unwrap();
            let answer = reply.to_json();
            assert_eq!(
                answer["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
                json!(n),
                "{answer}"
            );
            let_go += 1;
        } else {
            listen.abort();
        }
    }
    assert_eq!(let_go, LISTENERS / 2);
    for mut rx in idle {
        let mut queued = 0;
        while rx.recv().await.is_some() {
            queued += 1;
        }
        assert!(queued <= QUEUE, "{queued} queued");
    }
}
