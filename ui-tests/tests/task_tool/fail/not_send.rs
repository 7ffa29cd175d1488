use pmcp_tasks::{task_tool, TaskContext, ToolError};
use std::rc::Rc;

#[task_tool]
async fn tool(ctx: TaskContext) -> Result<String, ToolError> {
    let shared = Rc::new(1);
    ctx.progress("working").await?;
    Ok(shared.to_string())
}

fn main() {}
