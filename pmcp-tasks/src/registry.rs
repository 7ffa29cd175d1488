//! The program-wide list of `#[task_tool]`s, collected with `inventory`.
//!
//! Every `#[task_tool]` submits a [`Registration`];
//! [`TaskServerBuilder::registered_tools`](crate::TaskServerBuilder::registered_tools)
//! installs them all.
//!
//! # Linking
//!
//! `inventory` finds registrations in every object file that is linked
//! into the program. A library crate of tools that nothing in the binary
//! uses is not linked, and its tools are silently missing. Reference the
//! crate from the binary, for example with `use my_tools as _;` in
//! `main.rs`, or call any of its items.

use crate::tool::TaskTool;

/// One `#[task_tool]`: its name, where it was written, and how to build it.
#[derive(Debug)]
pub struct Registration {
    /// The tool's name.
    pub name: &'static str,
    /// `file:line` of the annotated function.
    pub location: &'static str,
    /// Builds the tool.
    pub make: fn() -> TaskTool,
}

inventory::collect!(Registration);

/// Every registration linked into the program, sorted by tool name.
pub fn registrations() -> Vec<&'static Registration> {
    let mut all: Vec<_> = inventory::iter::<Registration>.into_iter().collect();
    all.sort_by_key(|r| (r.name, r.location));
    all
}

/// One `#[task_workflow]`: the function that builds the workflow, and where
/// it was written.
#[derive(Debug)]
pub struct WorkflowRegistration {
    /// `file:line` of the annotated function.
    pub location: &'static str,
    /// Builds the workflow.
    pub make: fn() -> pmcp::server::workflow::SequentialWorkflow,
}

inventory::collect!(WorkflowRegistration);

/// Every workflow registration linked into the program, in source order
/// (the server sorts prompts by name).
pub fn workflow_registrations() -> Vec<&'static WorkflowRegistration> {
    let mut all: Vec<_> = inventory::iter::<WorkflowRegistration>
        .into_iter()
        .collect();
    all.sort_by_key(|r| r.location);
    all
}
