//! Writing a body's outcome: kept within the size limit, and retried
//! (waiting out a store that is away) because a lost result is the one
//! thing a task runtime must not allow.

use super::runtime::Shared;
use super::table::OutageWait;
use crate::domain::{RpcError, TaskOutcome};
use crate::store::{StoreError, UpdateError};
use std::sync::Arc;
use std::time::Duration;

/// Writes a body's outcome, unless the task ended meanwhile (a cancel won,
/// or it expired). A failing store is retried a few times: losing a result
/// is the one thing a task runtime must not do.
pub(super) async fn finish(shared: &Arc<Shared>, owner: &str, id: &str, outcome: TaskOutcome) {
    let mut outcome = within_result_limit(outcome, shared.table.limits().max_result_bytes);
    // Short waits: once the store is back the outcome lands at once,
    // before another instance could take the task over.
    let mut wait = OutageWait::backing_off(Duration::from_millis(50), Duration::from_millis(250));
    let mut failures = 0;
    loop {
        let error = match shared
            .table
            .update(owner, id, |t, now| t.finish(outcome.clone(), now))
            .await
        {
            Ok((record, ())) => {
                tracing::info!(task = %id, owner = %owner, status = %record.status, "task finished");
                break;
            }
            Err(UpdateError::Domain(_)) | Err(UpdateError::Store(StoreError::NotFound)) => break,
            // The outcome cannot be stored at all: store why instead, so the
            // client learns it rather than seeing the task stay working.
            Err(UpdateError::Store(StoreError::TooLarge { bytes, limit }))
                if !matches!(outcome, TaskOutcome::Error { .. }) =>
            {
                tracing::error!(task = %id, bytes, limit, "a task's result is too large for the store");
                outcome = TaskOutcome::error(RpcError::internal(format!(
                    "the tool's result is {bytes} bytes once stored, more than the task \
                         store's limit of {limit}; return less, or keep large data elsewhere \
                         and return a link"
                )));
                continue;
            }
            Err(e) => e,
        };
        failures += 1;
        // A store that is away (a Redis restart) is waited for, up to
        // STORE_OUTAGE_PATIENCE: the result is kept and written when it is
        // back. Any other failure is tried five times.
        let away = matches!(error, UpdateError::Store(StoreError::Unavailable(_)));
        if !(away && wait.patient()) && failures >= 5 {
            tracing::error!(task = %id, error = %error, "could not store a task's outcome");
            break;
        }
        if away && shared.closing.is_cancelled() {
            tracing::error!(task = %id, error = %error, "shutting down with the store away: a task's outcome is lost");
            break;
        }
        tracing::warn!(task = %id, error = %error, failures, "storing a task's outcome failed; retrying");
        wait.pause().await;
    }
    shared.table.notify(id);
}

/// The outcome to store: `outcome` if it fits in `max` bytes, else a
/// failure saying how large it was (an oversized error keeps the start of
/// its message).
fn within_result_limit(outcome: TaskOutcome, max: usize) -> TaskOutcome {
    let size = crate::domain::json_len(&outcome);
    if size <= max {
        return outcome;
    }
    let message = match &outcome {
        TaskOutcome::Result { .. } => format!(
            "the tool's result is {size} bytes, more than this server stores ({max} bytes, \
             Limits::max_result_bytes); return less, or keep large data elsewhere and return a \
             link"
        ),
        TaskOutcome::Error { error } => {
            let start: String = error.message.chars().take(1024).collect();
            format!("{start}… (the error was {size} bytes and was cut to fit the server's limit)")
        }
    };
    tracing::warn!(
        bytes = size,
        limit = max,
        "a task's outcome is over the size limit"
    );
    TaskOutcome::error(RpcError::internal(message))
}

pub(super) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}
