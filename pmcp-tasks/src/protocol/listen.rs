//! 2026-07-28 `subscriptions/listen` for tasks: an acknowledgement naming
//! the caller's own tasks among those asked for, then `notifications/tasks`
//! (the `DetailedTask` that `tasks/get` would answer) on every status
//! change, the current one first, until the client cancels or the
//! connection ends (no answer), or the server ends it because it shuts
//! down or the client stopped reading (answered with
//! `SubscriptionsListenResult`).

use super::error::Error;
use super::params::decode;
use super::session::Delivery;
use super::wire;
use super::{Exchange, StreamOut};
use crate::domain::{Era, TaskStatus};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// `_meta` key naming the subscription a message belongs to.
const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// Task ids one subscription may follow at most.
const MAX_TASK_IDS: usize = 1000;

/// `subscriptions/listen` params.
#[derive(Debug, Deserialize)]
struct ListenParams {
    notifications: Filter,
}

/// What the client asks to hear. Only task notifications are served here:
/// the other kinds are decoded (a malformed one is `-32602`) and left out
/// of the acknowledgement, as the spec says of unsupported ones.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Filter {
    #[serde(default)]
    task_ids: Option<Vec<String>>,
    #[serde(default)]
    tools_list_changed: Option<bool>,
    #[serde(default)]
    prompts_list_changed: Option<bool>,
    #[serde(default)]
    resources_list_changed: Option<bool>,
    #[serde(default)]
    resource_subscriptions: Option<Vec<String>>,
}

/// How a subscription ended.
pub(super) enum Ended {
    /// The server tore it down (it shuts down, or the client could not keep
    /// up): the request is answered with `SubscriptionsListenResult`.
    Answered(Value),
    /// The client left or cancelled: no answer.
    Abandoned,
}

/// Serves `subscriptions/listen` on `stream`.
pub(super) async fn listen(x: &Exchange<'_>) -> Result<Ended, Error> {
    if x.era().era != Era::V2026_07_28 {
        return Err(Error::MethodNotFound(
            "subscriptions/listen belongs to protocol 2026-07-28; on 2025-11-25 task status \
             notifications come to the session that created the task"
                .into(),
        ));
    }
    let params: ListenParams = decode("subscriptions/listen", x.params())?;
    let wants_tasks = params.notifications.task_ids.is_some();
    let asked = params.notifications.task_ids.unwrap_or_default();
    if wants_tasks && !x.era().tasks_extension {
        return Err(Error::MissingTasksExtension(
            "task status notifications".into(),
        ));
    }
    if asked.len() > MAX_TASK_IDS {
        return Err(Error::InvalidParams(format!(
            "Invalid params for subscriptions/listen: notifications.taskIds names {} tasks, at \
             most {MAX_TASK_IDS} may be followed on one subscription",
            asked.len()
        )));
    }
    let Some(stream) = x.stream() else {
        return Err(Error::InvalidRequest(
            "subscriptions/listen needs a stream to answer on: over HTTP, accept \
             text/event-stream"
                .into(),
        ));
    };
    // Registered before anything is awaited, so that a cancel sent right
    // after the request is not missed.
    let id = x.id().clone();
    let registration = x.session().open_listen(&id);
    let service = x.service();
    let owner = if asked.is_empty() {
        None
    } else {
        Some(x.owner()?)
    };
    // Only the caller's own tasks: another's answers exactly like an
    // unknown one, by being left out.
    let mut agreed = BTreeSet::new();
    if let Some(owner) = &owner {
        for id in asked {
            if !agreed.contains(&id) && service.get(owner, &id).await.is_ok() {
                agreed.insert(id);
            }
        }
    }
    let meta = json!({SUBSCRIPTION_ID_KEY: id});
    let mut acknowledged = serde_json::Map::new();
    if !agreed.is_empty() {
        acknowledged.insert("taskIds".into(), json!(agreed));
    }
    let ack = json!({
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {"notifications": acknowledged, "_meta": meta},
    });
    // The acknowledgement comes first, whatever the queue holds.
    let cancelled = registration.cancelled();
    tokio::select! {
        sent = stream.send(ack) => if sent.is_err() {
            return Ok(Ended::Abandoned);
        },
        _ = cancelled.cancelled() => return Ok(Ended::Abandoned),
    }
    Ok(follow(x, stream, owner, agreed, cancelled).await)
}

/// `SubscriptionsListenResult`: the answer of a subscription the server
/// ends.
fn torn_down(id: &Value) -> Value {
    json!({"_meta": {SUBSCRIPTION_ID_KEY: id}})
}

async fn follow(
    x: &Exchange<'_>,
    stream: &StreamOut,
    owner: Option<crate::service::Owner>,
    agreed: BTreeSet<String>,
    cancelled: &tokio_util::sync::CancellationToken,
) -> Ended {
    let id = x.id().clone();
    let mut changes = futures::stream::select_all(agreed.iter().filter_map(|task| {
        let owner = owner.as_ref()?;
        Some(x.service().follow(owner, task).into_stream())
    }));
    let mut last: HashMap<String, TaskStatus> = HashMap::new();
    loop {
        let record = tokio::select! {
            record = changes.next(), if !changes.is_empty() => record,
            _ = x.router().draining() => return Ended::Answered(torn_down(&id)),
            _ = cancelled.cancelled() => return Ended::Abandoned,
            _ = stream.closed() => return Ended::Abandoned,
        };
        let Some(record) = record else { continue };
        if last.get(&record.id) == Some(&record.status) {
            continue;
        }
        last.insert(record.id.clone(), record.status);
        let mut task = wire::detailed_task_2026(&record);
        wire::meta_mut(&mut task).insert(SUBSCRIPTION_ID_KEY.into(), id.clone());
        let notification =
            json!({"jsonrpc": "2.0", "method": "notifications/tasks", "params": task});
        match deliver(stream, notification).await {
            Delivery::Sent => {}
            Delivery::Full => {
                // A listener that does not read is let go rather than
                // buffered without end: its request is answered (once it
                // reads again), as for any subscription the server ends.
                tracing::info!(subscription = %id, "a listener fell behind; ending its subscription");
                return Ended::Answered(torn_down(&id));
            }
            Delivery::Unreachable | Delivery::Closed => return Ended::Abandoned,
        }
    }
}

/// How long a listener's full queue may stay full before the listener is
/// taken to have fallen behind.
const LAG_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Queues `message`, waiting a little for a full queue to drain: a burst is
/// fine, a listener that stopped reading is not.
async fn deliver(stream: &StreamOut, message: Value) -> Delivery {
    match tokio::time::timeout(LAG_GRACE, stream.send(message)).await {
        Ok(Ok(())) => Delivery::Sent,
        Ok(Err(_)) => Delivery::Closed,
        Err(_) => Delivery::Full,
    }
}

#[cfg(test)]
#[path = "listen_tests.rs"]
mod tests;
