//! MCP 2025-11-25 Tasks: `tools/call` with `params.task`, and `tasks/get`,
//! `tasks/result`, `tasks/list`, `tasks/cancel`, in that era's shapes.

use super::error::Error;
use super::jsonrpc::Method;
use super::params::{decode, CallParams, ListParams, TaskRef};
use super::push;
use super::session::ClientPeer;
use super::wire::{self, RELATED_TASK_KEY};
use super::Exchange;
use crate::domain::{Era, TaskRecord};
use crate::service::{CallMode, CallOutcome, Owner, TaskRequest, ToolCall};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// `tools/call`: a task when `params.task` is present, else inline.
pub(super) async fn tools_call(x: &Exchange<'_>) -> Result<Value, Error> {
    let call: CallParams = decode("tools/call", x.params())?;
    let mode = match &call.task {
        Some(_) => CallMode::Task(TaskRequest {
            ttl: call.requested_ttl(),
            answers_first: None,
            variables: x.meta().variables.clone(),
            client_elicits: x.session().client_elicits(),
            idempotency_key: x.meta().idempotency_key.clone(),
        }),
        None => CallMode::Inline,
    };
    let (hooks, _registration) = push::call_hooks(x);
    let outcome = x
        .service()
        .call_tool(
            x.caller(),
            ToolCall {
                name: call.name,
                arguments: call.arguments,
                mode,
                era: Era::V2025_11_25,
                hooks,
            },
        )
        .await?;
    match outcome {
        CallOutcome::Ran(result) => Ok(result),
        CallOutcome::Created { record, immediate } => {
            // A stateless request's connection ends with its answer:
            // nobody is left to notify.
            let reachable = x
                .session()
                .peer()
                .filter(|_| *x.session().connection() != crate::service::Connection::Stateless);
            if let Some(peer) = reachable {
                push::follow_for_requestor(
                    x.service_handle(),
                    peer.clone(),
                    x.session().closed(),
                    Owner::of(&record),
                    &record,
                    x.meta().progress_token.clone(),
                );
            }
            let mut meta = serde_json::Map::new();
            meta.insert(RELATED_TASK_KEY.into(), wire::related_task(&record.id));
            if let Some(text) = immediate {
                meta.insert(wire::IMMEDIATE_RESPONSE_KEY.into(), json!(text));
            }
            Ok(json!({"task": wire::task_2025(&record), "_meta": meta}))
        }
        CallOutcome::Forward => x.forward().await,
        // Never: a 2025-11-25 call brings no answers, so the questions are
        // asked inside the task instead.
        CallOutcome::NeedsInput(_) => Err(Error::Internal(
            "a question before the task was asked of a 2025-11-25 caller".into(),
        )),
    }
}

/// `tasks/*` of this era.
pub(super) async fn tasks(x: &Exchange<'_>) -> Result<Value, Error> {
    let owner = x.owner()?;
    let service = x.service();
    match x.method() {
        Method::TasksList => {
            let params: ListParams = decode("tasks/list", x.params())?;
            let page = service.list(&owner, params.cursor.as_deref()).await?;
            let tasks: Vec<Value> = page
                .tasks
                .iter()
                .map(|t| Value::Object(wire::task_2025(t)))
                .collect();
            let mut result = json!({"tasks": tasks});
            if let Some(next) = page.next_cursor {
                result["nextCursor"] = json!(next);
            }
            Ok(result)
        }
        Method::TasksGet => {
            let task: TaskRef = decode("tasks/get", x.params())?;
            let record = service.get(&owner, &task.task_id).await?;
            Ok(Value::Object(wire::task_2025(&record)))
        }
        Method::TasksCancel => {
            let task: TaskRef = decode("tasks/cancel", x.params())?;
            let record = service.cancel(&owner, &task.task_id).await?;
            Ok(Value::Object(wire::task_2025(&record)))
        }
        Method::TasksResult => {
            let task: TaskRef = decode("tasks/result", x.params())?;
            task_result(x, &owner, &task.task_id).await
        }
        _ => Err(Error::MethodNotFound(
            "tasks/update belongs to protocol 2026-07-28; on 2025-11-25 input is answered \
             through the requests the server sends while tasks/result waits"
                .into(),
        )),
    }
}

/// `tasks/result`: waits until the task is terminal and answers exactly
/// what the call would have answered, with the related-task `_meta`. While
/// it waits, the task's input requests go to the client (when the
/// transport can reach it) and the answers go back to the task.
async fn task_result(x: &Exchange<'_>, owner: &Owner, id: &str) -> Result<Value, Error> {
    let service = x.service();
    let peer = x.session().peer().cloned();
    let forwarded: Arc<Mutex<HashSet<String>>> = Arc::default();
    let record = loop {
        let seen = forwarded.clone();
        let can_forward = peer.is_some();
        let record = service
            .wait_until(owner, id, |t| {
                t.status.is_terminal()
                    || (can_forward && {
                        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                        t.input_requests().keys().any(|k| !seen.contains(k))
                    })
            })
            .await?;
        if record.status.is_terminal() {
            break record;
        }
        if let Some(peer) = &peer {
            forward_input_requests(x, owner, &record, peer.clone(), &forwarded);
        }
    };
    let mut result = crate::service::outcome(&record)?;
    if let Some(object) = result.as_object_mut() {
        wire::meta_mut(object).insert(RELATED_TASK_KEY.into(), wire::related_task(&record.id));
    }
    Ok(result)
}

/// Sends each input request of `record` not sent yet to the client, each
/// in its own task, and delivers the answer to the task.
fn forward_input_requests(
    x: &Exchange<'_>,
    owner: &Owner,
    record: &TaskRecord,
    peer: Arc<dyn ClientPeer>,
    forwarded: &Arc<Mutex<HashSet<String>>>,
) {
    let mut seen = forwarded.lock().unwrap_or_else(|p| p.into_inner());
    for (key, request) in record.input_requests() {
        if !seen.insert(key.clone()) {
            continue;
        }
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut params = request.get("params").cloned().unwrap_or_else(|| json!({}));
        if let Some(object) = params.as_object_mut() {
            wire::meta_mut(object).insert(RELATED_TASK_KEY.into(), wire::related_task(&record.id));
        }
        let service = x.service_handle();
        let (peer, key, owner, id) = (peer.clone(), key.clone(), owner.clone(), record.id.clone());
        tokio::spawn(async move {
            match peer.request(&method, params).await {
                Ok(answer) => {
                    let mut responses = Map::new();
                    responses.insert(key, answer);
                    if let Err(e) = service.answer_input(&owner, &id, &responses).await {
                        tracing::debug!(task = %id, error = %e, "the client's answer came too late");
                    }
                }
                Err(e) => {
                    tracing::warn!(task = %id, error = %e.message, "the client refused an input request")
                }
            }
        });
    }
}
