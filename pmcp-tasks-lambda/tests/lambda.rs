//! The two Lambda functions driven in process by synthetic Lambda events,
//! over moto (DynamoDB and SQS, started by the test from the venv that
//! `scripts/test-all.sh` makes): a task created through the HTTP function
//! is queued, run once by the worker from the queue's message, and read
//! back through the HTTP function; a worker that dies mid-task is replaced
//! by the scheduled round, which resumes the task from its checkpoints.

use lambda_http::Body;
use pmcp_tasks::domain::{Limits, TaskStatus};
use pmcp_tasks::store::{DynamoDbStore, TaskStore};
use pmcp_tasks::{TaskContext, TaskServer, TaskTool, ToolError};
use pmcp_tasks_lambda::{handle_http, handle_messages, handle_schedule, SqsDispatch, WorkerEvent};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// moto's server on a free port, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto() -> Moto {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = repo.join("client-tests/python/.venv/bin/python");
    assert!(
        python.exists(),
        "moto is needed: run scripts/test-all.sh once (it makes the venv client-tests/python/.venv)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let moto = Moto {
        child: Command::new(python)
            .arg(repo.join("scripts/moto_server.py"))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the venv's python runs moto"),
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..3000 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("moto did not start on port {port}");
}

#[derive(Deserialize, JsonSchema)]
struct Sections {
    sections: u32,
}

/// What one test's report tool did, over every worker: how often each
/// section's work ran, and whether the second section waits forever.
#[derive(Default)]
struct Work {
    runs: [AtomicUsize; 3],
    hold_second: AtomicBool,
}

impl Work {
    fn runs(&self) -> Vec<usize> {
        self.runs.iter().map(|r| r.load(Ordering::SeqCst)).collect()
    }
}

/// A resumable tool of up to three checkpointed sections.
fn report_tool(work: Arc<Work>) -> TaskTool {
    TaskTool::new("report", move |args: Sections, ctx: TaskContext| {
        let work = work.clone();
        async move {
            let mut done = Vec::new();
            for n in 0..args.sections.min(3) {
                let work = work.clone();
                let section = ctx
                    .step(&format!("section-{n}"), async move {
                        work.runs[n as usize].fetch_add(1, Ordering::SeqCst);
                        if n == 1 && work.hold_second.load(Ordering::SeqCst) {
                            std::future::pending::<()>().await;
                        }
                        Ok(format!("s{n}"))
                    })
                    .await?;
                done.push(section);
            }
            Ok::<_, ToolError>(done.join(","))
        }
    })
    .resumable()
}

struct Aws {
    _moto: Moto,
    endpoint: String,
    table: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

async fn aws() -> Aws {
    let moto = moto().await;
    let endpoint = moto.endpoint.clone();
    let sqs = sqs_client(&endpoint);
    let queue_url = sqs
        .create_queue()
        .queue_name("tasks")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    Aws {
        _moto: moto,
        endpoint,
        table: format!("tasks-{}", uuid::Uuid::new_v4().simple()),
        queue_url,
        sqs,
    }
}

fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

fn limits() -> Limits {
    Limits {
        lease_ttl: Duration::from_secs(2),
        external_cancel_poll: Duration::from_millis(200),
        ..Limits::default()
    }
}

/// The HTTP function's server (dispatching) or the worker's, built as the
/// example builds them.
async fn server(aws: &Aws, front: bool, work: &Arc<Work>) -> TaskServer {
    worker_on(
        &aws.table,
        &aws.endpoint,
        front.then_some(&aws.queue_url),
        work,
    )
    .await
}

async fn worker_on(
    table: &str,
    endpoint: &str,
    queue_url: Option<&String>,
    work: &Arc<Work>,
) -> TaskServer {
    let store = DynamoDbStore::connect(table, Some(endpoint)).await.unwrap();
    let mut builder = TaskServer::builder("lambda", "1")
        .store(Arc::new(store))
        .limits(limits())
        .without_sweeper()
        .tool(report_tool(work.clone()));
    if let Some(queue_url) = queue_url {
        let queue = SqsDispatch::connect(queue_url, Some(endpoint)).await;
        builder = builder.dispatch(Arc::new(queue));
    }
    builder.build().unwrap()
}

/// A function-URL event (API Gateway HTTP API v2 shape) posting `body`.
fn http_event(body: &Value) -> lambda_http::Request {
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/mcp",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "host": "abc.lambda-url.us-east-1.on.aws"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc",
            "http": {"method": "POST", "path": "/mcp", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "r1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "29/Nov/2026:04:00:00 +0000",
            "timeEpoch": 1_795_924_800_000_i64
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid function URL event")
}

/// A JSON-RPC request of the 2026-07-28 era through the HTTP function.
async fn rpc(server: &TaskServer, method: &str, mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    });
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let response = handle_http(server, http_event(&request)).await;
    assert_eq!(response.status(), 200);
    let body = match response.body() {
        Body::Text(text) => text.clone().into_bytes(),
        Body::Binary(bytes) => bytes.clone(),
        Body::Empty => Vec::new(),
        _ => Vec::new(),
    };
    let answer: Value = serde_json::from_slice(&body).expect("a JSON answer");
    answer["result"].clone()
}

/// The queue's messages, as the SQS event Lambda would invoke with.
async fn queued(aws: &Aws) -> Value {
    let received = aws
        .sqs
        .receive_message()
        .queue_url(&aws.queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let records: Vec<Value> = received
        .messages()
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tasks",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn sqs_event(event: Value) -> aws_lambda_events::event::sqs::SqsEvent {
    match WorkerEvent::from_value(event).unwrap() {
        WorkerEvent::Queue(event) => event,
        WorkerEvent::Schedule => panic!("an SQS event was taken for a schedule"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_created_over_http_runs_once_on_the_worker_from_the_queue() {
    let aws = aws().await;
    let work = Arc::new(Work::default());
    let front = server(&aws, true, &work).await;
    let worker = server(&aws, false, &work).await;

    let created = rpc(
        &front,
        "tools/call",
        json!({"name": "report", "arguments": {"sections": 3}}),
    )
    .await;
    assert_eq!(created["resultType"], "task", "{created}");
    let id = created["taskId"].as_str().unwrap().to_owned();
    // The HTTP function ran nothing: it may be frozen now.
    assert_eq!(front.runtime().running_count(), 0);

    let event = queued(&aws).await;
    assert_eq!(event["Records"].as_array().unwrap().len(), 1, "{event}");
    let response = handle_messages(&worker, sqs_event(event.clone())).await;
    assert!(response.batch_item_failures.is_empty());

    let done = rpc(&front, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "s0,s1,s2");
    // SQS delivers at least once: the same message again runs nothing.
    let again = handle_messages(&worker, sqs_event(event)).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(work.runs(), vec![1, 1, 1]);
    // A scheduled event is told apart from a queue's, and finds nothing to do.
    assert!(matches!(
        WorkerEvent::from_value(json!({"source": "aws.events", "detail-type": "Scheduled Event"}))
            .unwrap(),
        WorkerEvent::Schedule
    ));
    handle_schedule(&worker).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_dies_mid_task_is_replaced_by_the_scheduled_round() {
    let aws = aws().await;
    let work = Arc::new(Work::default());
    let front = server(&aws, true, &work).await;
    let created = rpc(
        &front,
        "tools/call",
        json!({"name": "report", "arguments": {"sections": 3}}),
    )
    .await;
    let id = created["taskId"].as_str().unwrap().to_owned();
    let event = queued(&aws).await;

    // The first worker runs on its own runtime, which is dropped mid-task:
    // its body and its lease renewals stop at once, as in a crash.
    work.hold_second.store(true, Ordering::SeqCst);
    let (crash, crashed) = std::sync::mpsc::channel::<()>();
    let first = {
        let (table, endpoint, work) = (aws.table.clone(), aws.endpoint.clone(), work.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.spawn(async move {
                let worker = worker_on(&table, &endpoint, None, &work).await;
                handle_messages(&worker, sqs_event(event)).await;
            });
            crashed.recv().unwrap();
            runtime.shutdown_background();
        })
    };
    // Wait until the first worker is inside the second section.
    let store = DynamoDbStore::connect(&aws.table, Some(&aws.endpoint))
        .await
        .unwrap();
    let owner = "stateless";
    for _ in 0..500 {
        if work.runs()[1] > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(work.runs()[1], 1, "the first worker reached section 1");
    crash.send(()).unwrap();
    first.join().unwrap();
    work.hold_second.store(false, Ordering::SeqCst);

    // Its lease lapses (the task stays working meanwhile).
    let worker = server(&aws, false, &work).await;
    loop {
        let record = store.get(owner, &id, chrono::Utc::now()).await.unwrap();
        assert_eq!(record.status, TaskStatus::Working);
        if record
            .lease()
            .as_ref()
            .is_some_and(|l| l.until <= chrono::Utc::now())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    handle_schedule(&worker).await.unwrap();
    let done = rpc(&front, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "s0,s1,s2");
    // Section 0 was checkpointed and not run again; section 1 ran twice
    // (its first run never finished).
    assert_eq!(work.runs(), vec![1, 2, 1]);
}

/// The resources of a template of `deploy/`, as `scripts/cfn_deploy.py`
/// reads them.
fn template_resources(name: &str) -> Value {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(repo.join("client-tests/python/.venv/bin/python"))
        .arg(repo.join("scripts/cfn_deploy.py"))
        .arg("--template")
        .arg(repo.join("deploy").join(name))
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["resources"].clone()
}

#[test]
fn the_lambda_template_makes_the_table_of_the_table_template() {
    let lambda = template_resources("lambda.yaml");
    let table = template_resources("dynamodb-table.yaml");
    assert_eq!(lambda["TasksTable"], table["TasksTable"]);
    // The worker's queue hides a message longer than the worker can run,
    // and failed messages are reported one by one.
    let timeout = &lambda["WorkerFunction"]["properties"]["Timeout"];
    let visibility = &lambda["TaskQueue"]["properties"]["VisibilityTimeout"];
    assert!(
        visibility.as_u64() > timeout.as_u64(),
        "{visibility} > {timeout}"
    );
    assert_eq!(
        lambda["WorkerQueueMapping"]["properties"]["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(lambda["EndpointUrl"]["properties"]["AuthType"], "AWS_IAM");
}
