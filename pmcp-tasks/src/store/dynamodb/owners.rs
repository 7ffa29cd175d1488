//! What an owner holds, kept in one small counters item in its partition
//! (`active`, `stored`, `bytes`): added to by a task's create in the same
//! transaction that checks the quotas, settled when a task's size or status
//! changes, given back by its purge, and rebuilt from the task items when a
//! quota check finds it out of step (after DynamoDB's own TTL deleted a
//! task, say).

use super::item::*;
use super::write::{Write, WriteError};
use super::DynamoDbStore;
use crate::store::{OwnerQuota, OwnerUsage, StoreError};
use aws_sdk_dynamodb::types::{Put, Update};

/// The owner's counters item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Counters {
    pub(super) active: i64,
    pub(super) stored: i64,
    pub(super) bytes: i64,
}

impl Counters {
    pub(super) fn of(item: &Item) -> Counters {
        Counters {
            active: number(item, "active").unwrap_or(0),
            stored: number(item, "stored").unwrap_or(0),
            bytes: number(item, "bytes").unwrap_or(0),
        }
    }

    pub(super) fn usage(self) -> OwnerUsage {
        OwnerUsage {
            active: usize::try_from(self.active).unwrap_or(0),
            stored: usize::try_from(self.stored).unwrap_or(0),
            bytes: u64::try_from(self.bytes).unwrap_or(0),
        }
    }
}

/// Whether a quota can never admit a task of `bytes`, however empty the
/// owner is.
pub(super) fn never_fits(quota: &OwnerQuota, counted: Counted) -> bool {
    (counted.active > 0 && quota.max_active == 0)
        || quota.max_stored == 0
        || u64::try_from(counted.bytes).is_ok_and(|b| b > quota.max_stored_bytes)
}

impl DynamoDbStore {
    /// The owner's counters as stored now.
    pub(super) async fn counters(&self, owner: &str) -> Result<Counters, StoreError> {
        Ok(self
            .read(key(owner, s(COUNTERS_SK)))
            .await?
            .map(|item| Counters::of(&item))
            .unwrap_or_default())
    }

    /// The counters' part of a create: adds the task, on the condition that
    /// the owner stays within `quota`.
    pub(super) fn reserve(
        &self,
        owner: &str,
        quota: &OwnerQuota,
        counted: Counted,
    ) -> Result<Update, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(owner, s(COUNTERS_SK))))
            .update_expression("ADD #a :a, #s :one, #b :b")
            .expression_attribute_names("#a", "active")
            .expression_attribute_names("#s", "stored")
            .expression_attribute_names("#b", "bytes")
            .expression_attribute_values(":a", n(counted.active))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":b", n(counted.bytes));
        let mut conditions = Vec::new();
        if counted.active > 0 && quota.max_active < usize::MAX {
            conditions.push("(attribute_not_exists(#a) OR #a < :max_a)");
            update = update.expression_attribute_values(":max_a", n(quota.max_active));
        }
        if quota.max_stored < usize::MAX {
            conditions.push("(attribute_not_exists(#s) OR #s < :max_s)");
            update = update.expression_attribute_values(":max_s", n(quota.max_stored));
        }
        if quota.max_stored_bytes < u64::MAX {
            let room = quota
                .max_stored_bytes
                .saturating_sub(counted.bytes.unsigned_abs());
            conditions.push("(attribute_not_exists(#b) OR #b <= :room)");
            update = update.expression_attribute_values(":room", n(room));
        }
        if !conditions.is_empty() {
            update = update.condition_expression(conditions.join(" AND "));
        }
        update.build().map_err(backend)
    }

    /// Brings the counters in step with a task item just written, when it
    /// has ended: adds what it should count now (`bytes`, `st`) minus what
    /// it counts (`cb`, `ca`), and records the new count on the item, as one
    /// transaction conditional on the item not having changed since. A
    /// running task's writes (progress, checkpoints, lease renewals) are not
    /// settled one by one, which would make every write of an owner's tasks
    /// contend for its one counters item: its bytes are counted as created
    /// until it ends. A failure is logged, not returned: the difference
    /// stays on the item, and the purge or a repair settles it.
    pub(super) async fn settle(&self, owner: &str, id: &str, item: &Item) {
        let (due, counted) = (Counted::due(item), Counted::of(item));
        if due.active == counted.active {
            return;
        }
        self.settle_now(owner, id, item).await;
    }

    /// Settles the item's difference, whatever it is (see [`settle`](Self::settle)).
    async fn settle_now(&self, owner: &str, id: &str, item: &Item) {
        let (due, counted) = (Counted::due(item), Counted::of(item));
        if due == counted {
            return;
        }
        let version = number(item, "version").unwrap_or(0);
        let built = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(owner, task_sk(id))))
            .update_expression("SET cb = :cb, ca = :ca")
            .condition_expression("version = :v AND cb = :was_cb AND ca = :was_ca")
            .expression_attribute_values(":cb", n(due.bytes))
            .expression_attribute_values(":ca", n(due.active))
            .expression_attribute_values(":v", n(version))
            .expression_attribute_values(":was_cb", n(counted.bytes))
            .expression_attribute_values(":was_ca", n(counted.active))
            .build()
            .map_err(backend)
            .and_then(|mark| {
                let add = self.add_to_counters(
                    owner,
                    0,
                    due.active - counted.active,
                    due.bytes - counted.bytes,
                )?;
                Ok(vec![Write::Update(mark), Write::Update(add)])
            });
        let outcome = match built {
            Ok(writes) => self.write_all(writes).await,
            Err(e) => Err(WriteError::Store(e)),
        };
        match outcome {
            Ok(()) | Err(WriteError::Condition { .. }) => {}
            Err(WriteError::Store(e)) => {
                tracing::warn!(owner = %owner, task = %id, error = %e,
                    "could not settle a task's change into its owner's counters; the next write settles it")
            }
        }
    }

    /// An unconditional addition to the owner's counters.
    pub(super) fn add_to_counters(
        &self,
        owner: &str,
        stored: i64,
        active: i64,
        bytes: i64,
    ) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(owner, s(COUNTERS_SK))))
            .update_expression("ADD #a :a, #s :s, #b :b")
            .expression_attribute_names("#a", "active")
            .expression_attribute_names("#s", "stored")
            .expression_attribute_names("#b", "bytes")
            .expression_attribute_values(":a", n(active))
            .expression_attribute_values(":s", n(stored))
            .expression_attribute_values(":b", n(bytes))
            .build()
            .map_err(backend)
    }

    /// The owner's task items' counting attributes, read consistently.
    async fn task_counts(&self, owner: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("pk = :pk AND begins_with(sk, :t)")
                .projection_expression("sk, cb, ca, #b, st, version")
                .expression_attribute_names("#b", "bytes")
                .expression_attribute_values(":pk", owner_key(owner))
                .expression_attribute_values(":t", s("t#"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk)?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// Settles every difference left on the owner's task items (a settle
    /// that failed, a worker killed between a write and its settle).
    async fn settle_all(&self, owner: &str) -> Result<(), StoreError> {
        for item in self.task_counts(owner).await? {
            if Counted::due(&item) != Counted::of(&item) {
                if let Some(id) = text(&item, "sk").and_then(|sk| sk.strip_prefix("t#")) {
                    self.settle_now(owner, id, &item).await;
                }
            }
        }
        Ok(())
    }

    /// What the owner's task items count: the sum of their `cb`/`ca`.
    async fn recount(&self, owner: &str) -> Result<Counters, StoreError> {
        let mut total = Counters::default();
        for item in self.task_counts(owner).await? {
            let counted = Counted::of(&item);
            total.stored += 1;
            total.bytes += counted.bytes;
            total.active += counted.active;
        }
        Ok(total)
    }

    /// Rebuilds the owner's counters from its task items if they are out of
    /// step (a task deleted by DynamoDB's own TTL, a crash on an engine
    /// without transactions). The rewrite is conditional on the counters
    /// being as read, so a create or settle that lands meanwhile wins and
    /// nothing is counted twice. Returns the counters as they now are.
    pub(super) async fn repair(&self, owner: &str) -> Result<Counters, StoreError> {
        self.settle_all(owner).await?;
        // The counters first, then the items: a create or settle landing
        // in between changes the counters, so the rewrite below fails.
        let seen = self.counters(owner).await?;
        let actual = self.recount(owner).await?;
        if actual == seen {
            return Ok(seen);
        }
        let mut item = key(owner, s(COUNTERS_SK));
        item.insert("active".into(), n(actual.active));
        item.insert("stored".into(), n(actual.stored));
        item.insert("bytes".into(), n(actual.bytes));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR (#a = :a AND #s = :s AND #b = :b)")
            .expression_attribute_names("#a", "active")
            .expression_attribute_names("#s", "stored")
            .expression_attribute_names("#b", "bytes")
            .expression_attribute_values(":a", n(seen.active))
            .expression_attribute_values(":s", n(seen.stored))
            .expression_attribute_values(":b", n(seen.bytes))
            .build()
            .map_err(backend)?;
        match self.write_all(vec![Write::Put(put)]).await {
            Ok(_) => {
                tracing::info!(owner = %owner, was = ?seen, now = ?actual, "rebuilt an owner's counters from its tasks");
                Ok(actual)
            }
            Err(WriteError::Condition { .. }) => self.counters(owner).await,
            Err(WriteError::Store(e)) => Err(e),
        }
    }
}
