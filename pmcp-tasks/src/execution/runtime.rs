//! The task runtime: creates tasks, runs their bodies in the background,
//! cancels them, sweeps expired ones and drains them all at shutdown.

use super::context::TaskContext;
use super::finish::{finish, panic_message};
use super::table::{Follower, TaskTable};
use crate::clock::{Clock, SystemClock};
use crate::domain::{DomainError, Limits, NewTask, RpcError, TaskOutcome, TaskRecord};
use crate::store::{MemoryStore, StoreError, TaskPage, TaskStore, UpdateError};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The work of one task: given its context, produce the outcome of the
/// underlying request.
pub type TaskBody = Box<dyn FnOnce(TaskContext) -> BoxFuture<'static, TaskOutcome> + Send>;

/// The message of a task whose server died and whose tool cannot resume.
pub const CRASH_MESSAGE: &str = "The server running this task stopped renewing its claim on it before the task finished (it crashed, was killed, or lost the task store for longer than its lease); call the tool again to retry.";

/// The message of a task still running when its server stopped.
pub const SHUTDOWN_MESSAGE: &str =
    "The server shut down before the task finished; call the tool again to retry.";

/// Why the runtime refused to start a task.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The server is shutting down and takes no new tasks.
    #[error("the server is shutting down and accepts no new tasks")]
    ShuttingDown,
    /// The store refused (limit reached, or failed).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs tasks over a [`TaskStore`]. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct TaskRuntime {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    /// The store, the clock and the limits.
    pub(crate) table: Arc<TaskTable>,
    tracker: TaskTracker,
    /// Bodies running in this process, by task id.
    pub(super) running: Mutex<HashMap<String, Running>>,
    /// Numbers the runs of bodies (see [`Running::run`]).
    runs: std::sync::atomic::AtomicU64,
    /// Cancelled when shutdown begins.
    pub(super) closing: CancellationToken,
    /// This runtime's name in task leases.
    pub(crate) instance: String,
    /// Rebuilds the body of a task taken over after a crash.
    pub(super) resumer: std::sync::OnceLock<Box<Resumer>>,
    /// Builds the body of a task from its record, for any tool: how a
    /// worker starts a task another process created and dispatched.
    pub(super) starter: std::sync::OnceLock<Box<Resumer>>,
    /// Where new tasks' bodies go instead of running here.
    pub(super) dispatcher: std::sync::OnceLock<Arc<dyn super::Dispatch>>,
    /// Woken whenever the last body running here ends.
    pub(super) idle: tokio::sync::Notify,
    /// When this process last found the store out of reach: for a lease
    /// TTL after that, recovery takes no task over, so that bodies whose
    /// renewals failed in the outage renew first.
    pub(super) outage_seen: Mutex<Option<tokio::time::Instant>>,
    /// One permit per body allowed to run at once.
    slots: Arc<tokio::sync::Semaphore>,
}

pub(super) type Resumer = dyn Fn(&TaskRecord) -> Option<TaskBody> + Send + Sync;

/// A body running in this process.
pub(super) struct Running {
    pub(super) owner: String,
    /// Cancelled to stop it.
    pub(super) token: CancellationToken,
    /// Which run of the task's body this is: a body that suspended and was
    /// resumed here at once has a newer one, which the first must not
    /// unregister when it winds down.
    run: u64,
}

impl std::fmt::Debug for TaskRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRuntime")
            .field("table", &self.shared.table)
            .field("running", &self.running_count())
            .finish_non_exhaustive()
    }
}

impl Default for TaskRuntime {
    fn default() -> Self {
        TaskRuntime::new(Arc::new(MemoryStore::new()), Limits::default())
    }
}

impl TaskRuntime {
    /// A runtime over `store`, enforcing `limits`, on the system clock.
    pub fn new(store: Arc<dyn TaskStore>, limits: Limits) -> Self {
        Self::with_clock(store, limits, Arc::new(SystemClock))
    }

    /// A runtime over `store`, enforcing `limits`, reading the time from
    /// `clock` (see [`crate::clock`]).
    pub fn with_clock(store: Arc<dyn TaskStore>, limits: Limits, clock: Arc<dyn Clock>) -> Self {
        let slots = Arc::new(tokio::sync::Semaphore::new(
            limits.max_running_bodies.max(1),
        ));
        TaskRuntime {
            shared: Arc::new(Shared {
                slots,
                table: Arc::new(TaskTable::new(store, clock, limits)),
                tracker: TaskTracker::new(),
                running: Mutex::new(HashMap::new()),
                runs: Default::default(),
                closing: CancellationToken::new(),
                instance: uuid::Uuid::new_v4().to_string(),
                resumer: std::sync::OnceLock::new(),
                starter: std::sync::OnceLock::new(),
                dispatcher: std::sync::OnceLock::new(),
                idle: tokio::sync::Notify::new(),
                outage_seen: Mutex::new(None),
            }),
        }
    }

    /// The configured limits.
    pub fn limits(&self) -> &Limits {
        self.shared.table.limits()
    }

    /// The store behind this runtime.
    pub fn store(&self) -> &Arc<dyn TaskStore> {
        self.shared.table.store()
    }

    /// The clock every time-dependent decision reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.shared.table.clock()
    }

    /// Whether shutdown has begun.
    pub fn is_closing(&self) -> bool {
        self.shared.closing.is_cancelled()
    }

    /// How many task bodies run in this process now.
    pub fn running_count(&self) -> usize {
        self.shared
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Creates a task and starts its body in the background (or, with a
    /// [`Dispatch`](super::Dispatch), hands it to a worker). The task is
    /// stored before this returns, so a `tasks/get` for it resolves at once.
    pub async fn start(&self, new: NewTask, body: TaskBody) -> Result<Arc<TaskRecord>, StartError> {
        self.start_as(None, new, body).await
    }

    /// [`start`](Self::start), with the task's id given (an idempotent
    /// create's) instead of a random one. A task with that id already
    /// stored answers `StoreError::Duplicate`, and nothing runs.
    pub(crate) async fn start_as(
        &self,
        id: Option<String>,
        new: NewTask,
        body: TaskBody,
    ) -> Result<Arc<TaskRecord>, StartError> {
        let now = self.shared.table.now();
        let mut record = TaskRecord::new(new, now);
        if let Some(id) = id {
            record.id = id;
        }
        let dispatcher = self.shared.dispatcher.get().cloned();
        let holder = match dispatcher {
            Some(_) => super::takeover::QUEUED,
            None => self.shared.instance.as_str(),
        };
        record
            .hold_lease(holder, self.lease_until(now))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let (owner, id) = (record.owner.clone(), record.id.clone());
        let created = match self.create(record).await {
            Ok(created) => created,
            // The write may have been applied all the same (the answer was
            // lost): the body is kept for a task that turns up stored.
            Err(StartError::Store(StoreError::Unavailable(why))) if dispatcher.is_none() => {
                self.adopt_if_stored(owner, id, body);
                return Err(StartError::Store(StoreError::Unavailable(why)));
            }
            Err(e) => return Err(e),
        };
        match dispatcher {
            Some(dispatcher) => Ok(self.dispatch(dispatcher.as_ref(), created).await),
            None => {
                drop(self.spawn_body(&created, body));
                Ok(created)
            }
        }
    }

    /// Stores a new task, unless the runtime is shutting down or the owner
    /// is at one of its quotas. Nothing runs it: [`start`](Self::start) adds a body
    /// (and a lease); a workflow prompt's task is moved on by requests, and
    /// without a lease recovery leaves it alone.
    pub(crate) async fn create(
        &self,
        mut record: TaskRecord,
    ) -> Result<Arc<TaskRecord>, StartError> {
        if self.is_closing() {
            return Err(StartError::ShuttingDown);
        }
        record.set_retention(self.limits().retention);
        let created = self.shared.table.create(record).await?;
        tracing::info!(task = %created.id, owner = %created.owner, tool = %created.tool, "task created");
        Ok(created)
    }

    /// When a lease taken or renewed at `now` lapses.
    pub(super) fn lease_until(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        let ttl = chrono::Duration::from_std(self.limits().lease_ttl)
            .unwrap_or(chrono::Duration::seconds(30));
        now.checked_add_signed(ttl)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
    }

    /// Runs `body` for `record` (whose lease this instance holds) on the
    /// tracker, watching for an end written elsewhere and renewing the lease;
    /// the handle resolves when the body and its final write are done.
    /// `None`, and nothing runs, if a body of the task already runs here
    /// (two paths that claimed it at once: one body is enough).
    pub(super) fn spawn_body(
        &self,
        record: &TaskRecord,
        body: TaskBody,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let token = CancellationToken::new();
        let run = self
            .shared
            .runs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        {
            let mut running = self
                .shared
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if running.contains_key(&record.id) {
                tracing::debug!(task = %record.id, "a body of this task already runs here");
                return None;
            }
            running.insert(
                record.id.clone(),
                Running {
                    owner: record.owner.clone(),
                    token: token.clone(),
                    run,
                },
            );
        }
        let suspension = self.suspension_for(record);
        let suspended = suspension.as_ref().map(|s| s.signal.clone());
        let ctx =
            TaskContext::for_task(self.shared.table.clone(), record, token.clone(), suspension);
        let runtime = self.clone();
        let (id, owner) = (record.id.clone(), record.owner.clone());
        Some(self.shared.tracker.spawn(async move {
            let shared = runtime.shared.clone();
            let body_run = async {
                let _slot = runtime.take_slot(&owner, &id).await;
                AssertUnwindSafe(body(ctx)).catch_unwind().await
            };
            let suspended = async {
                match &suspended {
                    Some(signal) => signal.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let ended = tokio::select! {
                biased;
                // The body let go of its worker while it waits for input,
                // having written so: its future is dropped here.
                _ = suspended => {
                    tracing::info!(task = %id, "task body suspended until its input is answered");
                    None
                }
                ended = body_run => Some(ended),
                _ = token.cancelled() => None,
                why = runtime.watch(&owner, &id) => {
                    tracing::info!(task = %id, "task body stopped: {why}");
                    None
                }
            };
            // `None`: whoever cancelled the token (tasks/cancel, expiry,
            // shutdown) has already written the task's final state.
            let outcome = match ended {
                None => None,
                Some(Ok(outcome)) => Some(outcome),
                Some(Err(panic)) => Some(TaskOutcome::error(RpcError::internal(format!(
                    "the tool panicked: {}",
                    panic_message(&panic)
                )))),
            };
            if let Some(outcome) = outcome {
                finish(&shared, &owner, &id, outcome).await;
            }
            // Counted as running until its end is written: a worker waiting
            // for `idle` must not return before that.
            let now_idle = {
                let mut running = shared.running.lock().unwrap_or_else(|p| p.into_inner());
                if running.get(&id).is_some_and(|r| r.run == run) {
                    running.remove(&id);
                }
                running.is_empty()
            };
            if now_idle {
                shared.idle.notify_waiters();
            }
        }))
    }

    /// A place among the bodies allowed to run at once. Waiting for one,
    /// the task says so in its status message.
    async fn take_slot(&self, owner: &str, id: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let slots = &self.shared.slots;
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            return Some(slot);
        }
        let limit = self.limits().max_running_bodies.max(1);
        let say = |message: String| async move {
            let _ = self
                .shared
                .table
                .update(owner, id, |t, now| t.set_message(message.clone(), now))
                .await;
        };
        say(format!(
            "Queued: all {limit} of this server's task workers are busy; it starts when one is \
             free"
        ))
        .await;
        let slot = slots.clone().acquire_owned().await.ok();
        say("Started after waiting for a free worker.".to_owned()).await;
        slot
    }

    /// Watches a task whose body runs here: resolves (with the reason) when
    /// the stored task ended elsewhere or its lease passed to another
    /// instance; meanwhile renews the lease. Store errors are not an end.
    async fn watch(&self, owner: &str, id: &str) -> &'static str {
        let limits = self.limits();
        let mut tick = tokio::time::interval(limits.external_cancel_poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let renew_every = limits.lease_ttl / 3;
        let mut renewed = tokio::time::Instant::now();
        loop {
            tick.tick().await;
            let record = match self.shared.table.get(owner, id).await {
                Ok(record) => record,
                Err(StoreError::NotFound) => return "the task expired",
                Err(e) => {
                    self.saw_store_error(&e);
                    continue;
                }
            };
            if record.status.is_terminal() {
                return "the task ended elsewhere (cancelled through another instance)";
            }
            // Renewals keep a working task alive past its TTL, but not past
            // the longest TTL the server grants: a body that runs (or waits)
            // that long is stopped, and its task failed saying so.
            if let Some(max) = limits
                .max_ttl
                .and_then(|m| chrono::Duration::from_std(m).ok())
            {
                if self.shared.table.now() - record.created_at >= max {
                    let message = format!(
                        "The task ran longer than this server allows ({}); it was stopped.",
                        humantime::format_duration(limits.max_ttl.unwrap_or_default())
                    );
                    let _ = self
                        .update(owner, id, |t, now| t.fail(message.clone(), now))
                        .await;
                    return "it ran longer than the longest TTL";
                }
            }
            if record
                .lease()
                .as_ref()
                .is_some_and(|l| l.holder != self.shared.instance)
            {
                return "another instance took the task over";
            }
            if renewed.elapsed() >= renew_every {
                let me = self.shared.instance.clone();
                let until = self.lease_until(self.shared.table.now());
                let renewal = self
                    .update(owner, id, |t, _| t.renew_lease(&me, until))
                    .await;
                match renewal {
                    Ok(_) => renewed = tokio::time::Instant::now(),
                    Err(UpdateError::Store(e)) => self.saw_store_error(&e),
                    Err(_) => {}
                }
            }
        }
    }

    /// The owner's task, unless missing, foreign or expired.
    pub async fn get(&self, owner: &str, id: &str) -> Result<Arc<TaskRecord>, StoreError> {
        self.shared.table.get(owner, id).await
    }

    /// A page of the owner's tasks.
    pub async fn list(&self, owner: &str, cursor: Option<&str>) -> Result<TaskPage, StoreError> {
        self.shared.table.list(owner, cursor).await
    }

    /// Cancels the owner's task: marks it `cancelled` (refused if terminal)
    /// and then stops its body, if it runs here.
    pub async fn cancel(&self, owner: &str, id: &str) -> Result<Arc<TaskRecord>, UpdateError> {
        let (record, ()) = self.update(owner, id, |t, now| t.cancel(now)).await?;
        tracing::info!(task = %id, owner = %owner, "task cancelled");
        self.stop_body(id);
        Ok(record)
    }

    /// Delivers the client's answers to outstanding input requests; keys
    /// that are not outstanding are ignored. Returns the accepted keys.
    pub async fn answer_input(
        &self,
        owner: &str,
        id: &str,
        responses: &Map<String, Value>,
    ) -> Result<Vec<String>, UpdateError> {
        let (_, accepted) = self
            .update(owner, id, |t, now| t.answer_input(responses, now))
            .await?;
        Ok(accepted)
    }

    /// Applies a validated change and wakes the task's waiters. A change
    /// that answers the last question of a suspended task resumes its body
    /// (here, or through the dispatcher).
    pub(crate) async fn update<T>(
        &self,
        owner: &str,
        id: &str,
        mut change: impl FnMut(&mut TaskRecord, chrono::DateTime<chrono::Utc>) -> Result<T, DomainError>,
    ) -> Result<(Arc<TaskRecord>, T), UpdateError> {
        let holder = self.resume_holder();
        let mut resumed = false;
        let updated = self
            .shared
            .table
            .update(owner, id, |t, now| {
                let out = change(t, now)?;
                // Claimed in the same write as the last answer: a resume is
                // never lost between two writes (at worst its lease lapses
                // and recovery resumes it).
                resumed = t.is_ready_to_resume();
                if resumed {
                    t.resume(&holder, self.lease_until(now))?;
                }
                Ok(out)
            })
            .await?;
        if resumed {
            self.start_resumed(&updated.0).await;
        }
        Ok(updated)
    }

    /// Waits until `ready` holds for the owner's task, re-reading it on every
    /// local change and at least every `poll` (for writes by other
    /// instances). Returns the record that satisfied `ready`.
    pub async fn wait_until(
        &self,
        owner: &str,
        id: &str,
        poll: Duration,
        ready: impl FnMut(&TaskRecord) -> bool,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.shared.table.wait_until(owner, id, poll, ready).await
    }

    /// Follows the owner's task (see [`Follower`]).
    pub(crate) fn follow(&self, owner: &str, id: &str) -> Follower {
        Follower::new(self.shared.table.clone(), owner, id)
    }

    /// Waits until the owner's task is terminal.
    pub async fn wait_terminal(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        let poll = self.limits().poll_interval;
        self.wait_until(owner, id, poll, |t| t.status.is_terminal())
            .await
    }

    pub(super) fn stop_body(&self, id: &str) {
        let entry = self
            .shared
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(running) = entry {
            running.token.cancel();
        }
    }

    /// Deletes expired tasks once and stops their bodies; returns how many.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        let purged = self.store().purge_expired(self.shared.table.now()).await?;
        for id in &purged {
            self.stop_body(id);
            self.shared.table.notify(id);
        }
        Ok(purged.len())
    }

    /// Follows the store's change feed, if it has one, so that a task
    /// changed by another instance wakes this one's listeners at once.
    pub(crate) fn spawn_change_feed(&self) {
        let (table, closing) = (self.shared.table.clone(), self.shared.closing.clone());
        tokio::spawn(async move {
            let Some(mut feed) = table.store().changes().await else {
                return;
            };
            table.set_feed_live(true);
            loop {
                tokio::select! {
                    id = futures::StreamExt::next(&mut feed) => match id {
                        Some(id) => table.notify(&id),
                        None => break,
                    },
                    _ = closing.cancelled() => break,
                }
            }
            table.set_feed_live(false);
        });
    }

    /// Sweeps expired tasks every `every` until shutdown begins.
    pub fn spawn_sweeper(&self, every: Duration) {
        let runtime = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = runtime.shared.closing.cancelled() => return,
                }
                if let Err(e) = runtime.sweep_expired().await {
                    tracing::warn!(error = %e, "sweeping expired tasks failed");
                }
                if let Err(e) = runtime.recover_lapsed().await {
                    tracing::warn!(error = %e, "recovering tasks of stopped servers failed");
                }
            }
        });
    }

    /// Stops taking new tasks, lets running bodies finish for up to `grace`,
    /// then marks every task still running `failed` (with
    /// [`SHUTDOWN_MESSAGE`]) and stops its body. Nothing is left `working`.
    /// Returns how many tasks were marked `failed`.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.shared.closing.cancel();
        self.shared.tracker.close();
        if tokio::time::timeout(grace, self.shared.tracker.wait())
            .await
            .is_ok()
        {
            return 0;
        }
        let left: Vec<(String, String)> = self
            .shared
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, running)| (id.clone(), running.owner.clone()))
            .collect();
        let mut failed = 0;
        for (id, owner) in left {
            match self
                .update(&owner, &id, |t, now| t.fail(SHUTDOWN_MESSAGE, now))
                .await
            {
                Ok(_) => failed += 1,
                Err(UpdateError::Domain(_)) | Err(UpdateError::Store(StoreError::NotFound)) => {}
                Err(e) => {
                    tracing::error!(task = %id, error = %e, "could not mark an unfinished task failed at shutdown")
                }
            }
            self.stop_body(&id);
        }
        self.shared.tracker.wait().await;
        failed
    }
}
