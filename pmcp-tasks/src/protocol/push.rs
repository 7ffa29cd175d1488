//! 2025-11-25 push: while the session that created a task exists, it hears
//! of every status change (`notifications/tasks/status`, the full task) and,
//! when its `tools/call` carried a `progressToken`, of the body's progress
//! (`notifications/progress`) for the whole life of the task.

use super::session::{ClientPeer, Delivery};
use super::wire;
use crate::domain::TaskRecord;
use crate::service::{Owner, TaskService};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Follows a task just created for a client that can be reached, sending it
/// the task's status changes and (with `progress_token`) its progress,
/// until the task ends or the connection does.
pub(super) fn follow_for_requestor(
    service: Arc<TaskService>,
    peer: Arc<dyn ClientPeer>,
    closed: CancellationToken,
    owner: Owner,
    created: &TaskRecord,
    progress_token: Option<Value>,
) {
    let mut follower = service.follow(&owner, &created.id);
    let mut status = created.status;
    let mut progress = created.progress().map(|p| p.progress);
    tokio::spawn(async move {
        loop {
            let record = tokio::select! {
                record = follower.next() => record,
                _ = closed.cancelled() => return,
            };
            let Some(record) = record else { return };
            let mut sent = Vec::new();
            // Progress first: a status that ends the task is the last word.
            if let (Some(token), Some(mark)) = (&progress_token, record.progress()) {
                // Progress only ever moves forward on the wire.
                if progress.is_none_or(|last| mark.progress > last) {
                    progress = Some(mark.progress);
                    sent.push(peer.notify(progress_notification(
                        token,
                        record.progress(),
                        record.status_message(),
                    )));
                }
            }
            if record.status != status {
                status = record.status;
                sent.push(peer.notify(status_notification(&record)));
            }
            if sent.contains(&Delivery::Closed) {
                return;
            }
            if sent.contains(&Delivery::Full) {
                tracing::debug!(task = %record.id, "a client is not reading its notifications; one was dropped");
            }
            if status.is_terminal() {
                return;
            }
        }
    });
}

/// `notifications/tasks/status`: the full task, without the related-task
/// `_meta` (the task id is in the params already).
pub(super) fn status_notification(record: &TaskRecord) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": "notifications/tasks/status",
        "params": Value::Object(wire::task_2025(record)),
    })
}

/// `notifications/progress` for a request's token.
fn progress_notification(
    token: &Value,
    mark: Option<crate::domain::ProgressMark>,
    message: Option<&str>,
) -> Value {
    let mut params = serde_json::Map::new();
    params.insert("progressToken".into(), token.clone());
    if let Some(mark) = mark {
        params.insert("progress".into(), json!(mark.progress));
        if let Some(total) = mark.total {
            params.insert("total".into(), json!(total));
        }
    }
    if let Some(message) = message {
        params.insert("message".into(), json!(message));
    }
    json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})
}

/// What a plain (task-less) `tools/call` gives its body: its progress as
/// `notifications/progress` for the call's `progressToken` (on the call's
/// own stream over HTTP, else to the connection), and a token that the
/// client's `notifications/cancelled` of the call cancels, registered until
/// the returned guard drops.
pub(super) fn call_hooks<'a>(
    x: &'a super::Exchange<'_>,
) -> (crate::execution::CallHooks, super::session::OpenListen<'a>) {
    let registration = x.session().open_listen(x.id());
    let cancelled = Some(registration.cancelled().clone());
    let ask = client_asker(x);
    let Some(token) = x.meta().progress_token.clone() else {
        return (
            crate::execution::CallHooks {
                progress: None,
                cancelled,
                ask,
            },
            registration,
        );
    };
    let stream = x.stream().cloned();
    let peer = x
        .session()
        .peer()
        .filter(|_| *x.session().connection() != crate::service::Connection::Stateless)
        .cloned();
    // Progress must grow: a message without numbers counts one more.
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sink: crate::execution::ProgressSink = Arc::new(move |mark, message| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let mark = mark.or(Some(crate::domain::ProgressMark {
            progress: n as f64,
            total: None,
        }));
        let note = progress_notification(&token, mark, message);
        if let Some(stream) = &stream {
            let _ = stream.try_send(note);
        } else if let Some(peer) = &peer {
            let _ = peer.notify(note);
        }
    });
    (
        crate::execution::CallHooks {
            progress: Some(sink),
            cancelled,
            ask,
        },
        registration,
    )
}

/// How a plain call asks its client a question: over the connection, when
/// the client declared it answers forms (2025-11-25 `initialize`, or
/// 2026-07-28 per-request capabilities) and can be reached.
fn client_asker(x: &super::Exchange<'_>) -> Option<crate::execution::AskClient> {
    let declared = match x.era().era {
        crate::domain::Era::V2025_11_25 => x.session().client_elicits(),
        _ => x.meta().client_elicits,
    };
    if declared != Some(true) || *x.session().connection() == crate::service::Connection::Stateless
    {
        return None;
    }
    let peer = x.session().peer()?.clone();
    Some(Arc::new(move |request: Value| {
        let peer = peer.clone();
        Box::pin(async move {
            let method = request["method"].as_str().unwrap_or_default().to_owned();
            peer.request(&method, request["params"].clone()).await
        })
    }))
}
