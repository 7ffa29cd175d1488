//! `TaskContext`: what a tool body sees of its task.

use super::progress::ProgressUpdate;
use super::suspend::Suspension;
use super::table::TaskTable;
use crate::domain::{Era, TaskRecord, TaskStatus};
use crate::error::{TaskError, ToolError};
use crate::state::{StateValue, States};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// The handle a tool body uses to talk to its task: variables, progress,
/// cancellation and questions for the client.
///
/// Cheap to clone. When a task tool is called without a task (a plain
/// `tools/call`), the context is *detached*: variables live only for the
/// call, progress goes to the client as `notifications/progress` when the
/// call carried a `progressToken`, and a question goes straight to the
/// client if it declared it answers forms (else
/// [`TaskError::ClientCannotAnswer`]).
#[derive(Clone)]
pub struct TaskContext {
    inner: Arc<Inner>,
    /// The application state the tool can take ([`State`](crate::State)).
    states: States,
}

/// What a plain (task-less) call gives its body: a way to report progress
/// to the waiting client, and a token the client's cancellation cancels.
#[derive(Clone, Default)]
pub(crate) struct CallHooks {
    /// Sends `notifications/progress` for the call's `progressToken`.
    pub(crate) progress: Option<ProgressSink>,
    /// Cancelled by the client's `notifications/cancelled` of the call.
    pub(crate) cancelled: Option<CancellationToken>,
    /// Sends a request (`{"method", "params"}`) to the calling client and
    /// waits for its answer, when the client can take one: how a plain
    /// call asks its questions.
    pub(crate) ask: Option<AskClient>,
}

/// Asks the calling client something (see [`CallHooks::ask`]).
pub(crate) type AskClient = Arc<
    dyn Fn(Value) -> futures::future::BoxFuture<'static, Result<Value, crate::domain::RpcError>>
        + Send
        + Sync,
>;

/// Reports a plain call's progress (numbers, message) to its client.
pub(crate) type ProgressSink =
    Arc<dyn Fn(Option<crate::domain::ProgressMark>, Option<&str>) + Send + Sync>;

impl std::fmt::Debug for CallHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallHooks")
            .field("progress", &self.progress.is_some())
            .field("cancelled", &self.cancelled.is_some())
            .field("ask", &self.ask.is_some())
            .finish()
    }
}

struct Inner {
    id: String,
    owner: String,
    era: Option<Era>,
    token: CancellationToken,
    backing: Backing,
    /// A plain call's progress reporter (also a task's, while the plain
    /// call that started it waits in this process).
    sink: Option<ProgressSink>,
    /// A plain call's way to ask its client.
    ask: Option<AskClient>,
    /// Questions asked so far by [`TaskContext::elicit`] (their keys).
    questions: std::sync::atomic::AtomicU64,
    /// How the body may let go of its worker while it waits for input.
    suspension: Option<Suspension>,
}

enum Backing {
    Task(Arc<TaskTable>),
    Detached(Mutex<Map<String, Value>>),
}

/// The client's answer to an elicitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElicitAnswer {
    /// `accept`, `decline` or `cancel`.
    pub action: String,
    /// The submitted form, when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Map<String, Value>>,
}

impl ElicitAnswer {
    /// Whether the user accepted.
    pub fn accepted(&self) -> bool {
        self.action == "accept"
    }
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("id", &self.inner.id)
            .field("owner", &self.inner.owner)
            .field("is_task", &self.is_task())
            .finish()
    }
}

impl TaskContext {
    pub(crate) fn for_task(
        table: Arc<TaskTable>,
        record: &TaskRecord,
        token: CancellationToken,
        suspension: Option<Suspension>,
    ) -> Self {
        TaskContext {
            inner: Arc::new(Inner {
                id: record.id.clone(),
                owner: record.owner.clone(),
                era: Some(record.era),
                token,
                backing: Backing::Task(table),
                sink: None,
                ask: None,
                questions: Default::default(),
                suspension,
            }),
            states: States::default(),
        }
    }

    /// The same context, whose progress also goes straight to `sink`: a
    /// task started by a plain call that waits for it here. Straight, not
    /// through the store, so that no report is coalesced away and each one
    /// reaches the client before the call's answer.
    pub(crate) fn relaying_progress(mut self, sink: ProgressSink) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.sink = Some(sink),
            None => {
                tracing::debug!(task = %self.inner.id, "progress relay not attached: context shared")
            }
        }
        self
    }

    /// A context for a call that runs without a task (and for unit tests of
    /// tool functions).
    pub fn detached(owner: impl Into<String>) -> Self {
        Self::for_call(owner, CallHooks::default())
    }

    /// A detached context for a plain call: progress reaches its client,
    /// and its cancellation cancels the context.
    pub(crate) fn for_call(owner: impl Into<String>, hooks: CallHooks) -> Self {
        TaskContext {
            inner: Arc::new(Inner {
                id: String::new(),
                owner: owner.into(),
                era: None,
                token: hooks.cancelled.unwrap_or_default(),
                sink: hooks.progress,
                ask: hooks.ask,
                backing: Backing::Detached(Mutex::new(Map::new())),
                questions: Default::default(),
                suspension: None,
            }),
            states: States::default(),
        }
    }

    /// Adds `value` to the state this context hands out, as
    /// [`TaskServerBuilder::state`](crate::TaskServerBuilder::state) does for
    /// a server: for unit tests of tools that take a [`State`](crate::State).
    pub fn with_state<T: StateValue>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// The server's state of type `T`, if it was given one.
    pub fn state<T: StateValue>(&self) -> Option<T> {
        self.states.get::<T>()
    }

    /// The number of the next question [`elicit`](Self::elicit) asks.
    pub(super) fn next_question(&self) -> u64 {
        self.inner
            .questions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// This context with the server's `states` added to its own.
    pub(crate) fn with_states(mut self, states: &States) -> Self {
        if states.0.is_empty() {
            return self;
        }
        if self.states.0.is_empty() {
            self.states = states.clone();
        } else {
            std::sync::Arc::make_mut(&mut self.states.0).extend((*states.0).clone());
        }
        self
    }

    /// The task id (empty when detached).
    pub fn task_id(&self) -> &str {
        &self.inner.id
    }

    /// Who owns the task.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// The protocol era of the request that created the task.
    pub fn era(&self) -> Option<Era> {
        self.inner.era
    }

    /// Whether this call runs as a task.
    pub fn is_task(&self) -> bool {
        matches!(self.inner.backing, Backing::Task(_))
    }

    /// Resolves when the task is cancelled (by `tasks/cancel`, expiry or
    /// shutdown). The body is also dropped at its next `.await` then, so
    /// use this for cleanup or to stop promptly inside blocking loops.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.inner.token.cancelled()
    }

    /// The token that cancels this context.
    pub(crate) fn cancellation(&self) -> CancellationToken {
        self.inner.token.clone()
    }

    /// Whether the task has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// How this body may let go of its worker, if it may.
    pub(super) fn suspension(&self) -> Option<&Suspension> {
        self.inner.suspension.as_ref()
    }

    pub(super) fn table(&self) -> Option<&TaskTable> {
        match &self.inner.backing {
            Backing::Task(table) => Some(table),
            Backing::Detached(_) => None,
        }
    }

    /// Reports progress: a message becomes the task's `statusMessage`;
    /// numbers ([`ProgressUpdate::of`]) also reach a client that asked for
    /// progress (its `progressToken`) as `notifications/progress`.
    pub async fn progress(&self, update: impl Into<ProgressUpdate>) -> Result<(), TaskError> {
        let ProgressUpdate { message, mark } = update.into();
        match self.table() {
            Some(rt) => {
                rt.update_waiting(&self.inner.owner, &self.inner.id, |t, now| {
                    t.report(mark, message.clone(), now)
                })
                .await
                .map_err(|e| self.cancelled_or(e.into()))?;
                if let Some(sink) = &self.inner.sink {
                    sink(mark, message.as_deref());
                }
            }
            None => match &self.inner.sink {
                Some(sink) => sink(mark, message.as_deref()),
                None => tracing::debug!(
                    progress = ?mark.map(|m| m.progress),
                    message = message.as_deref().unwrap_or(""),
                    "task tool progress (no task)"
                ),
            },
        }
        Ok(())
    }

    fn cancelled_or(&self, e: TaskError) -> TaskError {
        match e {
            TaskError::Domain(crate::domain::DomainError::Terminal(TaskStatus::Cancelled)) => {
                TaskError::Cancelled
            }
            other if self.is_cancelled() => {
                let _ = other;
                TaskError::Cancelled
            }
            other => other,
        }
    }

    /// All variables, as JSON.
    pub async fn variables(&self) -> Result<Map<String, Value>, TaskError> {
        match &self.inner.backing {
            Backing::Task(rt) => Ok(rt
                .get_waiting(&self.inner.owner, &self.inner.id)
                .await?
                .variables()
                .clone()),
            Backing::Detached(vars) => Ok(vars.lock().unwrap_or_else(|p| p.into_inner()).clone()),
        }
    }

    /// Reads variable `name`, `None` if unset.
    pub async fn get_var<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, TaskError> {
        let vars = self.variables().await?;
        vars.get(name)
            .map(|v| {
                serde_json::from_value(v.clone()).map_err(|source| TaskError::Variable {
                    name: name.to_owned(),
                    source,
                })
            })
            .transpose()
    }

    /// Sets variable `name`. The client sees it under `_meta` of the task
    /// (`pmcp:variables`). Fails, changing nothing, if the variables would
    /// outgrow the configured limit.
    pub async fn set_var<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<(), TaskError> {
        let value = serde_json::to_value(value).map_err(|source| TaskError::Variable {
            name: name.to_owned(),
            source,
        })?;
        self.write_var(name, Some(value)).await
    }

    /// Removes variable `name`.
    pub async fn remove_var(&self, name: &str) -> Result<(), TaskError> {
        self.write_var(name, None).await
    }

    async fn write_var(&self, name: &str, value: Option<Value>) -> Result<(), TaskError> {
        self.merge_vars(Map::from_iter([(
            name.to_owned(),
            value.unwrap_or(Value::Null),
        )]))
        .await
    }

    /// Merges `patch` into the variables in one write: each key takes its
    /// value, a `null` removes the key. Fails, changing nothing, if the
    /// variables would outgrow the configured limit.
    pub async fn merge_vars(&self, patch: Map<String, Value>) -> Result<(), TaskError> {
        match &self.inner.backing {
            Backing::Task(rt) => {
                let max = rt.limits().max_variable_bytes;
                rt.update_waiting(&self.inner.owner, &self.inner.id, |t, now| {
                    t.merge_variables(&patch, max, now)
                })
                .await
                .map_err(|e| self.cancelled_or(e.into()))?;
            }
            Backing::Detached(vars) => {
                let mut vars = vars.lock().unwrap_or_else(|p| p.into_inner());
                crate::domain::merge_patch(&mut vars, &patch);
            }
        }
        Ok(())
    }

    /// Waits until the variables differ from what they are now (the
    /// client wrote some, or another part of the body did), and returns
    /// them. Ends with [`TaskError::Cancelled`] if the task is cancelled
    /// meanwhile.
    pub async fn variables_changed(&self) -> Result<Map<String, Value>, TaskError> {
        let now = self.variables().await?;
        self.wait_for_variables(|vars| *vars != now).await
    }

    /// Waits until `ready` holds for the variables (checking them as they
    /// are now first), and returns them: for a value the client is to
    /// write, such as an approval.
    pub async fn wait_for_variables(
        &self,
        mut ready: impl FnMut(&Map<String, Value>) -> bool,
    ) -> Result<Map<String, Value>, TaskError> {
        let Some(rt) = self.table() else {
            let vars = self.variables().await?;
            // Nobody else can write a detached call's variables.
            return if ready(&vars) {
                Ok(vars)
            } else {
                Err(TaskError::NotATask)
            };
        };
        let (owner, id) = (&self.inner.owner, &self.inner.id);
        let poll = rt.limits().poll_interval;
        let record = tokio::select! {
            r = rt.wait_until_waiting(owner, id, poll, |t| ready(t.variables()) || t.status.is_terminal()) => r?,
            _ = self.inner.token.cancelled() => return Err(TaskError::Cancelled),
        };
        if record.status.is_terminal() {
            return Err(TaskError::Cancelled);
        }
        Ok(record.variables().clone())
    }

    /// Runs `work` as a checkpointed step named `name`: its output is stored
    /// in the task, and when the task is resumed after its server died (a
    /// [`resumable`](crate::TaskTool::resumable) tool), a step that already
    /// completed returns its stored output instead of running again. A step
    /// that fails is not stored. Names must be unique within a task; outputs
    /// must round-trip through JSON.
    ///
    /// `work` fails with [`ToolError`], into which `?` converts any error,
    /// so no type needs naming:
    ///
    /// ```no_run
    /// # async fn f(ctx: pmcp_tasks::TaskContext) -> Result<(), pmcp_tasks::ToolError> {
    /// let rows: Vec<String> = ctx
    ///     .step("load", async { Ok(std::fs::read_to_string("rows.txt")?.lines().map(String::from).collect()) })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// What runs again after a crash is the step that was in flight: it
    /// started, but its output was never stored. Make each step safe to run
    /// twice (idempotent writes, or a key the far side deduplicates on),
    /// and keep side effects inside steps: code between steps runs again
    /// on every resume.
    pub async fn step<T, F>(&self, name: &str, work: F) -> Result<T, ToolError>
    where
        T: Serialize + DeserializeOwned,
        F: std::future::Future<Output = Result<T, ToolError>>,
    {
        let Some(rt) = self.table() else {
            return work.await;
        };
        let (owner, id) = (&self.inner.owner, &self.inner.id);
        let record = rt.get_waiting(owner, id).await.map_err(TaskError::from)?;
        if let Some(stored) = record.checkpoints().get(name) {
            return serde_json::from_value(stored.clone()).map_err(|source| {
                ToolError::from(TaskError::Variable {
                    name: format!("checkpoint '{name}'"),
                    source,
                })
            });
        }
        let output = work.await?;
        let value = serde_json::to_value(&output).map_err(|source| {
            ToolError::from(TaskError::Variable {
                name: format!("checkpoint '{name}'"),
                source,
            })
        })?;
        rt.update_waiting(owner, id, |t, now| t.checkpoint(name, value.clone(), now))
            .await
            .map_err(|e| ToolError::from(self.cancelled_or(e.into())))?;
        Ok(output)
    }

    /// Asks the client to fill in a form described by `requested_schema`
    /// (a JSON schema in the subset MCP elicitation allows) and waits for the
    /// answer, untyped. [`elicit`](Self::elicit) does the same from a Rust
    /// type.
    ///
    /// `key` names the question; it must be unique over the task's life. If
    /// the question was already answered (say, before a restart), the stored
    /// answer is returned at once. The task is `input_required` until the
    /// client answers: on 2026-07-28 the request shows in `tasks/get` and is
    /// answered with `tasks/update`; on 2025-11-25 it is sent to the client
    /// as `elicitation/create` while the client waits in `tasks/result`.
    pub async fn elicit_form(
        &self,
        key: &str,
        message: &str,
        requested_schema: Value,
    ) -> Result<ElicitAnswer, TaskError> {
        let request = json!({
            "method": "elicitation/create",
            "params": {
                "mode": "form",
                "message": message,
                "requestedSchema": requested_schema,
            }
        });
        let answer = self.request_input(key, request).await?;
        serde_json::from_value(answer).map_err(|source| TaskError::Variable {
            name: format!("input response '{key}'"),
            source,
        })
    }

    /// Sends any server-to-client request (`{"method", "params"}`) as an
    /// input request and waits for the client's answer to it.
    pub async fn request_input(&self, key: &str, request: Value) -> Result<Value, TaskError> {
        let Some(rt) = self.table() else {
            // A plain call asks its client directly, if the client can answer.
            let Some(ask) = &self.inner.ask else {
                return Err(if is_form_elicitation(&request) {
                    TaskError::ClientCannotAnswer {
                        key: key.to_owned(),
                    }
                } else {
                    TaskError::NotATask
                });
            };
            return tokio::select! {
                answer = ask(request) => answer.map_err(|e| TaskError::ClientRefused {
                    key: key.to_owned(),
                    message: e.message,
                }),
                _ = self.inner.token.cancelled() => Err(TaskError::Cancelled),
            };
        };
        let (owner, id) = (&self.inner.owner, &self.inner.id);
        if is_form_elicitation(&request) {
            let current = rt.get_waiting(owner, id).await.map_err(TaskError::from)?;
            if current.client_elicits == Some(false) && !current.input_responses().contains_key(key)
            {
                return Err(TaskError::ClientCannotAnswer {
                    key: key.to_owned(),
                });
            }
        }
        let (record, ()) = match rt
            .update_waiting(owner, id, |t, now| {
                if t.input_responses().contains_key(key) {
                    return Ok(());
                }
                t.request_input(key, request.clone(), now)
            })
            .await
        {
            Ok(done) => done,
            Err(e) => return Err(self.cancelled_or(e.into())),
        };
        if let Some(answer) = record.input_responses().get(key) {
            return Ok(answer.clone());
        }
        let poll = rt.limits().poll_interval;
        let answered = rt.wait_until_waiting(owner, id, poll, |t| {
            t.input_responses().contains_key(key) || t.status.is_terminal()
        });
        tokio::pin!(answered);
        let record = loop {
            tokio::select! {
                r = &mut answered => break r?,
                _ = self.inner.token.cancelled() => return Err(TaskError::Cancelled),
                _ = self.idle_for_suspension() => {}
            }
            // Not raced with the answer: a suspension once written is acted
            // on (this never returns then), whatever arrived meanwhile.
            self.let_go(|t, now, holder| t.suspend(holder, key, now))
                .await;
        };
        record
            .input_responses()
            .get(key)
            .cloned()
            .ok_or(TaskError::Cancelled)
    }
}

/// Whether `request` asks the client to fill in a form (an
/// `elicitation/create` in form mode, the default): what a client that
/// declared no form elicitation cannot answer.
pub(crate) fn is_form_elicitation(request: &Value) -> bool {
    request.get("method").and_then(Value::as_str) == Some("elicitation/create")
        && matches!(
            request.pointer("/params/mode").and_then(Value::as_str),
            None | Some("form")
        )
}
