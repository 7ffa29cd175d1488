use pmcp_tasks::task_tool;

#[task_tool]
async fn tool() -> String {
    String::new()
}

fn main() {}
