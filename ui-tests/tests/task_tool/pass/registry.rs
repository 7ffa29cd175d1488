//! Every #[task_tool] registers itself; one call installs them all, sorted.
use pmcp_tasks::{task_tool, TaskServer, ToolError};

/// B.
#[task_tool]
async fn beta() -> Result<String, ToolError> {
    Ok("b".into())
}

/// A.
#[task_tool]
async fn alpha() -> Result<String, ToolError> {
    Ok("a".into())
}

#[tokio::main]
async fn main() {
    let names: Vec<_> = pmcp_tasks::registry::registrations().iter().map(|r| r.name).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let server = TaskServer::builder("t", "1").registered_tools().build().unwrap();
    assert_eq!(server.tool_names().collect::<Vec<_>>(), ["alpha", "beta"]);
    // Explicit registration of one of them as well is a duplicate.
    let error = TaskServer::builder("t", "1")
        .registered_tools()
        .tool(alpha_task_tool())
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("'alpha'") && error.contains("registry.rs"), "{error}");
}
