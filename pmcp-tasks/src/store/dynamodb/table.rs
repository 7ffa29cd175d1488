//! The table: connecting, checking its layout, creating it.

use super::item::*;
use super::DynamoDbStore;
use crate::store::StoreError;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    SseSpecification, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use std::time::Duration;

impl DynamoDbStore {
    /// Connects to `table` with the AWS configuration of the environment
    /// (region, credentials: what Lambda and the AWS CLI use), or to a
    /// local DynamoDB at `endpoint`; with an endpoint and no credentials in
    /// the environment, fixed local ones are used. Creates the table if it
    /// does not exist, and fails if it cannot be reached now.
    pub async fn connect(table: &str, endpoint: Option<&str>) -> Result<Self, StoreError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            // Throttling and transient errors are retried with backoff. Every
            // write is conditional (or a transaction with an idempotency
            // token), so a retried write cannot apply twice; a failed
            // condition is an answer, never retried.
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            );
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint).region(
                aws_config::meta::region::RegionProviderChain::default_provider()
                    .or_else("us-east-1"),
            );
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "pmcp-tasks",
                ));
            }
        }
        let store = Self::new(Client::new(&loader.load().await), table);
        store.ensure_table().await?;
        Ok(store)
    }

    /// Checks that the table exists with the indexes this store queries,
    /// creating it if it is missing; returns whether it was created.
    pub async fn ensure_table(&self) -> Result<bool, StoreError> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        let table = match described {
            Ok(out) => out.table,
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                self.create_table().await?;
                return Ok(true);
            }
            Err(e) => return Err(sdk(e)),
        };
        let keys: Vec<(&str, KeyType)> = table
            .as_ref()
            .map(|t| t.key_schema())
            .unwrap_or_default()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type().clone()))
            .collect();
        let layout = "see deploy/dynamodb-table.yaml or DynamoDbStore::create_table for the layout";
        if keys != [("pk", KeyType::Hash), ("sk", KeyType::Range)] {
            let hint = if keys == [("pk", KeyType::Hash)] {
                " (it has the one-key layout of earlier pmcp-tasks releases: create a new \
                 table; tasks are short-lived, so there is nothing to migrate once the old \
                 table's tasks have expired)"
            } else {
                ""
            };
            return Err(backend(format!(
                "table {} is not keyed by pk and sk: it was not made for this pmcp-tasks{hint}; {layout}",
                self.table
            )));
        }
        let indexes: Vec<&str> = table
            .as_ref()
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i.index_name())
            .collect();
        for wanted in ["by_expiry", "by_lease"] {
            if !indexes.contains(&wanted) {
                return Err(backend(format!(
                    "table {} has no index {wanted}: it was not made for pmcp-tasks; {layout}",
                    self.table
                )));
            }
        }
        Ok(false)
    }

    /// Creates the table as `deploy/dynamodb-table.yaml` describes it
    /// (on-demand billing, encryption at rest, the two indexes), waits until
    /// it is active, and turns on DynamoDB's TTL on `ttl` and point-in-time
    /// recovery (an engine without them gets a warning: the sweeper deletes
    /// expired tasks anyway).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .map_err(backend)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(backend)
        };
        let index = |name: &str, hash: &str, range: &str, projection: ProjectionType| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .key_schema(key(range, KeyType::Range)?)
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(backend)
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("sk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("xs", ScalarAttributeType::S)?)
            .attribute_definitions(attr("expires", ScalarAttributeType::N)?)
            .attribute_definitions(attr("ls", ScalarAttributeType::S)?)
            .attribute_definitions(attr("lease", ScalarAttributeType::N)?)
            .global_secondary_indexes(index(
                "by_expiry",
                "xs",
                "expires",
                ProjectionType::KeysOnly,
            )?)
            .global_secondary_indexes(index("by_lease", "ls", "lease", ProjectionType::All)?)
            .sse_specification(SseSpecification::builder().enabled(true).build())
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Another instance is creating it right now: wait for it below.
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => {
                return Err(backend(format!(
                    "table {} does not exist and cannot be created: {}",
                    self.table,
                    DisplayErrorContext(&e)
                )))
            }
        }
        for _ in 0..600 {
            let status = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(sdk)?
                .table
                .and_then(|t| t.table_status);
            if status == Some(TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ttl = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build()
                    .map_err(backend)?,
            )
            .send()
            .await;
        if let Err(e) = ttl {
            tracing::warn!(table = %self.table, error = %DisplayErrorContext(&e),
                "could not turn on DynamoDB TTL; the sweeper still deletes expired tasks");
        }
        let recovery = self
            .client
            .update_continuous_backups()
            .table_name(&self.table)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .map_err(backend)?,
            )
            .send()
            .await;
        if let Err(e) = recovery {
            tracing::warn!(table = %self.table, error = %DisplayErrorContext(&e),
                "could not turn on point-in-time recovery for the tasks table");
        }
        tracing::info!(table = %self.table, "created the DynamoDB table for tasks");
        Ok(())
    }
}
