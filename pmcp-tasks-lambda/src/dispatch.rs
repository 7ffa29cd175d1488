//! Handing a task to the worker: one SQS message per task.

use async_trait::async_trait;
use pmcp_tasks::domain::TaskRecord;
use pmcp_tasks::Dispatch;
use serde::{Deserialize, Serialize};

/// The body of a queue message: which task to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskMessage {
    /// The task's owner, as the store keys it.
    pub owner: String,
    /// The task id.
    pub task_id: String,
}

/// Sends each new task to an SQS queue (see the crate docs).
///
/// Delivery is at least once, and that is enough: a task delivered twice is
/// run once (the second delivery finds it leased or ended), and a message
/// that is lost leaves the task queued until its lease lapses, when the
/// worker's scheduled recovery starts it.
#[derive(Debug, Clone)]
pub struct SqsDispatch {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDispatch {
    /// Sends to the queue at `queue_url` through `client`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsDispatch {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// A client from the Lambda environment's AWS configuration (its role's
    /// credentials and region), or for a local endpoint such as moto's
    /// (with fixed local credentials when the environment has none).
    pub async fn connect(queue_url: impl Into<String>, endpoint: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5));
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint).region(
                aws_config::meta::region::RegionProviderChain::default_provider()
                    .or_else("us-east-1"),
            );
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "pmcp-tasks",
                ));
            }
        }
        Self::new(aws_sdk_sqs::Client::new(&loader.load().await), queue_url)
    }
}

#[async_trait]
impl Dispatch for SqsDispatch {
    async fn dispatch(&self, task: &TaskRecord) -> Result<(), String> {
        let body = serde_json::to_string(&TaskMessage {
            owner: task.owner.clone(),
            task_id: task.id.clone(),
        })
        .map_err(|e| e.to_string())?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "SQS refused the message: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                )
            })?;
        Ok(())
    }
}
