//! The DynamoDB backend: tasks shared by many instances, or by Lambda
//! invocations, with nothing to run yourself.
//!
//! One table keyed by `pk` and `sk`; everything of an owner lives in its
//! partition `o#<owner>`, so another owner's task is not merely hidden but
//! elsewhere:
//!
//! | `sk` | item | attributes |
//! | --- | --- | --- |
//! | `t#<id>` | a task | `record` (JSON), `bytes` (its length), `version`, `st` (status), `expires` (ms) and `ttl` (s), `xs`, `lease` (ms) and `ls`, `cb`/`ca` (what the counters hold for it) |
//! | `l#<created>#<id>` | its listing entry | none: the key is the listing order |
//! | `n` | the owner's counters | `active`, `stored`, `bytes` |
//!
//! and two sparse global secondary indexes, sharded so no index partition
//! takes every write:
//!
//! | index | key | holds |
//! | --- | --- | --- |
//! | `by_expiry` | `xs`, `expires` | tasks with a TTL, for the sweeper |
//! | `by_lease` | `ls`, `lease` | unfinished leased tasks, for recovery |
//!
//! A create is one transaction: the counters' conditional add (the owner's
//! quotas, atomic with the write), the entry and the task. A task's write
//! is one conditional `UpdateItem` (the version must still be the one read,
//! the task must be alive); a failed condition is never retried but
//! answered with the item as it is now (`ReturnValuesOnConditionCheckFailure`;
//! engines without it cost one more consistent read). When a write ends a
//! task, a second transaction settles its count and final size into the
//! counters (see `owners.rs`; a running task counts the bytes it was created
//! with); a purge deletes task, entry and counts together. Counters that drifted (DynamoDB's own TTL deletes items
//! a day after they expired without telling the counters) are rebuilt from
//! the task items when an owner hits a quota.
//!
//! Reads by id and listings are strongly consistent: listing is a `Query`
//! of the owner's partition, so a task `get` returns is listed. Only the
//! sweeper and crash recovery read the (eventually consistent) indexes.
//!
//! Engines without transactions (dynalite) get the same writes one by one,
//! in an order that keeps listing consistent and the quotas exact (the
//! counters' conditional add first); a crash between them leaves a count
//! too high, and counters are not rebuilt there (a create in flight has
//! counted a task it has not written yet).

mod item;
mod list;
mod owners;
mod table;
mod write;

use super::{OwnerQuota, OwnerUsage, StoreError, TaskPage, TaskStore};
use crate::domain::TaskRecord;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use item::*;
use owners::{never_fits, Counters};
use std::sync::Arc;
use write::{failed_item, Learned, Write, WriteError};

/// Tasks kept in a DynamoDB table.
#[derive(Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    engine: Arc<Engine>,
}

/// What the store has found out about its engine so far.
#[derive(Debug, Default)]
struct Engine {
    /// Grouped writes are applied as transactions.
    transactions: Learned,
    /// A failed condition returns the item as it is now.
    condition_items: Learned,
}

/// Which paths a [`DynamoDbStore`] takes on its engine, as found out by
/// using it (`None`: not used yet). DynamoDB itself has both; an engine
/// without them costs more round trips and, without transactions, gives up
/// the atomicity of a create with its quota check (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSupport {
    /// Whether grouped writes (a create with its quota check) are
    /// transactions.
    pub transactions: Option<bool>,
    /// Whether a failed condition returns the item in the same round trip
    /// (`ReturnValuesOnConditionCheckFailure`).
    pub condition_items: Option<bool>,
}

impl std::fmt::Debug for DynamoDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoDbStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoDbStore {
    /// A store on `table` through `client`. The table must exist with the
    /// layout [`create_table`](Self::create_table) gives it; use
    /// [`connect`](Self::connect) to check that (and create it) first.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDbStore {
            client,
            table: table.into(),
            engine: Arc::default(),
        }
    }

    /// The DynamoDB client this store uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table this store keeps tasks in.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Which paths this store has found its engine to support, for logs
    /// and for tests that must know which path ran.
    pub fn engine_support(&self) -> EngineSupport {
        EngineSupport {
            transactions: self.engine.transactions.known(),
            condition_items: self.engine.condition_items.known(),
        }
    }
}

impl DynamoDbStore {
    /// The item under `key` as stored now (strongly consistent), if any.
    async fn read(&self, key: Item) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?
            .item)
    }

    /// The owner's task item as stored now, if any.
    async fn current(&self, owner: &str, id: &str) -> Result<Option<Item>, StoreError> {
        self.read(key(owner, task_sk(id))).await
    }

    /// Queries one shard of a time index for items due by `upto_ms`, up to
    /// `limit` of them.
    async fn due(
        &self,
        index: &TimeIndex,
        shard: u32,
        upto_ms: i64,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index.name)
                .key_condition_expression("#s = :s AND #t <= :upto")
                .expression_attribute_names("#s", index.shard)
                .expression_attribute_names("#t", index.at)
                .expression_attribute_values(":s", s(shard.to_string()))
                .expression_attribute_values(":upto", n(upto_ms))
                .limit(i32::try_from(limit - out.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            if index.alive_only {
                query = query
                    .filter_expression("attribute_not_exists(#x) OR #x > :now")
                    .expression_attribute_names("#x", "expires")
                    .expression_attribute_values(":now", n(upto_ms));
            }
            let page = query.send().await.map_err(sdk)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if out.len() < limit => start = Some(key),
                _ => return Ok(out),
            }
        }
    }
}
/// Why one attempt at creating a task did not land.
enum Refused {
    /// The owner's counters did not admit it.
    Quota,
    /// A task with its id exists (as returned, where the engine does).
    Exists(Option<Item>),
    Store(StoreError),
}

impl DynamoDbStore {
    /// One attempt: the counters' reservation, the listing entry and the
    /// task, together.
    async fn try_create(
        &self,
        record: &TaskRecord,
        task: &TaskItem,
        quota: &OwnerQuota,
        counted: Counted,
    ) -> Result<(), Refused> {
        let owner = &record.owner;
        let mut item = key(owner, task_sk(&record.id));
        item.extend(task.attributes.clone());
        item.insert("cb".into(), n(counted.bytes));
        item.insert("ca".into(), n(counted.active));
        let put_task = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| Refused::Store(backend(e)))?;
        let put_entry = Put::builder()
            .table_name(&self.table)
            .set_item(Some(key(owner, entry_sk(record))))
            .build()
            .map_err(|e| Refused::Store(backend(e)))?;
        let reserve = self
            .reserve(owner, quota, counted)
            .map_err(Refused::Store)?;
        let writes = vec![
            Write::Update(reserve),
            Write::Put(put_entry),
            Write::Put(put_task),
        ];
        match self.write_all(writes).await {
            Ok(()) => Ok(()),
            Err(WriteError::Condition { index: 0, .. }) => Err(Refused::Quota),
            Err(WriteError::Condition { item, .. }) => {
                if !self.engine.transactions.available() {
                    // One by one, the reservation and the entry were
                    // written: take them back.
                    let undo = self
                        .add_to_counters(owner, -1, -counted.active, -counted.bytes)
                        .map_err(Refused::Store)?;
                    let mut writes = vec![Write::Update(undo)];
                    let theirs = item.as_ref().map(decode).transpose().ok().flatten();
                    if theirs.is_none_or(|t| sort_key(&t) != sort_key(record)) {
                        let entry = Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(owner, entry_sk(record))))
                            .build()
                            .map_err(|e| Refused::Store(backend(e)))?;
                        writes.push(Write::Delete(entry));
                    }
                    if let Err(e) = self.write_all(writes).await {
                        tracing::warn!(owner = %owner, error = ?e, "could not take back a refused create's reservation; a recount will");
                    }
                }
                Err(Refused::Exists(item))
            }
            Err(WriteError::Store(e)) => Err(Refused::Store(e)),
        }
    }

    /// The refusal of a create the owner's counters did not admit, with
    /// what it holds; `None` if they admit it now.
    fn over_quota(quota: &OwnerQuota, counters: Counters, counted: Counted) -> Option<StoreError> {
        let mut usage = counters.usage();
        if counted.active == 0 {
            // A finished task takes no active slot.
            usage.active = 0;
        }
        quota.check(usage, counted.bytes.unsigned_abs()).err()
    }
}

#[async_trait]
impl TaskStore for DynamoDbStore {
    async fn create(
        &self,
        mut record: TaskRecord,
        quota: OwnerQuota,
        _now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        record.version = 1;
        if !key_fits(&record.owner, &record.id) {
            return Err(backend(format!(
                "an owner name of {} bytes is longer than DynamoDB can key ({} bytes at most)",
                record.owner.len(),
                MAX_PARTITION_KEY_BYTES - 2
            )));
        }
        let task = task_item(&record)?;
        let counted = Counted {
            bytes: i64::try_from(task.bytes).unwrap_or(i64::MAX),
            active: i64::from(!record.status.is_terminal()),
        };
        if never_fits(&quota, counted) {
            let counters = self.counters(&record.owner).await?;
            return Err(Self::over_quota(&quota, counters, counted)
                .unwrap_or_else(|| backend("a quota of zero admits no task")));
        }
        let mut repaired = false;
        for _ in 0..4 {
            match self.try_create(&record, &task, &quota, counted).await {
                Ok(()) => return Ok(Arc::new(record)),
                Err(Refused::Exists(item)) => {
                    // A retried request whose first attempt landed finds its
                    // own task: that is success, not a duplicate.
                    let existing = match item {
                        Some(item) => Some(item),
                        None => self.current(&record.owner, &record.id).await?,
                    };
                    return match existing.as_ref().map(decode).transpose()? {
                        Some(stored) if stored == record => Ok(Arc::new(record)),
                        _ => Err(StoreError::Duplicate),
                    };
                }
                Err(Refused::Quota) => {
                    // Counters that drifted (a task DynamoDB's TTL deleted)
                    // are rebuilt once before the owner is refused. Without
                    // transactions they cannot be: a create in flight has
                    // counted its task before writing it, and a recount
                    // would take that count back.
                    let counters = if repaired || !self.engine.transactions.confirmed() {
                        self.counters(&record.owner).await?
                    } else {
                        repaired = true;
                        self.repair(&record.owner).await?
                    };
                    if let Some(refusal) = Self::over_quota(&quota, counters, counted) {
                        return Err(refusal);
                    }
                }
                Err(Refused::Store(e)) => return Err(e),
            }
        }
        Err(backend(
            "the owner's counters kept changing under this create; try again",
        ))
    }

    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        if !key_fits(owner, id) {
            return Err(StoreError::NotFound);
        }
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(owner, task_sk(id))))
            .consistent_read(true)
            .projection_expression("expires, #r")
            .expression_attribute_names("#r", "record")
            .send()
            .await
            .map_err(sdk)?
            .item;
        match item {
            Some(item) if alive(&item, now.timestamp_millis()) => decode(&item).map(Arc::new),
            _ => Err(StoreError::NotFound),
        }
    }

    async fn compare_and_set(
        &self,
        mut record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        if !key_fits(&record.owner, &record.id) {
            return Err(StoreError::NotFound);
        }
        let expected = record.version;
        record.version += 1;
        let task = task_item(&record)?;
        let now_ms = now.timestamp_millis();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&record.owner, task_sk(&record.id))))
            .condition_expression(
                "attribute_exists(pk) AND #ver = :expected \
                 AND (attribute_not_exists(#exp) OR #exp > :now)",
            )
            .expression_attribute_names("#ver", "version")
            .expression_attribute_names("#exp", "expires")
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut sets = Vec::new();
        for (i, (name, value)) in task.attributes.iter().enumerate() {
            sets.push(format!("#s{i} = :s{i}"));
            update = update
                .expression_attribute_names(format!("#s{i}"), name)
                .expression_attribute_values(format!(":s{i}"), value.clone());
        }
        let mut removes = Vec::new();
        for (i, name) in OPTIONAL_ATTRIBUTES.iter().enumerate() {
            if !task.attributes.contains_key(*name) {
                removes.push(format!("#x{i}"));
                update = update.expression_attribute_names(format!("#x{i}"), *name);
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match update.update_expression(expression).send().await {
            Ok(out) => {
                let written = out.attributes.unwrap_or_default();
                self.settle(&record.owner, &record.id, &written).await;
                Ok(Arc::new(record))
            }
            Err(e) if is_condition_failure(&e) => {
                let current = match failed_item(&e) {
                    Some(item) => {
                        self.engine.condition_items.learn(true);
                        Some(item)
                    }
                    None => {
                        // No item back: either there is none, or the engine
                        // does not return it (learnt when the read finds one).
                        let read = self.current(&record.owner, &record.id).await?;
                        if read.is_some() {
                            self.engine.condition_items.learn(false);
                        }
                        read
                    }
                };
                let Some(current) = current.filter(|item| alive(item, now_ms)) else {
                    return Err(StoreError::NotFound);
                };
                let stored = decode(&current)?;
                // Our own write, landed by an earlier attempt of a retried
                // request: success (settled if it was not yet).
                if stored != record {
                    return Err(StoreError::Conflict {
                        current: Arc::new(stored),
                    });
                }
                self.settle(&record.owner, &record.id, &current).await;
                Ok(Arc::new(record))
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn usage(&self, owner: &str, _now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        if !owner_fits(owner) {
            return Ok(OwnerUsage::default());
        }
        Ok(self.counters(owner).await?.usage())
    }

    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        self.list_page(owner, cursor, limit, now).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let now_ms = now.timestamp_millis();
        let mut due = Vec::new();
        for shard in 0..SHARDS {
            due.extend(self.due(&BY_EXPIRY, shard, now_ms, 1000).await?);
        }
        let purged = futures::stream::iter(due)
            .map(|found| async move {
                let (Some(pk), Some(sk)) = (found.get("pk"), found.get("sk")) else {
                    return Ok(None);
                };
                let key =
                    Item::from([("pk".to_owned(), pk.clone()), ("sk".to_owned(), sk.clone())]);
                self.purge_one(key, now_ms).await
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        purged.into_iter().filter_map(Result::transpose).collect()
    }

    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError> {
        let now_ms = now.timestamp_millis();
        let mut lapsed = Vec::new();
        for shard in 0..SHARDS {
            for item in self.due(&BY_LEASE, shard, now_ms, limit).await? {
                lapsed.push((number(&item, "lease").unwrap_or(0), decode(&item)?));
            }
        }
        lapsed.sort_by_key(|(lease, _)| *lease);
        Ok(lapsed
            .into_iter()
            .take(limit)
            .map(|(_, r)| Arc::new(r))
            .collect())
    }
}

impl DynamoDbStore {
    /// Deletes the expired task under `key`, its listing entry, and its
    /// share of the owner's counters, together; the id if it was deleted
    /// here (not by another instance's sweep, and not changed meanwhile).
    async fn purge_one(&self, key: Item, now_ms: i64) -> Result<Option<String>, StoreError> {
        let Some(stored) = self.read(key.clone()).await? else {
            return Ok(None);
        };
        if alive(&stored, now_ms) {
            return Ok(None);
        }
        let record = decode(&stored)?;
        let counted = Counted::of(&stored);
        let task = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression("#ver = :v")
            .expression_attribute_names("#ver", "version")
            .expression_attribute_values(":v", n(number(&stored, "version").unwrap_or(0)))
            .build()
            .map_err(backend)?;
        let entry = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(&record.owner, entry_sk(&record))))
            .build()
            .map_err(backend)?;
        let counters = self.add_to_counters(&record.owner, -1, -counted.active, -counted.bytes)?;
        let writes = vec![
            Write::Delete(task),
            Write::Delete(entry),
            Write::Update(counters),
        ];
        match self.write_all(writes).await {
            Ok(()) => Ok(Some(record.id)),
            Err(WriteError::Condition { .. }) => Ok(None),
            Err(WriteError::Store(e)) => Err(e),
        }
    }
}
