use pmcp_tasks::{task_tool, TaskContext, ToolError};

#[task_tool]
async fn tool(a: u32, ctx: TaskContext, b: u32) -> Result<String, ToolError> {
    Ok(format!("{a}{b}{}", ctx.task_id()))
}

fn main() {}
