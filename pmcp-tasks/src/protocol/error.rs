//! Everything a request can fail with, and the one mapping of each to its
//! JSON-RPC code, message and data, and to the HTTP status it travels with.

use super::era::SUPPORTED_PROTOCOL_VERSIONS;
use super::wire::{CLIENT_CAPABILITIES_KEY, TASKS_EXTENSION};
use crate::domain::{code, RpcError};
use crate::service::ServiceError;
use crate::store::QuotaKind;
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
    /// A bound on what a client may send or hold was reached (`-32005`).
    Limit(String),
    /// The server failed (`-32603`).
    Internal(String),
    /// The request was given up (its client left or cancelled it): it gets
    /// no answer.
    Abandoned,
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        match e {
            // The client gave the call up: the spec asks for no answer.
            ServiceError::CallCancelled => Error::Abandoned,
            other => Error::Service(Box::new(other)),
        }
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
            Error::Limit(m) => RpcError::new(code::LIMIT_EXCEEDED, m.clone()),
            Error::Internal(m) => RpcError::internal(m.clone()),
            Error::Abandoned => RpcError::internal("the request was given up"),
        }
    }

    /// The HTTP status of a response carrying this error: 401 for refused
    /// credentials, 400 for what the request's envelope got wrong (its
    /// version, capabilities, routing headers, JSON; also when pmcp says
    /// so), 200 for every error of the operation itself.
    pub(crate) fn http_status(&self) -> StatusCode {
        match self {
            Error::AuthenticationFailed(_) => StatusCode::UNAUTHORIZED,
            // pmcp's own answers (and stored outcomes) by their code.
            Error::Service(e) if matches!(**e, ServiceError::Failed(_)) => {
                status_of_code(self.to_rpc().code)
            }
            Error::Service(_) => StatusCode::OK,
            other => status_of_code(other.to_rpc().code),
        }
    }
}

/// The message a client reads for each service error.
fn service_error(e: &ServiceError) -> RpcError {
    use ServiceError as E;
    let message = match e {
        E::AuthenticationRequired => {
            "Authentication required: this server only runs tasks for authenticated callers".into()
        }
        E::UnknownTool(name) => {
            format!("Unknown tool: '{name}'; tools/list shows the tools of this server")
        }
        E::NotATaskTool(name) => format!(
            "Tool '{name}' does not support running as a task (tools/list declares no \
             execution.taskSupport for it); call it without params.task"
        ),
        E::TaskForbidden(name) => format!(
            "Tool '{name}' cannot run as a task (its execution.taskSupport is 'forbidden'); \
             call it without params.task"
        ),
        E::TaskRequired(name) => format!(
            "Tool '{name}' must run as a task (its execution.taskSupport is 'required'); \
             add \"task\": {{}} to the tools/call params"
        ),
        E::TaskNotFound(id) => format!(
            "Task not found: no task '{id}' for this caller (it may never have existed, belong \
             to someone else, or have expired)"
        ),
        E::Unlisted => "tasks/list is not available here: this anonymous request has no \
                        session, so its tasks are bound to no one and are reached by id only; \
                        initialize a session (Mcp-Session-Id) or authenticate to list tasks"
            .into(),
        E::InvalidCursor => {
            "Invalid cursor: pass the nextCursor of an earlier tasks/list answer unchanged".into()
        }
        E::AlreadyTerminal { status, .. } => {
            format!("Cannot cancel task: already in terminal status '{status}'")
        }
        E::Ended { id, status } => {
            format!("Task '{id}' has already ended ('{status}') and can no longer change")
        }
        E::OverQuota { quota, used, limit } => over_quota_message(*quota, *used, *limit),
        E::RateLimited {
            per_minute,
            retry_after,
        } => format!(
            "Too many tasks created too fast: this caller may create {per_minute} per minute; \
             retry in {} ms",
            retry_after.as_millis().max(1)
        ),
        E::CallCancelled => "The call was cancelled by the client".into(),
        E::ShuttingDown => {
            "The server is shutting down and accepts no new tasks; retry on another instance".into()
        }
        E::NoResult(id) => {
            format!("Task '{id}' was cancelled before it finished, so it has no result")
        }
        E::Storage(why) => format!("Task storage failed: {why}"),
        E::StoreUnavailable(why) => format!(
            "The task store is unavailable right now ({why}); the request may not have been \
             applied: retry in a few seconds (a task-creating call with an idempotency key, to \
             be sure of getting one task)"
        ),
        E::InvalidArguments { .. }
        | E::Refused(_)
        | E::Workflow(_)
        | E::CannotAsk { .. }
        | E::IdempotencyKey(_) => e.to_string(),
        E::Failed(error) => return error.clone(),
    };
    match e {
        E::AuthenticationRequired => RpcError::new(code::AUTHENTICATION_REQUIRED, message),
        E::NotATaskTool(_) | E::TaskForbidden(_) | E::TaskRequired(_) | E::Unlisted => {
            RpcError::new(code::METHOD_NOT_FOUND, message)
        }
        E::UnknownTool(_)
        | E::InvalidArguments { .. }
        | E::TaskNotFound(_)
        | E::InvalidCursor
        | E::AlreadyTerminal { .. }
        | E::Ended { .. }
        | E::Refused(_)
        | E::CannotAsk { .. }
        | E::IdempotencyKey(_)
        | E::Workflow(_) => RpcError::invalid_params(message),
        E::OverQuota { quota, used, limit } => {
            let (reason, held) = match quota {
                QuotaKind::ActiveTasks => ("tooManyUnfinishedTasks", "active"),
                QuotaKind::StoredTasks => ("tooManyStoredTasks", "stored"),
                _ => ("tooManyStoredBytes", "bytes"),
            };
            RpcError::new(code::LIMIT_EXCEEDED, message)
                .with_data(json!({"reason": reason, held: used, "limit": limit}))
        }
        E::StoreUnavailable(_) => RpcError::new(code::STORE_UNAVAILABLE, message)
            .with_data(json!({"reason": "storeUnavailable"})),
        E::RateLimited { retry_after, .. } => RpcError::new(code::LIMIT_EXCEEDED, message).with_data(
            json!({"reason": "rateLimited", "retryAfterMs": retry_after.as_millis().max(1) as u64}),
        ),
        E::ShuttingDown | E::NoResult(_) | E::Storage(_) | E::Failed(_) | E::CallCancelled => {
            RpcError::internal(message)
        }
    }
}

/// What an owner over one of its quotas is told, with what frees room.
fn over_quota_message(quota: QuotaKind, used: u64, limit: u64) -> String {
    match quota {
        QuotaKind::ActiveTasks => format!(
            "Too many unfinished tasks: this caller has {used} and the limit is {limit}; a \
             place frees as soon as one of them finishes or is cancelled"
        ),
        QuotaKind::StoredTasks => format!(
            "Too many stored tasks: this caller keeps {used} (finished ones count until they \
             expire) and the limit is {limit}; wait for some to expire, or ask for shorter TTLs"
        ),
        _ => format!(
            "Too much stored task data: this caller's tasks would hold {used} bytes and the \
             limit is {limit}; wait for some to expire, or ask for shorter TTLs"
        ),
    }
}

/// The HTTP status of a JSON-RPC error code: the transport spec's 400 for
/// what a message's envelope got wrong (not JSON, not a valid JSON-RPC
/// request, its version, capabilities or routing headers), 200 for
/// everything else.
fn status_of_code(code: i32) -> StatusCode {
    match code {
        code::MISSING_REQUIRED_CLIENT_CAPABILITY
        | code::UNSUPPORTED_PROTOCOL_VERSION
        | code::HEADER_MISMATCH
        | code::PARSE_ERROR
        | code::INVALID_REQUEST => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
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
            (ServiceError::Unlisted, code::METHOD_NOT_FOUND),
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
                ServiceError::IdempotencyKey("k".into()),
                code::INVALID_PARAMS,
            ),
            (
                ServiceError::OverQuota {
                    quota: QuotaKind::ActiveTasks,
                    used: 2,
                    limit: 2,
                },
                code::LIMIT_EXCEEDED,
            ),
            (
                ServiceError::RateLimited {
                    per_minute: 5,
                    retry_after: std::time::Duration::from_millis(250),
                },
                code::LIMIT_EXCEEDED,
            ),
            (
                ServiceError::OverQuota {
                    quota: QuotaKind::StoredBytes,
                    used: 3,
                    limit: 3,
                },
                code::LIMIT_EXCEEDED,
            ),
            (ServiceError::ShuttingDown, code::INTERNAL_ERROR),
            (ServiceError::NoResult("x".into()), code::INTERNAL_ERROR),
            (ServiceError::Storage("s".into()), code::INTERNAL_ERROR),
            (
                ServiceError::StoreUnavailable("s".into()),
                code::STORE_UNAVAILABLE,
            ),
            (
                ServiceError::Ended {
                    id: "x".into(),
                    status: TaskStatus::Cancelled,
                },
                code::INVALID_PARAMS,
            ),
            (ServiceError::Failed(RpcError::new(-32050, "up")), -32050),
        ];
        for (error, expected) in cases {
            let rpc = Error::from(error.clone()).to_rpc();
            assert_eq!(rpc.code, expected, "{error:?}");
            assert!(!rpc.message.is_empty());
            assert_eq!(Error::from(error).http_status(), StatusCode::OK);
        }
    }

    #[test]
    fn envelope_errors_travel_with_400_even_from_pmcp() {
        let forwarded = |code| Error::from(ServiceError::Failed(RpcError::new(code, "x")));
        assert_eq!(
            forwarded(code::MISSING_REQUIRED_CLIENT_CAPABILITY).http_status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            forwarded(code::INVALID_PARAMS).http_status(),
            StatusCode::OK
        );
        assert_eq!(
            Error::UnsupportedVersion("x".into()).http_status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Error::AuthenticationFailed("x".into()).http_status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Error::InvalidRequest("x".into()).http_status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Error::MethodNotFound("x".into()).http_status(),
            StatusCode::OK
        );
    }
}
