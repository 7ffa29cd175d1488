use pmcp_tasks::{task_tool, ToolError};

#[task_tool(support = "optinal")]
async fn tool() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {}
