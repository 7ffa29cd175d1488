use pmcp_tasks::{task_tool, TaskContext, ToolError};

#[task_tool]
async fn tool(ctx: TaskContext, args: u32) -> Result<String, ToolError> {
    Ok(format!("{args}{}", ctx.task_id()))
}

fn main() {}
