use pmcp_tasks::task_workflow;
use pmcp_tasks::workflow::SequentialWorkflow;

#[task_workflow]
async fn release() -> SequentialWorkflow {
    SequentialWorkflow::new("release", "d")
}

fn main() {}
