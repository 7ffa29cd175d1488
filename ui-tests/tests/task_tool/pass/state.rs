//! Application state as a parameter, in any position after the arguments,
//! with or without a context and arguments.
use pmcp_tasks::{task_tool, BuildError, State, TaskContext, TaskServer, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

struct Db {
    rows: u64,
}

#[derive(Deserialize, JsonSchema)]
struct Query {
    table: String,
}

#[task_tool]
async fn count(args: Query, State(db): State<Arc<Db>>, ctx: TaskContext) -> Result<String, ToolError> {
    Ok(format!("{} has {} rows ({})", args.table, db.rows, ctx.task_id()))
}

#[task_tool]
async fn total(ctx: TaskContext, State(db): State<Arc<Db>>, State(unit): State<&'static str>) -> Result<String, ToolError> {
    Ok(format!("{} {unit}{}", db.rows, ctx.task_id()))
}

#[task_tool]
async fn rows_only(State(db): State<Arc<Db>>) -> Result<u64, ToolError> {
    Ok(db.rows)
}

#[tokio::main]
async fn main() {
    let db = Arc::new(Db { rows: 7 });
    // Callable directly, the state passed by hand.
    let text = count(Query { table: "t".into() }, State(db.clone()), TaskContext::detached("me"))
        .await
        .unwrap();
    assert_eq!(text, "t has 7 rows ()");
    assert_eq!(rows_only(State(db.clone())).await.unwrap(), 7);
    // A server given every state builds; one missing a type does not.
    TaskServer::builder("s", "1")
        .tool(count_task_tool())
        .tool(total_task_tool())
        .tool(rows_only_task_tool())
        .state(db.clone())
        .state("rows")
        .build()
        .unwrap();
    let missing = TaskServer::builder("s", "1")
        .tool(total_task_tool())
        .state(db)
        .build()
        .err()
        .unwrap();
    assert!(matches!(missing, BuildError::MissingState { ref tool, .. } if tool == "total"));
    assert!(missing.to_string().contains("&str"), "{missing}");
}
