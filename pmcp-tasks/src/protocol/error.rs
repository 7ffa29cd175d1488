//! Everything a request can fail with, and the one mapping of each to its
//! JSON-RPC code, message and data, and to the HTTP status it travels with.

use super::wire::{CLIENT_CAPABILITIES_KEY, TASKS_EXTENSION};
use crate::domain::{code, RpcError};
use crate::server::SUPPORTED_PROTOCOL_VERSIONS;
use crate::service::ServiceError;
use axum::http::StatusCode;
use serde_json::json;

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum Error {
    /// A task operation failed (boxed: it is by far the largest).
    Service(Box<ServiceError>),
    /// The message is not a request (`-32600`).
    InvalidRequest(String),
    /// No such method in this era (`-32601`).
    MethodNotFound(String),
    /// The params do not decode (`-32602`), naming the field.
    InvalidParams(String),
    /// 2026-07-28: the request needs the Tasks extension, which it did not
    /// declare (`-32021`); the text says what needs it.
    MissingTasksExtension(String),
    /// The request names a protocol version not served here (`-32022`).
    UnsupportedVersion(String),
    /// A 2026-07-28 routing header contradicts the body (`-32020`).
    HeaderMismatch(String),
    /// The body is not JSON (`-32700`).
    Parse(String),
    /// The credentials were refused (`-32003`).
    AuthenticationFailed(String),
    /// The server failed (`-32603`).
    Internal(String),
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        Error::Service(Box::new(e))
    }
}

impl Error {
    /// The JSON-RPC error this is.
    pub(crate) fn to_rpc(&self) -> RpcError {
        match self {
            Error::Service(e) => service_error(e),
            Error::InvalidRequest(m) => RpcError::new(code::INVALID_REQUEST, m.clone()),
            Error::MethodNotFound(m) => RpcError::new(code::METHOD_NOT_FOUND, m.clone()),
            Error::InvalidParams(m) => RpcError::invalid_params(m.clone()),
            Error::MissingTasksExtension(what) => RpcError::new(
                code::MISSING_REQUIRED_CLIENT_CAPABILITY,
                format!(
                    "Missing required client capability: {what} needs the client to declare the \
                     '{TASKS_EXTENSION}' extension in _meta['{CLIENT_CAPABILITIES_KEY}'].extensions"
                ),
            )
            .with_data(json!({"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}})),
            Error::UnsupportedVersion(requested) => RpcError::new(
                code::UNSUPPORTED_PROTOCOL_VERSION,
                format!(
                    "Unsupported protocol version {requested}; this server speaks {}",
                    SUPPORTED_PROTOCOL_VERSIONS.join(", ")
                ),
            )
            .with_data(json!({"supported": SUPPORTED_PROTOCOL_VERSIONS, "requested": requested})),
            Error::HeaderMismatch(m) => RpcError::new(code::HEADER_MISMATCH, m.clone()),
            Error::Parse(m) => RpcError::new(code::PARSE_ERROR, m.clone()),
            Error::AuthenticationFailed(m) => {
                RpcError::new(code::AUTHENTICATION_REQUIRED, m.clone())
            }
            Error::Internal(m) => RpcError::internal(m.clone()),
        }
    }

    /// The HTTP status of a response carrying this error: the transport
    /// spec's 400 for what the request's envelope got wrong, 200 for every
    /// error of the operation itself.
    pub(crate) fn http_status(&self) -> StatusCode {
        match self {
            Error::MissingTasksExtension(_)
            | Error::UnsupportedVersion(_)
            | Error::HeaderMismatch(_)
            | Error::Parse(_) => StatusCode::BAD_REQUEST,
            Error::AuthenticationFailed(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::OK,
        }
    }
}

fn service_error(e: &ServiceError) -> RpcError {
    let message = e.to_string();
    match e {
        ServiceError::AuthenticationRequired => {
            RpcError::new(code::AUTHENTICATION_REQUIRED, message)
        }
        ServiceError::NotATaskTool(_)
        | ServiceError::TaskForbidden(_)
        | ServiceError::TaskRequired(_) => RpcError::new(code::METHOD_NOT_FOUND, message),
        ServiceError::UnknownTool(_)
        | ServiceError::InvalidArguments { .. }
        | ServiceError::TaskNotFound(_)
        | ServiceError::InvalidCursor
        | ServiceError::AlreadyTerminal { .. }
        | ServiceError::Refused(_)
        | ServiceError::Workflow(_) => RpcError::invalid_params(message),
        ServiceError::TooManyTasks { active, limit } => {
            RpcError::new(code::LIMIT_EXCEEDED, message).with_data(
                json!({"reason": "tooManyUnfinishedTasks", "active": active, "limit": limit}),
            )
        }
        ServiceError::ShuttingDown | ServiceError::NoResult(_) | ServiceError::Storage(_) => {
            RpcError::internal(message)
        }
        ServiceError::Failed(error) => error.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DomainError, TaskStatus};

    #[test]
    fn each_service_error_has_its_code() {
        let cases = [
            (
                ServiceError::AuthenticationRequired,
                code::AUTHENTICATION_REQUIRED,
            ),
            (ServiceError::UnknownTool("t".into()), code::INVALID_PARAMS),
            (
                ServiceError::NotATaskTool("t".into()),
                code::METHOD_NOT_FOUND,
            ),
            (
                ServiceError::TaskForbidden("t".into()),
                code::METHOD_NOT_FOUND,
            ),
            (
                ServiceError::TaskRequired("t".into()),
                code::METHOD_NOT_FOUND,
            ),
            (
                ServiceError::InvalidArguments {
                    tool: "t".into(),
                    reason: "r".into(),
                },
                code::INVALID_PARAMS,
            ),
            (ServiceError::TaskNotFound("x".into()), code::INVALID_PARAMS),
            (ServiceError::InvalidCursor, code::INVALID_PARAMS),
            (
                ServiceError::AlreadyTerminal {
                    id: "x".into(),
                    status: TaskStatus::Completed,
                },
                code::INVALID_PARAMS,
            ),
            (
                ServiceError::Refused(DomainError::InputKeyReused("k".into())),
                code::INVALID_PARAMS,
            ),
            (ServiceError::Workflow("w".into()), code::INVALID_PARAMS),
            (
                ServiceError::TooManyTasks {
                    active: 2,
                    limit: 2,
                },
                code::LIMIT_EXCEEDED,
            ),
            (ServiceError::ShuttingDown, code::INTERNAL_ERROR),
            (ServiceError::NoResult("x".into()), code::INTERNAL_ERROR),
            (ServiceError::Storage("s".into()), code::INTERNAL_ERROR),
            (ServiceError::Failed(RpcError::new(-32050, "up")), -32050),
        ];
        for (error, expected) in cases {
            let rpc = Error::from(error.clone()).to_rpc();
            assert_eq!(rpc.code, expected, "{error:?}");
            assert!(!rpc.message.is_empty());
            assert_eq!(Error::from(error).http_status(), StatusCode::OK);
        }
    }
}
