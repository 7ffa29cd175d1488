use pmcp_tasks::TaskVariables;

#[derive(TaskVariables)]
struct Vars {
    #[task_var(renam = "ok")]
    approved: bool,
}

fn main() {}
