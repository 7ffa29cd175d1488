//! The DynamoDB backend: tasks shared by many instances, or by Lambda
//! invocations, with nothing to run yourself.
//!
//! One table, two kinds of item:
//!
//! | `pk` | attributes |
//! | --- | --- |
//! | `t#<id>` (a task) | `owner`, `sk`, `record` (JSON), `version`, `st` (status), `expires` (ms) and `ttl` (s), `xs`, `lease` (ms) and `ls` |
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
//! are found stale and dropped when an owner hits the limit. DynamoDB's own
//! TTL deletes items a day after they expired (a backstop: expiry is
//! checked at every read, and the sweeper deletes them on time).
//!
//! Indexes are eventually consistent on DynamoDB: a task shows in
//! `tasks/list` a moment after it is created. Reads by id are strongly
//! consistent.

use super::{StoreError, TaskPage, TaskStore};
use crate::domain::TaskRecord;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, KeysAndAttributes, Projection, ProjectionType, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// DynamoDB's limit on one item, attribute names included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// How many partitions the expiry and lease indexes are spread over, so no
/// single index partition takes every task's writes.
const SHARDS: u32 = 8;

/// How long after its TTL DynamoDB's own expiry may delete a task.
const BACKSTOP_SECS: i64 = 24 * 60 * 60;

/// A reservation in an owner's active set with no task item is only taken
/// for a crash's leftover once it is this old (a create in flight writes
/// its task right after reserving).
const STALE_RESERVATION: chrono::Duration = chrono::Duration::seconds(60);

type Item = HashMap<String, AttributeValue>;

/// A sharded index of tasks by a time (`at`, in ms).
struct TimeIndex {
    name: &'static str,
    shard: &'static str,
    at: &'static str,
    /// Skip tasks whose TTL ran out.
    alive_only: bool,
}

const BY_EXPIRY: TimeIndex = TimeIndex {
    name: "by_expiry",
    shard: "xs",
    at: "expires",
    alive_only: false,
};

const BY_LEASE: TimeIndex = TimeIndex {
    name: "by_lease",
    shard: "ls",
    at: "lease",
    alive_only: true,
};

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

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("dynamodb: {e}"))
}

fn sdk<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    backend(DisplayErrorContext(&e))
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn task_key(id: &str) -> AttributeValue {
    s(format!("t#{id}"))
}

fn owner_key(owner: &str) -> AttributeValue {
    s(format!("o#{owner}"))
}

/// The listing order: creation time (ms, fixed-width hex), then id. It is
/// also the task's member in its owner's active set.
fn sort_key(record: &TaskRecord) -> String {
    format!(
        "{:016x}#{}",
        record.created_at.timestamp_millis().max(0),
        record.id
    )
}

/// When a member of an active set was created, and its task id.
fn parse_sort_key(sk: &str) -> Option<(DateTime<Utc>, &str)> {
    let (ms, id) = sk.split_once('#')?;
    if ms.len() != 16 || id.is_empty() {
        return None;
    }
    let ms = i64::from_str_radix(ms, 16).ok()?;
    Some((DateTime::from_timestamp_millis(ms)?, id))
}

/// A stable shard of a task id (not `std`'s hasher: it is seeded per process).
fn shard(id: &str) -> String {
    let h = id.bytes().fold(2_166_136_261_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    (h % SHARDS).to_string()
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// Whether a stored `st` names a terminal status.
fn is_terminal_status(st: &str) -> bool {
    crate::domain::TaskStatus::ALL
        .iter()
        .any(|s| s.is_terminal() && s.as_str() == st)
}

fn decode(item: &Item) -> Result<TaskRecord, StoreError> {
    let json = text(item, "record").ok_or_else(|| backend("a task item has no record"))?;
    serde_json::from_str(json).map_err(|e| backend(format!("a stored task does not decode: {e}")))
}

/// Whether a task item is alive (not expired) at `now_ms`.
fn alive(item: &Item, now_ms: i64) -> bool {
    number(item, "expires").is_none_or(|at| at > now_ms)
}

/// The size DynamoDB counts for an item: names plus values (numbers at
/// their largest encoding).
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(v) => v.len(),
                    AttributeValue::Ss(vs) => vs.iter().map(String::len).sum(),
                    _ => 21,
                }
        })
        .sum()
}

/// The item of a task record, refused before any write if DynamoDB would
/// refuse it.
fn task_item(record: &TaskRecord) -> Result<Item, StoreError> {
    let json = serde_json::to_string(record).map_err(backend)?;
    let mut item = Item::from([
        ("pk".to_owned(), task_key(&record.id)),
        ("owner".to_owned(), s(&record.owner)),
        ("sk".to_owned(), s(sort_key(record))),
        ("record".to_owned(), s(json)),
        ("version".to_owned(), n(record.version)),
        ("st".to_owned(), s(record.status.to_string())),
    ]);
    if let Some(at) = record.expires_at() {
        let ms = at.timestamp_millis();
        item.insert("expires".into(), n(ms));
        item.insert("ttl".into(), n(ms / 1000 + BACKSTOP_SECS));
        item.insert("xs".into(), s(shard(&record.id)));
    }
    if let Some(until) = record.lease_deadline() {
        item.insert("lease".into(), n(until.timestamp_millis()));
        item.insert("ls".into(), s(shard(&record.id)));
    }
    let size = item_size(&item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge {
            bytes: size,
            limit: MAX_ITEM_BYTES,
        });
    }
    Ok(item)
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

    /// Connects to `table` with the AWS configuration of the environment
    /// (region, credentials: what Lambda and the AWS CLI use), or to a
    /// local DynamoDB at `endpoint`; with an endpoint and no credentials in
    /// the environment, fixed local ones are used. Creates the table if it
    /// does not exist, and fails if it cannot be reached now.
    pub async fn connect(table: &str, endpoint: Option<&str>) -> Result<Self, StoreError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            );
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint).region(
                aws_config::meta::region::RegionProviderChain::default_provider()
                    .or_else("us-east-1"),
            );
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "pmcp-tasks",
                ));
            }
        }
        let store = Self::new(Client::new(&loader.load().await), table);
        store.ensure_table().await?;
        Ok(store)
    }

    /// Checks that the table exists with the indexes this store queries,
    /// creating it if it is missing; returns whether it was created.
    pub async fn ensure_table(&self) -> Result<bool, StoreError> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        let table = match described {
            Ok(out) => out.table,
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                self.create_table().await?;
                return Ok(true);
            }
            Err(e) => return Err(sdk(e)),
        };
        let indexes: Vec<&str> = table
            .as_ref()
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i.index_name())
            .collect();
        for wanted in ["by_owner", "by_expiry", "by_lease"] {
            if !indexes.contains(&wanted) {
                return Err(backend(format!(
                    "table {} has no index {wanted}: it was not made for pmcp-tasks \
                     (see DynamoDbStore::create_table for the layout)",
                    self.table
                )));
            }
        }
        Ok(false)
    }

    /// Creates the table (on-demand billing) with its three indexes, waits
    /// until it is active, and turns on DynamoDB's TTL on `ttl` (an engine
    /// without TTL gets a warning: the sweeper deletes expired tasks anyway).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .map_err(backend)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(backend)
        };
        let index = |name: &str, hash: &str, range: &str, projection: ProjectionType| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .key_schema(key(range, KeyType::Range)?)
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(backend)
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .attribute_definitions(attr("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("owner", ScalarAttributeType::S)?)
            .attribute_definitions(attr("sk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("xs", ScalarAttributeType::S)?)
            .attribute_definitions(attr("expires", ScalarAttributeType::N)?)
            .attribute_definitions(attr("ls", ScalarAttributeType::S)?)
            .attribute_definitions(attr("lease", ScalarAttributeType::N)?)
            .global_secondary_indexes(index("by_owner", "owner", "sk", ProjectionType::All)?)
            .global_secondary_indexes(index(
                "by_expiry",
                "xs",
                "expires",
                ProjectionType::KeysOnly,
            )?)
            .global_secondary_indexes(index("by_lease", "ls", "lease", ProjectionType::All)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Another instance is creating it right now: wait for it below.
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => {
                return Err(backend(format!(
                    "table {} does not exist and cannot be created: {}",
                    self.table,
                    DisplayErrorContext(&e)
                )))
            }
        }
        for _ in 0..600 {
            let status = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(sdk)?
                .table
                .and_then(|t| t.table_status);
            if status == Some(TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ttl = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build()
                    .map_err(backend)?,
            )
            .send()
            .await;
        if let Err(e) = ttl {
            tracing::warn!(table = %self.table, error = %DisplayErrorContext(&e),
                "could not turn on DynamoDB TTL; the sweeper still deletes expired tasks");
        }
        tracing::info!(table = %self.table, "created the DynamoDB table for tasks");
        Ok(())
    }

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

    /// Adds `member` to the owner's active set unless it already holds
    /// `max_active` members; when full, drops stale members once and tries
    /// again.
    async fn reserve(
        &self,
        owner: &str,
        member: &str,
        max_active: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if self.try_reserve(owner, member, max_active).await? {
            return Ok(());
        }
        let active = self.drop_stale(owner, now).await?;
        if active < max_active {
            if self.try_reserve(owner, member, max_active).await? {
                return Ok(());
            }
            // Another create took the freed slot: report the count now.
            return Err(StoreError::LimitExceeded {
                active: self.drop_stale(owner, now).await?,
                limit: max_active,
            });
        }
        Err(StoreError::LimitExceeded {
            active,
            limit: max_active,
        })
    }

    /// One conditional add of `member` to the owner's active set; `false`
    /// if the set is full.
    async fn try_reserve(
        &self,
        owner: &str,
        member: &str,
        max_active: usize,
    ) -> Result<bool, StoreError> {
        let added = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", owner_key(owner))
            .update_expression("ADD #a :m")
            .condition_expression(
                "(attribute_not_exists(#a) AND :max > :zero) OR size(#a) < :max OR contains(#a, :s)",
            )
            .expression_attribute_names("#a", "active")
            .expression_attribute_values(":m", AttributeValue::Ss(vec![member.to_owned()]))
            .expression_attribute_values(":s", s(member))
            .expression_attribute_values(":max", n(max_active))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match added {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(sdk(e)),
        }
    }

    /// Removes `member` from the owner's active set (the task ended). A
    /// failure only leaves a stale member behind, which the limit check
    /// drops later, so it is logged rather than returned.
    async fn release(&self, owner: &str, member: String) {
        if let Err(e) = self.remove_active(owner, vec![member]).await {
            tracing::warn!(owner = %owner, error = %e,
                "could not release an ended task's slot; it is dropped at the next limit check");
        }
    }

    /// Removes `members` from the owner's active set.
    async fn remove_active(&self, owner: &str, members: Vec<String>) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", owner_key(owner))
            .update_expression("DELETE #a :m")
            .expression_attribute_names("#a", "active")
            .expression_attribute_values(":m", AttributeValue::Ss(members))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// Drops the members of the owner's active set whose task ended,
    /// expired, or (after a grace period) does not exist; returns how many
    /// remain.
    async fn drop_stale(&self, owner: &str, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let members: Vec<String> = self
            .read(owner_key(owner))
            .await?
            .and_then(|mut item| item.remove("active"))
            .and_then(|v| v.as_ss().ok().cloned())
            .unwrap_or_default();
        let mut found: HashMap<String, Item> = HashMap::new();
        for chunk in members.chunks(100) {
            let mut keys: Vec<Item> = chunk
                .iter()
                .filter_map(|m| parse_sort_key(m))
                .map(|(_, id)| Item::from([("pk".to_owned(), task_key(id))]))
                .collect();
            while !keys.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .projection_expression("pk, #o, st, expires")
                    .expression_attribute_names("#o", "owner")
                    .build()
                    .map_err(backend)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(sdk)?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    if let Some(pk) = text(&item, "pk") {
                        found.insert(pk.to_owned(), item);
                    }
                }
                keys = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        let now_ms = now.timestamp_millis();
        let stale: Vec<String> = members
            .iter()
            .filter(|m| match parse_sort_key(m) {
                None => true,
                Some((created, id)) => match found.get(&format!("t#{id}")) {
                    None => now - created > STALE_RESERVATION,
                    Some(item) => {
                        text(item, "owner") != Some(owner)
                            || !alive(item, now_ms)
                            || text(item, "st").is_some_and(is_terminal_status)
                    }
                },
            })
            .cloned()
            .collect();
        let remaining = members.len() - stale.len();
        if !stale.is_empty() {
            tracing::info!(owner = %owner, stale = stale.len(), "dropping stale active-task reservations");
            self.remove_active(owner, stale).await?;
        }
        Ok(remaining)
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
        max_active: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskRecord, StoreError> {
        record.version = 1;
        let item = task_item(&record)?;
        let member = sort_key(&record);
        let active = !record.status.is_terminal();
        if active {
            self.reserve(&record.owner, &member, max_active, now)
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

/// The item a failed conditional put returned, where the engine supports
/// `ReturnValuesOnConditionCheckFailure`.
fn failed_item<R>(e: &SdkError<PutItemError, R>) -> Option<Item> {
    match e.as_service_error()? {
        PutItemError::ConditionalCheckFailedException(e) => e.item().cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_by_creation_and_parse_back() {
        let early = DateTime::from_timestamp_millis(1_000).unwrap();
        let late = DateTime::from_timestamp_millis(1_000_000_000_000).unwrap();
        let a = format!("{:016x}#zzz", early.timestamp_millis());
        let b = format!("{:016x}#aaa", late.timestamp_millis());
        assert!(a < b);
        assert_eq!(parse_sort_key(&b), Some((late, "aaa")));
        assert_eq!(parse_sort_key("12#x"), None);
        assert_eq!(parse_sort_key("000000000000000g#x"), None);
        assert_eq!(parse_sort_key("0000000000000001#"), None);
    }

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard("a"), shard("a"));
        let used: std::collections::HashSet<String> =
            (0..200).map(|i| shard(&format!("task-{i}"))).collect();
        assert_eq!(used.len(), SHARDS as usize);
    }
}
