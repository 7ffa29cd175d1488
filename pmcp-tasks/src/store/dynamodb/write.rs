//! Writes of several items that belong together (a task, its listing entry,
//! its owner's counters): one `TransactWriteItems` where the engine has
//! transactions, else the same writes one by one, in order (dynalite).

use super::item::*;
use super::DynamoDbStore;
use crate::store::StoreError;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// One write of a group.
#[derive(Debug, Clone)]
pub(super) enum Write {
    Put(Put),
    Update(Update),
    Delete(Delete),
}

/// Why a group of writes did not happen.
#[derive(Debug)]
pub(super) enum WriteError {
    /// The condition of write `index` failed; `item` is the item as it was,
    /// where the engine returns it. With transactions nothing was written;
    /// without, the writes before `index` were.
    Condition {
        index: usize,
        item: Option<Item>,
    },
    Store(StoreError),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Store(e)
    }
}

/// Something found out about the engine by using it: not known yet, yes,
/// no. Engines differ (dynalite has no transactions and returns no item on a
/// failed condition), and the store learns which paths it can take.
#[derive(Debug, Default)]
pub(super) struct Learned(AtomicU8);

impl Learned {
    const YES: u8 = 1;
    const NO: u8 = 2;

    /// Not known to be missing (the first use finds out).
    pub(super) fn available(&self) -> bool {
        self.0.load(Ordering::Relaxed) != Self::NO
    }

    /// Known to work.
    pub(super) fn confirmed(&self) -> bool {
        self.0.load(Ordering::Relaxed) == Self::YES
    }

    pub(super) fn learn(&self, yes: bool) {
        let value = if yes { Self::YES } else { Self::NO };
        self.0.store(value, Ordering::Relaxed);
    }

    pub(super) fn known(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            Self::YES => Some(true),
            Self::NO => Some(false),
            _ => None,
        }
    }
}

/// How often a transaction that lost to a concurrent one on the same item
/// is tried again.
const CONFLICT_ATTEMPTS: u32 = 12;

impl DynamoDbStore {
    /// Applies `writes` all or nothing (or, on an engine without
    /// transactions, in order until one's condition fails).
    pub(super) async fn write_all(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        if !self.engine.transactions.available() {
            return self.write_each(writes).await;
        }
        let items: Vec<TransactWriteItem> = writes
            .iter()
            .cloned()
            .map(|w| match w {
                Write::Put(p) => TransactWriteItem::builder().put(p).build(),
                Write::Update(u) => TransactWriteItem::builder().update(u).build(),
                Write::Delete(d) => TransactWriteItem::builder().delete(d).build(),
            })
            .collect();
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let e = match sent {
                Ok(_) => {
                    self.engine.transactions.learn(true);
                    return Ok(());
                }
                Err(e) => e,
            };
            if e.code() == Some("UnknownOperationException") {
                tracing::info!(table = %self.table,
                    "this DynamoDB engine has no transactions: grouped writes go one by one");
                self.engine.transactions.learn(false);
                return self.write_each(writes).await;
            }
            let reasons = match &e {
                SdkError::ServiceError(service) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => {
                        // A cancelled transaction proves the engine has them.
                        self.engine.transactions.learn(true);
                        c.cancellation_reasons().to_vec()
                    }
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            if let Some(index) = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                return Err(WriteError::Condition {
                    index,
                    item: reasons[index].item().cloned(),
                });
            }
            let conflicted = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
                || e.code() == Some("TransactionInProgressException");
            attempt += 1;
            if !conflicted || attempt >= CONFLICT_ATTEMPTS {
                return Err(WriteError::Store(backend(DisplayErrorContext(&e))));
            }
            // Another transaction holds one of the items: back off a little,
            // with jitter so racing writers spread out.
            let base = 4u64 << attempt.min(6);
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % base;
            tokio::time::sleep(Duration::from_millis(base + jitter)).await;
        }
    }

    /// The fallback: each write on its own, in order.
    async fn write_each(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        for (index, write) in writes.into_iter().enumerate() {
            let failed = match write {
                Write::Put(p) => self
                    .client
                    .put_item()
                    .table_name(p.table_name)
                    .set_item(Some(p.item))
                    .set_condition_expression(p.condition_expression)
                    .set_expression_attribute_names(p.expression_attribute_names)
                    .set_expression_attribute_values(p.expression_attribute_values)
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await
                    .err()
                    .map(|e| condition_or(e, index)),
                Write::Update(u) => self
                    .client
                    .update_item()
                    .table_name(u.table_name)
                    .set_key(Some(u.key))
                    .update_expression(u.update_expression)
                    .set_condition_expression(u.condition_expression)
                    .set_expression_attribute_names(u.expression_attribute_names)
                    .set_expression_attribute_values(u.expression_attribute_values)
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await
                    .err()
                    .map(|e| condition_or(e, index)),
                Write::Delete(d) => self
                    .client
                    .delete_item()
                    .table_name(d.table_name)
                    .set_key(Some(d.key))
                    .set_condition_expression(d.condition_expression)
                    .set_expression_attribute_names(d.expression_attribute_names)
                    .set_expression_attribute_values(d.expression_attribute_values)
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await
                    .err()
                    .map(|e| condition_or(e, index)),
            };
            if let Some(failed) = failed {
                return Err(failed);
            }
        }
        Ok(())
    }
}

/// A single write's failure: its condition (with the item where returned),
/// or the engine's error.
fn condition_or<E, R>(e: SdkError<E, R>, index: usize) -> WriteError
where
    E: std::error::Error + ProvideErrorMetadata + ConditionItem + 'static,
    R: std::fmt::Debug,
{
    if e.code() == Some("ConditionalCheckFailedException") {
        WriteError::Condition {
            index,
            item: failed_item(&e),
        }
    } else {
        WriteError::Store(sdk(e))
    }
}

/// The item a failed conditional write returned, if any.
pub(super) fn failed_item<E: ConditionItem, R>(e: &SdkError<E, R>) -> Option<Item> {
    e.as_service_error().and_then(ConditionItem::item)
}

/// The item a single write's failed condition returns, where the engine
/// supports `ReturnValuesOnConditionCheckFailure`.
pub(super) trait ConditionItem {
    fn item(&self) -> Option<Item>;
}

macro_rules! condition_item {
    ($($module:ident :: $error:ident),*) => {$(
        impl ConditionItem for aws_sdk_dynamodb::operation::$module::$error {
            fn item(&self) -> Option<Item> {
                match self {
                    Self::ConditionalCheckFailedException(e) => e.item().cloned(),
                    _ => None,
                }
            }
        }
    )*};
}

condition_item!(
    put_item::PutItemError,
    update_item::UpdateItemError,
    delete_item::DeleteItemError
);
