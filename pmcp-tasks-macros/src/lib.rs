//! Procedural macros of pmcp-tasks: `#[task_tool]` and
//! `#[derive(TaskVariables)]`.
//!
//! Not written yet: until they exist, tools register through
//! `pmcp_tasks::TaskTool::new(name, async_fn)`, which is the call the
//! attribute will expand to.
