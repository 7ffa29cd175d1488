//! `json_len` against serde_json itself.

use super::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        // Any text, controls and quotes included.
        any::<String>().prop_map(Value::String),
        "[\"\\\\a-z\\x00-\\x1f\\x7f]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn counts_what_serde_json_writes(v in value()) {
        prop_assert_eq!(json_len(&v), serde_json::to_vec(&v).unwrap().len());
    }

    #[test]
    fn counts_integer_keys_bytes_and_enums(
        keys in prop::collection::btree_map(any::<i64>(), any::<u8>(), 0..5),
        bytes in prop::collection::vec(any::<u8>(), 0..8),
        c in any::<char>(),
    ) {
        #[derive(serde::Serialize)]
        enum Shape { Unit, New(u8), Tuple(i8, String), Struct { a: Option<u16>, b: char } }
        #[derive(serde::Serialize)]
        struct All<'a> {
            keys: &'a BTreeMap<i64, u8>,
            #[serde(with = "serde_bytes_like")]
            bytes: &'a [u8],
            shapes: Vec<Shape>,
            tuple: (u128, i128, ()),
        }
        mod serde_bytes_like {
            pub fn serialize<S: serde::Serializer>(b: &&[u8], s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(b)
            }
        }
        let all = All {
            keys: &keys,
            bytes: &bytes,
            shapes: vec![Shape::Unit, Shape::New(7), Shape::Tuple(-3, c.to_string()), Shape::Struct { a: None, b: c }],
            tuple: (u128::MAX, i128::MIN, ()),
        };
        prop_assert_eq!(json_len(&all), serde_json::to_vec(&all).unwrap().len());
    }
}

proptest! {
    #[test]
    fn counts_records_as_stores_write_them(arguments in value(), result in value(), finish in any::<bool>()) {
        use crate::domain::{Era, NewTask, TaskOutcome, TaskRecord};
        let now = chrono::Utc::now();
        let mut record = TaskRecord::new(
            NewTask {
                owner: "owner \"1\"".into(),
                era: Era::V2026_07_28,
                tool: "job".into(),
                arguments,
                ttl: Some(std::time::Duration::from_secs(60)),
                poll_interval: None,
                input_responses: Default::default(),
                variables: Default::default(),
                client_elicits: Some(true),
            },
            now,
        );
        record.hold_lease("instance\t1", now).unwrap();
        if finish {
            record.finish(TaskOutcome::result(result), now).unwrap();
        }
        prop_assert_eq!(json_len(&record), serde_json::to_vec(&record).unwrap().len());
        // Counted here, not by the serde_json fallback: every store write
        // measures the record, so the fallback would be on the hot path.
        prop_assert!(record.serialize(&mut Len(0)).is_ok());
    }

    /// Arguments and results are kept as text: what is read back must be
    /// what was written, floats included (serde_json's `float_roundtrip`).
    #[test]
    fn raw_values_read_back_as_written(v in value()) {
        prop_assert_eq!(crate::domain::RawJson::new(&v).to_value().unwrap(), v);
    }

    #[test]
    fn counts_raw_values_as_their_text(v in value()) {
        #[derive(serde::Serialize)]
        struct Inside {
            before: u8,
            raw: Vec<crate::domain::RawJson>,
            after: &'static str,
        }
        let raw = crate::domain::RawJson::new(&v);
        let inside = Inside { before: 1, raw: vec![raw.clone(), raw.clone()], after: "a\"b" };
        let wrapped = (raw.clone(), vec![raw.clone()]);
        prop_assert_eq!(json_len(&raw), raw.get().len());
        prop_assert_eq!(json_len(&wrapped), serde_json::to_vec(&wrapped).unwrap().len());
        prop_assert_eq!(json_len(&inside), serde_json::to_vec(&inside).unwrap().len());
        prop_assert!(wrapped.serialize(&mut Len(0)).is_ok());
        prop_assert!(inside.serialize(&mut Len(0)).is_ok());
    }
}

#[test]
fn unusual_shapes_are_counted_by_serde_json() {
    // A raw value's text as it is, spaces and all, as serde_json writes it.
    let raw = serde_json::value::RawValue::from_string("{ \"a\" :  1 }".into()).unwrap();
    assert_eq!(json_len(&raw), serde_json::to_vec(&raw).unwrap().len());
    assert!(raw.serialize(&mut Len(0)).is_ok());
    // Keys serde_json may refuse: counted as far as it writes them.
    let bool_keys: BTreeMap<bool, u8> = [(true, 1), (false, 2)].into();
    assert_eq!(json_len(&bool_keys), by_serde_json(&bool_keys));
    let floats = json!({"a": [1, 2.5, -0.0, 1e300, "x\n"]});
    assert_eq!(
        json_len(&floats),
        serde_json::to_vec(&floats).unwrap().len()
    );
}
