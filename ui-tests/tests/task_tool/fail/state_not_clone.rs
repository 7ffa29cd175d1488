use pmcp_tasks::{task_tool, State, ToolError};

struct Db;

#[task_tool]
async fn tool(args: u32, State(_db): State<Db>) -> Result<String, ToolError> {
    Ok(format!("{args}"))
}

fn main() {}
