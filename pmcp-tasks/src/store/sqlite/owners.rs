//! What each owner holds (`pmcp_task_owners`), kept in the transaction of
//! every write so the quota check at create is one row read, and the
//! migration that adds stored-task and byte counts to older databases.

use super::backend;
use crate::store::{OwnerUsage, StoreError};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// A change to what an owner holds (or, read back, what it holds).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Held {
    pub active: i64,
    pub stored: i64,
    pub bytes: i64,
}

/// What `owner` holds now.
pub(super) fn usage(conn: &Connection, owner: &str) -> Result<OwnerUsage, StoreError> {
    let held = conn
        .prepare_cached("SELECT active, stored, bytes FROM pmcp_task_owners WHERE owner = ?1")
        .and_then(|mut s| {
            s.query_row(params![owner], |row| {
                Ok(Held {
                    active: row.get(0)?,
                    stored: row.get(1)?,
                    bytes: row.get(2)?,
                })
            })
            .optional()
        })
        .map_err(backend)?
        .unwrap_or_default();
    Ok(OwnerUsage {
        active: usize::try_from(held.active).unwrap_or(0),
        stored: usize::try_from(held.stored).unwrap_or(0),
        bytes: u64::try_from(held.bytes).unwrap_or(0),
    })
}

/// Adds `delta` to what `owner` holds (never below zero), dropping the row
/// once the owner holds nothing.
pub(super) fn adjust(conn: &Connection, owner: &str, delta: Held) -> Result<(), StoreError> {
    if delta.active == 0 && delta.stored == 0 && delta.bytes == 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO pmcp_task_owners (owner, active, stored, bytes)
         VALUES (?1, MAX(?2, 0), MAX(?3, 0), MAX(?4, 0))
         ON CONFLICT(owner) DO UPDATE SET
             active = MAX(active + ?2, 0), stored = MAX(stored + ?3, 0), bytes = MAX(bytes + ?4, 0)",
    )
    .and_then(|mut s| s.execute(params![owner, delta.active, delta.stored, delta.bytes]))
    .map_err(backend)?;
    if delta.stored < 0 {
        conn.prepare_cached(
            "DELETE FROM pmcp_task_owners WHERE owner = ?1 AND stored = 0 AND active = 0",
        )
        .and_then(|mut s| s.execute(params![owner]))
        .map_err(backend)?;
    }
    Ok(())
}

/// Brings a database written before stored-task and byte counts existed up
/// to date: adds the columns and counts what every owner holds. Runs once;
/// concurrent openers wait on the write lock (up to a few minutes, as the
/// count reads every task) and find it done. Processes of the older version
/// must be stopped first: they would write tasks without counting them.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    if has_column(conn, "pmcp_task_owners", "bytes")? {
        return Ok(());
    }
    conn.busy_timeout(std::time::Duration::from_secs(300))
        .map_err(backend)?;
    let migrated = upgrade(conn);
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(backend)?;
    migrated
}

/// Whether `table` has `column`.
fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
        params![table, column],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(backend)
}

fn upgrade(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    if has_column(&tx, "pmcp_task_owners", "bytes")? {
        return Ok(());
    }
    if !has_column(&tx, "pmcp_tasks", "bytes")? {
        tx.execute_batch(
            "ALTER TABLE pmcp_tasks ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
             UPDATE pmcp_tasks SET bytes = length(CAST(record AS BLOB));",
        )
        .map_err(backend)?;
    }
    tx.execute_batch(
        "ALTER TABLE pmcp_task_owners ADD COLUMN stored INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE pmcp_task_owners ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
         INSERT OR IGNORE INTO pmcp_task_owners (owner, active) SELECT DISTINCT owner, 0 FROM pmcp_tasks;
         UPDATE pmcp_task_owners SET
             stored = (SELECT COUNT(*) FROM pmcp_tasks t WHERE t.owner = pmcp_task_owners.owner),
             bytes = (SELECT COALESCE(SUM(t.bytes), 0) FROM pmcp_tasks t WHERE t.owner = pmcp_task_owners.owner);",
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    tracing::info!("SQLite task store upgraded: owners' stored tasks and bytes are now counted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::store::{OwnerUsage, TaskStore};

    /// The schema as wave 1 wrote it: no byte or stored-task counts.
    const OLD_SCHEMA: &str = "
        CREATE TABLE pmcp_tasks (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            owner TEXT NOT NULL, version INTEGER NOT NULL, active INTEGER NOT NULL,
            expires_at INTEGER, lease_until INTEGER, record TEXT NOT NULL);
        CREATE TABLE pmcp_task_owners (owner TEXT PRIMARY KEY, active INTEGER NOT NULL);
        INSERT INTO pmcp_tasks (id, owner, version, active, record)
            VALUES ('a', 'alice', 1, 1, '{\"x\":1}'), ('b', 'alice', 3, 0, '{\"y\":22}'),
                   ('c', 'bob', 2, 0, '{}');
        INSERT INTO pmcp_task_owners VALUES ('alice', 1);
    ";

    #[tokio::test]
    async fn an_older_database_is_counted_when_opened() {
        let dir = std::env::temp_dir().join(format!("pmcp-tasks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tasks.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(OLD_SCHEMA)
            .unwrap();
        let store = SqliteStore::open(&path).unwrap();
        let now = chrono::Utc::now();
        assert_eq!(
            store.usage("alice", now).await.unwrap(),
            OwnerUsage {
                active: 1,
                stored: 2,
                bytes: 15
            }
        );
        assert_eq!(
            store.usage("bob", now).await.unwrap(),
            OwnerUsage {
                active: 0,
                stored: 1,
                bytes: 2
            }
        );
        // Opening again finds it migrated and changes nothing.
        drop(store);
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.usage("bob", now).await.unwrap().stored, 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
