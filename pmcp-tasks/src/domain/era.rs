//! The two protocol eras of MCP Tasks.

use serde::{Deserialize, Serialize};

/// Which Tasks specification a request speaks.
///
/// The era decides wire shapes (`ttl` vs `ttlMs`, `{task}` vs a flat task),
/// which methods exist, and what `isError` results mean for the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Era {
    /// MCP 2025-11-25 core tasks (`tasks/get|result|list|cancel`).
    #[serde(rename = "2025-11-25")]
    V2025_11_25,
    /// The 2026-07-28 extension `io.modelcontextprotocol/tasks`
    /// (`tasks/get|update|cancel`).
    #[serde(rename = "2026-07-28")]
    V2026_07_28,
}

impl Era {
    /// The protocol version string of this era.
    pub fn protocol_version(self) -> &'static str {
        match self {
            Era::V2025_11_25 => "2025-11-25",
            Era::V2026_07_28 => "2026-07-28",
        }
    }

    /// Maps a negotiated protocol version to an era: `2026-07-28` and later
    /// speak the extension, anything earlier the core tasks of 2025-11-25.
    pub fn from_protocol_version(version: &str) -> Era {
        // ISO dates compare correctly as strings.
        if version >= "2026-07-28" {
            Era::V2026_07_28
        } else {
            Era::V2025_11_25
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_to_eras() {
        assert_eq!(Era::from_protocol_version("2025-06-18"), Era::V2025_11_25);
        assert_eq!(Era::from_protocol_version("2025-11-25"), Era::V2025_11_25);
        assert_eq!(Era::from_protocol_version("2026-07-28"), Era::V2026_07_28);
        assert_eq!(Era::V2026_07_28.protocol_version(), "2026-07-28");
    }
}
