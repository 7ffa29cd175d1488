//! A function without a context, one without arguments, one with neither,
//! and errors of any `std::error::Error` type.
use pmcp_tasks::{task_tool, TaskContext, TaskSupport};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

/// Greets.
#[task_tool(support = "required")]
async fn greet(args: Name) -> Result<String, pmcp_tasks::ToolError> {
    Ok(format!("Hello, {}!", args.name))
}

/// Tells the task id.
#[task_tool(support = "forbidden")]
async fn whoami(ctx: TaskContext) -> Result<String, std::io::Error> {
    Ok(ctx.task_id().to_owned())
}

/// Answers.
#[task_tool]
async fn ping() -> Result<u32, std::fmt::Error> {
    Ok(42)
}

#[tokio::main]
async fn main() {
    assert_eq!(greet_task_tool().task_support(), TaskSupport::Required);
    assert_eq!(whoami_task_tool().task_support(), TaskSupport::Forbidden);
    assert_eq!(ping_task_tool().task_support(), TaskSupport::Optional);
    assert_eq!(ping_task_tool().input_schema()["type"], "object");
    // The functions stay as written, callable directly.
    assert_eq!(greet(Name { name: "Ada".into() }).await.unwrap(), "Hello, Ada!");
    assert_eq!(whoami(TaskContext::detached("me")).await.unwrap(), "");
    assert_eq!(ping().await.unwrap(), 42);
}
