//! Every key, with arguments and a context.
use pmcp_tasks::{task_tool, TaskContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, JsonSchema)]
struct ReportArgs {
    rows: u32,
}

#[derive(Serialize, JsonSchema)]
struct Report {
    total: u32,
}

/// Renders a report.
#[task_tool(support = "optional", ttl = "10m", poll_interval = "2s", name = "report.render", description = "Renders the report", immediate = "Rendering the report; I will tell you when it is ready.")]
async fn render_report(args: ReportArgs, ctx: TaskContext) -> Result<Report, ToolError> {
    ctx.progress("rendering").await?;
    Ok(Report { total: args.rows * 2 })
}

fn main() {
    let tool = render_report_task_tool();
    assert_eq!(tool.name(), "report.render");
    assert_eq!(tool.task_support(), pmcp_tasks::TaskSupport::Optional);
    assert_eq!(tool.input_schema()["properties"]["rows"]["type"], "integer");
}
