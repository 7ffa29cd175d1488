use pmcp_tasks::{task_tool, ToolError};

#[task_tool(name = "render report")]
async fn tool() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {}
