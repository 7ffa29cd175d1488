//! What a workflow task stores about its steps, and how a step's arguments
//! are resolved from the prompt's arguments and earlier steps' outputs.

use super::{result_key, DataSource, SequentialWorkflow, WorkflowStep};
use crate::domain::TaskRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where one step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not run yet.
    Pending,
    /// Ran; its output is stored under [`result_key`](super::result_key).
    Completed,
    /// Ran and failed (the workflow's task failed with it).
    Failed,
}

/// One step in [`Progress`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepProgress {
    /// The step's name.
    pub name: String,
    /// The tool it calls (`None` for a step that only reads resources).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool: Option<String>,
    /// Where it stands.
    pub status: StepStatus,
}

/// Every step's status, in order: the task variable
/// [`PROGRESS_KEY`](super::PROGRESS_KEY).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The workflow prompt's name.
    pub workflow: String,
    /// The steps, in the order they run.
    pub steps: Vec<StepProgress>,
}

impl Progress {
    /// All steps of `workflow`, pending.
    pub(crate) fn start(workflow: &SequentialWorkflow) -> Self {
        Progress {
            workflow: workflow.name().to_owned(),
            steps: workflow
                .steps()
                .iter()
                .map(|s| StepProgress {
                    name: s.name().to_string(),
                    tool: s.tool().map(|t| t.name().to_owned()),
                    status: StepStatus::Pending,
                })
                .collect(),
        }
    }

    /// The progress stored in a workflow's task, if it is one.
    pub(crate) fn of(record: &TaskRecord) -> Option<Self> {
        record
            .variables()
            .get(super::PROGRESS_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The task's progress, checked against `workflow`: a workflow whose
    /// steps changed (a redeploy) cannot continue a run of its old form.
    pub(crate) fn matching(
        record: &TaskRecord,
        workflow: &SequentialWorkflow,
    ) -> Result<Self, String> {
        let progress = Self::of(record).unwrap_or_else(|| Self::start(workflow));
        let same = progress.steps.len() == workflow.steps().len()
            && progress
                .steps
                .iter()
                .zip(workflow.steps())
                .all(|(p, s)| p.name == s.name().as_str());
        if same {
            Ok(progress)
        } else {
            Err(format!(
                "workflow '{}' changed since task {} started (its steps differ); start it again with prompts/get",
                workflow.name(),
                record.id
            ))
        }
    }

    /// The first step not completed yet.
    pub(crate) fn next(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.status != StepStatus::Completed)
    }
}

/// Why a workflow waits for the client: the step it stopped at and what
/// that step lacks. Stored in the task variable
/// [`PAUSE_KEY`](super::PAUSE_KEY) and in the handoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum PauseReason {
    /// A prompt argument the step needs was not given.
    MissingInput {
        /// The step.
        step: String,
        /// The prompt argument.
        argument: String,
    },
    /// An argument comes from an earlier step's output that does not have
    /// it (the step has not run, or its output lacks the field).
    UnresolvableArgument {
        /// The step.
        step: String,
        /// The step's argument.
        argument: String,
        /// What is missing, in words.
        detail: String,
    },
    /// The resolved arguments lack fields the tool's input schema requires.
    SchemaMismatch {
        /// The step.
        step: String,
        /// The tool.
        tool: String,
        /// The required fields that are missing.
        missing_fields: Vec<String>,
    },
    /// The server ran the step's tool and it failed.
    ToolError {
        /// The step.
        step: String,
        /// The tool.
        tool: String,
        /// The error the tool gave.
        error: String,
        /// Whether the step is declared safe to retry.
        retryable: bool,
    },
}

impl PauseReason {
    /// The step the workflow stopped at.
    pub fn step(&self) -> &str {
        match self {
            PauseReason::MissingInput { step, .. }
            | PauseReason::UnresolvableArgument { step, .. }
            | PauseReason::SchemaMismatch { step, .. }
            | PauseReason::ToolError { step, .. } => step,
        }
    }

    /// One sentence for the model.
    pub fn explain(&self) -> String {
        match self {
            PauseReason::MissingInput { step, argument } => {
                format!("step '{step}' needs the prompt argument '{argument}', which was not given")
            }
            PauseReason::UnresolvableArgument {
                step,
                argument,
                detail,
            } => format!("step '{step}' cannot work out its argument '{argument}': {detail}"),
            PauseReason::SchemaMismatch {
                step,
                tool,
                missing_fields,
            } => format!(
                "step '{step}' lacks what tool '{tool}' requires: {}",
                missing_fields.join(", ")
            ),
            PauseReason::ToolError {
                step, tool, error, ..
            } => format!("step '{step}' failed when the server ran tool '{tool}': {error}"),
        }
    }
}

/// A step's arguments as far as they resolve.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    /// The arguments that resolved.
    pub(crate) arguments: Map<String, Value>,
    /// The first argument that did not, if any.
    pub(crate) problem: Option<PauseReason>,
}

/// Replaces `{name}` with each prompt argument's value, as pmcp does in
/// constant strings and guidance.
pub(crate) fn substitute(template: &str, prompt_args: &Map<String, Value>) -> String {
    prompt_args
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            text.replace(&format!("{{{name}}}"), &value)
        })
}

/// The output stored for the step whose output binding is `binding`.
fn bound_output<'a>(
    workflow: &SequentialWorkflow,
    record: &'a TaskRecord,
    binding: &str,
) -> Result<&'a Value, String> {
    let producer = workflow
        .steps()
        .iter()
        .find(|s| s.binding().is_some_and(|b| b.as_str() == binding))
        .ok_or_else(|| format!("no step binds its output as '{binding}'"))?;
    record
        .variables()
        .get(&result_key(producer.name().as_str()))
        .ok_or_else(|| {
            format!(
                "step '{}' has not produced its output '{binding}' yet",
                producer.name()
            )
        })
}

/// Follows `a.b.0.c` into a value (object keys, then array indexes).
fn at_path<'a>(value: &'a Value, path: &str) -> Result<&'a Value, String> {
    path.split('.').try_fold(value, |current, part| {
        current
            .get(part)
            .or_else(|| {
                part.parse::<usize>()
                    .ok()
                    .and_then(|i| current.as_array()?.get(i))
            })
            .ok_or_else(|| format!("the output has no '{part}' (path '{path}')"))
    })
}

/// Resolves `step`'s arguments from the prompt's arguments (typed by the
/// workflow's argument specs), constants, and earlier steps' stored outputs.
pub(crate) fn resolve_arguments(
    workflow: &SequentialWorkflow,
    step: &WorkflowStep,
    prompt_args: &Map<String, Value>,
    record: &TaskRecord,
) -> Resolved {
    let mut arguments = Map::new();
    let step_name = step.name().to_string();
    for (name, source) in step.arguments() {
        let value = match source {
            DataSource::PromptArg(arg) => match prompt_args.get(arg.as_str()) {
                Some(given) => {
                    let spec = workflow.arguments().get(arg);
                    match (spec.and_then(|s| s.arg_type.as_ref()), given.as_str()) {
                        (Some(kind), Some(text)) => match kind.parse_value(text) {
                            Ok(v) => v,
                            Err(e) => {
                                return unresolved(
                                    arguments,
                                    PauseReason::UnresolvableArgument {
                                        step: step_name,
                                        argument: name.to_string(),
                                        detail: format!("prompt argument '{arg}': {e}"),
                                    },
                                )
                            }
                        },
                        _ => given.clone(),
                    }
                }
                None if workflow.arguments().get(arg).is_some_and(|s| !s.required) => continue,
                None => {
                    return unresolved(
                        arguments,
                        PauseReason::MissingInput {
                            step: step_name,
                            argument: arg.to_string(),
                        },
                    )
                }
            },
            DataSource::Constant(Value::String(text)) => {
                Value::String(substitute(text, prompt_args))
            }
            DataSource::Constant(value) => value.clone(),
            DataSource::StepOutput {
                step: binding,
                field,
            } => {
                let found =
                    bound_output(workflow, record, binding.as_str()).and_then(|out| match field {
                        Some(path) => at_path(out, path),
                        None => Ok(out),
                    });
                match found {
                    Ok(v) => v.clone(),
                    Err(detail) => {
                        return unresolved(
                            arguments,
                            PauseReason::UnresolvableArgument {
                                step: step_name,
                                argument: name.to_string(),
                                detail,
                            },
                        )
                    }
                }
            }
            other => {
                return unresolved(
                    arguments,
                    PauseReason::UnresolvableArgument {
                        step: step_name,
                        argument: name.to_string(),
                        detail: format!("unsupported data source {other:?}"),
                    },
                )
            }
        };
        arguments.insert(name.to_string(), value);
    }
    Resolved {
        arguments,
        problem: None,
    }
}

fn unresolved(arguments: Map<String, Value>, problem: PauseReason) -> Resolved {
    Resolved {
        arguments,
        problem: Some(problem),
    }
}

/// What later steps read from a tool result: `structuredContent`, else the
/// first text content as JSON, else that text.
pub(crate) fn binding_value(result: &Value) -> Value {
    if let Some(structured) = result.get("structuredContent") {
        return structured.clone();
    }
    match crate::domain::first_text(result) {
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Era, NewTask};
    use pmcp::server::workflow::ToolHandle;
    use serde_json::json;

    fn workflow() -> SequentialWorkflow {
        SequentialWorkflow::new("wf", "a workflow")
            .argument("city", "the city", true)
            .argument("units", "units", false)
            .step(
                WorkflowStep::new("lookup", ToolHandle::new("geo"))
                    .arg("name", DataSource::prompt_arg("city"))
                    .arg("units", DataSource::prompt_arg("units"))
                    .bind("place"),
            )
            .step(
                WorkflowStep::new("forecast", ToolHandle::new("weather"))
                    .arg("lat", DataSource::from_step_field("place", "coords.0"))
                    .arg("note", DataSource::constant(json!("for {city}")))
                    .bind("forecast"),
            )
    }

    fn record() -> TaskRecord {
        TaskRecord::new(
            NewTask {
                owner: "o".into(),
                era: Era::V2025_11_25,
                tool: "prompt:wf".into(),
                arguments: json!({}),
                ttl: None,
                poll_interval: None,
                input_responses: Default::default(),
                variables: Default::default(),
                client_elicits: None,
            },
            chrono::Utc::now(),
        )
    }

    #[test]
    fn arguments_resolve_from_prompt_constants_and_earlier_outputs() {
        let wf = workflow();
        let args: Map<String, Value> = [("city".to_owned(), json!("Oslo"))].into_iter().collect();
        let mut rec = record();
        let first = resolve_arguments(&wf, &wf.steps()[0], &args, &rec);
        assert_eq!(first.problem, None);
        assert_eq!(Value::Object(first.arguments), json!({"name": "Oslo"}));

        let second = resolve_arguments(&wf, &wf.steps()[1], &args, &rec);
        assert!(
            matches!(&second.problem, Some(PauseReason::UnresolvableArgument { step, argument, detail })
                if step == "forecast" && argument == "lat" && detail.contains("has not produced")),
            "{second:?}"
        );

        rec.variables_mut()
            .insert(result_key("lookup"), json!({"coords": [59.9, 10.7]}));
        let second = resolve_arguments(&wf, &wf.steps()[1], &args, &rec);
        assert_eq!(second.problem, None);
        assert_eq!(
            Value::Object(second.arguments),
            json!({"lat": 59.9, "note": "for Oslo"})
        );

        let none = resolve_arguments(&wf, &wf.steps()[0], &Map::new(), &rec);
        assert_eq!(
            none.problem,
            Some(PauseReason::MissingInput {
                step: "lookup".into(),
                argument: "city".into()
            })
        );
    }

    #[test]
    fn pause_reasons_are_tagged_camel_case_and_explained() {
        let reason = PauseReason::SchemaMismatch {
            step: "s".into(),
            tool: "t".into(),
            missing_fields: vec!["x".into()],
        };
        assert_eq!(
            serde_json::to_value(&reason).unwrap(),
            json!({"type": "schemaMismatch", "step": "s", "tool": "t", "missingFields": ["x"]})
        );
        assert!(reason.explain().contains("lacks what tool 't' requires: x"));
    }

    #[test]
    fn outputs_prefer_structured_content_then_json_text() {
        assert_eq!(
            binding_value(&json!({"structuredContent": {"a": 1}, "content": []})),
            json!({"a": 1})
        );
        assert_eq!(
            binding_value(&json!({"content": [{"type": "text", "text": "{\"b\":2}"}]})),
            json!({"b": 2})
        );
        assert_eq!(
            binding_value(&json!({"content": [{"type": "text", "text": "plain"}]})),
            json!("plain")
        );
    }
}
