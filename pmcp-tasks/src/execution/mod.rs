//! Execution layer: the background driver and the handler-facing context.

mod context;
mod events;
mod runtime;
mod table;

pub use context::{ElicitAnswer, TaskContext};
pub use runtime::{StartError, TaskBody, TaskRuntime, CRASH_MESSAGE, SHUTDOWN_MESSAGE};

#[cfg(test)]
mod tests;
