use pmcp_tasks::task_workflow;
use pmcp_tasks::workflow::SequentialWorkflow;

#[task_workflow(ttl = "10m")]
fn release() -> SequentialWorkflow {
    SequentialWorkflow::new("release", "d")
}

fn main() {}
