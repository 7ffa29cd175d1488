//! Choosing a store from a URL, as a command line or the environment
//! would give it (`--store`, `PMCP_TASKS_STORE`).

use super::{MemoryStore, StoreError, TaskStore};
use std::sync::Arc;

/// The forms [`open`] understands, for error messages and `--help`.
pub const STORE_URL_FORMS: &str = "memory, sqlite:PATH";

/// Why a store URL could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreUrlError {
    /// The URL names no store this build knows.
    #[error("unknown store '{url}': use one of {forms}")]
    Unknown {
        /// The URL given.
        url: String,
        /// What would have worked.
        forms: &'static str,
    },
    /// The URL names a backend this build was compiled without.
    #[error("store '{url}' needs pmcp-tasks built with the `{feature}` feature")]
    NotBuilt {
        /// The URL given.
        url: String,
        /// The cargo feature to enable.
        feature: &'static str,
    },
    /// The URL is of a known kind but malformed.
    #[error("malformed store URL '{url}': {reason}")]
    Malformed {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The store could not be reached or opened.
    #[error("cannot open store '{url}': {source}")]
    Unreachable {
        /// The URL given.
        url: String,
        /// What the backend said.
        source: StoreError,
    },
}

/// Opens the store `url` names: `memory`, or `sqlite:PATH` (with the
/// `sqlite` feature). A short human name of the result is returned too.
pub fn open(url: &str) -> Result<(Arc<dyn TaskStore>, String), StoreUrlError> {
    let url = url.trim();
    if url == "memory" || url == "memory:" {
        return Ok((
            Arc::new(MemoryStore::new()),
            "in-memory (lost when the process exits)".into(),
        ));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(StoreUrlError::Malformed {
                url: url.into(),
                reason: "give a file path, e.g. sqlite:tasks.db".into(),
            });
        }
        #[cfg(feature = "sqlite")]
        {
            let store =
                super::SqliteStore::open(path).map_err(|source| StoreUrlError::Unreachable {
                    url: url.into(),
                    source,
                })?;
            return Ok((Arc::new(store), format!("SQLite file {path}")));
        }
        #[cfg(not(feature = "sqlite"))]
        return Err(StoreUrlError::NotBuilt {
            url: url.into(),
            feature: "sqlite",
        });
    }
    Err(StoreUrlError::Unknown {
        url: url.into(),
        forms: STORE_URL_FORMS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_or_refused_clearly() {
        assert!(open("memory").is_ok());
        let unknown = open("postgres://x").err().unwrap().to_string();
        assert!(
            unknown.contains("unknown store 'postgres://x'") && unknown.contains("memory"),
            "{unknown}"
        );
        let empty = open("sqlite:").err().unwrap().to_string();
        assert!(empty.contains("give a file path"), "{empty}");
    }
}
