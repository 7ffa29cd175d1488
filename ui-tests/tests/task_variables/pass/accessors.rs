//! Typed accessors, with `rename`, from a task's context.
use pmcp_tasks::{TaskContext, TaskVariables};

#[derive(TaskVariables)]
struct ReportVars {
    approved: bool,
    #[task_var(rename = "rows-loaded")]
    rows: u64,
    r#type: String,
}

#[tokio::main]
async fn main() {
    assert_eq!(ReportVars::NAMES, ["approved", "rows-loaded", "type"]);
    let ctx = TaskContext::detached("me");
    let vars = ctx.vars::<ReportVars>();
    assert_eq!(vars.get_approved().await.unwrap(), None);
    vars.set_approved(&true).await.unwrap();
    vars.set_rows(&42).await.unwrap();
    vars.set_type(&"pdf".to_owned()).await.unwrap();
    assert_eq!(vars.get_rows().await.unwrap(), Some(42));
    assert_eq!(ctx.variables().await.unwrap()["rows-loaded"], 42);
    vars.remove_approved().await.unwrap();
    assert_eq!(vars.get_approved().await.unwrap(), None);
    let all = ReportVars { approved: false, rows: 7, r#type: "csv".into() };
    all.save(&ctx).await.unwrap();
    assert_eq!(vars.get_type().await.unwrap().as_deref(), Some("csv"));
}
