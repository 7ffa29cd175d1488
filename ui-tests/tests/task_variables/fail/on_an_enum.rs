use pmcp_tasks::TaskVariables;

#[derive(TaskVariables)]
enum Vars {
    Approved(bool),
}

fn main() {}
