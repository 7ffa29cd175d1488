use pmcp_tasks::{task_tool, ToolError};

#[task_tool(ttl = "0s")]
async fn tool() -> Result<String, ToolError> {
    Ok(String::new())
}

fn main() {}
