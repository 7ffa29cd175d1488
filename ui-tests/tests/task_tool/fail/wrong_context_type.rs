use pmcp_tasks::{task_tool, ToolError};

#[task_tool]
async fn tool(args: u32, ctx: String) -> Result<String, ToolError> {
    Ok(format!("{args}{ctx}"))
}

fn main() {}
