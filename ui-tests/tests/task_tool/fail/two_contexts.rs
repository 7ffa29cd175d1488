use pmcp_tasks::{task_tool, TaskContext, ToolError};

#[task_tool]
async fn tool(args: u32, ctx: TaskContext, again: TaskContext) -> Result<String, ToolError> {
    Ok(format!("{args}{}{}", ctx.task_id(), again.task_id()))
}

fn main() {}
