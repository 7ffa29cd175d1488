//! The backend conformance suite against a DynamoDB implementation started
//! locally: each test runs its own `dynalite` (from the npm packages of
//! `client-tests/`; `npm ci` there installs it). `PMCP_TASKS_DYNAMODB_ENDPOINT`
//! points the tests at an already running one instead (each test then uses
//! its own table).
#![cfg(feature = "dynamodb")]

mod local_server;

use chrono::Utc;
use local_server::{free_port, LocalServer};
use pmcp_tasks::domain::{Era, NewTask, TaskOutcome, TaskRecord};
use pmcp_tasks::store::conformance::Guarded;
use pmcp_tasks::store::{DynamoDbStore, OwnerQuota, QuotaKind, StoreError, TaskStore};
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// A private dynalite (none when the environment names one), and its
/// endpoint.
struct Dynalite {
    _local: Option<LocalServer>,
    endpoint: String,
}

async fn dynalite() -> Dynalite {
    if let Ok(endpoint) = std::env::var("PMCP_TASKS_DYNAMODB_ENDPOINT") {
        return Dynalite {
            _local: None,
            endpoint,
        };
    }
    let cli = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../client-tests/node_modules/dynalite/cli.js");
    assert!(
        cli.exists(),
        "dynalite is needed for these tests: run `npm ci` in client-tests/ (or set PMCP_TASKS_DYNAMODB_ENDPOINT)"
    );
    let port = free_port();
    let mut command = Command::new("node");
    command
        .arg(&cli)
        .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
        .args([
            "--createTableMs",
            "0",
            "--deleteTableMs",
            "0",
            "--updateTableMs",
            "0",
        ]);
    Dynalite {
        _local: Some(
            LocalServer::start(command, port, Duration::from_secs(5), "node runs dynalite").await,
        ),
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

async fn fresh() -> Guarded<DynamoDbStore> {
    let server = dynalite().await;
    let table = format!("tasks-{}", uuid::Uuid::new_v4().simple());
    let store = DynamoDbStore::connect(&table, Some(&server.endpoint))
        .await
        .unwrap();
    Guarded::new(store, server)
}

async fn fresh_store() -> Arc<dyn TaskStore> {
    Arc::new(fresh().await)
}

// Its stored-task and byte quotas are read from the owner index before the
// write, not checked with it (see the store's docs).
pmcp_tasks::store_conformance_tests!(non_atomic_quotas: fresh_store().await);

fn record(owner: &str) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: owner.into(),
            era: Era::V2025_11_25,
            tool: "job".into(),
            arguments: json!({}),
            ttl: Some(Duration::from_secs(600)),
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        },
        Utc::now(),
    )
}

#[tokio::test]
async fn a_result_too_large_for_an_item_is_refused_before_the_write() {
    let store = fresh().await;
    let created = store
        .create(record("alice"), OwnerQuota::active(10), Utc::now())
        .await
        .unwrap();
    let mut big = created.clone();
    big.finish(
        TaskOutcome::Result {
            value: json!({"content": [{"type": "text", "text": "x".repeat(500 * 1024)}]}),
        },
        Utc::now(),
    )
    .unwrap();
    let err = store.compare_and_set(big, Utc::now()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { bytes, limit } if bytes > limit && limit == 400 * 1024),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("more than the store's limit"),
        "{err}"
    );
    // Nothing was written: the task is as it was, and still counts as active.
    assert_eq!(
        store.get("alice", &created.id, Utc::now()).await.unwrap(),
        created
    );
    assert!(matches!(
        store
            .create(record("alice"), OwnerQuota::active(1), Utc::now())
            .await,
        Err(StoreError::LimitExceeded {
            quota: QuotaKind::ActiveTasks,
            used: 1,
            limit: 1
        })
    ));
}

/// Deletes a task's item behind the store's back, as DynamoDB's own TTL
/// (or a crash between reserving a slot and writing the task) would.
async fn vanish(store: &DynamoDbStore, id: &str) {
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("t#{id}")),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn slots_are_freed_when_tasks_end_and_reclaimed_when_they_vanish() {
    let store = fresh().await;
    // A task that ends frees its slot at once.
    let done = store
        .create(record("alice"), OwnerQuota::active(1), Utc::now())
        .await
        .unwrap();
    let mut cancelled = done.clone();
    cancelled.cancel(Utc::now()).unwrap();
    store.compare_and_set(cancelled, Utc::now()).await.unwrap();
    // A task that vanished just now may be a create still in flight: its
    // slot stays taken.
    let recent = store
        .create(record("alice"), OwnerQuota::active(1), Utc::now())
        .await
        .unwrap();
    vanish(&store.store, &recent.id).await;
    assert!(matches!(
        store
            .create(record("alice"), OwnerQuota::active(1), Utc::now())
            .await,
        Err(StoreError::LimitExceeded {
            quota: QuotaKind::ActiveTasks,
            used: 1,
            limit: 1
        })
    ));
    // Once it is older than any create in flight, the limit check drops it.
    let fresh_store = fresh().await;
    let mut old = record("bob");
    old.created_at -= chrono::Duration::minutes(5);
    let old = fresh_store
        .create(old, OwnerQuota::active(1), Utc::now())
        .await
        .unwrap();
    vanish(&fresh_store.store, &old.id).await;
    fresh_store
        .create(record("bob"), OwnerQuota::active(1), Utc::now())
        .await
        .unwrap();
    assert!(matches!(
        fresh_store
            .create(record("bob"), OwnerQuota::active(1), Utc::now())
            .await,
        Err(StoreError::LimitExceeded {
            quota: QuotaKind::ActiveTasks,
            used: 1,
            limit: 1
        })
    ));
}

#[tokio::test]
async fn tables_are_created_checked_and_unreachable_endpoints_are_clear_errors() {
    let port = free_port();
    let err = DynamoDbStore::connect("tasks", Some(&format!("http://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("dynamodb:"), "{err}");
    // A table that exists but was made for something else is refused.
    let server = dynalite().await;
    let other = DynamoDbStore::connect("tasks", Some(&server.endpoint))
        .await
        .unwrap();
    other
        .client()
        .create_table()
        .table_name("not-ours")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let err = DynamoDbStore::connect("not-ours", Some(&server.endpoint))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no index by_owner"), "{err}");
    // Connecting again to the table it created finds it as it should be.
    assert!(!other.ensure_table().await.unwrap());
}
