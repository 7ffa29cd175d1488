use pmcp_tasks::{task_tool, ToolError};

struct Service;

impl Service {
    #[task_tool]
    async fn tool(&self) -> Result<String, ToolError> {
        Ok(String::new())
    }
}

fn main() {}
