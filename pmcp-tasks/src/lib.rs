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
//! machine), [`store`] (storage with compare-and-set writes),
//! [`execution`] (the background driver and [`TaskContext`]) and
//! [`integration`] (the pmcp server, stdio and HTTP). `docs/architecture.md`
//! in the repository explains the behaviour of each era.
#![deny(clippy::await_holding_lock)]
#![warn(missing_docs)]

pub mod domain;
mod error;
pub mod execution;
pub mod integration;
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod registry;
pub mod store;
mod tool;
mod variables;

pub use domain::{Era, Limits, TaskStatus};
pub use error::{TaskError, ToolError};
pub use execution::{ElicitAnswer, TaskContext, TaskRuntime};
pub use integration::{shutdown_signal, AnonymousPolicy, TaskServer, TaskServerBuilder};
pub use tool::{TaskSupport, TaskTool};
pub use variables::TaskVariables;
