//! How a task is laid out as a DynamoDB item, and the small helpers every
//! part of the store shares.

use super::super::StoreError;
use crate::domain::TaskRecord;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub(super) const MAX_ITEM_BYTES: usize = 400 * 1024;

/// How many partitions the expiry and lease indexes are spread over, so no
/// single index partition takes every task's writes.
pub(super) const SHARDS: u32 = 8;

/// How long after its TTL DynamoDB's own expiry may delete a task.
pub(super) const BACKSTOP_SECS: i64 = 24 * 60 * 60;

/// A listing entry with no task is only taken for a leftover (of a crash,
/// or of a create refused on an engine without transactions) once it is
/// this old: a create in flight writes its entry just before its task.
pub(super) const STALE_ENTRY: chrono::Duration = chrono::Duration::seconds(60);

pub(super) type Item = HashMap<String, AttributeValue>;

/// A sharded index of tasks by a time (`at`, in ms).
pub(super) struct TimeIndex {
    pub(super) name: &'static str,
    pub(super) shard: &'static str,
    pub(super) at: &'static str,
    /// Skip tasks whose TTL ran out.
    pub(super) alive_only: bool,
}

pub(super) const BY_EXPIRY: TimeIndex = TimeIndex {
    name: "by_expiry",
    shard: "xs",
    at: "expires",
    alive_only: false,
};

pub(super) const BY_LEASE: TimeIndex = TimeIndex {
    name: "by_lease",
    shard: "ls",
    at: "lease",
    alive_only: true,
};

pub(super) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("dynamodb: {e}"))
}

pub(super) fn sdk<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    backend(DisplayErrorContext(&e))
}

pub(super) fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The partition of an owner: its tasks, their listing entries and its
/// counters.
pub(super) fn owner_key(owner: &str) -> AttributeValue {
    s(format!("o#{owner}"))
}

/// A task's sort key in its owner's partition.
pub(super) fn task_sk(id: &str) -> AttributeValue {
    s(format!("t#{id}"))
}

/// The sort key of the owner's counters item.
pub(super) const COUNTERS_SK: &str = "n";

/// The prefix of listing entries' sort keys (`l#` then [`sort_key`]).
pub(super) const ENTRY_PREFIX: &str = "l#";

/// A listing entry's sort key: tasks list in this order.
pub(super) fn entry_sk(record: &TaskRecord) -> AttributeValue {
    s(format!("{ENTRY_PREFIX}{}", sort_key(record)))
}

/// The key of an item in `owner`'s partition.
pub(super) fn key(owner: &str, sk: AttributeValue) -> Item {
    Item::from([("pk".to_owned(), owner_key(owner)), ("sk".to_owned(), sk)])
}

/// DynamoDB's bound on a partition key, in bytes.
pub(super) const MAX_PARTITION_KEY_BYTES: usize = 2048;

/// Whether `owner` can be keyed at all: a longer name cannot hold tasks
/// (creating one is refused), so it holds none.
pub(super) fn owner_fits(owner: &str) -> bool {
    owner.len() + 2 <= MAX_PARTITION_KEY_BYTES
}

/// DynamoDB's bound on a sort key, in bytes.
const MAX_SORT_KEY_BYTES: usize = 1024;

/// Whether a task of `owner` with `id` can be keyed: one that cannot does
/// not exist.
pub(super) fn key_fits(owner: &str, id: &str) -> bool {
    owner_fits(owner) && id.len() + 2 + 16 + 3 <= MAX_SORT_KEY_BYTES
}

/// The listing order: creation time (ms, fixed-width hex), then id.
pub(super) fn sort_key(record: &TaskRecord) -> String {
    format!(
        "{:016x}#{}",
        record.created_at.timestamp_millis().max(0),
        record.id
    )
}

/// A listing position's creation time and task id.
pub(super) fn parse_sort_key(sk: &str) -> Option<(DateTime<Utc>, &str)> {
    let (ms, id) = sk.split_once('#')?;
    if ms.len() != 16 || id.is_empty() {
        return None;
    }
    let ms = i64::from_str_radix(ms, 16).ok()?;
    Some((DateTime::from_timestamp_millis(ms)?, id))
}

/// A stable shard of a task id (not `std`'s hasher: it is seeded per process).
pub(super) fn shard(id: &str) -> String {
    let h = id.bytes().fold(2_166_136_261_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    (h % SHARDS).to_string()
}

pub(super) fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(super) fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// Whether a stored `st` names a terminal status.
pub(super) fn is_terminal_status(st: &str) -> bool {
    crate::domain::TaskStatus::ALL
        .iter()
        .any(|s| s.is_terminal() && s.as_str() == st)
}

pub(super) fn decode(item: &Item) -> Result<TaskRecord, StoreError> {
    let json = text(item, "record").ok_or_else(|| backend("a task item has no record"))?;
    serde_json::from_str(json).map_err(|e| backend(format!("a stored task does not decode: {e}")))
}

/// Whether a task item is alive (not expired) at `now_ms`.
pub(super) fn alive(item: &Item, now_ms: i64) -> bool {
    number(item, "expires").is_none_or(|at| at > now_ms)
}

/// The size DynamoDB counts for an item: names plus values (numbers at
/// their largest encoding).
pub(super) fn item_size(item: &Item) -> usize {
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

/// A task record's stored form: the item's attributes besides its key and
/// the counted `cb`/`ca` (see [`Counted`]), refused before any write if
/// DynamoDB would refuse the item.
pub(super) struct TaskItem {
    pub(super) attributes: Item,
    /// The record's size as the owner's byte quota counts it.
    pub(super) bytes: u64,
}

pub(super) fn task_item(record: &TaskRecord) -> Result<TaskItem, StoreError> {
    let json = serde_json::to_string(record).map_err(backend)?;
    let bytes = json.len() as u64;
    let mut item = Item::from([
        ("record".to_owned(), s(json)),
        ("version".to_owned(), n(record.version)),
        ("st".to_owned(), s(record.status.to_string())),
        ("bytes".to_owned(), n(bytes)),
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
    // The key and the counted attributes take at most this much.
    let size = item_size(&item) + (4 + record.owner.len()) + (4 + record.id.len()) + 2 * (2 + 21);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge {
            bytes: size,
            limit: MAX_ITEM_BYTES,
        });
    }
    Ok(TaskItem {
        attributes: item,
        bytes,
    })
}

/// The attributes a task item may lack, removed when a write leaves them out.
pub(super) const OPTIONAL_ATTRIBUTES: [&str; 5] = ["expires", "ttl", "xs", "lease", "ls"];

/// What the owner's counters hold for one task: `cb` its bytes and `ca`
/// whether it is unfinished (1 or 0), as last added to the counters. A
/// task's write changes the record first and then settles the difference
/// into the counters, so the counters always equal the sum of `cb`/`ca`
/// over the owner's task items (and a recount can rebuild them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Counted {
    pub(super) bytes: i64,
    pub(super) active: i64,
}

impl Counted {
    /// What a task item says it counts (`cb`, `ca`).
    pub(super) fn of(item: &Item) -> Counted {
        Counted {
            bytes: number(item, "cb").unwrap_or(0),
            active: number(item, "ca").unwrap_or(0),
        }
    }

    /// What a task item should count now (`bytes`, `st`).
    pub(super) fn due(item: &Item) -> Counted {
        Counted {
            bytes: number(item, "bytes").unwrap_or(0),
            active: i64::from(!text(item, "st").is_some_and(is_terminal_status)),
        }
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
