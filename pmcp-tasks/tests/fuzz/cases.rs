//! The fuzzer's inputs: lines of every class of mistake, each with what
//! it is owed.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

pub const V2026: &str = "2026-07-28";

pub const METHODS: [&str; 19] = [
    "ping",
    "initialize",
    "server/discover",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "tasks/get",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
    "tasks/update",
    "subscriptions/listen",
    "logging/setLevel",
    "completion/complete",
    "notifications/initialized",
    "notifications/cancelled",
];

/// What a line must be answered with.
#[derive(Debug, Clone)]
pub enum Expect {
    /// An error with this code (a refusal of the message's form).
    Code(i64),
    /// A result, or an error with one of `REQUEST_CODES`, or no answer (a
    /// notification, a client's response).
    Served,
    /// Nothing (an empty line).
    Nothing,
}

/// The oracle for raw bytes: what a transport reading this line owes.
pub fn expect_for_bytes(line: &[u8]) -> Expect {
    let text = line.trim_ascii();
    if text.is_empty() {
        return Expect::Nothing;
    }
    match serde_json::from_slice::<Value>(text) {
        Err(_) => Expect::Code(-32700),
        Ok(Value::Object(_)) => Expect::Served,
        Ok(_) => Expect::Code(-32600),
    }
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("x".repeat(100_000))),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_]{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values a field of the wrong type may hold (never a string).
fn arb_not_string() -> impl Strategy<Value = Value> {
    arb_json().prop_filter("not a string", |v| !v.is_string() && !v.is_null())
}

fn arb_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        "[a-z0-9-]{0,12}".prop_map(Value::String),
    ]
}

fn meta_2026(version: Value, with_tasks: bool) -> Value {
    let extensions = if with_tasks {
        json!({"io.modelcontextprotocol/tasks": {}})
    } else {
        json!({})
    };
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {"extensions": extensions},
    })
}

fn arb_meta() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        2 => any::<bool>().prop_map(|t| Some(meta_2026(json!(V2026), t))),
        1 => arb_json().prop_map(|v| Some(meta_2026(v, true))),
        1 => arb_json().prop_map(Some),
    ]
}

/// Stands for the id of the task the fuzzer created last.
pub const LAST_TASK: &str = "$last";

/// Plausible params for a method: the fields it reads, with values that
/// are sometimes right and often absurd.
fn arb_params() -> impl Strategy<Value = Map<String, Value>> {
    // `$last` becomes the id of the task created last (see `LAST_TASK`).
    let task_id = prop_oneof![
        2 => Just(json!(LAST_TASK)),
        1 => "[0-9a-f-]{0,36}".prop_map(Value::String),
        1 => arb_json(),
    ];
    let ttl = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(json!(1e308)),
        Just(json!(-0.5)),
        arb_json(),
    ];
    let name = prop_oneof![
        prop::sample::select(vec!["echo", "nap", "ask", "nope", ""]).prop_map(Value::from),
        arb_json(),
    ];
    (
        prop::option::of(task_id),
        prop::option::of(ttl),
        prop::option::of(name),
        prop::option::of(arb_json()),
        prop::option::of(prop_oneof![
            "[A-Za-z0-9+/=]{0,30}".prop_map(Value::String),
            arb_json()
        ]),
        arb_meta(),
        prop::option::of(arb_json()),
    )
        .prop_map(|(task_id, ttl, name, arguments, cursor, meta, extra)| {
            let mut params = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    params.insert(k.into(), v);
                }
            };
            put("taskId", task_id);
            put("task", ttl.map(|ttl| json!({"ttl": ttl})));
            put("name", name);
            put("arguments", arguments);
            put("cursor", cursor);
            put("_meta", meta);
            put("inputResponses", extra.clone());
            put("notifications", extra.map(|e| json!({"taskIds": e})));
            params
        })
}

/// One fuzz case: the line sent, and what it is owed.
pub fn arb_case() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    let garbage = prop::collection::vec(any::<u8>(), 0..120).prop_map(|mut bytes| {
        bytes.retain(|b| *b != b'\n');
        let expect = expect_for_bytes(&bytes);
        (bytes, expect)
    });
    let not_object = prop_oneof![
        arb_scalar(),
        prop::collection::vec(arb_json(), 0..4).prop_map(Value::Array),
    ]
    .prop_map(|v| (v.to_string().into_bytes(), Expect::Code(-32600)));
    let bad_envelope = (
        prop::sample::select(METHODS.to_vec()),
        prop_oneof![
            Just(("jsonrpc", json!("1.0"))),
            Just(("jsonrpc", json!(2))),
            arb_not_string().prop_map(|v| ("method", v)),
            Just(("method", json!(""))),
            prop_oneof![
                any::<bool>().prop_map(Value::Bool),
                Just(json!(null)),
                Just(json!(1.5)),
                Just(json!({})),
                Just(json!([1])),
            ]
            .prop_map(|v| ("id", v)),
            arb_json().prop_map(|v| ("result", v)),
        ],
    )
        .prop_map(|(method, (field, value))| {
            let mut message = json!({"jsonrpc": "2.0", "id": 1, "method": method});
            message[field] = value;
            (message.to_string().into_bytes(), Expect::Code(-32600))
        });
    let unknown_method = (arb_id(), "[a-z]{1,8}/[a-z]{1,8}")
        .prop_filter("not a method", |(_, m)| !METHODS.contains(&m.as_str()))
        .prop_map(|(id, method)| {
            let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {}});
            (message.to_string().into_bytes(), Expect::Code(-32601))
        });
    let wrong_types = (
        arb_id(),
        prop::sample::select(vec![
            ("tasks/get", "taskId"),
            ("tasks/result", "taskId"),
            ("tasks/cancel", "taskId"),
            ("tasks/list", "cursor"),
            ("tools/call", "name"),
            ("prompts/get", "name"),
        ]),
        arb_not_string(),
        any::<bool>(),
    )
        .prop_map(|(id, (method, field), value, era_2026)| {
            let mut params = json!({"taskId": "t", "name": "echo", field: value});
            if era_2026 && method != "tasks/result" && method != "tasks/list" {
                params["_meta"] = meta_2026(json!(V2026), true);
            }
            let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            (message.to_string().into_bytes(), Expect::Code(-32602))
        });
    let params_not_object = (
        arb_id(),
        prop::sample::select(METHODS[..17].to_vec()),
        prop_oneof![
            arb_scalar().prop_filter("not null", |v| !v.is_null()),
            prop::collection::vec(arb_json(), 0..3).prop_map(Value::Array)
        ],
    )
        .prop_map(|(id, method, params)| {
            let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            (message.to_string().into_bytes(), Expect::Code(-32602))
        });
    let plausible = (
        prop::option::of(arb_id()),
        prop::sample::select(METHODS.to_vec()),
        arb_params(),
    )
        .prop_map(|(id, method, params)| {
            let mut message = json!({"jsonrpc": "2.0", "method": method, "params": params});
            if let Some(id) = id {
                message["id"] = id;
            }
            (message.to_string().into_bytes(), Expect::Served)
        });
    let deep = (1usize..4000).prop_map(|depth| {
        let line = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let expect = expect_for_bytes(line.as_bytes());
        (line.into_bytes(), expect)
    });
    // Tasks to act on: created in either era, with odd arguments.
    let create = (
        arb_id(),
        any::<bool>(),
        prop::sample::select(vec!["echo", "nap"]),
        arb_json(),
    )
        .prop_map(|(id, era_2026, tool, arguments)| {
            let mut params = json!({"name": tool, "arguments": arguments});
            if era_2026 {
                params["_meta"] = meta_2026(json!(V2026), true);
            } else {
                params["task"] = json!({"ttl": 1000});
            }
            let message =
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
            (message.to_string().into_bytes(), Expect::Served)
        });
    prop_oneof![
        2 => create,
        1 => garbage,
        1 => not_object,
        2 => bad_envelope,
        1 => unknown_method,
        2 => wrong_types,
        1 => params_not_object,
        8 => plausible,
        1 => deep,
    ]
}
