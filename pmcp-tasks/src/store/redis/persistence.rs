//! Whether the Redis server keeps tasks across its own restart: by default
//! Redis keeps everything in memory, and a restart loses every task,
//! finished results included.

use super::{failed, RedisStore};
use crate::store::StoreError;

/// How a Redis server keeps its data across a restart, as `CONFIG GET`
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persistence {
    /// An append-only file (`appendonly yes`): writes survive a restart
    /// (up to the last second with `appendfsync everysec`).
    AppendOnly,
    /// Snapshots only (`save` rules, shown): what was written since the
    /// last snapshot is lost when Redis stops abruptly.
    Snapshots(String),
    /// Nothing: a restart loses every task.
    None,
    /// The settings cannot be read (`CONFIG` is disabled on some managed
    /// services, which persist on their own terms): the reason.
    Unknown(String),
}

impl Persistence {
    /// Whether finished tasks survive a Redis restart.
    pub fn keeps_tasks(&self) -> bool {
        matches!(self, Persistence::AppendOnly)
    }

    /// Logs what a restart of this Redis would lose, if anything.
    pub(super) fn warn_if_lossy(&self, url: &str) {
        match self {
            Persistence::AppendOnly => {}
            Persistence::Snapshots(rules) => {
                tracing::warn!(url,
                "Redis persists by snapshots only (save {rules}): tasks written since the last \
                 snapshot, finished results included, are lost if Redis stops abruptly; run it \
                 with appendonly yes (see docs/deployment.md)")
            }
            Persistence::None => {
                tracing::warn!(url,
                "Redis has no persistence (appendonly no, no save rules): a Redis restart loses \
                 every task, finished results included; run it with appendonly yes (see \
                 docs/deployment.md)")
            }
            Persistence::Unknown(why) => {
                tracing::warn!(url,
                "cannot read Redis's persistence settings ({why}); make sure it persists tasks \
                 (appendonly yes) or they are lost when it restarts")
            }
        }
    }
}

impl RedisStore {
    /// How the server persists, from `CONFIG GET appendonly` and `save`.
    pub async fn persistence(&self) -> Persistence {
        let (appendonly, save) =
            match (self.setting("appendonly").await, self.setting("save").await) {
                (Ok(appendonly), Ok(save)) => (appendonly, save),
                (Err(e), _) | (_, Err(e)) => return Persistence::Unknown(failed(e).to_string()),
            };
        if appendonly == "yes" {
            Persistence::AppendOnly
        } else if save.trim().is_empty() {
            Persistence::None
        } else {
            Persistence::Snapshots(save)
        }
    }

    /// One `CONFIG GET` value.
    async fn setting(&self, name: &str) -> Result<String, redis::RedisError> {
        let mut conn = self.conn.clone();
        let pair: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async(&mut conn)
            .await?;
        Ok(pair.get(1).cloned().unwrap_or_default())
    }

    /// This store, if its Redis keeps tasks across a restart (append-only
    /// file); else a clear error saying what to change. For deployments
    /// that would rather not start than lose finished results.
    pub async fn require_persistence(self) -> Result<Self, StoreError> {
        match self.persistence().await {
            Persistence::AppendOnly => Ok(self),
            other => Err(StoreError::Backend(format!(
                "redis: it would lose tasks on a restart ({other:?}); run it with appendonly yes"
            ))),
        }
    }
}
