//! Typed task variables: `#[derive(TaskVariables)]` turns a struct's fields
//! into accessors, so handlers never spell a variable name as a string.

use crate::error::TaskError;
use crate::execution::TaskContext;
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A set of typed task variables, implemented by `#[derive(TaskVariables)]`.
///
/// `ctx.vars::<MyVars>()` returns the accessors: for each field `f`,
/// `get_f()`, `set_f(&value)` and `remove_f()`.
pub trait TaskVariables {
    /// The accessors over one task's variables.
    type Access<'a>;

    /// The accessors of `ctx`'s task.
    fn access(ctx: &TaskContext) -> Self::Access<'_>;

    /// The variable names (after `rename`), in field order.
    const NAMES: &'static [&'static str];

    /// Writes every field as its variable, in one write.
    fn save<'a>(&'a self, ctx: &'a TaskContext) -> BoxFuture<'a, Result<(), TaskError>>;
}

impl TaskContext {
    /// Typed accessors over this task's variables.
    pub fn vars<V: TaskVariables>(&self) -> V::Access<'_> {
        V::access(self)
    }
}

/// A type that can be stored as a task variable.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a task variable: it must implement `serde::Serialize` and `serde::Deserialize`",
    label = "add `#[derive(serde::Serialize, serde::Deserialize)]` to this type",
    note = "task variables are stored as JSON and shown to the client under `_meta`"
)]
pub trait VariableValue: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> VariableValue for T {}

/// What generated accessors call: one variable, by name.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct VariableAccess<'a> {
    ctx: &'a TaskContext,
}

impl<'a> VariableAccess<'a> {
    /// Accessors over `ctx`'s variables.
    pub fn new(ctx: &'a TaskContext) -> Self {
        VariableAccess { ctx }
    }

    /// Reads `name`.
    pub async fn get<T: VariableValue>(&self, name: &str) -> Result<Option<T>, TaskError> {
        self.ctx.get_var(name).await
    }

    /// Writes `name`.
    pub async fn set<T: VariableValue>(&self, name: &str, value: &T) -> Result<(), TaskError> {
        self.ctx.set_var(name, value).await
    }

    /// Removes `name`.
    pub async fn remove(&self, name: &str) -> Result<(), TaskError> {
        self.ctx.remove_var(name).await
    }

    /// Adds `name: value` to `patch` (for a write of several at once).
    pub fn put<T: VariableValue>(
        &self,
        patch: &mut serde_json::Map<String, serde_json::Value>,
        name: &str,
        value: &T,
    ) -> Result<(), TaskError> {
        let value = serde_json::to_value(value).map_err(|source| TaskError::Variable {
            name: name.to_owned(),
            source,
        })?;
        patch.insert(name.to_owned(), value);
        Ok(())
    }

    /// Writes `patch` in one write.
    pub async fn merge(
        &self,
        patch: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), TaskError> {
        self.ctx.merge_vars(patch).await
    }
}
