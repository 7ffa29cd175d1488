use pmcp_tasks::{task_tool, TaskContext, ToolError};

#[derive(serde::Deserialize)]
struct Args {
    n: u32,
}

#[task_tool]
async fn tool(args: Args, _ctx: TaskContext) -> Result<u32, ToolError> {
    Ok(args.n)
}

fn main() {}
