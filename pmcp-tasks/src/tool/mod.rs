//! `TaskTool`: a typed async function packaged as a task-capable MCP tool.
//!
//! This is the registration API that `#[task_tool]` expands to; it can also
//! be used by hand.

mod handler;

pub use handler::ToolHandler;

use crate::domain::{RpcError, TaskOutcome};
use crate::error::ToolError;
use crate::execution::TaskBody;
#[cfg(test)]
use crate::execution::TaskContext;
use crate::state::{StateNeed, States};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Whether a tool may, must or must not run as a task
/// (`execution.taskSupport` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaskSupport {
    /// Never a task: calls run inline.
    Forbidden,
    /// The client chooses.
    #[default]
    Optional,
    /// Only as a task: a plain call is refused.
    Required,
}

impl TaskSupport {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSupport::Forbidden => "forbidden",
            TaskSupport::Optional => "optional",
            TaskSupport::Required => "required",
        }
    }
}

/// Arguments a tool cannot take, with what serde said about them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid arguments: {0}")]
pub(crate) struct InvalidArguments(pub(crate) String);

/// Type-erased tool body: parses arguments, then runs.
pub(crate) trait ErasedTool: Send + Sync {
    /// Parses `arguments`; on success returns the body to run, which takes
    /// its parameters from its context and `states`.
    fn prepare(&self, arguments: Value, states: &States) -> Result<TaskBody, InvalidArguments>;
}

struct FnTool<H, A, X, O, E> {
    f: Arc<H>,
    #[allow(clippy::type_complexity)]
    _types: std::marker::PhantomData<fn(A, X) -> (O, E)>,
}

impl<A, X, O, E, H> ErasedTool for FnTool<H, A, X, O, E>
where
    H: ToolHandler<A, X>,
    H::Future: Future<Output = Result<O, E>> + Send + 'static,
    A: DeserializeOwned + Send + 'static,
    X: 'static,
    O: Serialize + 'static,
    E: Into<ToolError> + 'static,
{
    fn prepare(&self, arguments: Value, states: &States) -> Result<TaskBody, InvalidArguments> {
        let arguments = if arguments.is_null() {
            json!({})
        } else {
            arguments
        };
        let args: A =
            serde_json::from_value(arguments).map_err(|e| InvalidArguments(e.to_string()))?;
        let (f, states) = (self.f.clone(), states.clone());
        Ok(Box::new(move |ctx| {
            let ctx = ctx.with_states(&states);
            match f.call(args, ctx) {
                Ok(run) => Box::pin(async move { outcome_of(run.await) }),
                Err(missing) => Box::pin(std::future::ready(outcome_of::<(), _>(Err(missing)))),
            }
        }))
    }
}

/// Turns what a tool body returned into the `tools/call` outcome.
pub(crate) fn outcome_of<O: Serialize, E: Into<ToolError>>(result: Result<O, E>) -> TaskOutcome {
    match result {
        Ok(output) => match serde_json::to_value(&output) {
            Ok(value) => TaskOutcome::result(call_tool_result(value)),
            Err(e) => TaskOutcome::error(RpcError::internal(format!(
                "the tool's output could not be serialized: {e}"
            ))),
        },
        Err(e) => match e.into().into_parts() {
            Ok(message) => TaskOutcome::result(json!({
                "content": [{"type": "text", "text": message}],
                "isError": true,
            })),
            Err(error) => TaskOutcome::error(error),
        },
    }
}

/// A `CallToolResult` for an output: objects go to `structuredContent` and,
/// as JSON text, to `content`; strings become the text itself.
fn call_tool_result(value: Value) -> Value {
    match value {
        Value::String(text) => json!({"content": [{"type": "text", "text": text}]}),
        Value::Object(_) => json!({
            "content": [{"type": "text", "text": value.to_string()}],
            "structuredContent": value,
        }),
        other => json!({"content": [{"type": "text", "text": other.to_string()}]}),
    }
}

/// A tool's immediate response (see [`TaskTool::immediate`]).
#[derive(Clone)]
pub(crate) enum Immediate {
    Text(String),
    Computed(Arc<dyn Fn(&Value) -> String + Send + Sync>),
}

/// A tool that can run as an MCP task: its metadata and its body.
#[derive(Clone)]
pub struct TaskTool {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) input_schema: Value,
    pub(crate) output_schema: Option<Value>,
    pub(crate) support: TaskSupport,
    pub(crate) ttl: Option<Duration>,
    pub(crate) poll_interval: Option<Duration>,
    /// Questions answered before the task is created (see
    /// [`TaskTool::ask_first`]).
    pub(crate) ask_first: Vec<(String, Value)>,
    /// Whether a task whose server died runs again (see
    /// [`TaskTool::resumable`]).
    pub(crate) resumable: bool,
    /// What the model is told at once when a task is created (see
    /// [`TaskTool::immediate`]).
    pub(crate) immediate: Option<Immediate>,
    body: Arc<dyn ErasedTool>,
    /// How long a plain call may run before it answers that the job goes
    /// on in the background (see [`TaskTool::detach_after`]).
    pub(crate) detach_after: Option<Duration>,
    /// The state types the function takes.
    pub(crate) needs: Vec<StateNeed>,
    /// The server's state, given when the server is built.
    pub(crate) states: States,
}

impl std::fmt::Debug for TaskTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskTool")
            .field("name", &self.name)
            .field("support", &self.support)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn schema_of<T: JsonSchema>() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_else(|_| json!({}));
    if let Some(map) = schema.as_object_mut() {
        map.remove("$schema");
    }
    drop_foreign_formats(&mut schema);
    schema
}

/// The `format`s JSON Schema (2020-12) defines; validators such as ajv warn
/// about any other.
const JSON_SCHEMA_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Removes the formats schemars adds for Rust's number types (`uint64`,
/// `int32`, `double`, ...): they say nothing a client can check beyond
/// `type` and `minimum`, and every validator that does not know them
/// prints a warning for each field.
fn drop_foreign_formats(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let foreign = map
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| !JSON_SCHEMA_FORMATS.contains(&f));
            if foreign {
                map.remove("format");
            }
            // Values (defaults, examples, constants) are data, not schemas.
            for (key, value) in map.iter_mut() {
                if !matches!(key.as_str(), "default" | "examples" | "const" | "enum") {
                    drop_foreign_formats(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_foreign_formats),
        _ => {}
    }
}

impl TaskTool {
    /// Packages `f` as tool `name`: an `async fn(args: A, ...)` whose
    /// parameters after the arguments are each a [`TaskContext`](crate::TaskContext) or a
    /// [`State`](crate::State) (see [`ToolHandler`]). The input schema comes
    /// from `A`; the output schema from `O` when `O` is a JSON object type.
    pub fn new<A, X, O, E, H>(name: impl Into<String>, f: H) -> Self
    where
        H: ToolHandler<A, X>,
        H::Future: Future<Output = Result<O, E>> + Send + 'static,
        A: DeserializeOwned + JsonSchema + Send + 'static,
        X: 'static,
        O: Serialize + JsonSchema + 'static,
        E: Into<ToolError> + 'static,
    {
        let mut input_schema = schema_of::<A>();
        if input_schema.get("type").is_none() {
            // `()` and similar: a tool without arguments still needs an
            // object schema.
            input_schema = json!({"type": "object", "properties": {}});
        }
        let output_schema =
            Some(schema_of::<O>()).filter(|s| s.get("type") == Some(&json!("object")));
        TaskTool {
            name: name.into(),
            description: None,
            input_schema,
            output_schema,
            support: TaskSupport::default(),
            ttl: None,
            poll_interval: None,
            ask_first: Vec::new(),
            resumable: false,
            immediate: None,
            body: Arc::new(FnTool::<H, A, X, O, E> {
                f: Arc::new(f),
                _types: std::marker::PhantomData,
            }),
            needs: H::needs(),
            states: States::default(),
            detach_after: None,
        }
    }

    /// Parses `arguments` into the body of one run.
    pub(crate) fn prepare(&self, arguments: Value) -> Result<TaskBody, InvalidArguments> {
        self.body.prepare(arguments, &self.states)
    }

    /// Sets the description shown in `tools/list`.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets whether the tool may, must or must not run as a task.
    pub fn support(mut self, support: TaskSupport) -> Self {
        self.support = support;
        self
    }

    /// The TTL of this tool's tasks when the client asks for none (still
    /// clamped to the runtime's maximum).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The polling interval suggested for this tool's tasks.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = Some(every);
        self
    }

    /// Asks the client a question before the task is created.
    ///
    /// On 2026-07-28 the first `tools/call` answers an `input_required`
    /// result carrying this request (`{"method", "params"}`) under `key`; the
    /// client calls again with `inputResponses`, and only then is the task
    /// created, with the answer stored in it. On 2025-11-25, which has no such
    /// round trip, the question is asked inside the task instead. Either way
    /// the body reads the answer with `ctx.request_input(key, ..)` (or
    /// `ctx.elicit_form(key, ..)`), which returns it at once.
    pub fn ask_first(mut self, key: impl Into<String>, request: Value) -> Self {
        self.ask_first.push((key.into(), request));
        self
    }

    /// Lets a plain `tools/call` (from a client that does not speak Tasks)
    /// run the tool as a task owned by the caller: if it has not finished
    /// after `wait`, the call answers a normal result saying the job goes
    /// on in the background, with the task id and the companion tools that
    /// follow it (`task_status`, `task_result`, `task_cancel`,
    /// `task_answer`). A call that ends sooner answers its result as
    /// before. On a `support = "required"` tool this also admits plain
    /// calls, which are refused otherwise. The tool's output schema is then
    /// not advertised, since such a call may answer the notice instead.
    pub fn detach_after(mut self, wait: Duration) -> Self {
        self.detach_after = Some(wait);
        self
    }

    /// Declares the body safe to run again when its server dies mid-task:
    /// another instance (or the restarted one) then re-runs it, and every
    /// `ctx.step` that completed before returns its stored output instead
    /// of running again. Tasks of other tools are marked `failed` instead.
    pub fn resumable(mut self) -> Self {
        self.resumable = true;
        self
    }

    /// A message the model gets at once when a task of this tool is
    /// created, while the work goes on: the task's answer carries it under
    /// `_meta["io.modelcontextprotocol/model-immediate-response"]`, so that
    /// a host can hand the model something to say instead of a bare task.
    pub fn immediate(mut self, message: impl Into<String>) -> Self {
        self.immediate = Some(Immediate::Text(message.into()));
        self
    }

    /// As [`immediate`](Self::immediate), with the message computed from
    /// the call's arguments.
    pub fn immediate_with(
        mut self,
        message: impl Fn(&Value) -> String + Send + Sync + 'static,
    ) -> Self {
        self.immediate = Some(Immediate::Computed(Arc::new(message)));
        self
    }

    /// The immediate message for a call with `arguments`, if the tool has
    /// one.
    pub(crate) fn immediate_for(&self, arguments: &Value) -> Option<String> {
        match self.immediate.as_ref()? {
            Immediate::Text(text) => Some(text.clone()),
            Immediate::Computed(f) => Some(f(arguments)),
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool's task support.
    pub fn task_support(&self) -> TaskSupport {
        self.support
    }

    /// The input schema.
    pub fn input_schema(&self) -> &Value {
        &self.input_schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    struct Args {
        n: u32,
    }

    #[derive(Serialize, JsonSchema)]
    struct Out {
        doubled: u32,
    }

    async fn double(args: Args, _ctx: TaskContext) -> Result<Out, ToolError> {
        if args.n == 0 {
            return Err(ToolError::new("zero is not allowed"));
        }
        Ok(Out {
            doubled: args.n * 2,
        })
    }

    #[tokio::test]
    async fn bad_arguments_are_invalid_params_with_serde_message() {
        let tool = TaskTool::new("double", double);
        let err = tool.prepare(json!({"n": "x"})).err().unwrap();
        assert!(err.0.contains("invalid type"), "{err}");
        assert!(tool.prepare(json!({})).is_err(), "missing field");
    }

    #[tokio::test]
    async fn output_and_errors_become_call_tool_results() {
        let tool = TaskTool::new("double", double);
        assert_eq!(tool.output_schema.as_ref().unwrap()["type"], "object");
        assert_eq!(tool.input_schema["properties"]["n"]["type"], "integer");
        assert!(
            !tool.input_schema.to_string().contains("uint32")
                && !tool
                    .output_schema
                    .as_ref()
                    .unwrap()
                    .to_string()
                    .contains("format"),
            "no Rust-specific formats: {} {:?}",
            tool.input_schema,
            tool.output_schema
        );
        let ok = (tool.prepare(json!({"n": 2})).unwrap())(TaskContext::detached("x")).await;
        assert_eq!(
            ok,
            TaskOutcome::result(
                json!({"content":[{"type":"text","text":"{\"doubled\":4}"}],"structuredContent":{"doubled":4}})
            )
        );
        let err = (tool.prepare(json!({"n": 0})).unwrap())(TaskContext::detached("x")).await;
        assert_eq!(
            err,
            TaskOutcome::result(
                json!({"content":[{"type":"text","text":"zero is not allowed"}],"isError":true})
            )
        );
    }
}
