//! What the macros' expansions name. Not public API: no stability promise.

pub use crate::registry::{Registration, WorkflowRegistration};
pub use crate::tool::{TaskSupport, TaskTool, ToolHandler};
pub use crate::variables::VariableAccess;
pub use crate::StateValue;
pub use crate::{TaskContext, TaskError};
pub use core::time::Duration;
pub use futures::future::BoxFuture;
pub use inventory;
pub use pmcp::server::workflow::SequentialWorkflow;
pub use serde;
pub use serde_json;

use crate::error::ToolError;
use core::future::Future;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

// Marker traits with the messages a user sees when a type does not fit. The
// expansion names the user's types in a turbofish spanned at their tokens,
// so each error points at the offending type and says what to write.

/// Task tool arguments: deserialized from `tools/call` arguments.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the arguments of a task tool: it must implement `serde::Deserialize`",
    label = "add `#[derive(serde::Deserialize)]` to this type",
    note = "task tool arguments are deserialized from the `arguments` of `tools/call`"
)]
pub trait ArgsDeserialize: DeserializeOwned + Send + 'static {}
impl<T: DeserializeOwned + Send + 'static> ArgsDeserialize for T {}

/// Task tool arguments: described by a JSON schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the arguments of a task tool: it must implement `schemars::JsonSchema`",
    label = "add `#[derive(schemars::JsonSchema)]` to this type",
    note = "the tool's `inputSchema` is generated from the arguments' type"
)]
pub trait ArgsSchema: JsonSchema {}
impl<T: JsonSchema> ArgsSchema for T {}

/// Task tool output: serialized into the tool result.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the output of a task tool: it must implement `serde::Serialize`",
    label = "add `#[derive(serde::Serialize)]` to this type",
    note = "the output becomes the `structuredContent` (and text) of the tool result"
)]
pub trait OutputSerialize: Serialize + 'static {}
impl<T: Serialize + 'static> OutputSerialize for T {}

/// Task tool output: described by a JSON schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the output of a task tool: it must implement `schemars::JsonSchema`",
    label = "add `#[derive(schemars::JsonSchema)]` to this type",
    note = "the tool's `outputSchema` is generated from the output type"
)]
pub trait OutputSchema: JsonSchema {}
impl<T: JsonSchema> OutputSchema for T {}

/// Task tool error: becomes an `isError` result or a JSON-RPC error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error of a task tool: it must convert into `pmcp_tasks::ToolError`",
    label = "return `pmcp_tasks::ToolError`, or any `std::error::Error + Send + Sync + 'static`",
    note = "the error becomes an `isError` tool result carrying its message"
)]
pub trait ToolFailure: Into<ToolError> + 'static {}
impl<T: Into<ToolError> + 'static> ToolFailure for T {}

/// The future of a task tool body: it runs in the background on a
/// multi-threaded runtime.
#[diagnostic::on_unimplemented(
    message = "the future returned by this task tool is not `Send`",
    label = "this `async fn` holds a value that is not `Send` across an `.await`",
    note = "task bodies run in the background on tokio's multi-threaded runtime; drop non-`Send` values (such as `Rc` or a `std::sync::MutexGuard`) before `.await`"
)]
pub trait SendFuture<O, E>: Future<Output = Result<O, E>> + Send + 'static {}
impl<O, E, T: Future<Output = Result<O, E>> + Send + 'static> SendFuture<O, E> for T {}

/// Builds a task tool from a function `(args, ...) -> Result<O, E>`: the
/// one generic call every `#[task_tool]` expands to.
pub fn tool<A, X, O, E, H>(name: &'static str, f: H) -> TaskTool
where
    A: ArgsDeserialize + ArgsSchema,
    X: 'static,
    O: OutputSerialize + OutputSchema,
    E: ToolFailure,
    H: ToolHandler<A, X>,
    H::Future: SendFuture<O, E>,
{
    TaskTool::new(name, f)
}

/// Checks, at the type's own tokens, that a `State<T>` parameter's `T` can
/// be state.
pub fn assert_state<T: StateValue>() {}

/// Arguments of a tool whose function takes none.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

/// What a `#[task_workflow]` function returns.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow: a `#[task_workflow]` function must return `SequentialWorkflow`",
    label = "return a `pmcp_tasks::workflow::SequentialWorkflow` here",
    note = "build it with `SequentialWorkflow::new(name, description).step(...)`"
)]
pub trait IsWorkflow {
    /// The workflow.
    fn into_workflow(self) -> SequentialWorkflow;
}

impl IsWorkflow for SequentialWorkflow {
    fn into_workflow(self) -> SequentialWorkflow {
        self
    }
}

/// Builds a registered workflow (the type check `#[task_workflow]` names).
pub fn workflow<W: IsWorkflow>(make: fn() -> W) -> SequentialWorkflow {
    make().into_workflow()
}
