//! A task record's JSON: one flat object, whatever the record keeps apart
//! in memory. Written from borrowed parts (no copy of the record), read
//! into owned ones that are then moved into place.

use super::record::{Extras, Lease, Millis, ProgressMark, TaskOutcome, TaskRecord};
use super::{Era, RawJson, RpcError, TaskStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The JSON as written. Field order and names are the stored format that
/// every durable store holds: change them only with a migration.
#[derive(Serialize)]
struct Out<'a> {
    id: &'a str,
    owner: &'a str,
    era: Era,
    tool: &'a str,
    arguments: &'a RawJson,
    status: TaskStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<ProgressMark>,
    #[serde(with = "super::timestamp")]
    created_at: DateTime<Utc>,
    #[serde(with = "super::timestamp")]
    updated_at: DateTime<Utc>,
    #[serde(with = "opt_millis")]
    ttl: Option<Duration>,
    #[serde(with = "opt_millis", skip_serializing_if = "Option::is_none")]
    retention: Option<Duration>,
    #[serde(with = "opt_millis")]
    poll_interval: Option<Duration>,
    variables: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a TaskOutcome>,
    input_requests: &'a BTreeMap<String, Value>,
    input_responses: &'a BTreeMap<String, Value>,
    checkpoints: &'a BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_elicits: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<&'a Lease>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    suspended: bool,
    version: u64,
}

/// The JSON as read: what [`Out`] writes, and what older writers left out
/// taken as empty.
#[derive(Deserialize)]
struct In {
    id: String,
    owner: String,
    era: Era,
    tool: String,
    arguments: RawJson,
    status: TaskStatus,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    progress: Option<ProgressMark>,
    #[serde(with = "super::timestamp")]
    created_at: DateTime<Utc>,
    #[serde(with = "super::timestamp")]
    updated_at: DateTime<Utc>,
    #[serde(default, with = "opt_millis")]
    ttl: Option<Duration>,
    #[serde(default, with = "opt_millis")]
    retention: Option<Duration>,
    #[serde(default, with = "opt_millis")]
    poll_interval: Option<Duration>,
    #[serde(default)]
    variables: Map<String, Value>,
    #[serde(default)]
    outcome: Option<TaskOutcome>,
    #[serde(default)]
    input_requests: BTreeMap<String, Value>,
    #[serde(default)]
    input_responses: BTreeMap<String, Value>,
    #[serde(default)]
    checkpoints: BTreeMap<String, Value>,
    #[serde(default)]
    client_elicits: Option<bool>,
    #[serde(default)]
    lease: Option<Lease>,
    #[serde(default)]
    suspended: bool,
    version: u64,
}

impl Serialize for TaskRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let extras = self.extras();
        Out {
            id: &self.id,
            owner: &self.owner,
            era: self.era,
            tool: &self.tool,
            arguments: &self.arguments,
            status: self.status,
            status_message: extras.status_message.as_deref(),
            progress: extras.progress,
            created_at: self.created_at,
            updated_at: self.updated_at,
            ttl: self.ttl(),
            retention: extras.retention,
            poll_interval: self.poll_interval(),
            variables: &extras.variables,
            outcome: self.outcome(),
            input_requests: &extras.input_requests,
            input_responses: &extras.input_responses,
            checkpoints: &extras.checkpoints,
            client_elicits: self.client_elicits,
            lease: extras.lease.as_ref(),
            suspended: self.suspended,
            version: self.version,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TaskRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let read = In::deserialize(deserializer)?;
        let extras = Extras {
            status_message: read.status_message,
            progress: read.progress,
            retention: read.retention,
            variables: read.variables,
            input_requests: read.input_requests,
            input_responses: read.input_responses,
            checkpoints: read.checkpoints,
            lease: read.lease,
        };
        Ok(TaskRecord {
            id: read.id,
            owner: read.owner,
            era: read.era,
            tool: read.tool,
            arguments: read.arguments,
            status: read.status,
            created_at: read.created_at,
            updated_at: read.updated_at,
            ttl: Millis::new(read.ttl),
            poll_interval: Millis::new(read.poll_interval),
            client_elicits: read.client_elicits,
            suspended: read.suspended,
            version: read.version,
            outcome: read.outcome.map(Box::new),
            extras: (!extras.is_empty()).then(|| Arc::new(extras)),
        })
    }
}

/// A [`TaskOutcome`] as read: the tag, and the part it names (the other,
/// if present, is ignored as the derived reader did). A part that is
/// present is kept even when it is `null`.
#[derive(Deserialize)]
struct OutcomeIn {
    kind: OutcomeKind,
    #[serde(default, deserialize_with = "present")]
    value: Option<RawJson>,
    #[serde(default, deserialize_with = "present")]
    error: Option<RawJson>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<RawJson>, D::Error> {
    RawJson::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutcomeKind {
    Result,
    Error,
}

impl<'de> Deserialize<'de> for TaskOutcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let read = OutcomeIn::deserialize(deserializer)?;
        match (read.kind, read.value, read.error) {
            (OutcomeKind::Result, Some(value), _) => Ok(TaskOutcome::Result { value }),
            (OutcomeKind::Error, _, Some(error)) => error
                .parse::<RpcError>()
                .map(TaskOutcome::error)
                .map_err(|e| D::Error::custom(format!("a task's error does not read: {e}"))),
            (OutcomeKind::Result, None, _) => Err(D::Error::missing_field("value")),
            (OutcomeKind::Error, _, None) => Err(D::Error::missing_field("error")),
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
