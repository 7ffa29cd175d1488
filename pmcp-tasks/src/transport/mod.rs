//! Transports: they frame messages and hand them to the protocol layer.
//! stdio (newline-delimited JSON-RPC) and streamable HTTP (axum; `Sse`
//! where the answer may be preceded by requests to the client).

mod http;
mod limits;
mod stdio;

pub use limits::TransportLimits;
