//! The task record and the validated changes that can be made to it.

use super::{DomainError, Era, RpcError, TaskStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The longest `statusMessage` kept, in characters: longer texts (a
/// progress message, a failure's error) are cut here and end in `…`, so
/// that one task cannot make every `tasks/list` page huge. The full error
/// stays in the task's result.
pub const STATUS_MESSAGE_MAX_CHARS: usize = 1024;

fn status_text(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(STATUS_MESSAGE_MAX_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// What the underlying request ended with: exactly what it would have
/// answered had it not been run as a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskOutcome {
    /// A successful JSON-RPC result (for `tools/call`, a `CallToolResult`,
    /// which may itself carry `isError: true`).
    Result {
        /// The result object.
        value: Value,
    },
    /// A JSON-RPC error.
    Error {
        /// The error object.
        error: RpcError,
    },
}

/// Whether a `CallToolResult` is flagged `isError: true`.
pub(crate) fn is_error_result(result: &Value) -> bool {
    result.get("isError") == Some(&Value::Bool(true))
}

/// The first text content of a `CallToolResult`.
pub(crate) fn first_text(result: &Value) -> Option<&str> {
    result
        .get("content")?
        .as_array()?
        .iter()
        .find_map(|c| c.get("text")?.as_str())
}

impl TaskOutcome {
    /// Whether this is a tool result flagged `isError: true`.
    fn is_tool_error(&self) -> bool {
        matches!(self, TaskOutcome::Result { value } if is_error_result(value))
    }

    /// The first text content of a result, or the error message: a short
    /// explanation for `statusMessage`.
    fn summary(&self) -> Option<String> {
        match self {
            TaskOutcome::Error { error } => Some(error.message.clone()),
            TaskOutcome::Result { value } => first_text(value).map(str::to_owned),
        }
    }

    /// The JSON-RPC answer this outcome is: a result or an error.
    pub(crate) fn into_result(self) -> Result<Value, RpcError> {
        match self {
            TaskOutcome::Result { value } => Ok(value),
            TaskOutcome::Error { error } => Err(error),
        }
    }
}

/// Everything the runtime knows about one task.
///
/// Every change goes through a method that validates it, and every write of a
/// changed record is a compare-and-set on [`TaskRecord::version`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Unguessable identifier (a random UUID).
    pub id: String,
    /// Who may see and act on this task.
    pub owner: String,
    /// The era of the request that created the task.
    pub era: Era,
    /// The tool that runs the task.
    pub tool: String,
    /// The tool's arguments, as received.
    pub arguments: Value,
    /// Current status.
    pub status: TaskStatus,
    /// A human-readable note on the current status (progress, failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// How far the body says it got, in numbers: what
    /// `notifications/progress` reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressMark>,
    /// Creation time.
    #[serde(with = "super::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    #[serde(with = "super::timestamp")]
    pub updated_at: DateTime<Utc>,
    /// The task's TTL; `None` is unlimited. See
    /// [`expires_at`](Self::expires_at) for how it counts.
    #[serde(default, with = "opt_millis")]
    pub ttl: Option<Duration>,
    /// How long the task is kept once it has ended; `None`: its `ttl`.
    #[serde(default, with = "opt_millis", skip_serializing_if = "Option::is_none")]
    pub retention: Option<Duration>,
    /// The polling interval suggested to clients.
    #[serde(default, with = "opt_millis")]
    pub poll_interval: Option<Duration>,
    /// The task variables: a scratchpad shared by server and client.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// The final outcome; present exactly when the status is `completed`
    /// or `failed` (and for `cancelled`, never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<TaskOutcome>,
    /// Outstanding requests for client input, by key.
    #[serde(default)]
    pub input_requests: BTreeMap<String, Value>,
    /// Answers received, by key. Kept for the task's life, so a key is never
    /// reused and an answer survives a restart.
    #[serde(default)]
    pub input_responses: BTreeMap<String, Value>,
    /// Outputs of the body's completed `ctx.step`s, by step name: replayed
    /// instead of re-run when the task is resumed after a crash.
    #[serde(default)]
    pub checkpoints: BTreeMap<String, Value>,
    /// Whether the creating client declared it can answer form
    /// elicitations (`None`: it did not say). A body's question to a client
    /// that cannot answer fails at once instead of waiting for the TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_elicits: Option<bool>,
    /// Which instance runs the body, and until when that claim holds
    /// unless renewed. `None` once the task is terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// The body let go of its worker while waiting for input (see
    /// [`suspend`](Self::suspend)): the answer, on any instance, resumes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Bumped by the store on every successful write.
    pub version: u64,
}

/// A body's progress in numbers: `progress` of `total` (if known).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProgressMark {
    /// How much is done.
    pub progress: f64,
    /// How much there is to do, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
}

/// A running body's claim on its task, renewed by its driver. A lease that
/// runs out means the instance died: another one takes the task over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The instance (a random id per runtime).
    pub holder: String,
    /// When the claim lapses unless renewed.
    #[serde(with = "super::timestamp")]
    pub until: DateTime<Utc>,
}

impl TaskRecord {
    /// When the lease of this unfinished task lapses; `None` if it has none
    /// or is terminal. Stores index tasks by this.
    pub fn lease_deadline(&self) -> Option<DateTime<Utc>> {
        if self.status.is_terminal() {
            return None;
        }
        self.lease.as_ref().map(|l| l.until)
    }

    /// Takes or renews the lease for `holder` until `until`.
    pub fn hold_lease(&mut self, holder: &str, until: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status.is_terminal() {
            return Err(DomainError::Terminal(self.status));
        }
        self.lease = Some(Lease {
            holder: holder.to_owned(),
            until,
        });
        Ok(())
    }

    /// Records the output of step `name`.
    pub fn checkpoint(
        &mut self,
        name: &str,
        output: Value,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.move_to(self.status, now)?;
        self.checkpoints.insert(name.to_owned(), output);
        Ok(())
    }
}

/// Parameters of a new task.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// The owner (see the owner policy in the crate docs).
    pub owner: String,
    /// The era of the creating request.
    pub era: Era,
    /// The tool's name.
    pub tool: String,
    /// The tool's arguments.
    pub arguments: Value,
    /// Lifetime after clamping; `None` is unlimited.
    pub ttl: Option<Duration>,
    /// Suggested polling interval.
    pub poll_interval: Option<Duration>,
    /// Answers the client gave before the task existed (a multi round-trip
    /// `tools/call`); the body's questions with these keys return at once.
    pub input_responses: BTreeMap<String, Value>,
    /// Variables the client gave when it created the task
    /// (`_meta["pmcp:variables"]` of its `tools/call`).
    pub variables: Map<String, Value>,
    /// Whether the creating client declared it can answer form
    /// elicitations; `None` if it did not say.
    pub client_elicits: Option<bool>,
}

impl TaskRecord {
    /// A fresh `working` task with a new random id.
    pub fn new(new: NewTask, now: DateTime<Utc>) -> Self {
        TaskRecord {
            id: uuid::Uuid::new_v4().to_string(),
            owner: new.owner,
            era: new.era,
            tool: new.tool,
            arguments: new.arguments,
            status: TaskStatus::Working,
            status_message: None,
            progress: None,
            created_at: now,
            updated_at: now,
            ttl: new.ttl,
            retention: None,
            poll_interval: new.poll_interval,
            variables: new.variables,
            client_elicits: new.client_elicits,
            outcome: None,
            input_requests: BTreeMap::new(),
            input_responses: new.input_responses,
            checkpoints: BTreeMap::new(),
            lease: None,
            suspended: false,
            version: 0,
        }
    }

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
        self.status_message = Some(status_text(message.into()));
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
            self.progress = Some(mark);
        }
        if let Some(message) = message {
            self.status_message = Some(status_text(message));
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
        if failed {
            self.status_message = outcome
                .summary()
                .map(status_text)
                .or_else(|| Some("The task failed.".into()));
        } else {
            self.status_message = None;
        }
        self.input_requests.clear();
        self.lease = None;
        self.outcome = Some(outcome);
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
        self.finish(
            TaskOutcome::Error {
                error: RpcError::internal(message),
            },
            now,
        )
    }

    /// Cancels the task. A terminal task cannot be cancelled.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status.is_terminal() {
            return Err(DomainError::Terminal(self.status));
        }
        self.move_to(TaskStatus::Cancelled, now)?;
        self.status_message = Some("The task was cancelled by request.".into());
        self.input_requests.clear();
        self.lease = None;
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
        let mut vars = self.variables.clone();
        merge_patch(&mut vars, patch);
        let size = super::json_len(&vars);
        if size > max_bytes {
            return Err(DomainError::VariablesTooLarge {
                size,
                limit: max_bytes,
            });
        }
        self.variables = vars;
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
        if self.input_responses.contains_key(key) {
            return Err(DomainError::InputKeyReused(key.to_owned()));
        }
        if self.input_requests.contains_key(key) && self.status == TaskStatus::InputRequired {
            return Ok(());
        }
        self.move_to(TaskStatus::InputRequired, now)?;
        if let Some(message) = request
            .get("params")
            .and_then(|p| p.get("message"))
            .and_then(Value::as_str)
        {
            self.status_message = Some(status_text(message.to_owned()));
        }
        self.input_requests.insert(key.to_owned(), request);
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
            if self.input_requests.remove(key).is_some() {
                self.input_responses.insert(key.clone(), answer.clone());
                accepted.push(key.clone());
            }
        }
        if !accepted.is_empty() {
            self.updated_at = now;
            if self.input_requests.is_empty() && self.status == TaskStatus::InputRequired {
                self.move_to(TaskStatus::Working, now)?;
                self.status_message = None;
            }
        }
        Ok(accepted)
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

/// Serde for `Option<Duration>` as whole milliseconds.
mod opt_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis().min(u64::MAX as u128) as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(era: Era) -> TaskRecord {
        TaskRecord::new(
            NewTask {
                owner: "alice".into(),
                era,
                tool: "t".into(),
                arguments: json!({}),
                ttl: Some(Duration::from_secs(60)),
                poll_interval: None,
                input_responses: BTreeMap::new(),
                variables: Default::default(),
                client_elicits: None,
            },
            Utc::now(),
        )
    }

    #[test]
    fn tool_error_fails_on_2025_and_completes_on_2026() {
        let result = TaskOutcome::Result {
            value: json!({"content":[{"type":"text","text":"boom"}],"isError":true}),
        };
        let mut old = task(Era::V2025_11_25);
        old.finish(result.clone(), Utc::now()).unwrap();
        assert_eq!(old.status, TaskStatus::Failed);
        assert_eq!(old.status_message.as_deref(), Some("boom"));
        let long = "é".repeat(STATUS_MESSAGE_MAX_CHARS + 5);
        let cut = status_text(long);
        assert_eq!(cut.chars().count(), STATUS_MESSAGE_MAX_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(status_text("short".into()), "short");
        let mut new = task(Era::V2026_07_28);
        new.finish(result, Utc::now()).unwrap();
        assert_eq!(new.status, TaskStatus::Completed);
    }

    #[test]
    fn terminal_task_refuses_every_change() {
        let mut t = task(Era::V2025_11_25);
        t.cancel(Utc::now()).unwrap();
        let before = t.clone();
        assert_eq!(
            t.cancel(Utc::now()),
            Err(DomainError::Terminal(TaskStatus::Cancelled))
        );
        assert!(t.fail("x", Utc::now()).is_err());
        assert!(t.set_message("x", Utc::now()).is_err());
        assert!(t
            .set_variable("a", Some(json!(1)), 1000, Utc::now())
            .is_err());
        assert!(t.request_input("k", json!({}), Utc::now()).is_err());
        assert_eq!(t, before);
    }

    #[test]
    fn variable_limit_leaves_variables_untouched() {
        let mut t = task(Era::V2025_11_25);
        t.set_variable("a", Some(json!("x")), 20, Utc::now())
            .unwrap();
        let err = t
            .set_variable("b", Some(json!("a long value here")), 20, Utc::now())
            .unwrap_err();
        assert!(matches!(
            err,
            DomainError::VariablesTooLarge { limit: 20, .. }
        ));
        assert_eq!(t.variables.len(), 1);
        t.set_variable("a", None, 20, Utc::now()).unwrap();
        assert!(t.variables.is_empty());
    }

    #[test]
    fn partial_answers_keep_the_task_waiting() {
        let mut t = task(Era::V2026_07_28);
        t.request_input("a", json!({"method":"elicitation/create"}), Utc::now())
            .unwrap();
        t.request_input("b", json!({"method":"elicitation/create"}), Utc::now())
            .unwrap();
        let mut answers = Map::new();
        answers.insert("a".into(), json!({"action":"accept"}));
        answers.insert("never-asked".into(), json!({}));
        assert_eq!(
            t.answer_input(&answers, Utc::now()).unwrap(),
            vec!["a".to_string()]
        );
        assert_eq!(t.status, TaskStatus::InputRequired);
        assert!(!t.input_requests.contains_key("a"));
        let mut rest = Map::new();
        rest.insert("b".into(), json!({"action":"decline"}));
        t.answer_input(&rest, Utc::now()).unwrap();
        assert_eq!(t.status, TaskStatus::Working);
        assert_eq!(
            t.request_input("a", json!({}), Utc::now()),
            Err(DomainError::InputKeyReused("a".into()))
        );
    }

    #[test]
    fn record_round_trips_through_json() {
        let mut t = task(Era::V2026_07_28);
        t.finish(
            TaskOutcome::Result {
                value: json!({"content":[]}),
            },
            Utc::now(),
        )
        .unwrap();
        let back: TaskRecord = serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }
}
