//! Request params as types: what each method of either era reads, decoded
//! with serde so that a bad field is a `-32602` naming it.

use super::error::Error;
use super::wire::{
    CLIENT_CAPABILITIES_KEY, IDEMPOTENCY_KEY_META_KEY, MAX_IDEMPOTENCY_KEY_BYTES,
    PROTOCOL_VERSION_KEY, RELATED_TASK_KEY, TASKS_EXTENSION, VARIABLES_META_KEY,
};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Whether client `capabilities` declare form elicitation: an
/// `elicitation` capability that is empty (form, as before modes existed)
/// or names `form`.
pub(crate) fn answers_forms(capabilities: &Value) -> bool {
    match capabilities.get("elicitation") {
        Some(Value::Object(modes)) => modes.is_empty() || modes.contains_key("form"),
        _ => false,
    }
}

/// Decodes a request's params as `T`.
pub(crate) fn decode<T: DeserializeOwned>(method: &str, params: &Value) -> Result<T, Error> {
    T::deserialize(params)
        .map_err(|e| Error::InvalidParams(format!("Invalid params for {method}: {e}")))
}

/// The `_meta` of a request, as far as this crate reads it. Keys it does
/// not know are left to pmcp; a key of the wrong shape reads as absent,
/// as it did for clients before these keys existed.
#[derive(Debug, Default)]
pub(crate) struct RequestMeta {
    /// `io.modelcontextprotocol/protocolVersion` (2026-07-28), as sent.
    pub(crate) protocol_version: Option<Value>,
    /// Whether `io.modelcontextprotocol/clientCapabilities` declares the
    /// Tasks extension (2026-07-28).
    pub(crate) tasks_extension: bool,
    /// The task `io.modelcontextprotocol/related-task` names.
    pub(crate) related_task: Option<String>,
    /// `progressToken`: a string or an integer, kept for the task's life.
    pub(crate) progress_token: Option<Value>,
    /// Whether `io.modelcontextprotocol/clientCapabilities` (2026-07-28)
    /// declares form elicitation; `None` when the request declares no
    /// capabilities at all.
    pub(crate) client_elicits: Option<bool>,
    /// `pmcp:variables`: task variables the client writes (merged: a key
    /// takes its value, `null` removes it).
    pub(crate) variables: Option<Map<String, Value>>,
    /// `pmcp-tasks/idempotency-key`: a task-creating call's retry key.
    pub(crate) idempotency_key: Option<String>,
}

impl RequestMeta {
    /// The `_meta` of `params`; anything but an object (or null) is refused.
    pub(crate) fn read(params: &Map<String, Value>) -> Result<Self, Error> {
        let meta = match params.get("_meta") {
            None | Some(Value::Null) => return Ok(RequestMeta::default()),
            Some(Value::Object(meta)) => meta,
            Some(_) => return Err(Error::InvalidParams("_meta must be an object".into())),
        };
        let tasks_extension = meta
            .get(CLIENT_CAPABILITIES_KEY)
            .and_then(|c| c.get("extensions"))
            .and_then(|e| e.get(TASKS_EXTENSION))
            .is_some();
        let related_task = meta
            .get(RELATED_TASK_KEY)
            .and_then(|r| r.get("taskId"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let progress_token = meta
            .get("progressToken")
            .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
            .cloned();
        let variables = match meta.get(VARIABLES_META_KEY) {
            None | Some(Value::Null) => None,
            Some(Value::Object(vars)) => Some(vars.clone()),
            Some(_) => {
                return Err(Error::InvalidParams(format!(
                    "_meta[\"{VARIABLES_META_KEY}\"] must be an object of task variables \
                     (a key's value sets it, null removes it)"
                )))
            }
        };
        let client_elicits = meta
            .get(CLIENT_CAPABILITIES_KEY)
            .filter(|c| c.is_object())
            .map(answers_forms);
        let idempotency_key = match meta.get(IDEMPOTENCY_KEY_META_KEY) {
            None | Some(Value::Null) => None,
            Some(Value::String(key))
                if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_BYTES =>
            {
                Some(key.clone())
            }
            Some(_) => {
                return Err(Error::InvalidParams(format!(
                    "_meta[\"{IDEMPOTENCY_KEY_META_KEY}\"] must be a non-empty string of at \
                     most {MAX_IDEMPOTENCY_KEY_BYTES} bytes (a UUID does well)"
                )))
            }
        };
        Ok(RequestMeta {
            client_elicits,
            variables,
            idempotency_key,
            protocol_version: meta.get(PROTOCOL_VERSION_KEY).cloned(),
            tasks_extension,
            related_task,
            progress_token,
        })
    }
}

/// Params naming one task.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskRef {
    pub(crate) task_id: String,
}

/// `tasks/list` params.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    #[serde(default)]
    pub(crate) cursor: Option<String>,
}

/// 2026-07-28 `tasks/update` params.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateParams {
    pub(crate) task_id: String,
    /// Required by the spec; an update carrying only variables in `_meta`
    /// may send it empty, or leave it out.
    #[serde(default)]
    pub(crate) input_responses: Map<String, Value>,
}

/// `tools/call` params: the tool, its arguments, and (2025-11-25) the
/// task asked for.
#[derive(Debug, Deserialize)]
pub(crate) struct CallParams {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) arguments: Value,
    /// `params.task`: present when a 2025-11-25 caller asks for a task.
    #[serde(default)]
    pub(crate) task: Option<TaskParams>,
}

impl CallParams {
    /// The TTL the caller asked for, if any.
    pub(crate) fn requested_ttl(&self) -> Option<std::time::Duration> {
        let ms = self.task.as_ref()?.ttl?;
        Some(std::time::Duration::from_millis(ms.0))
    }
}

/// `params.task` of a task-augmented call.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TaskParams {
    #[serde(default)]
    pub(crate) ttl: Option<TtlMillis>,
}

/// `prompts/get` params of a workflow prompt (its `name` chose it).
#[derive(Debug, Deserialize)]
pub(crate) struct PromptParams {
    #[serde(default)]
    pub(crate) arguments: Option<Map<String, Value>>,
}

/// Just the name a request is addressed to, if it has one: a tool's or a
/// prompt's `name`, a resource's `uri`, a task's `taskId` (what the
/// 2026-07-28 `Mcp-Name` header repeats).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Addressed {
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) uri: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) task_id: Option<String>,
}

impl Addressed {
    /// The names `params` (a `&Value` or a `&Map`) addresses, as far as
    /// they are strings.
    pub(crate) fn read<'de, D: Deserializer<'de>>(params: D) -> Self {
        Addressed::deserialize(params).unwrap_or_default()
    }
}

/// A string, or absent for anything else.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// A TTL a client asks for, in milliseconds: a whole number, 0 or more.
/// A number too large for 64 bits is the largest there is (the limits then
/// clamp it like any other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TtlMillis(pub(crate) u64);

impl<'de> Deserialize<'de> for TtlMillis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let refuse = || {
            D::Error::custom(format!(
                "ttl must be a whole number of milliseconds, 0 or more (got {value})"
            ))
        };
        let Value::Number(n) = &value else {
            return Err(refuse());
        };
        if let Some(ms) = n.as_u64() {
            return Ok(TtlMillis(ms));
        }
        match n.as_f64() {
            Some(f) if f >= 0.0 && f.fract() == 0.0 => {
                // Saturates: `as` clamps a float beyond u64::MAX to it.
                Ok(TtlMillis(f as u64))
            }
            _ => Err(refuse()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Holder {
        ttl: TtlMillis,
    }

    fn ttl(v: Value) -> Result<u64, String> {
        serde_json::from_value::<Holder>(json!({"ttl": v}))
            .map(|h| h.ttl.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ttls_are_whole_milliseconds_and_saturate_when_huge() {
        assert_eq!(ttl(json!(0)), Ok(0));
        assert_eq!(ttl(json!(60000)), Ok(60000));
        assert_eq!(ttl(json!(2.0)), Ok(2));
        assert_eq!(ttl(json!(1e30)), Ok(u64::MAX));
        assert_eq!(ttl(json!(u64::MAX)), Ok(u64::MAX));
        for bad in [
            json!(-1),
            json!(1.5),
            json!(-0.5),
            json!("long"),
            json!(true),
        ] {
            assert!(ttl(bad.clone()).is_err(), "{bad}");
        }
        assert!(ttl(json!(-1)).unwrap_err().contains("0 or more"));
        assert!(ttl(json!("10m")).unwrap_err().contains("ttl must be"));
    }

    #[test]
    fn meta_reads_what_it_knows_and_refuses_a_non_object() {
        let params = json!({"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
            "io.modelcontextprotocol/related-task": {"taskId": "t1"},
        }});
        let meta = RequestMeta::read(params.as_object().unwrap()).unwrap();
        assert_eq!(meta.protocol_version, Some(json!("2026-07-28")));
        assert!(meta.tasks_extension);
        assert_eq!(meta.related_task.as_deref(), Some("t1"));
        let odd = json!({"_meta": {"io.modelcontextprotocol/related-task": {"taskId": 5}}});
        assert_eq!(
            RequestMeta::read(odd.as_object().unwrap())
                .unwrap()
                .related_task,
            None
        );
        let bad = json!({"_meta": 5});
        assert!(RequestMeta::read(bad.as_object().unwrap()).is_err());
    }
}
