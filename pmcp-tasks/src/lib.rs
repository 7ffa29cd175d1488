//! Long-running MCP tools as MCP Tasks, on the PMCP SDK.
//!
//! A tool body is an `async fn(args, TaskContext)`. Called as a task, it runs
//! in the background while the client polls (`tasks/get`), waits for the
//! result (`tasks/result`), answers its questions (`input_required`) or
//! cancels it (`tasks/cancel`), in both Tasks eras: MCP 2025-11-25 and the
//! 2026-07-28 extension `io.modelcontextprotocol/tasks`.
//!
//! ```no_run
//! use pmcp_tasks::{TaskContext, TaskServer, TaskSupport, TaskTool, ToolError};
//! use std::time::Duration;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Args {
//!     seconds: u64,
//! }
//!
//! async fn slow_job(args: Args, ctx: TaskContext) -> Result<String, ToolError> {
//!     for step in 1..=args.seconds {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         ctx.progress(format!("step {step} of {}", args.seconds)).await?;
//!     }
//!     Ok("done".into())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TaskServer::builder("my-server", "1.0.0")
//!     .tool(TaskTool::new("slow_job", slow_job).support(TaskSupport::Optional))
//!     .build()?;
//! server.serve_stdio().await?;
//! server.shutdown(Duration::from_secs(10)).await;
//! # Ok(())
//! # }
//! ```
//!
//! Layers, lowest first: [`domain`] (the task record and its status
//! machine), [`store`] (storage with compare-and-set writes, time from one
//! [`clock`]), [`execution`] (the background driver and [`TaskContext`]),
//! then, inside the crate, the task service, the protocol adapters of the
//! two eras and the transports, composed by [`TaskServer`]; [`workflow`]
//! runs workflow prompts beside the service. `docs/architecture.md` in the
//! repository draws the layers and explains the behaviour of each era.
#![deny(clippy::await_holding_lock)]
#![warn(missing_docs)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
/// `docs/guide.md`, whose every Rust snippet is compiled (and, unless
/// `no_run`, run) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/guide.md")]
mod guide {}
pub mod clock;
pub mod domain;
mod error;
pub mod execution;
mod protocol;
mod rate;
pub mod registry;
mod server;
mod service;
mod state;
pub mod store;
mod tool;
mod transport;
mod variables;
pub mod workflow;

pub use domain::{Era, Limits, TaskStatus, STATUS_MESSAGE_MAX_CHARS};
pub use error::{TaskError, ToolError};
pub use execution::{
    Dispatch, Dispatched, ElicitAnswer, Elicited, ProgressUpdate, TaskContext, TaskRuntime,
};
pub use protocol::wire::{IDEMPOTENCY_KEY_META_KEY, VARIABLES_META_KEY};
pub use server::{
    shutdown_signal, BuildError, TaskServer, TaskServerBuilder, SUPPORTED_PROTOCOL_VERSIONS,
};
pub use service::{AnonymousPolicy, CompanionNames};
pub use state::{FromTaskContext, State, StateValue};
pub use tool::{TaskSupport, TaskTool, ToolHandler};
pub use transport::TransportLimits;
pub use variables::TaskVariables;

/// Turns an `async fn` into an MCP task tool, registered with the program.
///
/// ```
/// use pmcp_tasks::{task_tool, TaskContext, ToolError};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct ReportArgs {
///     topic: String,
/// }
///
/// #[derive(serde::Serialize, schemars::JsonSchema)]
/// struct Report {
///     text: String,
/// }
///
/// /// Renders the report (the doc comment becomes the tool's description).
/// #[task_tool(support = "optional", ttl = "10m", poll_interval = "2s")]
/// async fn render_report(args: ReportArgs, ctx: TaskContext) -> Result<Report, ToolError> {
///     ctx.progress("rendering").await?;
///     Ok(Report { text: format!("all about {}", args.topic) })
/// }
/// # fn main() { assert_eq!(render_report_task_tool().name(), "render_report"); }
/// ```
///
/// The function stays as written, callable from tests (with
/// [`TaskContext::detached`]). Beside it the attribute adds
/// `fn render_report_task_tool() -> TaskTool` (for explicit registration) and
/// an entry in [`registry`], installed by
/// [`TaskServerBuilder::registered_tools`].
///
/// The function takes its arguments `args: A` (or none), then up to three
/// parameters in any order, each `ctx: TaskContext` or a [`State<T>`](State)
/// (application state given to the server with
/// [`TaskServerBuilder::state`]). It returns `Result<O, E>` where
/// `A: Deserialize + JsonSchema`, `O: Serialize + JsonSchema` and
/// `E: Into<ToolError>`; its future must be `Send`.
///
/// | key | value | default |
/// | --- | --- | --- |
/// | `support` | `"optional"`, `"required"` or `"forbidden"` | `"optional"` |
/// | `ttl` | a duration such as `"10m"` | the server's default TTL |
/// | `poll_interval` | a duration such as `"2s"` | the server's poll interval |
/// | `immediate` | what the model is told at once when a task starts | none |
/// | `detach_after` | a plain call still running after this (`"20s"`) answers where the job went ([`TaskTool::detach_after`]) | the server's, else never |
/// | `name` | the tool's name | the function's name |
/// | `description` | the tool's description | the doc comment |
/// | `crate` | path of `pmcp_tasks`, for re-exporters | `::pmcp_tasks` |
pub use pmcp_tasks_macros::task_tool;

/// Registers a workflow prompt served in task mode (see [`workflow`]): put
/// it on a function with no parameters that builds a pmcp
/// [`SequentialWorkflow`](workflow::SequentialWorkflow);
/// [`TaskServerBuilder::registered_workflows`] serves every one linked in.
///
/// ```
/// use pmcp_tasks::task_workflow;
/// use pmcp_tasks::workflow::{DataSource, SequentialWorkflow, ToolHandle, WorkflowStep};
///
/// #[task_workflow]
/// fn release() -> SequentialWorkflow {
///     SequentialWorkflow::new("release", "build, then publish")
///         .argument("version", "the version to release", true)
///         .step(WorkflowStep::new("build", ToolHandle::new("build"))
///             .arg("version", DataSource::prompt_arg("version"))
///             .bind("artifact"))
///         .step(WorkflowStep::new("publish", ToolHandle::new("publish"))
///             .arg("artifact", DataSource::from_step("artifact")))
/// }
/// # fn main() {}
/// ```
///
/// The only argument is `crate = path`, for crates that re-export
/// `pmcp_tasks`.
pub use pmcp_tasks_macros::task_workflow;

/// Derives [`TaskVariables`](trait@TaskVariables): typed accessors over a
/// task's variables, one `get_`/`set_`/`remove_` trio per field.
///
/// ```
/// use pmcp_tasks::{TaskContext, TaskVariables, ToolError};
///
/// #[derive(TaskVariables)]
/// struct ReportVars {
///     approved: bool,
///     #[task_var(rename = "rows-loaded")]
///     rows: u64,
/// }
///
/// async fn in_a_tool(ctx: &TaskContext) -> Result<(), ToolError> {
///     ctx.vars::<ReportVars>().set_rows(&42).await?;
///     let approved: Option<bool> = ctx.vars::<ReportVars>().get_approved().await?;
///     Ok(())
/// }
/// ```
pub use pmcp_tasks_macros::TaskVariables;
