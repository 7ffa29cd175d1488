use pmcp_tasks::TaskVariables;

#[derive(TaskVariables)]
struct Vars(bool, u32);

fn main() {}
