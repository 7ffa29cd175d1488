//! `tasks/list`: the owner's listing entries, read with a strongly
//! consistent `Query` of its partition, then its tasks by key. A task that
//! `get` returns is always listed: its entry is written with it (before it,
//! on an engine without transactions).

use super::item::*;
use super::DynamoDbStore;
use crate::domain::TaskRecord;
use crate::store::{cursor, StoreError, TaskPage};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

impl DynamoDbStore {
    pub(super) async fn list_page(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<TaskPage, StoreError> {
        let from = match cursor {
            None => ENTRY_PREFIX.to_owned(),
            Some(c) => {
                let sk = cursor::open('d', owner, c)?;
                parse_sort_key(sk).ok_or(StoreError::InvalidCursor)?;
                format!("{ENTRY_PREFIX}{sk}")
            }
        };
        if !owner_fits(owner) {
            return Ok(TaskPage {
                tasks: Vec::new(),
                next_cursor: None,
            });
        }
        let limit = limit.max(1);
        // Live tasks in listing order, one more than a page when there are.
        let mut found: Vec<(String, TaskRecord)> = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :end")
                .expression_attribute_values(":pk", owner_key(owner))
                .expression_attribute_values(":from", s(&from))
                // Every entry's key is `l#...`; `l$` sorts right after them.
                .expression_attribute_values(":end", s("l$"))
                .projection_expression("sk")
                .limit(i32::try_from(limit + 1 - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk)?;
            let entries: Vec<String> = page
                .items
                .unwrap_or_default()
                .iter()
                .filter_map(|item| text(item, "sk"))
                .filter_map(|sk| sk.strip_prefix(ENTRY_PREFIX))
                .map(str::to_owned)
                .collect();
            found.extend(self.entries_tasks(owner, entries, now).await?);
            match page.last_evaluated_key {
                Some(key) if found.len() <= limit => start = Some(key),
                _ => break,
            }
        }
        let next_cursor = if found.len() > limit {
            found.truncate(limit + 1);
            found.pop().map(|(sk, _)| cursor::seal('d', owner, &sk))
        } else {
            None
        };
        Ok(TaskPage {
            tasks: found
                .into_iter()
                .map(|(_, record)| Arc::new(record))
                .collect(),
            next_cursor,
        })
    }

    /// The live tasks of listing entries (`sort_key`s), in their order.
    /// Entries left without a task past the grace period (a crash between
    /// writes on an engine without transactions) are dropped.
    async fn entries_tasks(
        &self,
        owner: &str,
        entries: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, TaskRecord)>, StoreError> {
        let mut tasks: HashMap<String, Item> = HashMap::new();
        let mut backoff = Duration::from_millis(10);
        for chunk in entries.chunks(100) {
            let mut keys: Vec<Item> = chunk
                .iter()
                .filter_map(|sk| parse_sort_key(sk))
                .map(|(_, id)| key(owner, task_sk(id)))
                .collect();
            while !keys.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .projection_expression("sk, expires, #r")
                    .expression_attribute_names("#r", "record")
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
                    if let Some(sk) = text(&item, "sk") {
                        tasks.insert(sk.to_owned(), item);
                    }
                }
                keys = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    // Throttled: give the table a moment before the rest.
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                    tokio::time::sleep(backoff).await;
                }
            }
        }
        let now_ms = now.timestamp_millis();
        let mut live = Vec::new();
        for entry in entries {
            let Some((created, id)) = parse_sort_key(&entry) else {
                continue;
            };
            match tasks.get(&format!("t#{id}")) {
                Some(item) if alive(item, now_ms) => live.push((entry.clone(), decode(item)?)),
                Some(_) => {}
                None if now - created > STALE_ENTRY => self.drop_entry(owner, &entry).await,
                None => {}
            }
        }
        Ok(live)
    }

    /// Deletes a listing entry whose task is gone; a failure only leaves it
    /// for the next listing.
    async fn drop_entry(&self, owner: &str, entry: &str) {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(owner, s(format!("{ENTRY_PREFIX}{entry}")))))
            .send()
            .await;
        if let Err(e) = deleted {
            tracing::debug!(owner = %owner, error = %sdk(e), "could not drop a listing entry left without its task");
        }
    }
}
