use pmcp_tasks::TaskVariables;

struct Opaque;

#[derive(TaskVariables)]
struct Vars {
    value: Opaque,
}

fn main() {}
