//! Runnable examples of pmcp-tasks; see `quickstart.rs`.
