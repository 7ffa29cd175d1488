//! Execution layer: the background driver and the handler-facing context.

mod context;
mod elicit;
mod events;
mod finish;
mod progress;
mod runtime;
mod sleep;
mod suspend;
mod table;
mod takeover;

pub(crate) use context::{is_form_elicitation, AskClient, CallHooks, ProgressSink};
pub use context::{ElicitAnswer, TaskContext};
pub use elicit::Elicited;
pub use progress::ProgressUpdate;
pub use runtime::{StartError, TaskBody, TaskRuntime, CRASH_MESSAGE, SHUTDOWN_MESSAGE};
pub(crate) use table::Follower;
pub use takeover::{Dispatch, Dispatched};

#[cfg(test)]
mod tests;
