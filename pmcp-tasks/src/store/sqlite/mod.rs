//! The SQLite backend: durable tasks in one file, for one machine.
//!
//! A task is one row holding its JSON record plus the columns the store
//! queries (owner, creation order, expiry, version). Compare-and-set is an
//! `UPDATE … WHERE version = ?`; what each owner holds (unfinished and
//! stored tasks, their bytes) lives in its own table, changed in the same
//! transaction as the task, so the quota check at create is O(1) and exact. SQLite calls are blocking, so
//! they run on tokio's blocking pool; the connection mutex is never held
//! across an `.await`.

mod owners;

use super::{OwnerQuota, OwnerUsage, StoreError, TaskPage, TaskStore};
use crate::domain::TaskRecord;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use owners::Held;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Tasks kept in a SQLite database file; survives restarts.
///
/// Every write is also logged to a change table, which each process
/// sharing the file reads every 50 ms: a task changed by one process wakes
/// the listeners of another (see [`TaskStore::changes`]).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Whether other processes can share the database (a file).
    shared: bool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS pmcp_tasks (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    owner      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    active     INTEGER NOT NULL,
    expires_at INTEGER,
    lease_until INTEGER,
    record     TEXT NOT NULL,
    bytes      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pmcp_tasks_by_owner ON pmcp_tasks (owner, seq);
CREATE INDEX IF NOT EXISTS pmcp_tasks_by_expiry ON pmcp_tasks (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS pmcp_tasks_by_lease ON pmcp_tasks (lease_until) WHERE lease_until IS NOT NULL;
CREATE TABLE IF NOT EXISTS pmcp_task_owners (
    owner  TEXT PRIMARY KEY,
    active INTEGER NOT NULL,
    stored INTEGER NOT NULL DEFAULT 0,
    bytes  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pmcp_task_changes (
    n  INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL
);
";

/// How often the change feed reads the change log (other processes on the
/// same file write to it).
const FEED_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Changes kept in the log; older ones are dropped by the sweep.
const CHANGES_KEPT: i64 = 10_000;

/// Logs a write of task `id`, in the writing transaction.
fn log_change(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO pmcp_task_changes (id) VALUES (?1)")
        .and_then(|mut s| s.execute(params![id]))
        .map_err(backend)?;
    Ok(())
}

/// A failure of the database as the runtime should treat it: a full disk
/// (or the size cap, see [`SqliteStore::set_max_size`]) is an outage that
/// freeing space ends, so writers wait for it (a result is never dropped
/// for it) and clients are told the store is unavailable; anything else is
/// a backend failure.
fn backend<E: std::fmt::Display + 'static>(e: E) -> StoreError {
    let full = (&e as &dyn std::any::Any)
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        == Some(rusqlite::ErrorCode::DiskFull);
    if full {
        return StoreError::Unavailable(format!(
            "sqlite: the database cannot grow ({e}): free disk space (or raise its size cap); \
             writes wait for it"
        ));
    }
    StoreError::Backend(format!("sqlite: {e}"))
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn encode(record: &TaskRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(backend)
}

fn decode(text: &str) -> Result<TaskRecord, StoreError> {
    serde_json::from_str(text).map_err(|e| backend(format!("a stored task does not decode: {e}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn = Connection::open(path)
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        Self::with_connection(conn, true)
    }

    /// Caps the database at about `bytes` (rounded down to whole pages,
    /// never below what it holds already): past it, writes fail as on a
    /// full disk, `StoreError::Unavailable`, and running bodies and
    /// their results wait for room instead of failing. Can be raised again
    /// at any time.
    pub async fn set_max_size(&self, bytes: u64) -> Result<(), StoreError> {
        self.with(move |conn| {
            let page: i64 = conn
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .map_err(backend)?;
            let pages = (bytes / page.max(1) as u64).max(1);
            conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
                .map_err(backend)
        })
        .await
    }

    /// A private in-memory database (for tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory().map_err(backend)?, false)
    }

    fn with_connection(mut conn: Connection, shared: bool) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        owners::migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            shared,
        })
    }

    /// Reads the change log from its current end on, every [`FEED_POLL`],
    /// while anyone reads the feed.
    async fn follow_changes(&self) -> Result<super::ChangeFeed, StoreError> {
        let (tx, rx) = tokio::sync::mpsc::channel::<String>(1024);
        let store = self.clone();
        let mut seen: i64 = store
            .with(|conn| {
                conn.query_row(
                    "SELECT COALESCE(MAX(n), 0) FROM pmcp_task_changes",
                    [],
                    |r| r.get(0),
                )
                .map_err(backend)
            })
            .await?;
        tokio::spawn(async move {
            while !tx.is_closed() {
                tokio::time::sleep(FEED_POLL).await;
                let from = seen;
                let changed = store
                    .with(move |conn| {
                        let mut statement = conn
                            .prepare_cached(
                                "SELECT n, id FROM pmcp_task_changes WHERE n > ?1 ORDER BY n LIMIT 1000",
                            )
                            .map_err(backend)?;
                        let rows = statement
                            .query_map(params![from], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?)))
                            .map_err(backend)?;
                        rows.collect::<Result<Vec<(i64, String)>, _>>().map_err(backend)
                    })
                    .await;
                let Ok(changed) = changed else { continue };
                for (n, id) in changed {
                    seen = n;
                    if let Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) = tx.try_send(id)
                    {
                        return;
                    }
                }
            }
        });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            let id = rx.recv().await?;
            Some((id, rx))
        })))
    }

    /// Runs `work` on the connection, on tokio's blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            work(&mut guard)
        })
        .await
        .map_err(|e| backend(format!("the storage thread failed: {e}")))?
    }
}

/// The live record `id` of `owner`, if any, with its stored size.
fn live(
    conn: &Connection,
    owner: &str,
    id: &str,
    now: i64,
) -> Result<Option<(TaskRecord, i64)>, StoreError> {
    conn.prepare_cached(
        "SELECT record FROM pmcp_tasks WHERE id = ?1 AND owner = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
    )
    .and_then(|mut s| {
        s.query_row(params![id, owner, now], |row| row.get::<_, String>(0))
            .optional()
    })
    .map_err(backend)?
    .map(|text| Ok((decode(&text)?, size(&text))))
    .transpose()
}

/// The size of an encoded record, as the byte quota counts it.
fn size(text: &str) -> i64 {
    i64::try_from(text.len()).unwrap_or(i64::MAX)
}

#[async_trait]
impl TaskStore for SqliteStore {
    async fn changes(&self) -> Option<super::ChangeFeed> {
        if !self.shared {
            return None;
        }
        match self.follow_changes().await {
            Ok(feed) => Some(feed),
            Err(e) => {
                tracing::warn!(error = %e, "no SQLite change feed; listeners will poll");
                None
            }
        }
    }

    async fn create(
        &self,
        mut record: TaskRecord,
        quota: OwnerQuota,
        _now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        record.version = 1;
        let text = encode(&record)?;
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let bytes = size(&text);
            quota.check(owners::usage(&tx, &record.owner)?, bytes as u64)?;
            let is_active = !record.status.is_terminal();
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO pmcp_tasks (id, owner, version, active, expires_at, lease_until, record, bytes)
                     VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        record.id,
                        record.owner,
                        is_active,
                        record.expires_at().map(millis),
                        record.lease_deadline().map(millis),
                        text,
                        bytes
                    ])
                });
            match inserted {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::Duplicate)
                }
                Err(e) => return Err(backend(e)),
            }
            owners::adjust(
                &tx,
                &record.owner,
                Held {
                    active: i64::from(is_active),
                    stored: 1,
                    bytes,
                },
            )?;
            log_change(&tx, &record.id)?;
            tx.commit().map_err(backend)?;
            Ok(Arc::new(record))
        })
        .await
    }

    async fn usage(&self, owner: &str, _now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        let owner = owner.to_owned();
        self.with(move |conn| owners::usage(conn, &owner)).await
    }

    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        let (owner, id) = (owner.to_owned(), id.to_owned());
        self.with(move |conn| {
            live(conn, &owner, &id, millis(now))?
                .map(|(record, _)| Arc::new(record))
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn compare_and_set(
        &self,
        mut record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let now = millis(now);
            let Some((current, old_bytes)) = live(&tx, &record.owner, &record.id, now)? else {
                return Err(StoreError::NotFound);
            };
            if current.version != record.version {
                return Err(StoreError::Conflict {
                    current: Arc::new(current),
                });
            }
            record.version += 1;
            let (was_active, is_active) =
                (!current.status.is_terminal(), !record.status.is_terminal());
            let text = encode(&record)?;
            let bytes = size(&text);
            tx.prepare_cached(
                "UPDATE pmcp_tasks SET version = ?1, active = ?2, expires_at = ?3, lease_until = ?4, record = ?5, bytes = ?6
                 WHERE id = ?7 AND owner = ?8 AND version = ?9",
            )
            .and_then(|mut s| {
                s.execute(params![
                    i64::try_from(record.version).unwrap_or(i64::MAX),
                    is_active,
                    record.expires_at().map(millis),
                    record.lease_deadline().map(millis),
                    text,
                    bytes,
                    record.id,
                    record.owner,
                    i64::try_from(current.version).unwrap_or(i64::MAX)
                ])
            })
            .map_err(backend)?;
            owners::adjust(
                &tx,
                &record.owner,
                Held {
                    active: i64::from(is_active) - i64::from(was_active),
                    stored: 0,
                    bytes: bytes - old_bytes,
                },
            )?;
            log_change(&tx, &record.id)?;
            tx.commit().map_err(backend)?;
            Ok(Arc::new(record))
        })
        .await
    }

    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        let start = i64::try_from(super::cursor::start('s', owner, cursor)?)
            .map_err(|_| StoreError::InvalidCursor)?;
        let owner = owner.to_owned();
        let limit = limit.max(1);
        self.with(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT seq, record FROM pmcp_tasks
                     WHERE owner = ?1 AND seq >= ?2 AND (expires_at IS NULL OR expires_at > ?3)
                     ORDER BY seq LIMIT ?4",
                )
                .map_err(backend)?;
            let rows = statement
                .query_map(
                    params![
                        owner,
                        start,
                        millis(now),
                        i64::try_from(limit + 1).unwrap_or(i64::MAX)
                    ],
                    |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
                )
                .map_err(backend)?;
            let mut tasks = Vec::new();
            let mut next_cursor = None;
            for row in rows {
                let (seq, text) = row.map_err(backend)?;
                if tasks.len() == limit {
                    next_cursor = Some(super::cursor::encode(
                        's',
                        &owner,
                        u64::try_from(seq).unwrap_or(0),
                    ));
                    break;
                }
                tasks.push(Arc::new(decode(&text)?));
            }
            Ok(TaskPage { tasks, next_cursor })
        })
        .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let expired: Vec<(String, String, bool, i64)> = {
                let mut statement = tx
                    .prepare_cached(
                        "SELECT id, owner, active, bytes FROM pmcp_tasks WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                    )
                    .map_err(backend)?;
                let rows = statement
                    .query_map(params![millis(now)], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                    })
                    .map_err(backend)?;
                rows.collect::<Result<_, _>>().map_err(backend)?
            };
            for (id, owner, active, bytes) in &expired {
                tx.execute("DELETE FROM pmcp_tasks WHERE id = ?1", params![id])
                    .map_err(backend)?;
                owners::adjust(
                    &tx,
                    owner,
                    Held {
                        active: -i64::from(*active),
                        stored: -1,
                        bytes: -bytes,
                    },
                )?;
            }
            tx.execute(
                "DELETE FROM pmcp_task_changes WHERE n < (SELECT MAX(n) FROM pmcp_task_changes) - ?1",
                params![CHANGES_KEPT],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(expired.into_iter().map(|(id, ..)| id).collect())
        })
        .await
    }

    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError> {
        self.with(move |conn| Self::expired_leases_blocking(conn, millis(now), limit))
            .await
    }
}

impl SqliteStore {
    fn expired_leases_blocking(
        conn: &Connection,
        now: i64,
        limit: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError> {
        let mut statement = conn
            .prepare_cached(
                "SELECT record FROM pmcp_tasks
                 WHERE lease_until IS NOT NULL AND lease_until <= ?1 AND (expires_at IS NULL OR expires_at > ?1)
                 ORDER BY lease_until LIMIT ?2",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map(
                params![now, i64::try_from(limit).unwrap_or(i64::MAX)],
                |row| row.get::<_, String>(0),
            )
            .map_err(backend)?;
        rows.map(|r| decode(&r.map_err(backend)?).map(Arc::new))
            .collect()
    }
}

#[cfg(test)]
mod tests;
