//! Application state for task tools: values given to the server once
//! ([`TaskServerBuilder::state`](crate::TaskServerBuilder::state)) and handed,
//! by type, to every tool that asks for one with a [`State`] parameter.

use crate::domain::code;
use crate::error::ToolError;
use crate::execution::TaskContext;
use axum::http::Extensions;
use std::sync::Arc;

/// A value the server was given with
/// [`TaskServerBuilder::state`](crate::TaskServerBuilder::state), as a task
/// tool parameter after the arguments:
///
/// ```
/// # use pmcp_tasks::{State, TaskContext, ToolError};
/// # use std::sync::Arc;
/// # struct Db;
/// # impl Db { async fn count(&self) -> u64 { 0 } }
/// # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Args {}
/// async fn count_rows(_: Args, ctx: TaskContext, State(db): State<Arc<Db>>) -> Result<u64, ToolError> {
///     Ok(db.count().await)
/// }
/// ```
///
/// Each task gets its own clone, so share what is expensive behind an
/// [`Arc`]. A tool asking for a type the server was not given makes
/// [`build`](crate::TaskServerBuilder::build) fail, naming both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// What can be state: every task takes a clone.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be shared state: it must be `Clone + Send + Sync + 'static`",
    label = "share it behind an `Arc`: `State<Arc<{Self}>>`",
    note = "every task gets its own clone of the state; an `Arc` makes that clone cheap"
)]
pub trait StateValue: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> StateValue for T {}

/// A parameter a task tool takes after its arguments: [`TaskContext`] or a
/// [`State`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a task tool here",
    label = "after the arguments, a task tool takes only `TaskContext` and `State<T>` parameters",
    note = "put everything the client sends in the arguments type, the first parameter"
)]
pub trait FromTaskContext: Sized + Send + 'static {
    /// Takes the parameter from the task's context.
    #[doc(hidden)]
    fn from_context(ctx: &TaskContext) -> Result<Self, ToolError>;

    /// The state this parameter needs from the server, if any.
    #[doc(hidden)]
    fn need() -> Option<StateNeed> {
        None
    }
}

impl FromTaskContext for TaskContext {
    fn from_context(ctx: &TaskContext) -> Result<Self, ToolError> {
        Ok(ctx.clone())
    }
}

impl<T: StateValue> FromTaskContext for State<T> {
    fn from_context(ctx: &TaskContext) -> Result<Self, ToolError> {
        ctx.state::<T>().map(State).ok_or_else(|| {
            ToolError::protocol(
                code::INTERNAL_ERROR,
                format!(
                    "the tool needs state of type `{}`, which this server was not given \
                     (TaskServerBuilder::state, or TaskContext::with_state in a test)",
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    fn need() -> Option<StateNeed> {
        Some(StateNeed {
            type_name: std::any::type_name::<T>(),
            present: |states| states.get::<T>().is_some(),
        })
    }
}

/// A state type a tool needs, checked when the server is built.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct StateNeed {
    pub(crate) type_name: &'static str,
    pub(crate) present: fn(&Extensions) -> bool,
}

impl std::fmt::Debug for StateNeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.type_name)
    }
}

/// The values a server was given, by type. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct States(pub(crate) Arc<Extensions>);

impl States {
    pub(crate) fn insert<T: StateValue>(&mut self, value: T) {
        Arc::make_mut(&mut self.0).insert(value);
    }

    pub(crate) fn get<T: StateValue>(&self) -> Option<T> {
        self.0.get::<T>().cloned()
    }

    pub(crate) fn has(&self, need: &StateNeed) -> bool {
        (need.present)(&self.0)
    }
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("States")
            .field("len", &self.0.len())
            .finish()
    }
}
