use pmcp_tasks::{task_tool, ToolError};

#[derive(schemars::JsonSchema)]
struct Report {
    total: u32,
}

#[task_tool]
async fn tool() -> Result<Report, ToolError> {
    Ok(Report { total: 1 })
}

fn main() {}
