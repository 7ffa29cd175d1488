//! The task table: the store seen through the runtime's clock and limits,
//! with wake-ups for whoever waits on a task. Both the runtime (which runs
//! bodies) and `TaskContext` (which a body uses) stand on it, so neither
//! needs the other.

use super::events::TaskEvents;
use crate::clock::Clock;
use crate::domain::{DomainError, Limits, TaskRecord};
use crate::store::{self, StoreError, TaskPage, TaskStore, UpdateError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Reads and validated writes of tasks, at the one clock's time.
pub(crate) struct TaskTable {
    store: Arc<dyn TaskStore>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    events: TaskEvents,
    /// Whether the store's change feed is being read: followers then look
    /// at the store themselves only as a safety net.
    feed_live: std::sync::atomic::AtomicBool,
}

/// How much less often a follower looks at the store while a change feed
/// is live (it only covers changes the feed might miss, as in a
/// reconnection).
const FEED_SAFETY_FACTOR: u32 = 10;

impl std::fmt::Debug for TaskTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskTable")
            .field("clock", &self.clock)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl TaskTable {
    pub(crate) fn new(store: Arc<dyn TaskStore>, clock: Arc<dyn Clock>, limits: Limits) -> Self {
        TaskTable {
            store,
            clock,
            limits,
            events: TaskEvents::default(),
            feed_live: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The store's change feed is read (`true`) or not (`false`).
    pub(crate) fn set_feed_live(&self, live: bool) {
        self.feed_live
            .store(live, std::sync::atomic::Ordering::Relaxed);
    }

    /// How often a follower looks at the store itself.
    fn follower_poll(&self) -> Duration {
        if self.feed_live.load(std::sync::atomic::Ordering::Relaxed) {
            self.limits.watch_poll * FEED_SAFETY_FACTOR
        } else {
            self.limits.watch_poll
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn TaskStore> {
        &self.store
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Stores a new task unless its owner is at one of its quotas.
    pub(crate) async fn create(&self, record: TaskRecord) -> Result<Arc<TaskRecord>, StoreError> {
        self.store
            .create(record, self.limits.owner_quota(), self.now())
            .await
    }

    /// The owner's task, unless missing, foreign or expired.
    pub(crate) async fn get(&self, owner: &str, id: &str) -> Result<Arc<TaskRecord>, StoreError> {
        self.store.get(owner, id, self.now()).await
    }

    /// A page of the owner's tasks.
    pub(crate) async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
    ) -> Result<TaskPage, StoreError> {
        self.store
            .list(owner, cursor, self.limits.list_page_size, self.now())
            .await
    }

    /// Applies a validated change (see [`store::update`]) and wakes the
    /// task's waiters.
    pub(crate) async fn update<T>(
        &self,
        owner: &str,
        id: &str,
        change: impl FnMut(&mut TaskRecord, DateTime<Utc>) -> Result<T, DomainError>,
    ) -> Result<(Arc<TaskRecord>, T), UpdateError> {
        let out = store::update(&*self.store, &*self.clock, owner, id, change).await?;
        self.events.notify(id);
        Ok(out)
    }

    /// [`get`](Self::get), waiting out a store that is out of reach (see
    /// [`OutageWait`]): how a running body reads its task.
    pub(crate) async fn get_waiting(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        let mut wait = OutageWait::new();
        loop {
            match self.get(owner, id).await {
                Err(StoreError::Unavailable(_)) if wait.again().await => {}
                other => return other,
            }
        }
    }

    /// [`update`](Self::update), waiting out a store that is out of reach:
    /// how a running body writes (progress, variables, checkpoints), so it
    /// carries on across a store restart instead of failing.
    pub(crate) async fn update_waiting<T>(
        &self,
        owner: &str,
        id: &str,
        mut change: impl FnMut(&mut TaskRecord, DateTime<Utc>) -> Result<T, DomainError>,
    ) -> Result<(Arc<TaskRecord>, T), UpdateError> {
        let mut wait = OutageWait::new();
        loop {
            match self.update(owner, id, &mut change).await {
                Err(UpdateError::Store(StoreError::Unavailable(_))) if wait.again().await => {}
                other => return other,
            }
        }
    }

    /// Wakes everything waiting on task `id` (it changed, or vanished).
    pub(crate) fn notify(&self, id: &str) {
        self.events.notify(id);
    }

    /// Waits until `ready` holds for the owner's task, re-reading it on
    /// every local change and at least every `poll` (for writes by other
    /// instances). Returns the record that satisfied `ready`.
    pub(crate) async fn wait_until(
        &self,
        owner: &str,
        id: &str,
        poll: Duration,
        ready: impl FnMut(&TaskRecord) -> bool,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.wait_for(owner, id, poll, ready, false).await
    }

    /// [`wait_until`](Self::wait_until) for a running body: a store out of
    /// reach is waited out (see [`OutageWait`]) rather than failing it.
    pub(crate) async fn wait_until_waiting(
        &self,
        owner: &str,
        id: &str,
        poll: Duration,
        ready: impl FnMut(&TaskRecord) -> bool,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        self.wait_for(owner, id, poll, ready, true).await
    }

    async fn wait_for(
        &self,
        owner: &str,
        id: &str,
        poll: Duration,
        mut ready: impl FnMut(&TaskRecord) -> bool,
        patient: bool,
    ) -> Result<Arc<TaskRecord>, StoreError> {
        let notify = self.events.subscribe(id);
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let record = if patient {
                self.get_waiting(owner, id).await?
            } else {
                self.get(owner, id).await?
            };
            if ready(&record) {
                return Ok(record);
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }
}

/// Follows one task: its record each time it changes, starting with the
/// current one, until it is terminal or gone. Changes made through this
/// table, or fed by the store, arrive at once; others (another instance,
/// without a feed) at the next look, every `watch_poll`.
pub(crate) struct Follower {
    table: Arc<TaskTable>,
    owner: String,
    id: String,
    notify: Arc<tokio::sync::Notify>,
    seen: Option<u64>,
    ended: bool,
}

impl Follower {
    pub(crate) fn new(table: Arc<TaskTable>, owner: &str, id: &str) -> Self {
        let notify = table.events.subscribe(id);
        Follower {
            table,
            owner: owner.to_owned(),
            id: id.to_owned(),
            notify,
            seen: None,
            ended: false,
        }
    }

    /// The record once it changed since the last one returned; `None` once
    /// the task ended (after its terminal record) or is gone.
    pub(crate) async fn next(&mut self) -> Option<Arc<TaskRecord>> {
        if self.ended {
            return None;
        }
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.table.get(&self.owner, &self.id).await {
                Ok(record) if Some(record.version) != self.seen => {
                    self.seen = Some(record.version);
                    self.ended = record.status.is_terminal();
                    return Some(record);
                }
                Ok(_) => {}
                Err(StoreError::NotFound) => {
                    self.ended = true;
                    return None;
                }
                // A failing store is looked at again at the next poll.
                Err(_) => {}
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(self.table.follower_poll()) => {}
            }
        }
    }

    /// The records as a stream (for following many tasks at once).
    pub(crate) fn into_stream(self) -> futures::stream::BoxStream<'static, Arc<TaskRecord>> {
        Box::pin(futures::stream::unfold(self, |mut follower| async move {
            let record = follower.next().await?;
            Some((record, follower))
        }))
    }
}

/// How long a running body waits for a store that is out of reach before
/// its write fails (and a finished body's result waits to be stored).
pub(crate) const STORE_OUTAGE_PATIENCE: Duration = Duration::from_secs(600);

/// Waiting for a store that is out of reach: backs off (by default from
/// 100 ms up to 2 s) between tries, for up to [`STORE_OUTAGE_PATIENCE`].
pub(crate) struct OutageWait {
    started: tokio::time::Instant,
    delay: Duration,
    most: Duration,
}

impl OutageWait {
    pub(crate) fn new() -> Self {
        Self::backing_off(Duration::from_millis(100), Duration::from_secs(2))
    }

    /// Waits from `first` doubling up to `most` between tries.
    pub(crate) fn backing_off(first: Duration, most: Duration) -> Self {
        OutageWait {
            started: tokio::time::Instant::now(),
            delay: first,
            most,
        }
    }

    /// Whether patience has not run out yet.
    pub(crate) fn patient(&self) -> bool {
        self.started.elapsed() < STORE_OUTAGE_PATIENCE
    }

    /// Sleeps before the next try.
    pub(crate) async fn pause(&mut self) {
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(self.most);
    }

    /// Sleeps before the next try; `false` (at once) once patience ran out.
    pub(crate) async fn again(&mut self) -> bool {
        if !self.patient() {
            return false;
        }
        self.pause().await;
        true
    }
}
