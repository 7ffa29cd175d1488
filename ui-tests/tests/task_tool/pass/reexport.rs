//! `crate = path` for crates that re-export pmcp-tasks.
mod reexported {
    pub use pmcp_tasks as tasks;
}

use pmcp_tasks::{task_tool, ToolError};

/// Through a re-export.
#[task_tool(crate = reexported::tasks)]
async fn through_reexport() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {
    assert_eq!(through_reexport_task_tool().name(), "through_reexport");
}
