use pmcp_tasks::{task_tool, ToolError};

#[task_tool(retries = 3)]
async fn tool() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {}
