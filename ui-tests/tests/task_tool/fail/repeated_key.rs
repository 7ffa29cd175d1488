use pmcp_tasks::{task_tool, ToolError};

#[task_tool(ttl = "1m", ttl = "2m")]
async fn tool() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {}
