//! JSON kept as its compact text.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt;

/// A JSON value kept as its compact text: what a record stores the
/// arguments of its tool call as.
///
/// Stored, not worked on: the text is a few bytes where a
/// [`serde_json::Value`] tree is 80 bytes a node (with the `preserve_order`
/// feature pmcp turns on), is written out verbatim, and is parsed only when
/// it is used ([`parse`](Self::parse)). Two are equal when their texts are.
///
/// It serializes as the JSON it holds with serde_json only (other serde
/// formats see serde_json's private wrapper), so a record that holds one
/// is stored as JSON, as every store of this crate does. Reading it back
/// is subject to serde_json's nesting limit of 128 levels, which writing is
/// not: [`to_value`](Self::to_value) reports a value nested deeper.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The compact text of `value`.
    pub fn new(value: &Value) -> Self {
        // A `Value` always serializes; `null` would stand in otherwise.
        RawJson(
            serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned()),
        )
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The value read as `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.get())
    }

    /// The value as a [`Value`] tree; an error only for a value nested
    /// more than 128 levels deep (the text is JSON by construction).
    pub fn to_value(&self) -> serde_json::Result<Value> {
        self.parse()
    }
}

impl From<&Value> for RawJson {
    fn from(value: &Value) -> Self {
        RawJson::new(value)
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        RawJson::new(&value)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}
