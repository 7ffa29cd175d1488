//! The Redis backend: tasks shared by many server instances.
//!
//! Every operation is one Lua script, so one round trip and atomic. Keys,
//! all under one hash tag (so a Redis Cluster keeps them in one slot):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{prefix}:task:<id>` | hash | `record` (JSON), `owner`, `version`, `expires` (ms or empty) |
//! | `{prefix}:owner:<owner>` | sorted set | the owner's task ids by creation sequence (listing) |
//! | `{prefix}:active:<owner>` | set | the owner's unfinished task ids (`SCARD`: the count) |
//! | `{prefix}:bytes` | hash | owner → the size of its stored records (the byte quota) |
//! | `{prefix}:sizes` | hash | task id → the size counted for it in `bytes` (subtracted at purge, even if the task key is already gone) |
//! | `{prefix}:expiry` | sorted set | `owner\nid` by expiry time (the sweeper's index) |
//! | `{prefix}:leases` | sorted set | `owner\nid` of unfinished tasks by lease deadline (recovery) |
//! | `{prefix}:seq` | string | the creation sequence |
//! | `{prefix}:changes` | pub/sub channel | the id of every task written (the change feed) |
//!
//! Expiry is checked at read time; the sweeper deletes expired tasks from
//! every index, and each task key also carries a Redis expiry a day after
//! its TTL as a backstop.

mod persistence;

pub use persistence::Persistence;

use super::{ChangeFeed, OwnerQuota, OwnerUsage, QuotaKind, StoreError, TaskPage, TaskStore};
use crate::domain::TaskRecord;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use redis::aio::ConnectionManager;
use redis::{Script, Value as RedisValue};
use std::sync::Arc;

/// How long a task key outlives its TTL before Redis drops it by itself.
const BACKSTOP_MS: i64 = 24 * 60 * 60 * 1000;

/// Tasks kept in Redis.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    /// For the change feed's own connection (pub/sub needs one).
    client: redis::Client,
    prefix: String,
    scripts: std::sync::Arc<Scripts>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

struct Scripts {
    create: Script,
    get: Script,
    cas: Script,
    list: Script,
    purge: Script,
    expired_leases: Script,
}

const CREATE: &str = r#"
local task, ownerz, active, expiry, seqkey, leases, held, sizes = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local id, owner, record, is_active, expires, max_active, backstop, lease, changes = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9]
local max_stored, max_bytes = tonumber(ARGV[10]), tonumber(ARGV[11])
if redis.call('EXISTS', task) == 1 then return {'duplicate'} end
local count = redis.call('SCARD', active)
if count >= max_active then return {'limit', 'active', count} end
local stored = redis.call('ZCARD', ownerz)
if stored >= max_stored then return {'limit', 'stored', stored} end
local bytes = tonumber(redis.call('HGET', held, owner) or '0') + #record
if bytes > max_bytes then return {'limit', 'bytes', bytes} end
redis.call('HINCRBY', held, owner, #record)
redis.call('HSET', sizes, id, #record)
local seq = redis.call('INCR', seqkey)
redis.call('HSET', task, 'record', record, 'owner', owner, 'version', 1, 'expires', expires)
redis.call('ZADD', ownerz, seq, id)
if lease ~= '' then redis.call('ZADD', leases, lease, owner .. '\n' .. id) end
if is_active == '1' then redis.call('SADD', active, id) end
if expires ~= '' then
  redis.call('ZADD', expiry, expires, owner .. '\n' .. id)
  redis.call('PEXPIREAT', task, backstop)
end
redis.call('PUBLISH', changes, id)
return {'ok', seq}
"#;

const GET: &str = r#"
local fields = redis.call('HMGET', KEYS[1], 'owner', 'expires', 'record')
if not fields[1] or fields[1] ~= ARGV[1] then return {'notfound'} end
if fields[2] ~= '' and tonumber(fields[2]) <= tonumber(ARGV[2]) then return {'notfound'} end
return {'ok', fields[3]}
"#;

const CAS: &str = r#"
local task, active, expiry, leases, held, sizes = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local owner, expected, record, is_active, expires, now, id, backstop, lease, changes = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local fields = redis.call('HMGET', task, 'owner', 'expires', 'record', 'version')
if not fields[1] or fields[1] ~= owner then return {'notfound'} end
if fields[2] ~= '' and tonumber(fields[2]) <= now then return {'notfound'} end
if fields[4] ~= expected then return {'conflict', fields[3]} end
redis.call('HSET', task, 'record', record, 'version', tonumber(expected) + 1, 'expires', expires)
-- A task written before sizes were kept was never counted: count it now.
local counted = tonumber(redis.call('HGET', sizes, id) or '0')
if redis.call('HINCRBY', held, owner, #record - counted) <= 0 then redis.call('HDEL', held, owner) end
redis.call('HSET', sizes, id, #record)
if is_active == '1' then redis.call('SADD', active, id) else redis.call('SREM', active, id) end
if lease ~= '' then redis.call('ZADD', leases, lease, owner .. '\n' .. id) else redis.call('ZREM', leases, owner .. '\n' .. id) end
if fields[2] ~= expires then
  redis.call('ZREM', expiry, owner .. '\n' .. id)
  if expires ~= '' then
    redis.call('ZADD', expiry, expires, owner .. '\n' .. id)
    redis.call('PEXPIREAT', task, backstop)
  else
    redis.call('PERSIST', task)
  end
end
redis.call('PUBLISH', changes, id)
return {'ok'}
"#;

const LIST: &str = r#"
local ownerz, taskprefix = KEYS[1], ARGV[1]
local start, limit, now = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local next = ''
local offset = 0
while true do
  local batch = redis.call('ZRANGEBYSCORE', ownerz, start, '+inf', 'WITHSCORES', 'LIMIT', offset, 100)
  if #batch == 0 then break end
  for i = 1, #batch, 2 do
    local fields = redis.call('HMGET', taskprefix .. batch[i], 'expires', 'record')
    if fields[2] and (fields[1] == '' or tonumber(fields[1]) > now) then
      if #out == limit then
        next = batch[i + 1]
        return {next, out}
      end
      out[#out + 1] = fields[2]
    end
  end
  offset = offset + 100
end
return {next, out}
"#;

const PURGE: &str = r#"
local expiry, prefix, now = KEYS[1], ARGV[1], ARGV[2]
local members = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 1000)
local ids = {}
for _, member in ipairs(members) do
  local cut = string.find(member, '\n', 1, true)
  local owner, id = string.sub(member, 1, cut - 1), string.sub(member, cut + 1)
  local size = tonumber(redis.call('HGET', prefix .. 'sizes', id) or '0')
  if size > 0 and redis.call('HINCRBY', prefix .. 'bytes', owner, -size) <= 0 then
    redis.call('HDEL', prefix .. 'bytes', owner)
  end
  redis.call('HDEL', prefix .. 'sizes', id)
  redis.call('DEL', prefix .. 'task:' .. id)
  redis.call('ZREM', prefix .. 'owner:' .. owner, id)
  redis.call('SREM', prefix .. 'active:' .. owner, id)
  redis.call('ZREM', expiry, member)
  redis.call('ZREM', prefix .. 'leases', member)
  ids[#ids + 1] = id
end
return ids
"#;

const EXPIRED_LEASES: &str = r#"
local leases, prefix, now, limit = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local members = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, member in ipairs(members) do
  local cut = string.find(member, '\n', 1, true)
  local id = string.sub(member, cut + 1)
  local fields = redis.call('HMGET', prefix .. 'task:' .. id, 'expires', 'record')
  if fields[2] and (fields[1] == '' or tonumber(fields[1]) > tonumber(now)) then
    out[#out + 1] = fields[2]
  end
end
return out
"#;

fn lease(record: &TaskRecord) -> String {
    record
        .lease_deadline()
        .map(|at| at.timestamp_millis().to_string())
        .unwrap_or_default()
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("redis: {e}"))
}

/// A failed Redis call: the server out of reach (refused, dropped, timed
/// out) is [`StoreError::Unavailable`], anything else a backend error.
fn failed(e: redis::RedisError) -> StoreError {
    use redis::{ErrorKind, ServerErrorKind as S};
    // Loading its data after a restart, or failing over, Redis answers
    // but cannot serve yet: as good as away.
    let not_serving = matches!(
        e.kind(),
        ErrorKind::Server(
            S::BusyLoading | S::TryAgain | S::ClusterDown | S::MasterDown | S::ReadOnly
        )
    );
    if not_serving
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
    {
        StoreError::Unavailable(format!("redis: {e}"))
    } else {
        backend(e)
    }
}

fn encode(record: &TaskRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(backend)
}

fn decode(bytes: &[u8]) -> Result<TaskRecord, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| backend(format!("a stored task does not decode: {e}")))
}

fn expires(record: &TaskRecord) -> String {
    record
        .expires_at()
        .map(|at| at.timestamp_millis().to_string())
        .unwrap_or_default()
}

/// `"1"` for an unfinished task (a member of its owner's active set).
fn active_flag(record: &TaskRecord) -> &'static str {
    if record.status.is_terminal() {
        "0"
    } else {
        "1"
    }
}

fn backstop(record: &TaskRecord) -> i64 {
    record
        .expires_at()
        .map(|at| at.timestamp_millis().saturating_add(BACKSTOP_MS))
        .unwrap_or(0)
}

/// The status word and the rest of a script's answer.
fn reply(value: RedisValue) -> Result<(String, Vec<RedisValue>), StoreError> {
    let RedisValue::Array(mut items) = value else {
        return Err(backend(format!("unexpected script answer {value:?}")));
    };
    if items.is_empty() {
        return Err(backend("empty script answer"));
    }
    let status: String = redis::from_redis_value(items.remove(0)).map_err(backend)?;
    Ok((status, items))
}

fn bytes(value: &RedisValue) -> Result<Vec<u8>, StoreError> {
    redis::from_redis_value_ref(value).map_err(backend)
}

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT[/DB]`), keeping keys under the
    /// `pmcp-tasks` prefix. Fails if Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_prefix(url, "pmcp-tasks").await
    }

    /// As [`connect`](Self::connect), with keys under `prefix` (several
    /// independent deployments can share one Redis).
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client =
            redis::Client::open(url).map_err(|e| backend(format!("bad URL {url}: {e}")))?;
        // Fail fast at start-up when Redis is not there; once connected,
        // the manager reconnects by itself.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(std::time::Duration::from_millis(500))
            .set_connection_timeout(Some(std::time::Duration::from_secs(3)));
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| backend(format!("cannot reach {url}: {e}")))?;
        let store = RedisStore {
            conn,
            client,
            prefix: format!("{{{prefix}}}:"),
            scripts: std::sync::Arc::new(Scripts {
                create: Script::new(CREATE),
                get: Script::new(GET),
                cas: Script::new(CAS),
                list: Script::new(LIST),
                purge: Script::new(PURGE),
                expired_leases: Script::new(EXPIRED_LEASES),
            }),
        };
        store.persistence().await.warn_if_lossy(url);
        Ok(store)
    }

    /// Follows the `changes` channel on a pub/sub connection of its own
    /// (subscribed before this returns), reconnecting after a failure,
    /// while anyone reads the feed.
    async fn follow_changes(&self) -> Result<ChangeFeed, StoreError> {
        let (client, channel) = (self.client.clone(), self.global("changes"));
        let subscribe = |client: redis::Client, channel: String| async move {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub.into_on_message())
        };
        let mut messages = subscribe(client.clone(), channel.clone())
            .await
            .map_err(failed)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<String>(1024);
        tokio::spawn(async move {
            let mut delay = std::time::Duration::from_millis(100);
            loop {
                while let Some(message) = messages.next().await {
                    let Ok(id) = message.get_payload::<String>() else {
                        continue;
                    };
                    // A reader that lags loses a wake-up, never a change:
                    // listeners also look on a timer.
                    if let Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) = tx.try_send(id)
                    {
                        return;
                    }
                }
                loop {
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                    match subscribe(client.clone(), channel.clone()).await {
                        Ok(resumed) => {
                            messages = resumed;
                            delay = std::time::Duration::from_millis(100);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot follow Redis task changes; retrying");
                            delay = (delay * 2).min(std::time::Duration::from_secs(5));
                        }
                    }
                }
            }
        });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            let id = rx.recv().await?;
            Some((id, rx))
        })))
    }

    /// A key shared by all owners (`expiry`, `seq`, `leases`, `bytes`,
    /// `sizes`).
    fn global(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }
}

#[async_trait]
impl TaskStore for RedisStore {
    async fn changes(&self) -> Option<ChangeFeed> {
        match self.follow_changes().await {
            Ok(feed) => Some(feed),
            Err(e) => {
                tracing::warn!(error = %e, "no Redis change feed; listeners will poll");
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
        let mut conn = self.conn.clone();
        let answer: RedisValue = self
            .scripts
            .create
            .key(self.key("task", &record.id))
            .key(self.key("owner", &record.owner))
            .key(self.key("active", &record.owner))
            .key(self.global("expiry"))
            .key(self.global("seq"))
            .key(self.global("leases"))
            .key(self.global("bytes"))
            .key(self.global("sizes"))
            .arg(&record.id)
            .arg(&record.owner)
            .arg(encode(&record)?)
            .arg(active_flag(&record))
            .arg(expires(&record))
            .arg(quota.max_active)
            .arg(backstop(&record))
            .arg(lease(&record))
            .arg(self.global("changes"))
            .arg(quota.max_stored)
            .arg(quota.max_stored_bytes)
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        match reply(answer)? {
            (s, _) if s == "ok" => Ok(Arc::new(record)),
            (s, _) if s == "duplicate" => Err(StoreError::Duplicate),
            (s, rest) if s == "limit" => {
                let (which, used): (String, u64) = match rest.as_slice() {
                    [which, used] => (
                        redis::from_redis_value_ref(which).map_err(backend)?,
                        redis::from_redis_value_ref(used).map_err(backend)?,
                    ),
                    _ => return Err(backend("unexpected limit answer")),
                };
                let (quota, limit) = match which.as_str() {
                    "active" => (QuotaKind::ActiveTasks, quota.max_active as u64),
                    "stored" => (QuotaKind::StoredTasks, quota.max_stored as u64),
                    _ => (QuotaKind::StoredBytes, quota.max_stored_bytes),
                };
                Err(StoreError::LimitExceeded { quota, used, limit })
            }
            (s, _) => Err(backend(format!("unexpected answer {s}"))),
        }
    }

    async fn get(
        &self,
        owner: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        let mut conn = self.conn.clone();
        let answer: RedisValue = self
            .scripts
            .get
            .key(self.key("task", id))
            .arg(owner)
            .arg(now.timestamp_millis())
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        match reply(answer)? {
            (s, rest) if s == "ok" => {
                decode(&bytes(rest.first().ok_or_else(|| backend("no record"))?)?).map(Arc::new)
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn compare_and_set(
        &self,
        mut record: TaskRecord,
        now: DateTime<Utc>,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        let expected = record.version;
        record.version += 1;
        let mut conn = self.conn.clone();
        let answer: RedisValue = self
            .scripts
            .cas
            .key(self.key("task", &record.id))
            .key(self.key("active", &record.owner))
            .key(self.global("expiry"))
            .key(self.global("leases"))
            .key(self.global("bytes"))
            .key(self.global("sizes"))
            .arg(&record.owner)
            .arg(expected.to_string())
            .arg(encode(&record)?)
            .arg(active_flag(&record))
            .arg(expires(&record))
            .arg(now.timestamp_millis())
            .arg(&record.id)
            .arg(backstop(&record))
            .arg(lease(&record))
            .arg(self.global("changes"))
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        match reply(answer)? {
            (s, _) if s == "ok" => Ok(Arc::new(record)),
            (s, rest) if s == "conflict" => Err(StoreError::Conflict {
                current: Arc::new(decode(&bytes(
                    rest.first().ok_or_else(|| backend("no record"))?,
                )?)?),
            }),
            _ => Err(StoreError::NotFound),
        }
    }

    async fn usage(&self, owner: &str, _now: DateTime<Utc>) -> Result<OwnerUsage, StoreError> {
        // Expired tasks not yet purged included, as the create script sees
        // them.
        let mut conn = self.conn.clone();
        let (active, stored, bytes): (usize, usize, Option<i64>) = redis::pipe()
            .cmd("SCARD")
            .arg(self.key("active", owner))
            .cmd("ZCARD")
            .arg(self.key("owner", owner))
            .cmd("HGET")
            .arg(self.global("bytes"))
            .arg(owner)
            .query_async(&mut conn)
            .await
            .map_err(failed)?;
        Ok(OwnerUsage {
            active,
            stored,
            bytes: bytes.map_or(0, |b| b.max(0).unsigned_abs()),
        })
    }

    async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        let start = super::cursor::start('r', owner, cursor)?;
        let mut conn = self.conn.clone();
        let answer: RedisValue = self
            .scripts
            .list
            .key(self.key("owner", owner))
            .arg(self.key("task", ""))
            .arg(start)
            .arg(limit.max(1))
            .arg(now.timestamp_millis())
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        let RedisValue::Array(items) = answer else {
            return Err(backend("unexpected list answer"));
        };
        let [next, records] =
            <[RedisValue; 2]>::try_from(items).map_err(|_| backend("unexpected list answer"))?;
        let next: String = redis::from_redis_value(next).map_err(backend)?;
        let records: Vec<Vec<u8>> = redis::from_redis_value(records).map_err(backend)?;
        Ok(TaskPage {
            tasks: records
                .iter()
                .map(|r| decode(r).map(Arc::new))
                .collect::<Result<_, _>>()?,
            next_cursor: match next.as_str() {
                "" => None,
                seq => Some(super::cursor::encode(
                    'r',
                    owner,
                    seq.parse().map_err(backend)?,
                )),
            },
        })
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = self
            .scripts
            .purge
            .key(self.global("expiry"))
            .arg(&self.prefix)
            .arg(now.timestamp_millis())
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        Ok(ids)
    }

    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Arc<TaskRecord>>, StoreError> {
        let mut conn = self.conn.clone();
        let records: Vec<Vec<u8>> = self
            .scripts
            .expired_leases
            .key(self.global("leases"))
            .arg(&self.prefix)
            .arg(now.timestamp_millis())
            .arg(limit)
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        records.iter().map(|r| decode(r).map(Arc::new)).collect()
    }
}
