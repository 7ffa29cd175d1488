//! The task record: what every task keeps inline, the parts kept apart, and
//! how they are read. Its validated changes are in `changes`.

use super::{Era, RawJson, RpcError, TaskStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// The longest `statusMessage` kept, in characters: longer texts (a
/// progress message, a failure's error) are cut here and end in `…`, so
/// that one task cannot make every `tasks/list` page huge. The full error
/// stays in the task's result.
pub const STATUS_MESSAGE_MAX_CHARS: usize = 1024;

pub(super) fn status_text(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(STATUS_MESSAGE_MAX_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// What the underlying request ended with: exactly what it would have
/// answered had it not been run as a task.
///
/// Its JSON is `{"kind": "result", "value": …}` or `{"kind": "error",
/// "error": …}` (read in `record_serde`, without the buffering that serde's
/// tagged enums do, which a raw value cannot pass through).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskOutcome {
    /// A successful JSON-RPC result (for `tools/call`, a `CallToolResult`,
    /// which may itself carry `isError: true`), kept as its JSON text.
    Result {
        /// The result object.
        value: RawJson,
    },
    /// A JSON-RPC error.
    Error {
        /// The error object (boxed: an outcome is mostly results).
        error: Box<RpcError>,
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

/// Whether a stored `CallToolResult` is flagged `isError`: read from its
/// text, skipping the rest without building it.
#[derive(Deserialize)]
struct ErrorFlag {
    #[serde(default, rename = "isError")]
    is_error: Option<bool>,
}

impl TaskOutcome {
    /// A successful result.
    pub fn result(value: impl Into<RawJson>) -> Self {
        TaskOutcome::Result {
            value: value.into(),
        }
    }

    /// A JSON-RPC error.
    pub fn error(error: RpcError) -> Self {
        TaskOutcome::Error {
            error: Box::new(error),
        }
    }

    /// Whether this is a tool result flagged `isError: true`.
    pub(super) fn is_tool_error(&self) -> bool {
        // An object only: the derived reader would take an array too.
        matches!(self, TaskOutcome::Result { value }
            if value.get().starts_with('{')
                && value.parse::<ErrorFlag>().is_ok_and(|f| f.is_error == Some(true)))
    }

    /// The first text content of a result, or the error message: a short
    /// explanation for `statusMessage`.
    pub(super) fn summary(&self) -> Option<String> {
        match self {
            TaskOutcome::Error { error } => Some(error.message.clone()),
            // Only for a failure: the whole tree, read as `first_text` reads it.
            TaskOutcome::Result { value } => first_text(&value.to_value().ok()?).map(str::to_owned),
        }
    }

    /// The JSON-RPC answer this outcome is: a result or an error.
    pub(crate) fn into_result(self) -> Result<Value, RpcError> {
        match self {
            TaskOutcome::Result { value } => value.to_value().map_err(unreadable_result),
            TaskOutcome::Error { error } => Err(*error),
        }
    }
}

/// The error a result that cannot be read back answers as: one nested
/// deeper than serde_json reads (see [`RawJson`]).
pub(crate) fn unreadable_result(e: serde_json::Error) -> RpcError {
    RpcError::internal(format!("the task's result cannot be read back: {e}"))
}

/// Everything the runtime knows about one task.
///
/// Every change goes through a method that validates it, and every write of a
/// changed record is a compare-and-set on [`TaskRecord::version`].
///
/// What every task has is kept inline (the TTL and poll interval as whole
/// milliseconds); what most tasks never use (questions, answers,
/// checkpoints, variables, progress, the lease) is kept together behind one
/// shared pointer that is absent until used, so that a stored task is small
/// and a changed copy of a record shares what did not change; the outcome is
/// boxed. Those parts are read through methods
/// ([`variables`](Self::variables), [`outcome`](Self::outcome),
/// [`ttl`](Self::ttl), ...). The
/// record serializes to the same JSON either way; it is meant to be stored
/// as JSON (its arguments and result are [`RawJson`]).
#[derive(Debug, Clone)]
pub struct TaskRecord {
    /// Unguessable identifier (a UUIDv7: the time and 74 random bits).
    pub id: String,
    /// Who may see and act on this task.
    pub owner: String,
    /// The era of the request that created the task.
    pub era: Era,
    /// The tool that runs the task.
    pub tool: String,
    /// The tool's arguments, as received (as compact JSON text).
    pub arguments: RawJson,
    /// Current status.
    pub status: TaskStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    pub updated_at: DateTime<Utc>,
    /// See [`ttl`](Self::ttl).
    pub(super) ttl: Millis,
    /// See [`poll_interval`](Self::poll_interval).
    pub(super) poll_interval: Millis,
    /// Whether the creating client declared it can answer form
    /// elicitations (`None`: it did not say). A body's question to a client
    /// that cannot answer fails at once instead of waiting for the TTL.
    pub client_elicits: Option<bool>,
    /// The body let go of its worker while waiting for input (see
    /// [`suspend`](Self::suspend)): the answer, on any instance, resumes it.
    pub suspended: bool,
    /// Bumped by the store on every successful write.
    pub version: u64,
    /// See [`outcome`](Self::outcome). Boxed, not shared: a record rarely
    /// changes once it has one, and a box is 16 bytes smaller than an `Arc`.
    pub(super) outcome: Option<Box<TaskOutcome>>,
    /// The parts most tasks never use; `None` while all are empty.
    pub(super) extras: Option<Arc<Extras>>,
}

/// An optional span in whole milliseconds (as the protocol counts TTLs and
/// poll intervals), 8 bytes where an `Option<Duration>` takes 16.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Millis(u64);

impl std::fmt::Debug for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Millis {
    const NONE: u64 = u64::MAX;

    /// `span` rounded up to a whole millisecond, so it is never shortened.
    pub(super) fn new(span: Option<Duration>) -> Self {
        Millis(span.map_or(Self::NONE, |d| {
            let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
            u64::try_from(ms).unwrap_or(u64::MAX).min(Self::NONE - 1)
        }))
    }

    pub(super) fn get(self) -> Option<Duration> {
        (self.0 != Self::NONE).then(|| Duration::from_millis(self.0))
    }
}

/// The parts of a record most tasks never use (see [`TaskRecord`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Extras {
    pub(super) status_message: Option<String>,
    pub(super) progress: Option<ProgressMark>,
    pub(super) retention: Option<Duration>,
    pub(super) variables: Map<String, Value>,
    pub(super) input_requests: BTreeMap<String, Value>,
    pub(super) input_responses: BTreeMap<String, Value>,
    pub(super) checkpoints: BTreeMap<String, Value>,
    pub(super) lease: Option<Lease>,
}

impl Extras {
    pub(super) fn is_empty(&self) -> bool {
        self.status_message.is_none()
            && self.progress.is_none()
            && self.retention.is_none()
            && self.variables.is_empty()
            && self.input_requests.is_empty()
            && self.input_responses.is_empty()
            && self.checkpoints.is_empty()
            && self.lease.is_none()
    }
}

/// What the accessors read for a record without extras.
static NO_EXTRAS: LazyLock<Extras> = LazyLock::new(Extras::default);

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

impl PartialEq for TaskRecord {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.owner == other.owner
            && self.era == other.era
            && self.tool == other.tool
            && self.arguments == other.arguments
            && self.status == other.status
            && self.created_at == other.created_at
            && self.updated_at == other.updated_at
            && self.ttl == other.ttl
            && self.poll_interval == other.poll_interval
            && self.client_elicits == other.client_elicits
            && self.suspended == other.suspended
            && self.version == other.version
            && self.outcome() == other.outcome()
            && self.extras() == other.extras()
    }
}

/// Reading the parts kept apart.
impl TaskRecord {
    pub(super) fn extras(&self) -> &Extras {
        self.extras.as_deref().unwrap_or(&NO_EXTRAS)
    }

    /// The extras to change: this record's own copy, made on first use.
    /// Changes that may empty them end with [`tidy`](Self::tidy).
    pub(super) fn extras_mut(&mut self) -> &mut Extras {
        Arc::make_mut(self.extras.get_or_insert_with(Default::default))
    }

    /// Lets go of extras that are all empty again.
    pub(super) fn tidy(&mut self) {
        if self.extras.as_deref().is_some_and(Extras::is_empty) {
            self.extras = None;
        }
    }

    /// The task's TTL; `None` is unlimited. See
    /// [`expires_at`](Self::expires_at) for how it counts.
    pub fn ttl(&self) -> Option<Duration> {
        self.ttl.get()
    }

    /// Sets the TTL, rounded up to a whole millisecond.
    pub fn set_ttl(&mut self, ttl: Option<Duration>) {
        self.ttl = Millis::new(ttl);
    }

    /// The polling interval suggested to clients.
    pub fn poll_interval(&self) -> Option<Duration> {
        self.poll_interval.get()
    }

    /// Sets the polling interval, rounded up to a whole millisecond.
    pub fn set_poll_interval(&mut self, every: Option<Duration>) {
        self.poll_interval = Millis::new(every);
    }

    /// The final outcome; present exactly when the status is `completed` or
    /// `failed` (for `cancelled`, never).
    pub fn outcome(&self) -> Option<&TaskOutcome> {
        self.outcome.as_deref()
    }

    /// A human-readable note on the current status (progress, failure).
    pub fn status_message(&self) -> Option<&str> {
        self.extras().status_message.as_deref()
    }

    /// How far the body says it got, in numbers: what
    /// `notifications/progress` reports.
    pub fn progress(&self) -> Option<ProgressMark> {
        self.extras().progress
    }

    /// How long the task is kept once it has ended; `None`: its `ttl`.
    pub fn retention(&self) -> Option<Duration> {
        self.extras().retention
    }

    /// The task variables: a scratchpad shared by server and client.
    pub fn variables(&self) -> &Map<String, Value> {
        &self.extras().variables
    }

    /// Outstanding requests for client input, by key.
    pub fn input_requests(&self) -> &BTreeMap<String, Value> {
        &self.extras().input_requests
    }

    /// Answers received, by key. Kept for the task's life, so a key is never
    /// reused and an answer survives a restart.
    pub fn input_responses(&self) -> &BTreeMap<String, Value> {
        &self.extras().input_responses
    }

    /// Outputs of the body's completed `ctx.step`s, by step name: replayed
    /// instead of re-run when the task is resumed after a crash.
    pub fn checkpoints(&self) -> &BTreeMap<String, Value> {
        &self.extras().checkpoints
    }

    /// Which instance runs the body, and until when that claim holds unless
    /// renewed. `None` once the task is terminal.
    pub fn lease(&self) -> Option<&Lease> {
        self.extras().lease.as_ref()
    }

    /// When the lease of this unfinished task lapses; `None` if it has none
    /// or is terminal. Stores index tasks by this.
    pub fn lease_deadline(&self) -> Option<DateTime<Utc>> {
        if self.status.is_terminal() {
            return None;
        }
        self.lease().map(|l| l.until)
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
    /// A fresh `working` task with a new id: a UUIDv7, whose 48 leading
    /// bits are the time (from the system clock, not `now`) and whose other
    /// 74 are random, so that stores keep recent tasks together.
    pub fn new(new: NewTask, now: DateTime<Utc>) -> Self {
        let created = uuid::Timestamp::now(uuid::NoContext);
        let mut record = TaskRecord {
            id: uuid::Uuid::new_v7(created).to_string(),
            owner: new.owner,
            era: new.era,
            tool: new.tool,
            arguments: RawJson::new(&new.arguments),
            status: TaskStatus::Working,
            created_at: now,
            updated_at: now,
            ttl: Millis::new(new.ttl),
            poll_interval: Millis::new(new.poll_interval),
            client_elicits: new.client_elicits,
            suspended: false,
            version: 0,
            outcome: None,
            extras: None,
        };
        if !new.variables.is_empty() || !new.input_responses.is_empty() {
            let extras = record.extras_mut();
            extras.variables = new.variables;
            extras.input_responses = new.input_responses;
        }
        record
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
