use pmcp_tasks::{task_tool, State, ToolError};
use std::sync::Arc;

#[task_tool]
async fn tool(args: u32, db: &State<Arc<String>>) -> Result<String, ToolError> {
    Ok(format!("{args}{}", db.0))
}

fn main() {}
