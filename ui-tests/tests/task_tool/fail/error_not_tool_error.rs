use pmcp_tasks::task_tool;

#[task_tool]
async fn tool() -> Result<String, u32> {
    Err(7)
}

fn main() {}
