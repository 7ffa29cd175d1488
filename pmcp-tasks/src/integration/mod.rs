//! Integration with pmcp: the only module that names pmcp's server types.

mod dispatch;
mod server;
mod stdio;
mod tool_handler;
mod wire;

pub use server::{AnonymousPolicy, BuildError, TaskServer, TaskServerBuilder, SUPPORTED_PROTOCOL_VERSIONS};
pub use wire::VARIABLES_META_KEY;
