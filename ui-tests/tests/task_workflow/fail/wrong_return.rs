use pmcp_tasks::task_workflow;

#[task_workflow]
fn release() -> String {
    "release".into()
}

fn main() {}
