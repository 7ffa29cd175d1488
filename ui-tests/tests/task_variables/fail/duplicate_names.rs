use pmcp_tasks::TaskVariables;

#[derive(TaskVariables)]
struct Vars {
    approved: bool,
    #[task_var(rename = "approved")]
    also_approved: bool,
}

fn main() {}
