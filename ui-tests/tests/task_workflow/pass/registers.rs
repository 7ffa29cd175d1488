//! A `#[task_workflow]` is served as a prompt once the server adds the
//! registered workflows.
use pmcp_tasks::task_workflow;
use pmcp_tasks::workflow::{DataSource, SequentialWorkflow, ToolHandle, WorkflowStep};

/// Build, then publish.
#[task_workflow]
pub fn release() -> SequentialWorkflow {
    SequentialWorkflow::new("release", "build, then publish")
        .argument("version", "the version", true)
        .step(
            WorkflowStep::new("build", ToolHandle::new("build"))
                .arg("version", DataSource::prompt_arg("version")),
        )
}

#[tokio::main]
async fn main() {
    let server = pmcp_tasks::TaskServer::builder("x", "1")
        .registered_workflows()
        .build()
        .unwrap();
    let listed = server
        .handle(
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "prompts/list", "params": {}}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(listed["result"]["prompts"][0]["name"], "release");
    // The function itself is left as written.
    assert_eq!(release().name(), "release");
}
