//! Durable, cancellable MCP Tasks for the PMCP SDK.
#![deny(clippy::await_holding_lock)]
#![warn(missing_docs)]

pub mod domain;
pub mod store;
