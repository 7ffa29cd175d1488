//! Durable, cancellable MCP Tasks for the PMCP SDK.
#![deny(clippy::await_holding_lock)]
#![warn(missing_docs)]

pub mod domain;
mod error;
pub mod execution;
pub mod integration;
pub mod store;
mod tool;

pub use domain::{Era, Limits, TaskStatus};
pub use error::{TaskError, ToolError};
pub use execution::{ElicitAnswer, TaskContext, TaskRuntime};
pub use integration::{shutdown_signal, AnonymousPolicy, TaskServer, TaskServerBuilder};
pub use tool::{TaskSupport, TaskTool};
