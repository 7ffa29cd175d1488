use pmcp_tasks::{task_tool, TaskContext, ToolError};

#[task_tool]
async fn tool(args: u32, ctx: &TaskContext) -> Result<String, ToolError> {
    Ok(format!("{args}{}", ctx.task_id()))
}

fn main() {}
