use pmcp_tasks::{task_tool, TaskContext, ToolError};

#[task_tool]
async fn tool<T: serde::de::DeserializeOwned>(args: T, _ctx: TaskContext) -> Result<String, ToolError> {
    let _ = args;
    Ok(String::new())
}

fn main() {}
