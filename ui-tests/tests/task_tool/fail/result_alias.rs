use pmcp_tasks::task_tool;

type Result<T> = std::result::Result<T, pmcp_tasks::ToolError>;

#[task_tool]
async fn tool() -> Result<String> {
    Ok(String::new())
}

fn main() {}
