//! What the macros' expansions name. Not public API: no stability promise.

pub use crate::registry::Registration;
pub use crate::tool::{TaskSupport, TaskTool};
pub use crate::variables::VariableAccess;
pub use crate::{TaskContext, TaskError};
pub use core::time::Duration;
pub use inventory;
pub use serde;
pub use serde_json;

use crate::error::ToolError;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Checked at the arguments' type, so the error points at it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the arguments of a task tool: it must implement `serde::Deserialize`",
    label = "add `#[derive(serde::Deserialize)]` to this type",
    note = "task tool arguments are deserialized from the `arguments` of `tools/call`"
)]
pub trait ArgsDeserialize {}
impl<T: DeserializeOwned> ArgsDeserialize for T {}

/// Checked at the arguments' type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the arguments of a task tool: it must implement `schemars::JsonSchema`",
    label = "add `#[derive(schemars::JsonSchema)]` to this type",
    note = "the tool's `inputSchema` is generated from the arguments' type"
)]
pub trait ArgsSchema {}
impl<T: JsonSchema> ArgsSchema for T {}

/// Checked at the output type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the output of a task tool: it must implement `serde::Serialize`",
    label = "add `#[derive(serde::Serialize)]` to this type",
    note = "the output becomes the `structuredContent` of the tool result"
)]
pub trait OutputSerialize {}
impl<T: Serialize> OutputSerialize for T {}

/// Checked at the output type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the output of a task tool: it must implement `schemars::JsonSchema`",
    label = "add `#[derive(schemars::JsonSchema)]` to this type",
    note = "the tool's `outputSchema` is generated from the output type"
)]
pub trait OutputSchema {}
impl<T: JsonSchema> OutputSchema for T {}

/// Checked at the error type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error of a task tool: it must convert into `pmcp_tasks::ToolError`",
    label = "return `pmcp_tasks::ToolError`, or any `std::error::Error + Send + Sync + 'static`",
    note = "the error becomes an `isError` tool result carrying its message"
)]
pub trait ToolFailure {}
impl<T: Into<ToolError>> ToolFailure for T {}

/// Checked at the function: the future runs on a multi-threaded executor.
#[diagnostic::on_unimplemented(
    message = "the future of this task tool is not `Send`",
    label = "a value held across an `.await` here is not `Send`",
    note = "task bodies run in the background on tokio's multi-threaded runtime; drop non-`Send` values (such as `Rc` or a `std::sync::MutexGuard`) before `.await`"
)]
pub trait SendFuture {}
impl<T: core::future::Future + Send + 'static> SendFuture for T {}

/// Compile-time checks: each call is spanned at the user's token, so a
/// failed bound is reported there with the trait's message.
pub const fn assert_args<T: ArgsDeserialize + ArgsSchema>() {}
/// See [`assert_args`].
pub const fn assert_output<T: OutputSerialize + OutputSchema>() {}
/// See [`assert_args`].
pub const fn assert_error<T: ToolFailure>() {}
/// See [`assert_args`]: the body's future must be `Send`.
pub fn assert_send<A, F: Fn(A, TaskContext) -> Fut, Fut: SendFuture>(_: &F) {}

/// Arguments of a tool whose function takes none.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}
