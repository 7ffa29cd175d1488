use pmcp_tasks::task_tool;

#[task_tool]
struct NotAFunction;

fn main() {}
