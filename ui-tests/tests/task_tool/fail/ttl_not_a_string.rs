use pmcp_tasks::{task_tool, ToolError};

#[task_tool(poll_interval = 2)]
async fn tool() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {}
