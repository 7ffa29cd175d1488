//! A plain `tools/call` of a task tool that takes too long: the tool runs as
//! a task owned by the caller, and after [`TaskTool::detach_after`] the call
//! answers a normal result saying where the job went and how to follow it
//! (the companion tools), instead of holding the client past its timeout.

use super::call::{CallOutcome, TaskRequest};
use super::{outcome, Owner, ServiceError, TaskService};
use crate::domain::{Era, TaskRecord};
use crate::execution::{AskClient, CallHooks, ProgressSink};
use crate::tool::TaskTool;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

impl TaskService {
    /// Runs a plain call of `tool` as a task; answers its result if it ends
    /// within the tool's `detach_after`, else where to follow it.
    pub(super) async fn call_detaching(
        &self,
        tool: &TaskTool,
        owner: &Owner,
        era: Era,
        arguments: Value,
        hooks: CallHooks,
    ) -> Result<CallOutcome, ServiceError> {
        let wait = tool.detach_after.unwrap_or_default();
        let body = tool
            .prepare(arguments.clone())
            .map_err(|e| super::call::invalid_arguments(tool, e.0))?;
        // Questions never fail for want of a client that answers forms: one
        // that declared it is asked while the call waits (`hooks.ask`); the
        // rest wait for the answer companion.
        let request = TaskRequest::default();
        // The body's progress goes straight to the waiting call while it
        // runs here (none is lost to the follower's coalescing, and all of
        // it precedes the answer); the relay closes when the call answers.
        let relay = hooks.progress.clone().map(CallRelay::new);
        let body: crate::execution::TaskBody = match &relay {
            Some(relay) => {
                let relay = relay.clone();
                Box::new(move |ctx| {
                    let (here, sink) = relay.local_run();
                    Box::pin(async move {
                        let outcome = body(ctx.relaying_progress(sink)).await;
                        here.completed();
                        outcome
                    })
                })
            }
            None => body,
        };
        let record = self
            .create_task(tool, owner, era, arguments, request, BTreeMap::new(), body)
            .await?;
        // While the call waits, the task's progress is the call's: it keeps
        // a client that resets its timeout on progress waiting.
        let mut follower = self.follow(owner, &record.id);
        let cancelled = hooks.cancelled.unwrap_or_default();
        let mut asked = HashSet::new();
        let until_done = async {
            let mut last = (
                record.progress(),
                record.status_message().map(str::to_owned),
            );
            while let Some(now) = follower.next().await {
                if now.status.is_terminal() {
                    return Some(now);
                }
                if let Some(ask) = &hooks.ask {
                    self.ask_caller(ask, owner, &now, &mut asked);
                }
                // A body run elsewhere (a dispatched worker) reports
                // through the store.
                let seen = (now.progress(), now.status_message().map(str::to_owned));
                if seen != last {
                    if let Some(relay) = relay.as_ref().filter(|r| !r.ran_here()) {
                        relay.forward(now.progress(), now.status_message());
                    }
                    last = seen;
                }
            }
            None
        };
        let ended = tokio::select! {
            ended = tokio::time::timeout(wait, until_done) => ended,
            _ = cancelled.cancelled() => {
                if let Some(relay) = &relay {
                    relay.close();
                }
                let _ = self.cancel(owner, &record.id).await;
                return Err(ServiceError::CallCancelled);
            }
        };
        if let Some(relay) = &relay {
            relay.close();
        }
        match ended {
            Ok(Some(done)) => outcome(&done).map(CallOutcome::Ran),
            Ok(None) => Err(ServiceError::TaskNotFound(record.id.clone())),
            Err(_) => {
                let now = self.get(owner, &record.id).await?;
                tracing::info!(task = %now.id, owner = %owner.as_str(), tool = %tool.name, "plain call detached into a background task");
                Ok(CallOutcome::Ran(self.detached_answer(&now)))
            }
        }
    }

    /// Puts each new question of the task to the waiting caller (who
    /// declared it answers forms) and delivers its answer to the task. The
    /// question outlives the call's wait: an answer given after the call
    /// detached still reaches the task. A caller that refuses leaves the
    /// question to the answer companion.
    fn ask_caller(
        &self,
        ask: &AskClient,
        owner: &Owner,
        record: &TaskRecord,
        asked: &mut HashSet<String>,
    ) {
        for (key, request) in record.input_requests() {
            if !asked.insert(key.clone()) {
                continue;
            }
            let question = ask(request.clone());
            let runtime = self.runtime.clone();
            let (key, owner, id) = (key.clone(), owner.clone(), record.id.clone());
            tokio::spawn(async move {
                match question.await {
                    Ok(answer) => {
                        let responses = Map::from_iter([(key, answer)]);
                        if let Err(e) = runtime.answer_input(owner.as_str(), &id, &responses).await
                        {
                            tracing::debug!(task = %id, error = %e, "the caller's answer came too late");
                        }
                    }
                    Err(e) => {
                        tracing::info!(task = %id, error = %e.message, "the caller did not answer; the question waits for the answer companion")
                    }
                }
            });
        }
    }

    /// What a plain call that detached answers.
    fn detached_answer(&self, record: &TaskRecord) -> Value {
        let names = self.companions().cloned().unwrap_or_default();
        let id = &record.id;
        let mut text = format!(
            "'{}' is still running, as background task {id}; it goes on without you. \
             To follow it call {} with {{\"taskId\": \"{id}\"}}; when it is done, {} returns \
             its result; {} stops it.",
            record.tool, names.status, names.result, names.cancel
        );
        if let Some(message) = &record.status_message() {
            text.push_str(&format!(" Last report: {message}."));
        }
        json!({
            "content": [{"type": "text", "text": text}],
            "structuredContent": {
                "taskId": id,
                "status": record.status,
                "statusMessage": record.status_message(),
                "next": {
                    "status": names.status,
                    "result": names.result,
                    "cancel": names.cancel,
                    "answer": names.answer,
                },
            },
        })
    }
}

/// A waiting plain call's progress reporter, shared with its task's body
/// while the call waits.
#[derive(Clone)]
struct CallRelay {
    sink: ProgressSink,
    /// Cleared when the call answers (the client's token is spent then);
    /// held across each report, so none follows the answer.
    open: Arc<Mutex<bool>>,
    /// Set once the body started by the call runs in this process (and
    /// reports directly); a body run elsewhere, or resumed after it let
    /// go, reports through the store.
    ran_here: Arc<AtomicBool>,
}

/// Marks the call's body as running here until it is dropped unfinished
/// (it let go of its worker; a later run reports through the store). A body
/// that completed keeps the mark: its reports were all relayed already.
struct RunsHere(Option<Arc<AtomicBool>>);

impl RunsHere {
    fn completed(mut self) {
        self.0 = None;
    }
}

impl Drop for RunsHere {
    fn drop(&mut self) {
        if let Some(here) = &self.0 {
            here.store(false, Ordering::SeqCst);
        }
    }
}

impl CallRelay {
    fn new(sink: ProgressSink) -> Self {
        CallRelay {
            sink,
            open: Arc::new(Mutex::new(true)),
            ran_here: Arc::default(),
        }
    }

    /// The body's end of the relay, and the mark that it runs here.
    fn local_run(&self) -> (RunsHere, ProgressSink) {
        self.ran_here.store(true, Ordering::SeqCst);
        let relay = self.clone();
        let sink: ProgressSink = Arc::new(move |mark, message| relay.forward(mark, message));
        (RunsHere(Some(self.ran_here.clone())), sink)
    }

    fn forward(&self, mark: Option<crate::domain::ProgressMark>, message: Option<&str>) {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if *open {
            (self.sink)(mark, message);
        }
    }

    fn ran_here(&self) -> bool {
        self.ran_here.load(Ordering::SeqCst)
    }

    fn close(&self) {
        *self.open.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }
}
