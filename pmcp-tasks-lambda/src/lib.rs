//! pmcp-tasks on AWS Lambda.
//!
//! A Lambda execution environment is frozen as soon as it has answered, so
//! a task body cannot run in the background of the invocation that created
//! the task. This crate splits the work in two functions over one store
//! (DynamoDB, say) and one SQS queue:
//!
//! - the **endpoint** ([`run_http`]) serves MCP over `lambda_http` (a
//!   function URL, API Gateway or an ALB). Its server is built with
//!   [`SqsDispatch`]: a `tools/call` that creates a task records it and
//!   sends `{owner, taskId}` to the queue, and answers at once;
//! - the **worker** ([`run_worker`]) is triggered by the queue and by a
//!   schedule. For each message it runs the task's body under a lease and
//!   returns when the body has ended ([`handle_messages`]); on the schedule
//!   it sweeps expired tasks and takes over tasks whose worker died or that
//!   nobody picked up, with the same crash recovery as a long-lived server
//!   ([`handle_schedule`]).
//!
//! Both are built from the same tools: `pmcp_tasks::TaskServer::builder`,
//! `.store(..)`, `.registered_tools()` and `.without_sweeper()` (a frozen
//! environment must not take tasks over in the background: the schedule
//! does it, and waits for them), plus `.dispatch(..)` for the endpoint. The 2026-07-28 era suits Lambda (stateless requests); a
//! 2025-11-25 session lives in one environment's memory and does not
//! survive across invocations. See `docs/deployment.md` and
//! `deploy/lambda.yaml`.

mod dispatch;
mod http;
mod worker;

pub use dispatch::{SqsDispatch, TaskMessage};
pub use http::{handle_http, run_http};
pub use worker::{handle_messages, handle_schedule, run_worker, WorkerEvent};

/// What the handlers fail with.
pub type Error = lambda_runtime::Error;
