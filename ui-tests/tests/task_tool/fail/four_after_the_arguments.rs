use pmcp_tasks::{task_tool, State, TaskContext, ToolError};
use std::sync::Arc;

#[task_tool]
async fn tool(
    args: u32,
    ctx: TaskContext,
    State(a): State<Arc<String>>,
    State(b): State<u64>,
    State(c): State<bool>,
) -> Result<String, ToolError> {
    Ok(format!("{args}{}{a}{b}{c}", ctx.task_id()))
}

fn main() {}
