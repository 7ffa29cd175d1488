//! What an owner holds: its active set (a slot reserved before a task is
//! written, released when it ends, and stale slots dropped when an owner is
//! full), and its stored tasks and bytes, counted from the owner index.

use super::item::*;
use super::DynamoDbStore;
use crate::store::{QuotaKind, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

impl DynamoDbStore {
    /// Adds `member` to the owner's active set unless it already holds
    /// `max_active` members; when full, drops stale members once and tries
    /// again.
    pub(super) async fn reserve(
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
            return Err(over_active(self.drop_stale(owner, now).await?, max_active));
        }
        Err(over_active(active, max_active))
    }

    /// How many members the owner's active set has (stale ones included).
    pub(super) async fn active_count(&self, owner: &str) -> Result<usize, StoreError> {
        Ok(self
            .read(owner_key(owner))
            .await?
            .and_then(|mut item| item.remove("active"))
            .and_then(|v| v.as_ss().ok().map(Vec::len))
            .unwrap_or(0))
    }

    /// The owner's live tasks and the bytes of their records, from the
    /// owner index (eventually consistent): only the `bytes` attribute is
    /// read, page by page.
    pub(super) async fn stored(
        &self,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<(usize, u64), StoreError> {
        let (mut count, mut bytes) = (0usize, 0u64);
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("by_owner")
                .key_condition_expression("#o = :o")
                .filter_expression("attribute_not_exists(expires) OR expires > :now")
                .projection_expression("#b")
                .expression_attribute_names("#o", "owner")
                .expression_attribute_names("#b", "bytes")
                .expression_attribute_values(":o", s(owner))
                .expression_attribute_values(":now", n(now.timestamp_millis()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk)?;
            for item in page.items.unwrap_or_default() {
                count += 1;
                bytes += number(&item, "bytes").unwrap_or(0).unsigned_abs();
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok((count, bytes)),
            }
        }
    }

    /// One conditional add of `member` to the owner's active set; `false`
    /// if the set is full.
    pub(super) async fn try_reserve(
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
    pub(super) async fn release(&self, owner: &str, member: String) {
        if let Err(e) = self.remove_active(owner, vec![member]).await {
            tracing::warn!(owner = %owner, error = %e,
                "could not release an ended task's slot; it is dropped at the next limit check");
        }
    }

    /// Removes `members` from the owner's active set.
    pub(super) async fn remove_active(
        &self,
        owner: &str,
        members: Vec<String>,
    ) -> Result<(), StoreError> {
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
    pub(super) async fn drop_stale(
        &self,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
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
}

fn over_active(active: usize, max_active: usize) -> StoreError {
    StoreError::LimitExceeded {
        quota: QuotaKind::ActiveTasks,
        used: active as u64,
        limit: max_active as u64,
    }
}
