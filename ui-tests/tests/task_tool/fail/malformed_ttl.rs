use pmcp_tasks::{task_tool, ToolError};

#[task_tool(ttl = "ten minutes")]
async fn tool() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {}
