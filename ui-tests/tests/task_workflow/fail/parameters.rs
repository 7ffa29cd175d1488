use pmcp_tasks::task_workflow;
use pmcp_tasks::workflow::SequentialWorkflow;

#[task_workflow]
fn release(name: &str) -> SequentialWorkflow {
    SequentialWorkflow::new(name, "d")
}

fn main() {}
