//! The validated changes that can be made to a task record.

use super::record::{status_text, Lease, ProgressMark, TaskOutcome, TaskRecord};
use super::{DomainError, Era, RpcError, TaskStatus};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::time::Duration;

impl TaskRecord {
    fn move_to(&mut self, next: TaskStatus, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status.is_terminal() {
            return Err(DomainError::Terminal(self.status));
        }
        if !self.status.can_become(next) {
            return Err(DomainError::InvalidTransition {
                from: self.status,
                to: next,
            });
        }
        self.status = next;
        self.updated_at = now;
        Ok(())
    }

    /// Sets the status message of a running task (progress).
    pub fn set_message(
        &mut self,
        message: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.move_to(self.status, now)?;
        self.extras_mut().status_message = Some(status_text(message.into()));
        Ok(())
    }

    /// Records a running task's progress: its message (the status
    /// message) and, if given, its numbers.
    pub fn report(
        &mut self,
        mark: Option<ProgressMark>,
        message: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.move_to(self.status, now)?;
        if let Some(mark) = mark {
            self.extras_mut().progress = Some(mark);
        }
        if let Some(message) = message {
            self.extras_mut().status_message = Some(status_text(message));
        }
        Ok(())
    }

    /// Ends the task with the outcome of its body, in one change.
    ///
    /// A JSON-RPC error fails the task in both eras. A tool result with
    /// `isError: true` fails it on 2025-11-25 and completes it on 2026-07-28,
    /// as each spec says.
    pub fn finish(&mut self, outcome: TaskOutcome, now: DateTime<Utc>) -> Result<(), DomainError> {
        let failed = match &outcome {
            TaskOutcome::Error { .. } => true,
            TaskOutcome::Result { .. } => self.era == Era::V2025_11_25 && outcome.is_tool_error(),
        };
        let next = if failed {
            TaskStatus::Failed
        } else {
            TaskStatus::Completed
        };
        self.move_to(next, now)?;
        let message = failed.then(|| {
            outcome
                .summary()
                .map_or_else(|| "The task failed.".into(), status_text)
        });
        self.end(message);
        self.outcome = Some(Box::new(outcome));
        Ok(())
    }

    /// Fails the task with an internal error: how a server that stops or a
    /// body that panics is reported.
    pub fn fail(
        &mut self,
        message: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let message = message.into();
        self.finish(TaskOutcome::error(RpcError::internal(message)), now)
    }

    /// Cancels the task. A terminal task cannot be cancelled.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status.is_terminal() {
            return Err(DomainError::Terminal(self.status));
        }
        self.move_to(TaskStatus::Cancelled, now)?;
        self.end(Some("The task was cancelled by request.".into()));
        Ok(())
    }

    /// Sets (or, with `None` or a JSON `null`, removes) one variable of a
    /// running task: [`merge_variables`](Self::merge_variables) of one key.
    pub fn set_variable(
        &mut self,
        name: &str,
        value: Option<Value>,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let patch = Map::from_iter([(name.to_owned(), value.unwrap_or(Value::Null))]);
        self.merge_variables(&patch, max_bytes, now)
    }

    /// Merges `patch` into the variables of a running task as one change:
    /// each key takes its value, and a `null` removes the key. If the
    /// variables would then exceed `max_bytes` (as compact JSON), nothing
    /// changes.
    pub fn merge_variables(
        &mut self,
        patch: &Map<String, Value>,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.move_to(self.status, now)?;
        let mut vars = self.variables().clone();
        merge_patch(&mut vars, patch);
        let size = super::json_len(&vars);
        if size > max_bytes {
            return Err(DomainError::VariablesTooLarge {
                size,
                limit: max_bytes,
            });
        }
        self.extras_mut().variables = vars;
        self.tidy();
        Ok(())
    }

    /// Asks the client for input under `key` and moves to `input_required`.
    ///
    /// A key is unique over the task's life: asking again with a key that
    /// is outstanding is a no-op, and a key already answered is an error
    /// (the caller should read the answer instead).
    pub fn request_input(
        &mut self,
        key: &str,
        request: Value,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        if self.input_responses().contains_key(key) {
            return Err(DomainError::InputKeyReused(key.to_owned()));
        }
        if self.input_requests().contains_key(key) && self.status == TaskStatus::InputRequired {
            return Ok(());
        }
        self.move_to(TaskStatus::InputRequired, now)?;
        if let Some(message) = request
            .get("params")
            .and_then(|p| p.get("message"))
            .and_then(Value::as_str)
        {
            self.extras_mut().status_message = Some(status_text(message.to_owned()));
        }
        self.extras_mut()
            .input_requests
            .insert(key.to_owned(), request);
        Ok(())
    }

    /// Records the client's answers. Keys that are not outstanding are
    /// ignored, as the 2026-07-28 spec asks. When nothing is outstanding any
    /// more the task goes back to `working`. Returns the accepted keys.
    pub fn answer_input(
        &mut self,
        responses: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DomainError> {
        if self.status.is_terminal() {
            return Err(DomainError::Terminal(self.status));
        }
        let mut accepted = Vec::new();
        for (key, answer) in responses {
            if self.input_requests().contains_key(key) {
                let extras = self.extras_mut();
                extras.input_requests.remove(key);
                extras.input_responses.insert(key.clone(), answer.clone());
                accepted.push(key.clone());
            }
        }
        if !accepted.is_empty() {
            self.updated_at = now;
            if self.input_requests().is_empty() && self.status == TaskStatus::InputRequired {
                self.move_to(TaskStatus::Working, now)?;
                self.extras_mut().status_message = None;
                self.tidy();
            }
        }
        Ok(accepted)
    }

    /// What ending a task (any way) clears: its open questions and its
    /// lease; its status message becomes `message`.
    fn end(&mut self, message: Option<String>) {
        if message.is_none() && self.extras.is_none() {
            return;
        }
        let extras = self.extras_mut();
        extras.status_message = message;
        extras.input_requests.clear();
        extras.lease = None;
        self.tidy();
    }

    /// Takes or renews the lease for `holder` until `until`.
    pub fn hold_lease(&mut self, holder: &str, until: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status.is_terminal() {
            return Err(DomainError::Terminal(self.status));
        }
        self.extras_mut().lease = Some(Lease {
            holder: holder.to_owned(),
            until,
        });
        Ok(())
    }

    /// Drops the lease, whoever holds it: the body let go of the task.
    pub fn release_lease(&mut self) {
        if self.lease().is_some() {
            self.extras_mut().lease = None;
            self.tidy();
        }
    }

    /// Sets how long the task is kept once it has ended (`None`: its TTL).
    pub fn set_retention(&mut self, retention: Option<Duration>) {
        if retention != self.retention() {
            self.extras_mut().retention = retention;
            self.tidy();
        }
    }

    /// The variables to change in place, for the server's own bookkeeping
    /// (the size limit is the caller's to keep).
    pub(crate) fn variables_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.extras_mut().variables
    }

    /// Records the output of step `name`.
    pub fn checkpoint(
        &mut self,
        name: &str,
        output: Value,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.move_to(self.status, now)?;
        self.extras_mut()
            .checkpoints
            .insert(name.to_owned(), output);
        Ok(())
    }
}

/// Merges `patch` into `vars`: each key takes its value, a `null` removes
/// the key. The one merge rule of task variables, wherever they live.
pub(crate) fn merge_patch(vars: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (name, value) in patch {
        if value.is_null() {
            vars.remove(name);
        } else {
            vars.insert(name.clone(), value.clone());
        }
    }
}
