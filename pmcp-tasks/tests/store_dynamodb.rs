//! The backend conformance suite against two DynamoDB implementations
//! started locally, each test with its own: `dynalite` (npm, from
//! `client-tests/`; no transactions, no `ReturnValuesOnConditionCheckFailure`,
//! no TTL API, so the store's fallbacks run) and moto (PyPI `moto[server]`,
//! in the venv `scripts/test-all.sh` makes, served by
//! `scripts/moto_server.py`; it has all three, and CloudFormation, so the
//! table can also be made from `deploy/dynamodb-table.yaml`). `PMCP_TASKS_DYNAMODB_ENDPOINT` points the
//! dynalite tests at an already running engine instead.
#![cfg(feature = "dynamodb")]

mod common;
mod local_server;

use chrono::Utc;
use local_server::{free_port, LocalServer};
use pmcp_tasks::domain::{Era, NewTask, TaskOutcome, TaskRecord};
use pmcp_tasks::store::conformance::Guarded;
use pmcp_tasks::store::{DynamoDbStore, OwnerQuota, QuotaKind, StoreError, TaskStore};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
enum Engine {
    Dynalite,
    Moto,
}

/// A private engine (none when the environment names one), and its
/// endpoint.
struct Local {
    _local: Option<LocalServer>,
    endpoint: String,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's Python tool `name`.
fn venv_tool(name: &str) -> PathBuf {
    let tool = repo().join("client-tests/python/.venv/bin").join(name);
    assert!(
        tool.exists(),
        "{name} is needed for these tests: run scripts/test-all.sh once, or make the venv \
         client-tests/python/.venv and pip install -r deploy/requirements.txt into it"
    );
    tool
}

async fn start(engine: Engine) -> Local {
    let port = free_port();
    let local = match engine {
        Engine::Dynalite => {
            if let Ok(endpoint) = std::env::var("PMCP_TASKS_DYNAMODB_ENDPOINT") {
                return Local {
                    _local: None,
                    endpoint,
                };
            }
            let cli = repo().join("client-tests/node_modules/dynalite/cli.js");
            assert!(
                cli.exists(),
                "dynalite is needed for these tests: run `npm ci` in client-tests/ (or set PMCP_TASKS_DYNAMODB_ENDPOINT)"
            );
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
            LocalServer::start(command, port, Duration::from_secs(5), "node runs dynalite").await
        }
        Engine::Moto => {
            // moto's app behind one lock: moto alone lets racing conditional
            // writes both pass (see the script).
            let mut command = Command::new(venv_tool("python"));
            command
                .arg(repo().join("scripts/moto_server.py"))
                .arg(port.to_string())
                .stderr(std::process::Stdio::null());
            LocalServer::start(command, port, Duration::from_secs(30), "moto_server runs").await
        }
    };
    Local {
        _local: Some(local),
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

async fn fresh(engine: Engine) -> Guarded<DynamoDbStore> {
    let server = start(engine).await;
    let table = format!("tasks-{}", uuid::Uuid::new_v4().simple());
    let store = DynamoDbStore::connect(&table, Some(&server.endpoint))
        .await
        .unwrap();
    Guarded::new(store, server)
}

/// Deploys `deploy/dynamodb-table.yaml` onto the engine's CloudFormation;
/// returns what `scripts/cfn_deploy.py` reports.
fn deploy(endpoint: &str, table: &str) -> Value {
    let out = Command::new(venv_tool("python"))
        .arg(repo().join("scripts/cfn_deploy.py"))
        .args(["--endpoint", endpoint, "--stack", "pmcp-tasks"])
        .arg("--template")
        .arg(repo().join("deploy/dynamodb-table.yaml"))
        .arg(format!("TableName={table}"))
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "the template did not deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A store on a table made from the CloudFormation template.
async fn deployed() -> Guarded<DynamoDbStore> {
    let server = start(Engine::Moto).await;
    let table = format!("tasks-{}", uuid::Uuid::new_v4().simple());
    let report = deploy(&server.endpoint, &table);
    assert_eq!(report["outputs"]["TableName"], table.as_str());
    let store = DynamoDbStore::connect(&table, Some(&server.endpoint))
        .await
        .unwrap();
    Guarded::new(store, server)
}

mod on_dynalite {
    use super::*;
    pmcp_tasks::store_conformance_tests!(Arc::new(fresh(Engine::Dynalite).await));
}

/// moto serves one request at a time (`scripts/moto_server.py`), slowly
/// (about 30 requests a second under the races), so its races show this
/// store's code paths, not the engine's atomicity: a hundredth of the
/// rounds (dynalite, which does run requests at once, gets them all).
const MOTO_RACES: pmcp_tasks::store::conformance::RaceRounds =
    pmcp_tasks::store::conformance::RaceRounds::divided_by(100);

mod on_moto {
    use super::*;
    pmcp_tasks::store_conformance_tests!(Arc::new(fresh(Engine::Moto).await), MOTO_RACES);
}

mod on_the_cloudformation_table {
    use super::*;
    pmcp_tasks::store_conformance_tests!(Arc::new(deployed().await), MOTO_RACES);
}

/// Runs `check` on each engine as its own test.
macro_rules! on_each_engine {
    ($($check:ident),*) => {$(
        mod $check {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_dynalite() {
                super::$check(Engine::Dynalite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_moto() {
                super::$check(Engine::Moto).await
            }
        }
    )*};
}

/// Two instances on one table: a body suspended on the first resumes on
/// the second once the first is gone.
async fn a_suspended_task_resumes_on_another_instance(engine: Engine) {
    let server = start(engine).await;
    let table = format!("tasks-{}", uuid::Uuid::new_v4().simple());
    let a = DynamoDbStore::connect(&table, Some(&server.endpoint))
        .await
        .unwrap();
    let b = DynamoDbStore::connect(&table, Some(&server.endpoint))
        .await
        .unwrap();
    common::suspension::a_waiting_body_suspends_and_resumes_on_another_instance(
        Arc::new(a),
        Arc::new(b),
    )
    .await;
}

/// Each engine takes the paths it has: moto the one-round-trip ones
/// DynamoDB has (a create as one transaction, a stale write answered with
/// the item), dynalite the fallbacks. Without this, a moto run that had
/// silently fallen back would pass the same suite.
async fn each_engine_takes_the_paths_it_has(engine: Engine) {
    let store = fresh(engine).await;
    assert_eq!(store.store.engine_support().transactions, None);
    let created = store
        .create(record("alice"), OwnerQuota::active(10), Utc::now())
        .await
        .unwrap();
    let mut stale = TaskRecord::clone(&created);
    store
        .compare_and_set(TaskRecord::clone(&created), Utc::now())
        .await
        .unwrap();
    stale.set_message("stale", Utc::now()).unwrap();
    let err = store.compare_and_set(stale, Utc::now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let has = matches!(engine, Engine::Moto);
    assert_eq!(
        store.store.engine_support(),
        pmcp_tasks::store::EngineSupport {
            transactions: Some(has),
            condition_items: Some(has),
        }
    );
}

on_each_engine!(
    each_engine_takes_the_paths_it_has,
    a_suspended_task_resumes_on_another_instance,
    a_result_too_large_for_an_item_is_refused_before_the_write,
    counts_of_a_task_that_vanished_are_rebuilt_at_the_limit,
    every_task_is_listed_the_moment_it_can_be_got,
    keys_too_long_for_dynamodb_are_refused_or_unknown
);

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

async fn a_result_too_large_for_an_item_is_refused_before_the_write(engine: Engine) {
    let store = fresh(engine).await;
    let created = store
        .create(record("alice"), OwnerQuota::active(10), Utc::now())
        .await
        .unwrap();
    let mut big = TaskRecord::clone(&created);
    big.finish(
        TaskOutcome::result(json!({"content": [{"type": "text", "text": "x".repeat(500 * 1024)}]})),
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
/// does (without telling the owner's counters).
async fn vanish(store: &DynamoDbStore, owner: &str, id: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("o#{owner}")))
        .key("sk", AttributeValue::S(format!("t#{id}")))
        .send()
        .await
        .unwrap();
}

async fn counts_of_a_task_that_vanished_are_rebuilt_at_the_limit(engine: Engine) {
    let store = fresh(engine).await;
    // A task that ends frees its slot at once.
    let done = store
        .create(record("alice"), OwnerQuota::active(1), Utc::now())
        .await
        .unwrap();
    let mut cancelled = TaskRecord::clone(&done);
    cancelled.cancel(Utc::now()).unwrap();
    store.compare_and_set(cancelled, Utc::now()).await.unwrap();
    let usage = store.usage("alice", Utc::now()).await.unwrap();
    assert_eq!((usage.active, usage.stored), (0, 1));
    // A running task deleted behind the counters' back still counts...
    let gone = store
        .create(record("alice"), OwnerQuota::active(1), Utc::now())
        .await
        .unwrap();
    vanish(&store.store, "alice", &gone.id).await;
    assert_eq!(store.usage("alice", Utc::now()).await.unwrap().active, 1);
    // ...until a create finds the owner full: the counters are rebuilt from
    // the task items and the create goes through. Not on an engine without
    // transactions, where a recount could take back a create in flight's
    // reservation: there the owner stays refused.
    if matches!(engine, Engine::Dynalite) {
        assert!(matches!(
            store
                .create(record("alice"), OwnerQuota::active(1), Utc::now())
                .await,
            Err(StoreError::LimitExceeded {
                quota: QuotaKind::ActiveTasks,
                ..
            })
        ));
        return;
    }
    let next = store
        .create(record("alice"), OwnerQuota::active(1), Utc::now())
        .await
        .unwrap();
    let usage = store.usage("alice", Utc::now()).await.unwrap();
    assert_eq!((usage.active, usage.stored), (1, 2), "{usage:?}");
    // A real full owner stays refused, with its count.
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
    // The vanished task is no longer listed; the others are.
    let listed: Vec<String> = store
        .list("alice", None, 10, Utc::now())
        .await
        .unwrap()
        .tasks
        .iter()
        .map(|t| t.id.clone())
        .collect();
    assert_eq!(listed, vec![done.id.clone(), next.id.clone()]);
}

async fn every_task_is_listed_the_moment_it_can_be_got(engine: Engine) {
    let store = Arc::new(fresh(engine).await);
    let creates = (0..24).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let created = store
                .create(record("alice"), OwnerQuota::active(100), Utc::now())
                .await
                .unwrap();
            store.get("alice", &created.id, Utc::now()).await.unwrap();
            // Listed at once, every page walked.
            let mut cursor = None;
            let mut seen = Vec::new();
            loop {
                let page = store
                    .list("alice", cursor.as_deref(), 5, Utc::now())
                    .await
                    .unwrap();
                seen.extend(page.tasks.iter().map(|t| t.id.clone()));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert!(seen.contains(&created.id), "{} not listed", created.id);
        })
    });
    for create in creates.collect::<Vec<_>>() {
        create.await.unwrap();
    }
    assert_eq!(store.usage("alice", Utc::now()).await.unwrap().stored, 24);
}

async fn keys_too_long_for_dynamodb_are_refused_or_unknown(engine: Engine) {
    let store = fresh(engine).await;
    let long = "o".repeat(3000);
    let err = store
        .create(record(&long), OwnerQuota::active(1), Utc::now())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("longer than DynamoDB can key"),
        "{err}"
    );
    // Reads of ids no task can have are plain unknowns, not engine errors.
    let mine = store
        .create(record("alice"), OwnerQuota::active(1), Utc::now())
        .await
        .unwrap();
    assert!(matches!(
        store.get("alice", &"x".repeat(2000), Utc::now()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get(&long, &mine.id, Utc::now()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.list(&long, None, 5, Utc::now()).await.unwrap().tasks,
        vec![]
    );
    assert_eq!(store.usage(&long, Utc::now()).await.unwrap().stored, 0);
}

#[tokio::test]
async fn tables_are_created_checked_and_unreachable_endpoints_are_clear_errors() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let port = free_port();
    let err = DynamoDbStore::connect("tasks", Some(&format!("http://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("dynamodb:"), "{err}");
    // A table that exists but was made for something else is refused; one
    // of the one-key layout of earlier releases is named as such.
    let server = start(Engine::Dynalite).await;
    let other = DynamoDbStore::connect("tasks", Some(&server.endpoint))
        .await
        .unwrap();
    other
        .client()
        .create_table()
        .table_name("not-ours")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let err = DynamoDbStore::connect("not-ours", Some(&server.endpoint))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("one-key layout of earlier pmcp-tasks releases"),
        "{err}"
    );
    // Connecting again to the table it created finds it as it should be.
    assert!(!other.ensure_table().await.unwrap());
}

/// What of a table's description must agree between the template and
/// `create_table`.
async fn layout(store: &DynamoDbStore) -> Value {
    let table = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let mut attributes: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    attributes.sort();
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect()
    };
    let mut indexes: Vec<Value> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            json!({
                "name": i.index_name(),
                "keys": keys(i.key_schema()),
                "projection": i.projection().and_then(|p| p.projection_type()).map(|p| p.as_str()),
                "included": i.projection().map(|p| p.non_key_attributes().to_vec()),
            })
        })
        .collect();
    indexes.sort_by_key(|i| i["name"].to_string());
    json!({
        "keys": keys(table.key_schema()),
        "attributes": attributes,
        "indexes": indexes,
        "billing": table.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str()),
    })
}

#[tokio::test]
async fn the_cloudformation_template_and_create_table_make_the_same_table() {
    let server = start(Engine::Moto).await;
    let report = deploy(&server.endpoint, "from-template");
    let from_template = DynamoDbStore::connect("from-template", Some(&server.endpoint))
        .await
        .unwrap();
    let by_code = DynamoDbStore::connect("by-code", Some(&server.endpoint))
        .await
        .unwrap();
    let described = layout(&from_template).await;
    assert_eq!(described, layout(&by_code).await);
    assert_eq!(described["keys"], json!([["pk", "HASH"], ["sk", "RANGE"]]));
    assert_eq!(described["billing"], "PAY_PER_REQUEST");
    // moto's CloudFormation does not apply TTL, point-in-time recovery or
    // encryption, so those are read from the template and compared with
    // what create_table turned on.
    let table = &report["resources"]["TasksTable"]["properties"];
    let ttl = by_code
        .client()
        .describe_time_to_live()
        .table_name("by-code")
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(
        ttl.time_to_live_status(),
        Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
    );
    assert_eq!(
        table["TimeToLiveSpecification"],
        json!({"AttributeName": ttl.attribute_name().unwrap(), "Enabled": true})
    );
    let backups = by_code
        .client()
        .describe_continuous_backups()
        .table_name("by-code")
        .send()
        .await
        .unwrap()
        .continuous_backups_description
        .unwrap();
    let recovery = backups
        .point_in_time_recovery_description()
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_owned());
    assert_eq!(recovery.as_deref(), Some("ENABLED"));
    assert_eq!(
        table["PointInTimeRecoverySpecification"],
        json!({"PointInTimeRecoveryEnabled": true})
    );
    assert_eq!(table["SSESpecification"], json!({"SSEEnabled": true}));
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
}
