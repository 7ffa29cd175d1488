use pmcp_tasks::{task_tool, ToolError};

#[task_tool]
fn sync_tool() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {}
