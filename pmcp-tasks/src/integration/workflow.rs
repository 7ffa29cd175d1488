//! Workflow prompts in task mode (see [`crate::workflow`]): `prompts/get`
//! creates and advances a workflow's task, `tools/call` with the task in
//! `_meta` continues it, `prompts/list` shows the workflows.

use super::dispatch::{invalid_params, start_error, store_error, task_not_found, Routed};
use super::server::TaskServer;
use super::wire::{self, code, RELATED_TASK_KEY};
use crate::domain::{
    first_text, is_error_result, DomainError, NewTask, RpcError, TaskOutcome, TaskRecord,
    TaskStatus,
};
use crate::execution::TaskContext;
use crate::store::{StoreError, UpdateError};
use crate::workflow::{
    binding_value, resolve_arguments, result_key, substitute, task_tool_name, PauseReason,
    Progress, SequentialWorkflow, StepStatus, HANDOFF_META_KEY, PAUSE_KEY, PROGRESS_KEY,
};
use chrono::Utc;
use pmcp::server::auth::AuthContext;
use serde_json::{json, Map, Value};

/// Who asks, for the tools a workflow calls on their behalf.
struct Caller<'a> {
    owner: &'a str,
    auth: Option<&'a AuthContext>,
}

fn text_message(role: &str, text: impl Into<String>) -> Value {
    json!({"role": role, "content": {"type": "text", "text": text.into()}})
}

/// The first text of a tool result, or its JSON.
fn result_text(result: &Value) -> String {
    first_text(result).map_or_else(|| result.to_string(), str::to_owned)
}

/// Why a step's tool call failed (a JSON-RPC error, or a result flagged
/// `isError`), or `None` if it succeeded.
fn step_failure(outcome: &Result<Value, RpcError>) -> Option<String> {
    match outcome {
        Ok(result) if !is_error_result(result) => None,
        Ok(result) => Some(result_text(result)),
        Err(e) => Some(e.message.clone()),
    }
}

/// The task a request names in `_meta["io.modelcontextprotocol/related-task"]`.
fn related_task(params: &Map<String, Value>) -> Option<&str> {
    params
        .get("_meta")?
        .get(RELATED_TASK_KEY)?
        .get("taskId")?
        .as_str()
}

/// A prompt's arguments (MCP sends strings; other JSON is kept as given).
fn prompt_arguments(params: &Map<String, Value>) -> Result<Map<String, Value>, RpcError> {
    match params.get("arguments") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(args)) => Ok(args.clone()),
        Some(_) => Err(invalid_params(
            "params.arguments must be an object of strings",
        )),
    }
}

/// How a workflow prompt shows in `prompts/list`.
pub(super) fn prompt_info(workflow: &SequentialWorkflow) -> Value {
    let arguments: Vec<Value> = workflow
        .arguments()
        .iter()
        .map(|(name, spec)| {
            json!({"name": name.as_str(), "description": spec.description, "required": spec.required})
        })
        .collect();
    json!({
        "name": workflow.name(),
        "description": workflow.description(),
        "arguments": arguments,
    })
}

impl TaskServer {
    /// `prompts/list`: pmcp's prompts with the workflow prompts added,
    /// sorted by name.
    pub(super) async fn prompts_list(
        &self,
        raw: Value,
        auth: Option<AuthContext>,
    ) -> Result<Value, Routed> {
        let response = match self.forward(raw, auth).await {
            Ok(r) | Err(Routed::Response(r)) => r,
            Err(e) => return Err(e),
        };
        let mut prompts: Vec<Value> = response["result"]["prompts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        prompts.extend(self.inner.workflows.values().map(prompt_info));
        prompts.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Ok(json!({"prompts": prompts}))
    }

    /// `prompts/get` of a workflow: creates its task (or, with a task in
    /// `_meta`, picks that run up again), runs what the server can, and
    /// answers with the conversation and the handoff.
    pub(super) async fn workflow_prompt(
        &self,
        workflow: &SequentialWorkflow,
        params: &Map<String, Value>,
        era: crate::domain::Era,
        auth: Option<&AuthContext>,
    ) -> Result<Value, RpcError> {
        let owner = self.owner(auth)?;
        let caller = Caller {
            owner: &owner,
            auth,
        };
        let record = match related_task(params) {
            Some(id) => {
                let record = self.workflow_task(workflow, &owner, id).await?;
                if record.status.is_terminal() {
                    return Err(invalid_params(format!(
                        "Workflow task {id} is already {}; call prompts/get without a task to start again",
                        record.status
                    )));
                }
                record
            }
            None => {
                let arguments = prompt_arguments(params)?;
                let limits = self.inner.runtime.limits();
                let mut record = TaskRecord::new(
                    NewTask {
                        owner: owner.clone(),
                        era,
                        tool: task_tool_name(workflow.name()),
                        arguments: Value::Object(arguments),
                        ttl: limits.effective_ttl(None),
                        poll_interval: Some(limits.poll_interval),
                        input_responses: Default::default(),
                    },
                    Utc::now(),
                );
                record.variables.insert(
                    PROGRESS_KEY.into(),
                    serde_json::to_value(Progress::start(workflow)).unwrap_or(Value::Null),
                );
                self.inner
                    .runtime
                    .create(record)
                    .await
                    .map_err(start_error)?
            }
        };
        let prompt_args = record.arguments.as_object().cloned().unwrap_or_default();
        let mut messages = vec![text_message(
            "user",
            format!(
                "Run the workflow '{}': {}{}",
                workflow.name(),
                workflow.description(),
                if prompt_args.is_empty() {
                    String::new()
                } else {
                    format!(" (arguments: {})", Value::Object(prompt_args.clone()))
                }
            ),
        )];
        let record = self
            .advance(workflow, record, &prompt_args, &caller, &mut messages)
            .await?;
        let handoff = self.handoff(workflow, &record);
        messages.push(text_message(
            "assistant",
            narrative(workflow, &record, &handoff),
        ));
        Ok(json!({
            "description": workflow.description(),
            "messages": messages,
            "_meta": {
                RELATED_TASK_KEY: wire::related_task(&record.id),
                HANDOFF_META_KEY: handoff,
            },
        }))
    }

    /// A `tools/call` naming a task in `_meta`: when that task is a
    /// workflow's, the call is its next step. `None` when it is not a
    /// workflow's task (an ordinary call).
    pub(super) async fn workflow_continuation(
        &self,
        params: &Map<String, Value>,
        auth: Option<&AuthContext>,
    ) -> Option<Result<Value, RpcError>> {
        let id = related_task(params)?;
        let owner = match self.owner(auth) {
            Ok(owner) => owner,
            Err(e) => return Some(Err(e)),
        };
        let record = match self.inner.runtime.get(&owner, id).await {
            Ok(record) => record,
            Err(e) => return Some(Err(store_error(e, id))),
        };
        let name = record.tool.strip_prefix("prompt:")?;
        let Some(workflow) = self.inner.workflows.get(name) else {
            return Some(Err(invalid_params(format!(
                "Task {id} is a run of workflow '{name}', which this server does not serve"
            ))));
        };
        let caller = Caller {
            owner: &owner,
            auth,
        };
        Some(self.client_step(workflow, record, params, &caller).await)
    }

    /// Runs the step the client called, records it, runs what follows that
    /// the server can, and answers the tool's result with the handoff.
    async fn client_step(
        &self,
        workflow: &SequentialWorkflow,
        record: TaskRecord,
        params: &Map<String, Value>,
        caller: &Caller<'_>,
    ) -> Result<Value, RpcError> {
        let id = record.id.clone();
        if record.status.is_terminal() {
            return Err(invalid_params(format!(
                "Workflow task {id} is already {}; start the workflow again with prompts/get",
                record.status
            )));
        }
        let progress = Progress::matching(&record, workflow).map_err(invalid_params)?;
        let Some(index) = progress.next() else {
            return Err(invalid_params(format!(
                "Workflow task {id} has no step left to run"
            )));
        };
        let step = &workflow.steps()[index];
        let called = params.get("name").and_then(Value::as_str).unwrap_or("");
        let expected = step.tool().map(|t| t.name()).unwrap_or("");
        if called != expected {
            return Err(invalid_params(format!(
                "Workflow '{}' (task {id}) expects step '{}' next, which calls tool '{expected}', not '{called}'",
                workflow.name(),
                step.name()
            )));
        }
        let arguments = params.get("arguments").cloned().unwrap_or(json!({}));
        let outcome = self.call_tool_inline(called, arguments, caller).await;
        let record = match step_failure(&outcome) {
            None => {
                let output = binding_value(outcome.as_ref().unwrap_or(&Value::Null));
                let record = self.record_step(workflow, record, index, output).await?;
                let prompt_args = record.arguments.as_object().cloned().unwrap_or_default();
                let mut ignored = Vec::new();
                self.advance(workflow, record, &prompt_args, caller, &mut ignored)
                    .await?
            }
            Some(error) => self.fail_step(workflow, record, index, &error).await?,
        };
        let handoff = self.handoff(workflow, &record);
        let mut result = outcome?;
        if let Some(object) = result.as_object_mut() {
            let meta = wire::meta_mut(object);
            meta.insert(RELATED_TASK_KEY.into(), wire::related_task(&id));
            meta.insert(HANDOFF_META_KEY.into(), handoff);
        }
        Ok(result)
    }

    /// The owner's task `id`, which must be a run of `workflow`.
    async fn workflow_task(
        &self,
        workflow: &SequentialWorkflow,
        owner: &str,
        id: &str,
    ) -> Result<TaskRecord, RpcError> {
        let record = self
            .inner
            .runtime
            .get(owner, id)
            .await
            .map_err(|e| store_error(e, id))?;
        if record.tool != task_tool_name(workflow.name()) {
            return Err(invalid_params(format!(
                "Task {id} is not a run of workflow '{}'",
                workflow.name()
            )));
        }
        Ok(record)
    }

    /// Runs steps from the first not completed, in order, while the server
    /// can: stops at the end (completing the task), at a step that needs
    /// the client (recording why), or when the task ended meanwhile.
    async fn advance(
        &self,
        workflow: &SequentialWorkflow,
        mut record: TaskRecord,
        prompt_args: &Map<String, Value>,
        caller: &Caller<'_>,
        messages: &mut Vec<Value>,
    ) -> Result<TaskRecord, RpcError> {
        loop {
            if record.status.is_terminal() {
                return Ok(record);
            }
            let progress = Progress::matching(&record, workflow).map_err(invalid_params)?;
            let Some(index) = progress.next() else {
                return self.complete(workflow, record).await;
            };
            let step = &workflow.steps()[index];
            let Some(tool) = step.tool().map(|t| t.name().to_owned()) else {
                // A step that only reads resources.
                match self.read_resources(step, prompt_args, caller).await {
                    Ok(contents) => {
                        messages.push(text_message(
                            "user",
                            format!("Resources for step '{}':\n{}", step.name(), contents),
                        ));
                        record = self
                            .record_step(workflow, record, index, Value::String(contents))
                            .await?;
                        continue;
                    }
                    Err(error) => {
                        let reason = PauseReason::ToolError {
                            step: step.name().to_string(),
                            tool: "resources/read".into(),
                            error,
                            retryable: step.is_retryable(),
                        };
                        return self.pause(record, reason).await;
                    }
                }
            };
            let resolved = resolve_arguments(workflow, step, prompt_args, &record);
            let problem =
                match resolved.problem {
                    Some(problem) => Some(problem),
                    None => self.missing_required(&tool, &resolved.arguments).await.map(
                        |missing_fields| PauseReason::SchemaMismatch {
                            step: step.name().to_string(),
                            tool: tool.clone(),
                            missing_fields,
                        },
                    ),
                };
            if let Some(reason) = problem {
                return self.pause(record, reason).await;
            }
            // A cancel may have come while the previous step ran.
            record = self
                .inner
                .runtime
                .get(&record.owner, &record.id)
                .await
                .map_err(|e| store_error(e, &record.id))?;
            if record.status.is_terminal() {
                return Ok(record);
            }
            let arguments = Value::Object(resolved.arguments);
            messages.push(text_message(
                "assistant",
                format!(
                    "Step '{}': calling tool '{tool}' with {arguments}",
                    step.name()
                ),
            ));
            let outcome = self.call_tool_inline(&tool, arguments, caller).await;
            match step_failure(&outcome) {
                None => {
                    let result = outcome.unwrap_or_default();
                    messages.push(text_message(
                        "user",
                        format!("Tool result:\n{}", result_text(&result)),
                    ));
                    record = self
                        .record_step(workflow, record, index, binding_value(&result))
                        .await?;
                }
                Some(error) => {
                    messages.push(text_message(
                        "user",
                        format!("Error executing tool: {error}"),
                    ));
                    let reason = PauseReason::ToolError {
                        step: step.name().to_string(),
                        tool,
                        error,
                        retryable: step.is_retryable(),
                    };
                    return self.pause(record, reason).await;
                }
            }
        }
    }

    /// Writes a change to the workflow's task. A task that ended meanwhile
    /// (cancelled) is returned as it is; variables over the limit fail the
    /// task, saying so.
    async fn apply(
        &self,
        record: TaskRecord,
        mut change: impl FnMut(&mut TaskRecord, chrono::DateTime<Utc>) -> Result<(), DomainError>,
    ) -> Result<TaskRecord, RpcError> {
        let (owner, id) = (record.owner.clone(), record.id.clone());
        match self.inner.runtime.update(&owner, &id, &mut change).await {
            Ok((written, ())) => Ok(written),
            Err(UpdateError::Domain(DomainError::Terminal(_))) => self
                .inner
                .runtime
                .get(&owner, &id)
                .await
                .map_err(|e| store_error(e, &id)),
            Err(UpdateError::Domain(DomainError::VariablesTooLarge { size, limit })) => {
                let error = RpcError::new(
                    code::INTERNAL_ERROR,
                    format!(
                        "the workflow's step outputs take {size} bytes, more than the task's \
                         variable limit of {limit} (Limits::max_variable_bytes)"
                    ),
                );
                self.inner
                    .runtime
                    .update(&owner, &id, |t, now| {
                        t.finish(
                            TaskOutcome::Error {
                                error: error.clone(),
                            },
                            now,
                        )
                    })
                    .await
                    .map(|(written, ())| written)
                    .map_err(|e| update_to_rpc(e, &id))
            }
            Err(e) => Err(update_to_rpc(e, &id)),
        }
    }

    /// Marks step `index` completed with its output.
    async fn record_step(
        &self,
        workflow: &SequentialWorkflow,
        record: TaskRecord,
        index: usize,
        output: Value,
    ) -> Result<TaskRecord, RpcError> {
        let limit = self.inner.runtime.limits().max_variable_bytes;
        let step = workflow.steps()[index].name().to_string();
        self.apply(record, |t, now| {
            let Ok(mut progress) = Progress::matching(t, workflow) else {
                return Ok(());
            };
            if progress.steps[index].status == StepStatus::Completed {
                // A concurrent call recorded it first.
                return Ok(());
            }
            progress.steps[index].status = StepStatus::Completed;
            t.set_variable(&result_key(&step), Some(output.clone()), limit, now)?;
            t.set_variable(PROGRESS_KEY, Some(json!(progress)), limit, now)?;
            t.set_variable(PAUSE_KEY, None, limit, now)?;
            t.set_message(format!("step '{step}' completed"), now)
        })
        .await
    }

    /// Records why the workflow waits for the client.
    async fn pause(&self, record: TaskRecord, reason: PauseReason) -> Result<TaskRecord, RpcError> {
        let limit = self.inner.runtime.limits().max_variable_bytes;
        let message = format!("waiting for the client: {}", reason.explain());
        self.apply(record, |t, now| {
            t.set_variable(PAUSE_KEY, Some(json!(reason)), limit, now)?;
            t.set_message(message.clone(), now)
        })
        .await
    }

    /// A step the client ran failed: the workflow's task fails with it.
    async fn fail_step(
        &self,
        workflow: &SequentialWorkflow,
        record: TaskRecord,
        index: usize,
        error: &str,
    ) -> Result<TaskRecord, RpcError> {
        let limit = self.inner.runtime.limits().max_variable_bytes;
        let step = &workflow.steps()[index];
        let failure = RpcError {
            code: code::INTERNAL_ERROR,
            message: format!("workflow step '{}' failed: {error}", step.name()),
            data: Some(json!({
                "step": step.name().to_string(),
                "tool": step.tool().map(|t| t.name()),
            })),
        };
        self.apply(record, |t, now| {
            if let Ok(mut progress) = Progress::matching(t, workflow) {
                progress.steps[index].status = StepStatus::Failed;
                t.set_variable(PROGRESS_KEY, Some(json!(progress)), limit, now)?;
            }
            t.set_variable(PAUSE_KEY, None, limit, now)?;
            t.finish(
                TaskOutcome::Error {
                    error: failure.clone(),
                },
                now,
            )
        })
        .await
    }

    /// Every step is done: the task completes with a summary.
    async fn complete(
        &self,
        workflow: &SequentialWorkflow,
        record: TaskRecord,
    ) -> Result<TaskRecord, RpcError> {
        let steps: Vec<Value> = workflow
            .steps()
            .iter()
            .map(|s| {
                json!({
                    "name": s.name().to_string(),
                    "tool": s.tool().map(|t| t.name()),
                    "output": record.variables.get(&result_key(s.name().as_str())),
                })
            })
            .collect();
        let names: Vec<String> = workflow
            .steps()
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        let summary = json!({
            "content": [{"type": "text", "text": format!(
                "Workflow '{}' completed: {}", workflow.name(), names.join(", ")
            )}],
            "structuredContent": {"workflow": workflow.name(), "steps": steps},
        });
        let limit = self.inner.runtime.limits().max_variable_bytes;
        self.apply(record, |t, now| {
            t.set_variable(PAUSE_KEY, None, limit, now)?;
            t.finish(
                TaskOutcome::Result {
                    value: summary.clone(),
                },
                now,
            )
        })
        .await
    }

    /// The structured handoff: where the workflow stands and what the
    /// client is to do next.
    fn handoff(&self, workflow: &SequentialWorkflow, record: &TaskRecord) -> Value {
        let Ok(progress) = Progress::matching(record, workflow) else {
            return json!({
                "taskId": record.id,
                "workflow": workflow.name(),
                "status": record.status.as_str(),
                "steps": Progress::of(record).map(|p| p.steps),
                "next": null,
                "remaining": [],
            });
        };
        let pause: Option<PauseReason> = record
            .variables
            .get(PAUSE_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let next_index = progress.next().filter(|_| !record.status.is_terminal());
        let next = next_index.map(|index| {
            let step = &workflow.steps()[index];
            let prompt_args = record.arguments.as_object().cloned().unwrap_or_default();
            let resolved = resolve_arguments(workflow, step, &prompt_args, record);
            let tool = step.tool().map(|t| t.name().to_owned());
            json!({
                "step": step.name().to_string(),
                "tool": tool,
                "arguments": resolved.arguments,
                "reason": pause,
                "guidance": step.guidance().map(|g| substitute(g, &prompt_args)),
                "call": {
                    "method": "tools/call",
                    "params": {
                        "name": tool,
                        "arguments": resolved.arguments,
                        "_meta": {RELATED_TASK_KEY: wire::related_task(&record.id)},
                    },
                },
            })
        });
        let remaining: Vec<String> = next_index
            .map(|i| {
                progress.steps[i + 1..]
                    .iter()
                    .map(|s| s.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "taskId": record.id,
            "workflow": workflow.name(),
            "status": record.status.as_str(),
            "steps": progress.steps,
            "next": next,
            "remaining": remaining,
        })
    }

    /// What pmcp's or our tool `name` answers to `arguments`, run here and
    /// now (never as a task).
    async fn call_tool_inline(
        &self,
        name: &str,
        arguments: Value,
        caller: &Caller<'_>,
    ) -> Result<Value, RpcError> {
        if let Some(tool) = self.inner.tools.get(name) {
            let body = tool
                .body
                .prepare(arguments)
                .map_err(|e| invalid_params(e.to_string()))?;
            return body(TaskContext::detached(caller.owner))
                .await
                .into_result();
        }
        if !self.pmcp_has_tool(name).await {
            return Err(invalid_params(format!(
                "Unknown tool: '{name}'; tools/list shows the tools of this server"
            )));
        }
        let request = json!({
            "jsonrpc": "2.0", "id": 0, "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        });
        self.forward_answer(request, caller.auth.cloned()).await
    }

    /// A request answered by pmcp: its result, or its error.
    async fn forward_answer(
        &self,
        request: Value,
        auth: Option<AuthContext>,
    ) -> Result<Value, RpcError> {
        let response = match self.forward(request, auth).await {
            Ok(r) | Err(Routed::Response(r)) => r,
            Err(Routed::Error(e)) => return Err(e),
        };
        if let Some(error) = response.get("error") {
            return Err(RpcError {
                code: error["code"]
                    .as_i64()
                    .and_then(|c| i32::try_from(c).ok())
                    .unwrap_or(code::INTERNAL_ERROR),
                message: error["message"]
                    .as_str()
                    .unwrap_or("the tool failed")
                    .to_owned(),
                data: error.get("data").cloned(),
            });
        }
        Ok(response.get("result").cloned().unwrap_or(Value::Null))
    }

    /// The required fields of `tool`'s input schema that `arguments` lacks.
    async fn missing_required(
        &self,
        tool: &str,
        arguments: &Map<String, Value>,
    ) -> Option<Vec<String>> {
        let schema = match self.inner.tools.get(tool) {
            Some(ours) => ours.input_schema.clone(),
            None => self.pmcp_tool_schema(tool).await?,
        };
        let missing: Vec<String> = schema
            .get("required")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .filter(|field| !arguments.contains_key(*field))
            .map(str::to_owned)
            .collect();
        (!missing.is_empty()).then_some(missing)
    }

    /// The text of every resource a resource step names, read through pmcp.
    async fn read_resources(
        &self,
        step: &pmcp::server::workflow::WorkflowStep,
        prompt_args: &Map<String, Value>,
        caller: &Caller<'_>,
    ) -> Result<String, String> {
        let mut texts = Vec::new();
        for resource in step.resources() {
            let uri = substitute(resource.uri(), prompt_args);
            let request = json!({
                "jsonrpc": "2.0", "id": 0, "method": "resources/read", "params": {"uri": uri},
            });
            let result = self
                .forward_answer(request, caller.auth.cloned())
                .await
                .map_err(|e| format!("reading {uri}: {}", e.message))?;
            for content in result["contents"].as_array().into_iter().flatten() {
                texts.push(
                    content["text"]
                        .as_str()
                        .map_or_else(|| content.to_string(), str::to_owned),
                );
            }
        }
        Ok(texts.join("\n"))
    }
}

fn update_to_rpc(e: UpdateError, id: &str) -> RpcError {
    match e {
        UpdateError::Store(StoreError::NotFound) => task_not_found(id),
        UpdateError::Store(s) => store_error(s, id),
        UpdateError::Domain(d) => invalid_params(d.to_string()),
    }
}

/// A short account of the handoff for the model.
fn narrative(workflow: &SequentialWorkflow, record: &TaskRecord, handoff: &Value) -> String {
    let name = workflow.name();
    let id = &record.id;
    let done: Vec<&str> = handoff["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "completed")
        .filter_map(|s| s["name"].as_str())
        .collect();
    let done = if done.is_empty() {
        "none yet".to_owned()
    } else {
        done.join(", ")
    };
    match record.status {
        TaskStatus::Completed => format!(
            "Workflow '{name}' is complete (task {id}); steps run: {done}. tasks/result gives the summary."
        ),
        TaskStatus::Failed | TaskStatus::Cancelled => format!(
            "Workflow '{name}' (task {id}) ended {}: {}. Steps completed: {done}.",
            record.status,
            record.status_message.as_deref().unwrap_or("no reason given")
        ),
        TaskStatus::Working | TaskStatus::InputRequired => {
            let next = &handoff["next"];
            let reason = next["reason"]
                .as_object()
                .and_then(|_| serde_json::from_value::<PauseReason>(next["reason"].clone()).ok())
                .map(|r| r.explain())
                .unwrap_or_else(|| "it is the client's turn".to_owned());
            let guidance = next["guidance"]
                .as_str()
                .map(|g| format!(" Guidance: {g}"))
                .unwrap_or_default();
            let remaining: Vec<&str> = handoff["remaining"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "Workflow '{name}' (task {id}) waits for you. Steps completed: {done}. Next is step '{}': {reason}.{guidance} \
                 Continue by calling tool '{}' with arguments {} (complete what is missing) and \
                 _meta {{\"{RELATED_TASK_KEY}\": {{\"taskId\": \"{id}\"}}}}. Remaining after it: {}.",
                next["step"].as_str().unwrap_or(""),
                next["tool"].as_str().unwrap_or(""),
                next["arguments"],
                if remaining.is_empty() { "nothing".to_owned() } else { remaining.join(", ") }
            )
        }
    }
}
