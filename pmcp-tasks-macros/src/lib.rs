//! Procedural macros of pmcp-tasks. Use them through the `pmcp_tasks`
//! crate, which re-exports them and documents them.
//!
//! Each entry point only parses and hands over to a module per phase:
//! `attr` (the attribute's arguments), `model` (the annotated function),
//! `expand` (code generation) and `variables` (the derive).

use proc_macro::TokenStream;

mod attr;
mod expand;
mod model;
mod variables;
mod workflow;

/// Turns an `async fn(args, ctx: TaskContext) -> Result<O, E>` into an MCP
/// task tool. See `pmcp_tasks::task_tool` for the documentation.
#[proc_macro_attribute]
pub fn task_tool(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::task_tool(args.into(), item.into()).into()
}

/// Registers a function that builds a pmcp `SequentialWorkflow`, served as
/// a prompt in task mode. See `pmcp_tasks::task_workflow`.
#[proc_macro_attribute]
pub fn task_workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::task_workflow(args.into(), item.into()).into()
}

/// Typed accessors over a task's variables. See
/// `pmcp_tasks::TaskVariables` for the documentation.
#[proc_macro_derive(TaskVariables, attributes(task_var))]
pub fn derive_task_variables(input: TokenStream) -> TokenStream {
    variables::derive(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
