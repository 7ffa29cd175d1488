//! The per-owner active set: a slot reserved before a task is written,
//! released when it ends, and stale slots dropped when an owner is full.

use super::item::*;
use super::DynamoDbStore;
use crate::store::StoreError;
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
