//! The 2026-07-28 Tasks extension (`io.modelcontextprotocol/tasks`):
//! `tools/call` answered with a task when the request declares the
//! extension, and `tasks/get`, `tasks/update`, `tasks/cancel`, in that
//! era's shapes.

use super::error::Error;
use super::jsonrpc::Method;
use super::params::{decode, CallParams, TaskRef, UpdateParams};
use super::push;
use super::wire;
use super::Exchange;
use crate::domain::Era;
use crate::service::{CallMode, CallOutcome, ServiceError, TaskRequest, ToolCall};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The answers a retried call brings to the questions asked before its
/// task exists (the multi round-trip `tools/call`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answers {
    #[serde(default)]
    input_responses: Option<Map<String, Value>>,
}

/// `tools/call`: with the extension declared the server decides (a task
/// for tools that can run as one); without it, inline, and a task-only
/// tool answers `-32021`.
pub(super) async fn tools_call(x: &Exchange<'_>) -> Result<Value, Error> {
    let call: CallParams = decode("tools/call", x.params())?;
    let mode = if x.era().tasks_extension {
        let answers: Answers = decode("tools/call", x.params())?;
        CallMode::Either(TaskRequest {
            // Not in this era's spec, but honoured as before when sent.
            ttl: call.requested_ttl(),
            answers_first: Some(answers.input_responses.unwrap_or_default()),
            variables: x.meta().variables.clone(),
            client_elicits: x.meta().client_elicits,
            idempotency_key: x.meta().idempotency_key.clone(),
        })
    } else {
        CallMode::Inline
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
                era: Era::V2026_07_28,
                hooks,
            },
        )
        .await
        .map_err(|e| match e {
            ServiceError::TaskRequired(tool) => {
                Error::MissingTasksExtension(format!("tool '{tool}'"))
            }
            other => other.into(),
        })?;
    Ok(match outcome {
        CallOutcome::Ran(result) => result,
        CallOutcome::Created { record, immediate } => {
            let mut task = wire::task_2026(&record);
            task.insert("resultType".into(), json!("task"));
            if let Some(text) = immediate {
                wire::meta_mut(&mut task).insert(wire::IMMEDIATE_RESPONSE_KEY.into(), json!(text));
            }
            Value::Object(task)
        }
        CallOutcome::NeedsInput(questions) => {
            json!({"resultType": "input_required", "inputRequests": questions})
        }
        CallOutcome::Forward => return x.forward().await,
    })
}

/// `tasks/*` of this era; `tasks/result` and `tasks/list` do not exist in
/// it.
pub(super) async fn tasks(x: &Exchange<'_>) -> Result<Value, Error> {
    let method = x.method();
    let owner = x.owner()?;
    if matches!(method, Method::TasksResult | Method::TasksList) {
        return Err(Error::MethodNotFound(format!(
            "{} does not exist in protocol 2026-07-28; poll tasks/get, which carries the result",
            x.method_name()
        )));
    }
    if !x.era().tasks_extension {
        return Err(Error::MissingTasksExtension(x.method_name().to_owned()));
    }
    let service = x.service();
    match method {
        Method::TasksUpdate => {
            let update: UpdateParams = decode("tasks/update", x.params())?;
            // Variables and answers in one write, so that a body woken by
            // the answers already sees the variables. A refused write
            // changes nothing and says why.
            if let Some(variables) = &x.meta().variables {
                service
                    .write_variables(&owner, &update.task_id, variables, &update.input_responses)
                    .await?;
                return Ok(json!({}));
            }
            match service
                .answer_input(&owner, &update.task_id, &update.input_responses)
                .await
            {
                // Answers to a task that moved on are acknowledged: the
                // client cannot tell a late answer from an early one.
                Ok(_) | Err(ServiceError::Ended { .. } | ServiceError::Refused(_)) => Ok(json!({})),
                Err(e) => Err(e.into()),
            }
        }
        Method::TasksCancel => {
            let task: TaskRef = decode("tasks/cancel", x.params())?;
            match service.cancel(&owner, &task.task_id).await {
                // Cancelling a finished task is acknowledged: cancellation
                // is a request, and the task simply ended first.
                Ok(_) | Err(ServiceError::AlreadyTerminal { .. } | ServiceError::Refused(_)) => {
                    Ok(json!({}))
                }
                Err(e) => Err(e.into()),
            }
        }
        _ => {
            let task: TaskRef = decode("tasks/get", x.params())?;
            let record = service.get(&owner, &task.task_id).await?;
            Ok(Value::Object(wire::detailed_task_2026(&record)))
        }
    }
}
