//! The workflow engine: `prompts/get` of a workflow creates (or picks up)
//! its task and runs what the server can; a `tools/call` naming the task
//! runs the client's step. Steps call the task service and pmcp's tools
//! directly, never a JSON-RPC request to this server.

use super::handoff::Handoff;
use super::journal::Journal;
use super::state::{binding_value, resolve_arguments};
use super::{
    substitute, task_tool_name, workflow_of_task, PauseReason, Progress, SequentialWorkflow,
    PROGRESS_KEY,
};
use crate::domain::{first_text, is_error_result, Era, NewTask, TaskRecord};
use crate::service::{Owner, ServiceError, TaskService};
use pmcp::server::auth::AuthContext;
use pmcp::server::workflow::WorkflowStep;
use pmcp::types::{Content, PromptMessage};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The workflow prompts a server serves in task mode, by name.
#[derive(Default)]
pub(crate) struct Workflows {
    by_name: BTreeMap<String, SequentialWorkflow>,
}

/// Who asks: the owner of the workflow's task, and the authentication the
/// steps' pmcp tools see.
pub(crate) struct Caller<'a> {
    pub(crate) owner: Owner,
    pub(crate) auth: Option<&'a AuthContext>,
}

/// What `prompts/get` of a workflow answers.
pub(crate) struct PromptAnswer {
    /// The workflow's description.
    pub(crate) description: String,
    /// The conversation so far, ending with the narrative of the handoff.
    pub(crate) messages: Vec<PromptMessage>,
    /// Where the task stands.
    pub(crate) handoff: Handoff,
}

/// What a `tools/call` continuing a workflow answers.
pub(crate) struct StepAnswer {
    /// The tool's own result.
    pub(crate) result: Value,
    /// Where the task stands after it.
    pub(crate) handoff: Handoff,
}

fn said(role: &str, text: impl Into<String>) -> PromptMessage {
    let content = Content::text(text.into());
    match role {
        "user" => PromptMessage::user(content),
        _ => PromptMessage::assistant(content),
    }
}

/// The first text of a tool result, or its JSON.
fn result_text(result: &Value) -> String {
    first_text(result).map_or_else(|| result.to_string(), str::to_owned)
}

/// Why a step's tool call failed (an error, or a result flagged `isError`),
/// or `None` if it succeeded.
fn step_failure(outcome: &Result<Value, ServiceError>) -> Option<String> {
    match outcome {
        Ok(result) if !is_error_result(result) => None,
        Ok(result) => Some(result_text(result)),
        Err(e) => Some(e.to_string()),
    }
}

impl Workflows {
    pub(crate) fn new(by_name: BTreeMap<String, SequentialWorkflow>) -> Self {
        Workflows { by_name }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&SequentialWorkflow> {
        self.by_name.get(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &SequentialWorkflow> {
        self.by_name.values()
    }

    /// `prompts/get` of `workflow`: creates its task (or, given `resume`,
    /// picks that run up again), runs what the server can, and answers with
    /// the conversation and the handoff.
    pub(crate) async fn prompt(
        &self,
        service: &TaskService,
        workflow: &SequentialWorkflow,
        caller: &Caller<'_>,
        arguments: Map<String, Value>,
        resume: Option<&str>,
        era: Era,
    ) -> Result<PromptAnswer, ServiceError> {
        let record = match resume {
            Some(id) => {
                let record = run_of(service, workflow, &caller.owner, id).await?;
                if record.status.is_terminal() {
                    return Err(ServiceError::Workflow(format!(
                        "Workflow task {id} is already {}; call prompts/get without a task to start again",
                        record.status
                    )));
                }
                record
            }
            None => start(service, workflow, &caller.owner, arguments, era).await?,
        };
        let prompt_args = record
            .arguments
            .parse::<serde_json::Map<_, _>>()
            .unwrap_or_default();
        let mut messages = vec![said(
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
        let run = Run {
            service,
            workflow,
            caller,
        };
        let record = run.advance(record, &prompt_args, &mut messages).await?;
        let handoff = Handoff::of(workflow, &record);
        messages.push(said("assistant", handoff.narrative(&record)));
        Ok(PromptAnswer {
            description: workflow.description().to_owned(),
            messages,
            handoff,
        })
    }

    /// A `tools/call` of `tool` naming task `id`: when that task is a
    /// workflow's, the call is its next step. `None` when it is not (an
    /// ordinary call).
    pub(crate) async fn continuation(
        &self,
        service: &TaskService,
        caller: &Caller<'_>,
        id: &str,
        tool: &str,
        arguments: Value,
    ) -> Option<Result<StepAnswer, ServiceError>> {
        let record = match service.get(&caller.owner, id).await {
            Ok(record) => record,
            Err(e) => return Some(Err(e)),
        };
        let name = workflow_of_task(&record.tool)?;
        let Some(workflow) = self.by_name.get(name) else {
            return Some(Err(ServiceError::Workflow(format!(
                "Task {id} is a run of workflow '{name}', which this server does not serve"
            ))));
        };
        let run = Run {
            service,
            workflow,
            caller,
        };
        Some(run.client_step(record, tool, arguments).await)
    }
}

/// Creates the task of a new run of `workflow`: no body and no lease (the
/// run moves on with requests, and crash recovery leaves it alone).
async fn start(
    service: &TaskService,
    workflow: &SequentialWorkflow,
    owner: &Owner,
    arguments: Map<String, Value>,
    era: Era,
) -> Result<Arc<TaskRecord>, ServiceError> {
    let runtime = service.runtime();
    let limits = runtime.limits();
    let mut record = TaskRecord::new(
        NewTask {
            owner: owner.as_str().to_owned(),
            era,
            tool: task_tool_name(workflow.name()),
            arguments: Value::Object(arguments),
            ttl: limits.effective_ttl(None),
            poll_interval: Some(limits.poll_interval),
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        runtime.clock().now(),
    );
    record.variables_mut().insert(
        PROGRESS_KEY.into(),
        serde_json::to_value(Progress::start(workflow)).unwrap_or(Value::Null),
    );
    Ok(runtime.create(record).await?)
}

/// The owner's task `id`, which must be a run of `workflow`.
async fn run_of(
    service: &TaskService,
    workflow: &SequentialWorkflow,
    owner: &Owner,
    id: &str,
) -> Result<Arc<TaskRecord>, ServiceError> {
    let record = service.get(owner, id).await?;
    if record.tool != task_tool_name(workflow.name()) {
        return Err(ServiceError::Workflow(format!(
            "Task {id} is not a run of workflow '{}'",
            workflow.name()
        )));
    }
    Ok(record)
}

/// One request's work on one run.
struct Run<'a> {
    service: &'a TaskService,
    workflow: &'a SequentialWorkflow,
    caller: &'a Caller<'a>,
}

impl Run<'_> {
    fn journal(&self) -> Journal<'_> {
        Journal {
            runtime: self.service.runtime(),
            workflow: self.workflow,
        }
    }

    async fn call(&self, tool: &str, arguments: Value) -> Result<Value, ServiceError> {
        self.service
            .run_inline(&self.caller.owner, self.caller.auth, tool, arguments)
            .await
    }

    /// Runs the step the client called, records it, runs what follows that
    /// the server can, and answers the tool's result with the handoff.
    async fn client_step(
        &self,
        record: Arc<TaskRecord>,
        called: &str,
        arguments: Value,
    ) -> Result<StepAnswer, ServiceError> {
        let (id, workflow) = (record.id.clone(), self.workflow);
        if record.status.is_terminal() {
            return Err(ServiceError::Workflow(format!(
                "Workflow task {id} is already {}; start the workflow again with prompts/get",
                record.status
            )));
        }
        let progress = Progress::matching(&record, workflow).map_err(ServiceError::Workflow)?;
        let Some(index) = progress.next() else {
            return Err(ServiceError::Workflow(format!(
                "Workflow task {id} has no step left to run"
            )));
        };
        let step = &workflow.steps()[index];
        let expected = step.tool().map(|t| t.name()).unwrap_or("");
        if called != expected {
            return Err(ServiceError::Workflow(format!(
                "Workflow '{}' (task {id}) expects step '{}' next, which calls tool '{expected}', not '{called}'",
                workflow.name(),
                step.name()
            )));
        }
        let arguments = if arguments.is_null() {
            Value::Object(Map::new())
        } else {
            arguments
        };
        let outcome = self.call(called, arguments).await;
        let record = match step_failure(&outcome) {
            None => {
                let output = binding_value(outcome.as_ref().unwrap_or(&Value::Null));
                let record = self.journal().step_done(record, index, output).await?;
                let prompt_args = record
                    .arguments
                    .parse::<serde_json::Map<_, _>>()
                    .unwrap_or_default();
                let mut ignored = Vec::new();
                self.advance(record, &prompt_args, &mut ignored).await?
            }
            Some(error) => self.journal().step_failed(record, index, &error).await?,
        };
        Ok(StepAnswer {
            result: outcome?,
            handoff: Handoff::of(workflow, &record),
        })
    }

    /// Runs steps from the first not completed, in order, while the server
    /// can: stops at the end (completing the task), at a step that needs
    /// the client (recording why), or when the task ended meanwhile.
    async fn advance(
        &self,
        mut record: Arc<TaskRecord>,
        prompt_args: &Map<String, Value>,
        messages: &mut Vec<PromptMessage>,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        let workflow = self.workflow;
        loop {
            if record.status.is_terminal() {
                return Ok(record);
            }
            let progress = Progress::matching(&record, workflow).map_err(ServiceError::Workflow)?;
            let Some(index) = progress.next() else {
                return self.journal().complete(record).await;
            };
            let step = &workflow.steps()[index];
            let Some(tool) = step.tool().map(|t| t.name().to_owned()) else {
                // A step that only reads resources.
                match self.read_resources(step, prompt_args).await {
                    Ok(contents) => {
                        messages.push(said(
                            "user",
                            format!("Resources for step '{}':\n{}", step.name(), contents),
                        ));
                        record = self
                            .journal()
                            .step_done(record, index, Value::String(contents))
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
                        return self.journal().pause(record, reason).await;
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
                return self.journal().pause(record, reason).await;
            }
            // A cancel may have come while the previous step ran.
            record = self.service.get(&self.caller.owner, &record.id).await?;
            if record.status.is_terminal() {
                return Ok(record);
            }
            let arguments = Value::Object(resolved.arguments);
            messages.push(said(
                "assistant",
                format!(
                    "Step '{}': calling tool '{tool}' with {arguments}",
                    step.name()
                ),
            ));
            let outcome = self.call(&tool, arguments).await;
            match step_failure(&outcome) {
                None => {
                    let result = outcome.unwrap_or_default();
                    messages.push(said(
                        "user",
                        format!("Tool result:\n{}", result_text(&result)),
                    ));
                    record = self
                        .journal()
                        .step_done(record, index, binding_value(&result))
                        .await?;
                }
                Some(error) => {
                    messages.push(said("user", format!("Error executing tool: {error}")));
                    let reason = PauseReason::ToolError {
                        step: step.name().to_string(),
                        tool,
                        error,
                        retryable: step.is_retryable(),
                    };
                    return self.journal().pause(record, reason).await;
                }
            }
        }
    }

    /// The required fields of `tool`'s input schema that `arguments` lacks.
    async fn missing_required(
        &self,
        tool: &str,
        arguments: &Map<String, Value>,
    ) -> Option<Vec<String>> {
        let schema = match self.service.tools().get(tool) {
            Some(ours) => ours.input_schema.clone(),
            None => self.service.host().tool(tool).await?.input_schema.clone(),
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
        step: &WorkflowStep,
        prompt_args: &Map<String, Value>,
    ) -> Result<String, String> {
        let mut texts = Vec::new();
        for resource in step.resources() {
            let uri = substitute(resource.uri(), prompt_args);
            let read = self
                .service
                .host()
                .read_text(&uri, self.caller.auth.cloned())
                .await
                .map_err(|e| format!("reading {uri}: {}", e.message))?;
            texts.extend(read);
        }
        Ok(texts.join("\n"))
    }
}
