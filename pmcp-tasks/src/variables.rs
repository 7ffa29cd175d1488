//! Typed task variables: `#[derive(TaskVariables)]` turns a struct's fields
//! into accessors, so handlers never spell a variable name as a string.

use crate::error::TaskError;
use crate::execution::TaskContext;
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
}

impl TaskContext {
    /// Typed accessors over this task's variables.
    pub fn vars<V: TaskVariables>(&self) -> V::Access<'_> {
        V::access(self)
    }
}

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
    pub async fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, TaskError> {
        self.ctx.get_var(name).await
    }

    /// Writes `name`.
    pub async fn set<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), TaskError> {
        self.ctx.set_var(name, value).await
    }

    /// Removes `name`.
    pub async fn remove(&self, name: &str) -> Result<(), TaskError> {
        self.ctx.remove_var(name).await
    }
}
