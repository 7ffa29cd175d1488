//! The whole JSON-RPC surface of both eras, fuzzed on stable Rust: every
//! method with its params mutated (wrong types, huge and deeply nested
//! values, invalid UTF-8, odd ids, batches, bogus cursors, absurd TTLs),
//! sent as lines to the real stdio transport. Each message must be answered
//! by a valid JSON-RPC response with the code its class of mistake
//! deserves, the server must keep serving, and every task it stored must be
//! whole. `tests/fuzz/corpus.txt` runs first; `PMCP_FUZZ_CASES` sets the
//! number of generated cases (10,000 by default). The same inputs, fewer,
//! also go over real HTTP.

#[path = "fuzz/cases.rs"]
mod cases;
mod common;

use cases::{arb_case, expect_for_bytes, Expect, LAST_TASK};
use common::http::start;
use pmcp_tasks::{Limits, TaskContext, TaskServer, TaskTool, ToolError};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, WriteHalf};

/// Codes a well-formed request may be refused with: the JSON-RPC ones, and
/// MCP's (auth, limits, routing headers, missing capability, version).
const REQUEST_CODES: [i64; 8] = [
    -32600, -32601, -32602, -32003, -32005, -32020, -32021, -32022,
];

#[derive(Deserialize, JsonSchema)]
struct Nap {
    ms: Option<u64>,
}

async fn echo(args: Value, _ctx: TaskContext) -> Result<Value, ToolError> {
    Ok(args)
}

async fn nap(args: Nap, ctx: TaskContext) -> Result<String, ToolError> {
    ctx.progress("napping").await?;
    tokio::time::sleep(Duration::from_millis(args.ms.unwrap_or(1).min(20))).await;
    Ok("rested".into())
}

async fn ask(_: Value, ctx: TaskContext) -> Result<String, ToolError> {
    let schema = json!({"type": "object", "properties": {"v": {"type": "string"}}});
    let answer = ctx.elicit_form("q", "Anything?", schema).await?;
    Ok(answer.action)
}

fn fuzz_server() -> TaskServer {
    TaskServer::builder("fuzz", "1")
        .tool(TaskTool::new("echo", echo))
        .tool(TaskTool::new("nap", nap))
        .tool(TaskTool::new("ask", ask).support(pmcp_tasks::TaskSupport::Required))
        .limits(Limits {
            // Questions nobody answers, and waits on them, end soon.
            max_ttl: Some(Duration::from_secs(2)),
            min_ttl: Duration::from_millis(200),
            max_creates_per_minute: None,
            max_active_tasks_per_owner: 50,
            // `echo` answers its arguments: any message the transport
            // accepts (4 MiB at most) must fit as a result, or a large
            // random case would fail as the server's fault (-32603). A
            // result over the limit is tested on its own elsewhere.
            max_result_bytes: 8 * 1024 * 1024,
            ..Limits::default()
        })
        .sweep_every(Duration::from_millis(200))
        .build()
        .unwrap()
}

/// Checks one message the server wrote; returns its id if it answers a
/// request of the client.
fn check_output(message: &Value) -> Result<(), String> {
    let object = message.as_object().ok_or("not an object")?;
    if object.get("jsonrpc") != Some(&json!("2.0")) {
        return Err("no jsonrpc 2.0".into());
    }
    if object.contains_key("method") {
        // A notification, or a request to the client (an elicitation).
        return match object.get("method") {
            Some(Value::String(m)) if !m.is_empty() => Ok(()),
            _ => Err("a bad method".into()),
        };
    }
    let id = object.get("id").ok_or("a response without an id")?;
    if !(id.is_null() || id.is_string() || id.is_i64() || id.is_u64()) {
        return Err(format!("an id of the wrong type: {id}"));
    }
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => Ok(()),
        (None, Some(error)) => {
            let code = error["code"].as_i64().ok_or("an error without a code")?;
            let text = error["message"]
                .as_str()
                .ok_or("an error without a message")?;
            if text.is_empty() || text.contains("panicked") {
                return Err(format!("a bad error message: {text}"));
            }
            if code == -32603 {
                return Err(format!("an internal error: {text}"));
            }
            Ok(())
        }
        _ => Err("not exactly one of result and error".into()),
    }
}

/// A client of the stdio transport over an in-memory pipe.
struct Pipe {
    writer: WriteHalf<DuplexStream>,
    lines: Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
    next: u64,
    /// The task created last, for cases that act on one.
    last_task: String,
}

impl Pipe {
    fn open(server: &TaskServer) -> (Pipe, tokio::task::JoinHandle<std::io::Result<()>>) {
        let (client, server_side) = tokio::io::duplex(1 << 20);
        let (read, write) = tokio::io::split(server_side);
        let srv = server.clone();
        let serving = tokio::spawn(async move { srv.serve_stream(read, write).await });
        let (read, writer) = tokio::io::split(client);
        let pipe = Pipe {
            writer,
            lines: BufReader::new(read).lines(),
            next: 0,
            last_task: String::new(),
        };
        (pipe, serving)
    }

    /// Sends `line` (its id, if it has a usable one, made unique) and a
    /// ping after it. Returns the id the case's answer carries and every
    /// message written until the ping's answer and, when `owed`, the case's
    /// own answer (requests are served concurrently: a slow one may answer
    /// after the ping).
    async fn exchange(&mut self, line: &[u8], owed: bool) -> Result<(Value, Vec<Value>), String> {
        self.next += 1;
        let (line, case_id) = self.unique_id(line);
        let sentinel = format!("sentinel-{}", self.next);
        let ping = json!({"jsonrpc": "2.0", "id": sentinel, "method": "ping"});
        let mut bytes = line;
        bytes.push(b'\n');
        bytes.extend_from_slice(format!("{ping}\n").as_bytes());
        self.writer
            .write_all(&bytes)
            .await
            .map_err(|e| e.to_string())?;
        let mut seen: Vec<Value> = Vec::new();
        let mut pinged = false;
        loop {
            let answered = seen
                .iter()
                .any(|m| m.get("method").is_none() && (m["id"] == case_id || m["id"].is_null()));
            if pinged && (!owed || answered) {
                return Ok((case_id, seen));
            }
            // Generous: a machine busy with other tests must not fail this.
            let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
                .await
                .map_err(|_| {
                    let sent = String::from_utf8_lossy(&bytes)
                        .chars()
                        .take(300)
                        .collect::<String>();
                    format!("the server stopped answering after: {sent}")
                })?
                .map_err(|e| e.to_string())?
                .ok_or("the server closed the stream")?;
            let message: Value =
                serde_json::from_str(&line).map_err(|e| format!("not JSON ({e}): {line}"))?;
            check_output(&message).map_err(|e| format!("{e}: {message}"))?;
            let created = message["result"]["task"]["taskId"]
                .as_str()
                .or(message["result"]["taskId"].as_str());
            if let Some(id) = created {
                self.last_task = id.to_owned();
            }
            if message["id"] == json!(sentinel) {
                pinged = true;
            } else {
                seen.push(message);
            }
        }
    }

    /// The line with a request id of its own, keeping the id's type, and
    /// `$last` replaced by the task created last.
    fn unique_id(&self, line: &[u8]) -> (Vec<u8>, Value) {
        let Ok(Value::Object(mut message)) = serde_json::from_slice::<Value>(line) else {
            return (line.to_vec(), Value::Null);
        };
        if let Some(task_id) = message
            .get_mut("params")
            .and_then(|p| p.get_mut("taskId"))
            .filter(|t| *t == LAST_TASK)
        {
            *task_id = json!(self.last_task);
        }
        let id = match message.get("id") {
            Some(Value::String(_)) => json!(format!("case-{}", self.next)),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => json!(self.next),
            _ => return (line.to_vec(), Value::Null),
        };
        message.insert("id".into(), id.clone());
        (Value::Object(message).to_string().into_bytes(), id)
    }
}

/// Whether the answers to `line` (those with `id`, or a null id) fit
/// what it was owed.
fn judge(line: &[u8], expect: &Expect, id: &Value, seen: &[Value]) -> Result<(), String> {
    let answers: Vec<&Value> = seen
        .iter()
        .filter(|m| m.get("method").is_none() && (&m["id"] == id || m["id"].is_null()))
        .collect();
    let shown = || {
        String::from_utf8_lossy(line)
            .chars()
            .take(300)
            .collect::<String>()
    };
    match expect {
        Expect::Nothing if answers.is_empty() => Ok(()),
        Expect::Nothing => Err(format!("an answer to an empty line: {answers:?}")),
        Expect::Code(code) => match answers.as_slice() {
            [answer] if answer["error"]["code"] == json!(code) => Ok(()),
            other => Err(format!("{} owed {code}, got {other:?}", shown())),
        },
        Expect::Served => {
            for answer in answers {
                if let Some(code) = answer["error"]["code"].as_i64() {
                    if !REQUEST_CODES.contains(&code) {
                        return Err(format!("{} got code {code}: {answer}", shown()));
                    }
                }
            }
            Ok(())
        }
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = include_str!("fuzz/corpus.txt")
        .lines()
        .map(|l| l.as_bytes().to_vec())
        .collect();
    // What a text file cannot hold: invalid UTF-8, a lone NUL.
    lines.push(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}".to_vec());
    lines.push(vec![0xc3, 0x28, b'{', b'}']);
    lines.push(vec![0]);
    lines
}

fn cases() -> u32 {
    std::env::var("PMCP_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// Every task the local client owns reads back whole; returns how many.
async fn every_task_is_whole(server: &TaskServer) -> usize {
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let mut params = json!({});
        if let Some(c) = &cursor {
            params["cursor"] = json!(c);
        }
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/list", "params": params});
        let page = server.handle(request, None).await.unwrap();
        for task in page["result"]["tasks"].as_array().expect("a page") {
            let id = task["taskId"].as_str().expect("an id");
            let get =
                json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"taskId": id}});
            let read = server.handle(get, None).await.unwrap();
            // Gone meanwhile (expired) is fine; otherwise it must be whole.
            if read.get("result").is_some() {
                let status = read["result"]["status"].as_str().unwrap();
                assert!(
                    [
                        "working",
                        "input_required",
                        "completed",
                        "failed",
                        "cancelled"
                    ]
                    .contains(&status),
                    "{read}"
                );
                assert!(read["result"]["createdAt"].is_string(), "{read}");
            }
            seen += 1;
        }
        match page["result"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

#[test]
fn the_stdio_surface_answers_every_message_rightly() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async { fuzz_server() });
    let (mut pipe, serving) = rt.block_on(async { Pipe::open(&server) });
    for line in corpus() {
        let expect = expect_for_bytes(&line);
        let owed = matches!(expect, Expect::Code(_));
        let (id, seen) = rt.block_on(pipe.exchange(&line, owed)).unwrap();
        judge(&line, &expect, &id, &seen).unwrap();
    }
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let pipe = std::cell::RefCell::new(pipe);
    let created = std::cell::Cell::new(0usize);
    let outcome = runner.run(&arb_case(), |(line, expect)| {
        let owed = matches!(expect, Expect::Code(_));
        let (id, seen) = rt
            .block_on(pipe.borrow_mut().exchange(&line, owed))
            .map_err(TestCaseError::fail)?;
        let tasks = seen.iter().filter(|m| {
            m["result"]["task"]["taskId"].is_string() || m["result"]["resultType"] == "task"
        });
        created.set(created.get() + tasks.count());
        judge(&line, &expect, &id, &seen).map_err(TestCaseError::fail)
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    assert!(created.get() > 0, "the fuzzer created tasks");
    rt.block_on(every_task_is_whole(&server));
    // The client hangs up: the transport ends, at most failing to write
    // answers still queued for a client that is gone.
    drop(pipe);
    rt.block_on(async {
        let ended = tokio::time::timeout(Duration::from_secs(10), serving).await;
        match ended {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => panic!("the transport did not end cleanly: {other:?}"),
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_surface_answers_the_same_inputs() {
    let url = start(fuzz_server()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    let mut inputs: Vec<(Vec<u8>, Expect)> = corpus()
        .into_iter()
        .map(|l| {
            let e = expect_for_bytes(&l);
            (l, e)
        })
        .collect();
    let strategy = arb_case();
    for _ in 0..300 {
        let tree = strategy.new_tree(&mut runner).unwrap();
        inputs.push(tree.current());
    }
    for (body, expect) in inputs {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(200)
            .collect::<String>();
        let response = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.clone())
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            // A wait on a task (tasks/result, a listen) may outlast the
            // client's patience; anything else must answer.
            Err(e) if e.is_timeout() && matches!(expect, Expect::Served) => continue,
            Err(e) => panic!("{shown}: {e}"),
        };
        let status = response.status().as_u16();
        if status == 202 {
            assert!(matches!(expect, Expect::Served), "{shown}: 202");
            continue;
        }
        let text = response.text().await.unwrap();
        if matches!(expect, Expect::Nothing) {
            // An empty body is not JSON over HTTP.
            let answer: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(answer["error"]["code"], -32700, "{shown}");
            continue;
        }
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{shown}: status {status}, not JSON ({e}): {text}"));
        check_output(&answer).unwrap_or_else(|e| panic!("{shown}: {e}: {answer}"));
        let id = answer["id"].clone();
        judge(&body, &expect, &id, &[answer]).unwrap_or_else(|e| panic!("{e}"));
    }
    let alive = client
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200);
}
