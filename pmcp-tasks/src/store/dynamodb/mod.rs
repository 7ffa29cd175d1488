//! The DynamoDB backend: tasks shared by many instances, or by Lambda
//! invocations, with nothing to run yourself.
//!
//! One table, two kinds of item:
//!
//! | `pk` | attributes |
//! | --- | --- |
//! | `t#<id>` (a task) | `owner`, `sk`, `record` (JSON), `bytes` (its length), `version`, `st` (status), `expires` (ms) and `ttl` (s), `xs`, `lease` (ms) and `ls` |
//! | `o#<owner>` (an owner) | `active`: string set of the `sk` of the owner's unfinished tasks |
//!
//! and three global secondary indexes:
//!
//! | index | key | holds |
//! | --- | --- | --- |
//! | `by_owner` | `owner`, `sk` (creation time, then id) | every task, for `tasks/list` pages |
//! | `by_expiry` | `xs` (a shard), `expires` | tasks with a TTL, for the sweeper |
//! | `by_lease` | `ls` (a shard), `lease` | unfinished leased tasks, for recovery |
//!
//! Every write of a task is one conditional `PutItem` (the version must
//! still be the one read, the owner must match, the task must be alive);
//! a failed condition is never retried but answered with the item as it is
//! now (`ReturnValuesOnConditionCheckFailure`; engines without it cost one
//! more consistent read). The per-owner active limit is a conditional add
//! to the owner's `active` set before the task is written, released when
//! the task ends; members left behind by a crash or by native TTL deletion
//! are found stale and dropped when an owner hits the limit. The stored-task
//! and stored-byte quotas are checked from the owner's index just before
//! the write, so they are not atomic with it: concurrent creates of one
//! owner can pass them together, and the index lags. DynamoDB's own
//! TTL deletes items a day after they expired (a backstop: expiry is
//! checked at every read, and the sweeper deletes them on time).
//!
//! Indexes are eventually consistent on DynamoDB: a task shows in
//! `tasks/list` a moment after it is created. Reads by id are strongly
//! consistent.

mod item;
mod owners;
mod table;

use super::{OwnerQuota, OwnerUsage, StoreError, TaskPage, TaskStore};
use crate::domain::TaskRecord;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use item::*;

/// Tasks kept in a DynamoDB table.
#[derive(Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
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
}

impl DynamoDbStore {
    /// The item under `pk` as stored now (strongly consistent), if any.
    async fn read(&self, pk: AttributeValue) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", pk)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?
            .item)
    }

    /// The task item as stored now, if any.
    async fn current(&self, id: &str) -> Result<Option<Item>, StoreError> {
        self.read(task_key(id)).await
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
#[async_trait]
impl TaskStore for DynamoDbStore {
    async fn create(
        &self,
        mut record: TaskRecord,
        quota: OwnerQuota,
        now: DateTime<Utc>,
    ) -> Result<TaskRecord, StoreError> {
        record.version = 1;
        if !owner_fits(&record.owner) {
            return Err(backend(format!(
                "an owner name of {} bytes is longer than DynamoDB can key ({} bytes at most)",
                record.owner.len(),
                MAX_PARTITION_KEY_BYTES - 2
            )));
        }
        let item = task_item(&record)?;
        let member = sort_key(&record);
        let active = !record.status.is_terminal();
        if quota.max_stored < usize::MAX || quota.max_stored_bytes < u64::MAX {
            let bytes = number(&item, "bytes").unwrap_or(0).unsigned_abs();
            let (stored, held) = self.stored(&record.owner, now).await?;
            let usage = OwnerUsage {
                active: 0,
                stored,
                bytes: held,
            };
            quota.check(usage, bytes)?;
        }
        if active {
            self.reserve(&record.owner, &member, quota.max_active, now)
                .await?;
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let failure = match put {
            Ok(_) => return Ok(record),
            Err(e) => e,
        };
        let answer = if is_condition_failure(&failure) {
            // A retried request whose first attempt landed finds its own
            // item: that is success, not a duplicate.
            let existing = match failed_item(&failure) {
                Some(item) => Some(item),
                None => self.current(&record.id).await?,
            };
            match existing.as_ref().map(decode).transpose()? {
                Some(stored) if stored == record => return Ok(record),
                _ => Err(StoreError::Duplicate),
            }
        } else {
            Err(sdk(failure))
        };
        if active {
            self.release(&record.owner, member).await;
        }
        answer
    }

    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<TaskRecord, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", task_key(id))
            .consistent_read(true)
            .projection_expression("#o, expires, #r")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_names("#r", "record")
            .send()
            .await
            .map_err(sdk)?
            .item;
        match item {
            Some(item)
                if text(&item, "owner") == Some(owner) && alive(&item, now.timestamp_millis()) =>
            {
                decode(&item)
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn compare_and_set(
        &self,
        mut record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<TaskRecord, StoreError> {
        let expected = record.version;
        record.version += 1;
        let item = task_item(&record)?;
        let now_ms = now.timestamp_millis();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "#v = :v AND #o = :o AND (attribute_not_exists(expires) OR expires > :now)",
            )
            .expression_attribute_names("#v", "version")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":v", n(expected))
            .expression_attribute_values(":o", s(&record.owner))
            .expression_attribute_values(":now", n(now_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(e) if is_condition_failure(&e) => {
                let current = match failed_item(&e) {
                    Some(item) => Some(item),
                    None => self.current(&record.id).await?,
                };
                let Some(current) = current else {
                    return Err(StoreError::NotFound);
                };
                if text(&current, "owner") != Some(record.owner.as_str())
                    || !alive(&current, now_ms)
                {
                    return Err(StoreError::NotFound);
                }
                let current = decode(&current)?;
                // Our own write, landed by an earlier attempt of a retried
                // request: success.
                if current != record {
                    return Err(StoreError::Conflict {
                        current: Box::new(current),
                    });
                }
            }
            Err(e) => return Err(sdk(e)),
        }
        if record.status.is_terminal() {
            self.release(&record.owner, sort_key(&record)).await;
        }
        Ok(record)
    }

    async fn usage(&self, owner: &str, now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        if !owner_fits(owner) {
            return Ok(OwnerUsage::default());
        }
        let (stored, bytes) = self.stored(owner, now).await?;
        Ok(OwnerUsage {
            active: self.active_count(owner).await?,
            stored,
            bytes,
        })
    }

    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        let from = match cursor {
            None => None,
            Some(c) => {
                let sk = super::cursor::open('d', owner, c)?;
                parse_sort_key(sk).ok_or(StoreError::InvalidCursor)?;
                Some(sk.to_owned())
            }
        };
        let limit = limit.max(1);
        let now_ms = now.timestamp_millis();
        let mut found: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("by_owner")
                .expression_attribute_names("#o", "owner")
                .expression_attribute_values(":o", s(owner))
                .filter_expression("attribute_not_exists(expires) OR expires > :now")
                .expression_attribute_values(":now", n(now_ms))
                .limit(i32::try_from(limit + 1 - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            query = match &from {
                Some(sk) => query
                    .key_condition_expression("#o = :o AND sk >= :from")
                    .expression_attribute_values(":from", s(sk)),
                None => query.key_condition_expression("#o = :o"),
            };
            let page = query.send().await.map_err(sdk)?;
            found.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if found.len() <= limit => start = Some(key),
                _ => break,
            }
        }
        let next_cursor = if found.len() > limit {
            let next = found
                .pop()
                .and_then(|item| text(&item, "sk").map(str::to_owned));
            let next = next.ok_or_else(|| backend("a task item has no sk"))?;
            Some(super::cursor::seal('d', owner, &next))
        } else {
            None
        };
        Ok(TaskPage {
            tasks: found.iter().map(decode).collect::<Result<_, _>>()?,
            next_cursor,
        })
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let now_ms = now.timestamp_millis();
        let mut due = Vec::new();
        for shard in 0..SHARDS {
            due.extend(self.due(&BY_EXPIRY, shard, now_ms, 1000).await?);
        }
        let deleted =
            futures::stream::iter(due.into_iter().filter_map(|item| item.get("pk").cloned()))
                .map(|pk| async move {
                    let out = self
                        .client
                        .delete_item()
                        .table_name(&self.table)
                        .key("pk", pk)
                        .condition_expression("expires <= :now")
                        .expression_attribute_values(":now", n(now_ms))
                        .return_values(ReturnValue::AllOld)
                        .send()
                        .await;
                    match out {
                        Ok(out) => Ok(out.attributes),
                        // Someone else's sweep deleted it first.
                        Err(e) if is_condition_failure(&e) => Ok(None),
                        Err(e) => Err(sdk(e)),
                    }
                })
                .buffer_unordered(16)
                .collect::<Vec<_>>()
                .await;
        let mut ids = Vec::new();
        for old in deleted {
            let Some(old) = old? else { continue };
            let record = decode(&old)?;
            if !record.status.is_terminal() {
                self.release(&record.owner, sort_key(&record)).await;
            }
            ids.push(record.id);
        }
        Ok(ids)
    }

    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let now_ms = now.timestamp_millis();
        let mut lapsed = Vec::new();
        for shard in 0..SHARDS {
            for item in self.due(&BY_LEASE, shard, now_ms, limit).await? {
                lapsed.push((number(&item, "lease").unwrap_or(0), decode(&item)?));
            }
        }
        lapsed.sort_by_key(|(lease, _)| *lease);
        Ok(lapsed.into_iter().take(limit).map(|(_, r)| r).collect())
    }
}
