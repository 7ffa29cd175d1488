//! Choosing a store from a URL, as a command line or the environment
//! would give it (`--store`, `PMCP_TASKS_STORE`).

use super::{MemoryStore, StoreError, TaskStore};
use std::sync::Arc;

/// The forms [`open`] understands, for error messages and `--help`.
pub const STORE_URL_FORMS: &str =
    "memory, sqlite:PATH, redis://HOST:PORT, dynamodb://TABLE[?endpoint=URL]";

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

/// Opens the store `url` names: `memory`, `sqlite:PATH` (with the `sqlite`
/// feature), `redis://HOST:PORT[/DB]` (with the `redis` feature) or
/// `dynamodb://TABLE[?endpoint=URL]` (with the `dynamodb` feature; AWS
/// region and credentials from the environment, the table created if
/// missing), failing if it cannot be reached now. A short human name of the
/// store is returned too.
pub async fn open(url: &str) -> Result<(Arc<dyn TaskStore>, String), StoreUrlError> {
    let url = url.trim();
    if url == "memory" || url == "memory:" {
        return Ok((
            Arc::new(MemoryStore::new()),
            "memory (lost when the process exits)".into(),
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
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        #[cfg(feature = "redis")]
        {
            let store = super::RedisStore::connect(url).await.map_err(|source| {
                StoreUrlError::Unreachable {
                    url: url.into(),
                    source,
                }
            })?;
            return Ok((Arc::new(store), format!("Redis at {url}")));
        }
        #[cfg(not(feature = "redis"))]
        return Err(StoreUrlError::NotBuilt {
            url: url.into(),
            feature: "redis",
        });
    }
    if let Some(rest) = url.strip_prefix("dynamodb://") {
        let (table, endpoint) = dynamodb_parts(url, rest)?;
        #[cfg(feature = "dynamodb")]
        {
            let store = super::DynamoDbStore::connect(table, endpoint)
                .await
                .map_err(|source| StoreUrlError::Unreachable {
                    url: url.into(),
                    source,
                })?;
            let at = endpoint.map_or_else(|| " (AWS)".to_owned(), |e| format!(" at {e}"));
            return Ok((Arc::new(store), format!("DynamoDB table {table}{at}")));
        }
        #[cfg(not(feature = "dynamodb"))]
        {
            let _ = (table, endpoint);
            return Err(StoreUrlError::NotBuilt {
                url: url.into(),
                feature: "dynamodb",
            });
        }
    }
    Err(StoreUrlError::Unknown {
        url: url.into(),
        forms: STORE_URL_FORMS,
    })
}

/// The table and the optional endpoint of `dynamodb://TABLE[?endpoint=URL]`.
fn dynamodb_parts<'a>(
    url: &str,
    rest: &'a str,
) -> Result<(&'a str, Option<&'a str>), StoreUrlError> {
    let malformed = |reason: &str| StoreUrlError::Malformed {
        url: url.into(),
        reason: reason.into(),
    };
    let (table, query) = rest.split_once('?').unwrap_or((rest, ""));
    let table = table.trim_end_matches('/');
    // DynamoDB's own rule for table names.
    if table.len() < 3
        || table.len() > 255
        || !table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(malformed(
            "the table name must be 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.', \
             e.g. dynamodb://tasks",
        ));
    }
    let mut endpoint = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("endpoint", value))
                if value.starts_with("http://") || value.starts_with("https://") =>
            {
                endpoint = Some(value)
            }
            Some(("endpoint", _)) => {
                return Err(malformed(
                    "endpoint must be an http:// or https:// URL, e.g. \
                     dynamodb://tasks?endpoint=http://127.0.0.1:4567",
                ))
            }
            _ => {
                return Err(malformed(&format!(
                    "unknown parameter '{pair}': the only one is endpoint=URL"
                )))
            }
        }
    }
    Ok((table, endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_recognised_or_refused_clearly() {
        assert!(open("memory").await.is_ok());
        let unknown = open("postgres://x").await.err().unwrap().to_string();
        assert!(
            unknown.contains("unknown store 'postgres://x'") && unknown.contains("memory"),
            "{unknown}"
        );
        let empty = open("sqlite:").await.err().unwrap().to_string();
        assert!(empty.contains("give a file path"), "{empty}");
        for (bad, says) in [
            ("dynamodb://", "table name"),
            ("dynamodb://a b", "table name"),
            (
                "dynamodb://tasks?endpoint=localhost:4567",
                "http:// or https://",
            ),
            (
                "dynamodb://tasks?region=eu",
                "unknown parameter 'region=eu'",
            ),
        ] {
            let err = open(bad).await.err().unwrap().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert_eq!(
            dynamodb_parts("", "tasks?endpoint=http://127.0.0.1:4567").unwrap(),
            ("tasks", Some("http://127.0.0.1:4567"))
        );
        assert_eq!(dynamodb_parts("", "tasks").unwrap(), ("tasks", None));
    }
}
