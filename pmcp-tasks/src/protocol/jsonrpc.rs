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
/// with the reply given.
pub(crate) fn open(message: Value) -> Result<Envelope, Box<Reply>> {
    let Value::Object(mut object) = message else {
        return Err(Box::new(Reply::error(
            Value::Null,
            Error::InvalidRequest("Invalid request: a JSON-RPC message must be an object".into()),
        )));
    };
    let method = object
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let id = object.get("id").cloned();
    let (id, method) = match (id, method) {
        (None, Some(method)) => {
            return Ok(Envelope::Notification {
                method,
                message: Value::Object(object),
            })
        }
        (Some(id), Some(method)) if object.get("jsonrpc") == Some(&json!("2.0")) => (id, method),
        (id, _) => {
            if object.contains_key("result") || object.contains_key("error") {
                return Ok(Envelope::Response(Value::Object(object)));
            }
            return Err(Box::new(Reply::error(
                id.unwrap_or(Value::Null),
                Error::InvalidRequest(
                    "Invalid request: needs \"jsonrpc\": \"2.0\", a \"method\" string and an \"id\""
                        .into(),
                ),
            )));
        }
    };
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
