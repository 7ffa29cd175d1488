//! The worker function: runs the bodies of dispatched tasks, and recovers.

use crate::TaskMessage;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use pmcp_tasks::{Dispatched, TaskServer};
use serde_json::Value;

/// What the worker function is invoked with.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// Messages from the task queue (an SQS event source mapping).
    Queue(SqsEvent),
    /// Anything else, such as a scheduled EventBridge event: run recovery.
    Schedule,
}

impl WorkerEvent {
    /// Tells an SQS event (records from `aws:sqs`) from anything else.
    pub fn from_value(event: Value) -> Result<Self, crate::Error> {
        let from_sqs = event["Records"]
            .as_array()
            .and_then(|records| records.first())
            .is_some_and(|first| first["eventSource"] == "aws:sqs");
        if from_sqs {
            Ok(WorkerEvent::Queue(serde_json::from_value(event)?))
        } else {
            Ok(WorkerEvent::Schedule)
        }
    }
}

/// Runs the body of each message's task, all at once, and returns when
/// every one has ended. Messages whose task could not be read (the store
/// failed) are reported as failed, so SQS delivers them again; a message
/// that names no task is dropped with a warning, since retrying cannot
/// help. Needs the event source mapping's `ReportBatchItemFailures`.
pub async fn handle_messages(server: &TaskServer, event: SqsEvent) -> SqsBatchResponse {
    let runs = event.records.into_iter().map(|message| async move {
        let id = message.message_id.unwrap_or_default();
        let parsed = message
            .body
            .as_deref()
            .map(serde_json::from_str::<TaskMessage>);
        let task = match parsed {
            Some(Ok(task)) => task,
            Some(Err(e)) => {
                tracing::warn!(message = %id, error = %e, "dropping a queue message that names no task");
                return None;
            }
            None => {
                tracing::warn!(message = %id, "dropping a queue message without a body");
                return None;
            }
        };
        match server
            .runtime()
            .run_dispatched(&task.owner, &task.task_id)
            .await
        {
            Ok(Dispatched::Ran(status)) => {
                tracing::info!(task = %task.task_id, %status, "ran a dispatched task");
                None
            }
            Ok(other) => {
                tracing::info!(task = %task.task_id, outcome = ?other, "nothing to run for a dispatched task");
                None
            }
            Err(e) => {
                tracing::warn!(task = %task.task_id, error = %e, "could not run a dispatched task; SQS will deliver it again");
                Some(id)
            }
        }
    });
    let mut response = SqsBatchResponse::default();
    for failed in futures::future::join_all(runs).await.into_iter().flatten() {
        response.add_failure(failed);
    }
    // Nothing may run on once the invocation returns (it is frozen).
    server.runtime().idle().await;
    response
}

/// The scheduled round: deletes expired tasks, takes over tasks whose
/// worker died (a resumable tool resumes from its checkpoints, others fail
/// saying their server stopped) and tasks nobody picked up (started from
/// the beginning), and returns once the bodies it started have ended.
pub async fn handle_schedule(server: &TaskServer) -> Result<(), crate::Error> {
    let runtime = server.runtime();
    let swept = runtime.sweep_expired().await?;
    let taken = runtime.recover_lapsed().await?;
    runtime.idle().await;
    tracing::info!(swept, taken, "worker round done");
    Ok(())
}

/// Serves the worker function until the runtime stops: queue events go to
/// [`handle_messages`], anything else to [`handle_schedule`].
pub async fn run_worker(server: TaskServer) -> Result<(), crate::Error> {
    let server = &server;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        match WorkerEvent::from_value(event.payload)? {
            WorkerEvent::Queue(messages) => Ok::<Value, crate::Error>(serde_json::to_value(
                handle_messages(server, messages).await,
            )?),
            WorkerEvent::Schedule => {
                handle_schedule(server).await?;
                Ok(Value::Null)
            }
        }
    }))
    .await
}
