//! The JSON-RPC envelope: a message read once into what it is (a request
//! with its method, a notification, or a client's answer), and a reply
//! written once.

use super::error::Error;
use serde_json::{json, Map, Value};

/// The methods this crate tells apart; every other one is pmcp's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Ping,
    Initialize,
    Discover,
    ToolsList,
    ToolsCall,
    PromptsList,
    PromptsGet,
    TasksGet,
    TasksResult,
    TasksList,
    TasksCancel,
    TasksUpdate,
    SubscriptionsListen,
    /// Served by pmcp (named: its `uri` is what the request addresses).
    ResourcesRead,
    /// Served by pmcp.
    Other,
}

impl Method {
    pub(crate) fn parse(name: &str) -> Method {
        match name {
            "ping" => Method::Ping,
            "initialize" => Method::Initialize,
            "server/discover" => Method::Discover,
            "tools/list" => Method::ToolsList,
            "tools/call" => Method::ToolsCall,
            "prompts/list" => Method::PromptsList,
            "prompts/get" => Method::PromptsGet,
            "tasks/get" => Method::TasksGet,
            "tasks/result" => Method::TasksResult,
            "tasks/list" => Method::TasksList,
            "tasks/cancel" => Method::TasksCancel,
            "tasks/update" => Method::TasksUpdate,
            "subscriptions/listen" => Method::SubscriptionsListen,
            "resources/read" => Method::ResourcesRead,
            _ => Method::Other,
        }
    }
}

/// One incoming message, sorted.
#[derive(Debug)]
pub(crate) enum Envelope {
    /// A request: an id, a method and params (an object, empty if absent).
    Request {
        id: Value,
        method: String,
        params: Map<String, Value>,
    },
    /// A notification (no id), for pmcp.
    Notification { method: String, message: Value },
    /// The client's answer to a request this server sent it.
    Response(Value),
}

/// Sorts a parsed message; a message that is none of the three is answered
/// with the reply given (`-32600`, with the offending id when it has a
/// usable one).
pub(crate) fn open(message: Value) -> Result<Envelope, Box<Reply>> {
    let invalid = |id: Value, why: &str| {
        Box::new(Reply::error(
            id,
            Error::InvalidRequest(format!("Invalid request: {why}")),
        ))
    };
    let mut object = match message {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(invalid(
                Value::Null,
                "batches are not supported (MCP removed JSON-RPC batching); send one message \
                 per request",
            ))
        }
        _ => return Err(invalid(Value::Null, "a JSON-RPC message must be an object")),
    };
    // An id this server can echo: a string or an integer. Anything else is
    // answered with a null id.
    let id = object.get("id").cloned();
    let usable_id = id.clone().filter(valid_id).unwrap_or(Value::Null);
    if object.get("jsonrpc") != Some(&json!("2.0")) {
        return Err(invalid(usable_id, "\"jsonrpc\" must be \"2.0\""));
    }
    let is_answer = object.contains_key("result") || object.contains_key("error");
    let method = match object.get("method") {
        None if is_answer => return Ok(Envelope::Response(Value::Object(object))),
        None => {
            return Err(invalid(
                usable_id,
                "needs a \"method\" (a request or notification) or a \"result\" or \"error\" \
                 (a response)",
            ))
        }
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(_) => return Err(invalid(usable_id, "\"method\" must be a non-empty string")),
    };
    if is_answer {
        return Err(invalid(
            usable_id,
            "a message with a \"method\" cannot also carry \"result\" or \"error\"",
        ));
    }
    let Some(id) = id else {
        return Ok(Envelope::Notification {
            method,
            message: Value::Object(object),
        });
    };
    if !valid_id(&id) {
        return Err(invalid(
            Value::Null,
            "\"id\" must be a string or an integer between -2^63 and 2^64-1",
        ));
    }
    let params = match object.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(_) => {
            return Err(Box::new(Reply::error(
                id,
                Error::InvalidParams("params must be an object".into()),
            )))
        }
    };
    Ok(Envelope::Request { id, method, params })
}

/// MCP request ids are strings or integers (never null); an integer out of
/// 64-bit range arrives as a float and is refused rather than echoed
/// altered.
fn valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    }
}

/// The answer to one request: its id and its result or error.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) id: Value,
    pub(crate) outcome: Result<Value, Error>,
}

impl Reply {
    pub(crate) fn error(id: Value, error: Error) -> Self {
        Reply {
            id,
            outcome: Err(error),
        }
    }

    /// The JSON-RPC response.
    pub(crate) fn to_json(&self) -> Value {
        match &self.outcome {
            Ok(result) => json!({"jsonrpc": "2.0", "id": self.id, "result": result}),
            Err(error) => {
                json!({"jsonrpc": "2.0", "id": self.id, "error": error.to_rpc().to_json()})
            }
        }
    }

    /// Whether the request was given up (the client left, or cancelled
    /// it): no answer is written.
    pub(crate) fn abandoned(&self) -> bool {
        matches!(self.outcome, Err(Error::Abandoned))
    }

    /// The HTTP status the response travels with.
    pub(crate) fn http_status(&self) -> axum::http::StatusCode {
        match &self.outcome {
            Ok(_) => axum::http::StatusCode::OK,
            Err(error) => error.http_status(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code;

    fn refused(message: Value) -> (Value, i32) {
        match open(message) {
            Err(reply) => {
                let rpc = match &reply.outcome {
                    Err(e) => e.to_rpc(),
                    Ok(_) => unreachable!("a refusal is an error"),
                };
                (reply.id.clone(), rpc.code)
            }
            Ok(envelope) => panic!("accepted: {envelope:?}"),
        }
    }

    #[test]
    fn malformed_messages_are_invalid_requests() {
        let cases = [
            json!([]),
            json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
            json!(7),
            json!("ping"),
            json!(null),
            json!({}),
            json!({"jsonrpc": "2.0", "id": 1}),
            json!({"jsonrpc": "2.0", "id": 1, "method": 5}),
            json!({"jsonrpc": "2.0", "id": 1, "method": ""}),
            json!({"jsonrpc": "2.0", "method": ""}),
            json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}),
            json!({"id": 1, "method": "ping"}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "result": {}}),
        ];
        for message in cases {
            let (_, code) = refused(message.clone());
            assert_eq!(code, code::INVALID_REQUEST, "{message}");
        }
        // The id is echoed when it is usable, else null.
        let (id, _) = refused(json!({"jsonrpc": "2.0", "id": "a", "method": 5}));
        assert_eq!(id, json!("a"));
    }

    #[test]
    fn ids_are_strings_or_64_bit_integers() {
        let bad: Value = serde_json::from_str("18446744073709551616").unwrap();
        for id in [
            json!(true),
            json!({}),
            json!([1]),
            json!(null),
            json!(1.5),
            bad,
        ] {
            let message = json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
            assert_eq!(
                refused(message),
                (Value::Null, code::INVALID_REQUEST),
                "{id}"
            );
        }
        for id in [json!("x"), json!(-5), json!(u64::MAX), json!(0)] {
            let message = json!({"jsonrpc": "2.0", "id": id.clone(), "method": "ping"});
            match open(message) {
                Ok(Envelope::Request { id: got, .. }) => assert_eq!(got, id),
                other => panic!("{id}: {other:?}"),
            }
        }
    }

    #[test]
    fn answers_and_notifications_are_told_apart() {
        let answer = json!({"jsonrpc": "2.0", "id": "pmcp-tasks-1", "result": {}});
        assert!(matches!(open(answer), Ok(Envelope::Response(_))));
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert!(matches!(open(note), Ok(Envelope::Notification { .. })));
        let bad_params = json!({"jsonrpc": "2.0", "id": 3, "method": "ping", "params": [1]});
        assert_eq!(refused(bad_params), (json!(3), code::INVALID_PARAMS));
    }
}
