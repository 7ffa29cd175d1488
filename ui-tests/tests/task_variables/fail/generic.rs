use pmcp_tasks::TaskVariables;

#[derive(TaskVariables)]
struct Vars<T> {
    value: T,
}

fn main() {}
