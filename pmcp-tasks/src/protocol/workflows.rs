//! Workflow prompts on the wire (see [`crate::workflow`]): `prompts/get` of
//! a workflow and the `tools/call` that continues one, in the same shape in
//! both eras.

use super::error::Error;
use super::params::{decode, CallParams, PromptParams};
use super::wire::{self, RELATED_TASK_KEY};
use super::Exchange;
use crate::workflow::{Caller, HANDOFF_META_KEY};
use serde_json::{json, Value};

/// `prompts/get` of a workflow prompt; `None` for any other prompt.
pub(super) async fn prompt(x: &Exchange<'_>) -> Option<Result<Value, Error>> {
    let workflows = &x.router().workflows;
    let name = x.addressed().name?;
    let workflow = workflows.get(&name)?;
    Some(
        async {
            let params: PromptParams = decode("prompts/get", x.params())?;
            let caller = Caller {
                owner: x.owner()?,
                auth: x.auth(),
            };
            let answer = workflows
                .prompt(
                    x.service(),
                    workflow,
                    &caller,
                    params.arguments.unwrap_or_default(),
                    x.meta().related_task.as_deref(),
                    x.era().era,
                )
                .await?;
            let task_id = answer.handoff.task_id.clone();
            Ok(json!({
                "description": answer.description,
                "messages": answer.messages,
                "_meta": {
                    RELATED_TASK_KEY: wire::related_task(&task_id),
                    HANDOFF_META_KEY: answer.handoff,
                },
            }))
        }
        .await,
    )
}

/// A `tools/call` naming a workflow's task in `_meta`: the workflow's next
/// step. `None` when the call names no task, or a task that is not a
/// workflow's.
pub(super) async fn continuation(x: &Exchange<'_>) -> Option<Result<Value, Error>> {
    let workflows = &x.router().workflows;
    if workflows.is_empty() {
        return None;
    }
    let id = x.meta().related_task.as_deref()?;
    let call: CallParams = match decode("tools/call", x.params()) {
        Ok(call) => call,
        Err(e) => return Some(Err(e)),
    };
    let caller = match x.owner() {
        Ok(owner) => Caller {
            owner,
            auth: x.auth(),
        },
        Err(e) => return Some(Err(e)),
    };
    let answer = workflows
        .continuation(x.service(), &caller, id, &call.name, call.arguments)
        .await?;
    Some(answer.map_err(Error::from).map(|answer| {
        let mut result = answer.result;
        if let Some(object) = result.as_object_mut() {
            let meta = wire::meta_mut(object);
            meta.insert(
                RELATED_TASK_KEY.into(),
                wire::related_task(&answer.handoff.task_id),
            );
            meta.insert(
                HANDOFF_META_KEY.into(),
                serde_json::to_value(&answer.handoff).unwrap_or(Value::Null),
            );
        }
        result
    }))
}
