//! Running a body this process did not start: a task another process
//! created and handed over ([`Dispatch`], the Lambda model: one invocation
//! records the task, a worker runs it), and a task whose process died
//! (its lease lapsed).

use super::runtime::{TaskBody, TaskRuntime, CRASH_MESSAGE};
use crate::domain::{DomainError, TaskRecord, TaskStatus};
use crate::store::{StoreError, UpdateError};
use async_trait::async_trait;
use std::sync::Arc;

/// The lease holder of a task handed to a worker that has not started it:
/// whoever claims it starts the body from the beginning, whatever its tool.
pub(crate) const QUEUED: &str = "queued";

/// Hands new tasks to workers instead of running their bodies where they
/// were created (see [`TaskServerBuilder::dispatch`](crate::TaskServerBuilder::dispatch)).
///
/// The task is stored, held by a `queued` lease, before `dispatch` is
/// called; a worker then calls [`TaskRuntime::run_dispatched`] with its
/// owner and id. Delivering twice is harmless (the second finds the task
/// taken or ended); never delivering is recovered like a crash: when the
/// lease lapses, [`TaskRuntime::recover_lapsed`] on any instance starts it.
#[async_trait]
pub trait Dispatch: Send + Sync + 'static {
    /// Sends the task to a worker. An error fails the task with it.
    async fn dispatch(&self, task: &TaskRecord) -> Result<(), String>;
}

/// What [`TaskRuntime::run_dispatched`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatched {
    /// The body ran here; the task ended in this status.
    Ran(TaskStatus),
    /// The body ran here until it let go of its worker: it waits for input
    /// (the answer resumes it, through the dispatcher) or sleeps (a
    /// scheduled round wakes it).
    Suspended,
    /// The task had ended, or is gone: nothing to do.
    Ended,
    /// Another instance holds the task's lease and runs it.
    Elsewhere,
    /// The task could not be run here (its tool is not served, or it
    /// stopped mid-way and cannot resume) and was marked `failed`.
    Failed,
}

impl TaskRuntime {
    /// How a lapsed task is resumed: given its record, the body to run again
    /// (`None`: it cannot be resumed and is failed). Set once, by the server.
    pub fn set_resumer(
        &self,
        resumer: impl Fn(&TaskRecord) -> Option<TaskBody> + Send + Sync + 'static,
    ) {
        let _ = self.shared.resumer.set(Box::new(resumer));
    }

    /// How a dispatched task that never started is started: its body from
    /// its record, for any tool. Set once, by the server.
    pub fn set_starter(
        &self,
        starter: impl Fn(&TaskRecord) -> Option<TaskBody> + Send + Sync + 'static,
    ) {
        let _ = self.shared.starter.set(Box::new(starter));
    }

    /// Hands new tasks to `dispatcher` instead of running them here. Set
    /// once, before the first task.
    pub fn set_dispatcher(&self, dispatcher: Arc<dyn Dispatch>) {
        let _ = self.shared.dispatcher.set(dispatcher);
    }

    /// Hands a just-created task to the dispatcher; a task that cannot be
    /// handed over fails at once, saying why, rather than wait for nobody.
    pub(super) async fn dispatch(
        &self,
        dispatcher: &dyn Dispatch,
        created: Arc<TaskRecord>,
    ) -> Arc<TaskRecord> {
        let Err(why) = dispatcher.dispatch(&created).await else {
            tracing::info!(task = %created.id, tool = %created.tool, "task handed to a worker");
            return created;
        };
        tracing::error!(task = %created.id, error = %why, "could not hand a task to a worker");
        let message = format!("The server could not hand this task to a worker: {why}");
        match self
            .shared
            .table
            .update(&created.owner, &created.id, |t, now| {
                t.fail(message.clone(), now)
            })
            .await
        {
            Ok((failed, ())) => failed,
            Err(_) => created,
        }
    }

    /// Runs the body of a task handed over by [`Dispatch`], here and now,
    /// and returns when it has ended: claims its lease (if it is still
    /// queued, or its last runner's lease lapsed), starts it from the
    /// beginning (queued) or resumes it from its checkpoints (lapsed), and
    /// waits for the end, renewing the lease meanwhile.
    pub async fn run_dispatched(&self, owner: &str, id: &str) -> Result<Dispatched, StoreError> {
        let (claimed, fresh) = match self.claim(owner, id).await {
            Ok(claimed) => claimed,
            Err(UpdateError::Domain(DomainError::LeaseHeldElsewhere)) => {
                return Ok(Dispatched::Elsewhere)
            }
            Err(UpdateError::Domain(_)) | Err(UpdateError::Store(StoreError::NotFound)) => {
                return Ok(Dispatched::Ended)
            }
            Err(UpdateError::Store(e)) => return Err(e),
        };
        let Some(body) = self.take_over(&claimed, fresh, false).await else {
            return Ok(Dispatched::Failed);
        };
        match self.spawn_body(&claimed, body) {
            Some(ran) => {
                let _ = ran.await;
            }
            // Another path of this process claimed and runs it.
            None => return Ok(Dispatched::Elsewhere),
        }
        match self.get(owner, id).await {
            Ok(end) if !end.status.is_terminal() => Ok(Dispatched::Suspended),
            Ok(end) => Ok(Dispatched::Ran(end.status)),
            // Ended and already gone (a retention of zero): nothing to redo.
            Err(StoreError::NotFound) => Ok(Dispatched::Ended),
            Err(e) => Err(e),
        }
    }

    /// Takes the task's lease for this instance if it is queued (`fresh`:
    /// never started) or its holder's lease ran out.
    async fn claim(&self, owner: &str, id: &str) -> Result<(Arc<TaskRecord>, bool), UpdateError> {
        let me = self.shared.instance.clone();
        let mut fresh = false;
        let (claimed, ()) = self
            .update(owner, id, |t, now| {
                if t.status.is_terminal() {
                    return Err(DomainError::Terminal(t.status));
                }
                let until = self.lease_until(now);
                match &t.lease() {
                    Some(lease) if lease.holder == QUEUED => fresh = true,
                    Some(lease) if lease.until <= now => fresh = false,
                    // Held (or renewed meanwhile) by a live instance, or never
                    // leased (a workflow prompt's task): not ours to take.
                    _ => return Err(DomainError::LeaseHeldElsewhere),
                }
                t.hold_lease(&me, until)
            })
            .await?;
        Ok((claimed, fresh))
    }

    /// The body to run for a task just claimed: started from its record if
    /// it never ran, else resumed; `None` (and the task failed, saying why)
    /// if this process cannot.
    async fn take_over(&self, claimed: &TaskRecord, fresh: bool, woke: bool) -> Option<TaskBody> {
        let build = if fresh {
            self.shared.starter.get()
        } else {
            self.shared.resumer.get()
        };
        if let Some(body) = build.and_then(|build| build(claimed)) {
            if fresh {
                tracing::info!(task = %claimed.id, tool = %claimed.tool, "starting a dispatched task");
            } else if woke {
                tracing::info!(task = %claimed.id, tool = %claimed.tool, "waking a task whose body slept without a worker");
            } else {
                tracing::warn!(task = %claimed.id, tool = %claimed.tool, "resuming a task whose server stopped");
            }
            return Some(body);
        }
        let message = if fresh {
            format!(
                "This worker cannot start the task: it serves no tool '{}' that accepts the \
                 task's arguments (was it handed to a worker of another server?).",
                claimed.tool
            )
        } else {
            CRASH_MESSAGE.to_owned()
        };
        tracing::warn!(task = %claimed.id, tool = %claimed.tool, "failing a task that cannot be run here: {message}");
        let _ = self
            .update(&claimed.owner, &claimed.id, |t, now| {
                t.fail(message.clone(), now)
            })
            .await;
        None
    }

    /// Takes over up to 100 tasks whose instance died (lease ran out) or
    /// that were dispatched and never picked up: a dispatched task starts
    /// here, a resumable tool's body runs again here (replaying its
    /// checkpoints), any other task is marked `failed`. Returns how many
    /// were taken.
    ///
    /// A runtime that dispatches its tasks takes none over: it may be frozen
    /// once it has answered, so recovery is its workers' job.
    pub async fn recover_lapsed(&self) -> Result<usize, StoreError> {
        if self.is_closing() || self.shared.dispatcher.get().is_some() {
            return Ok(0);
        }
        let now = self.clock().now();
        let lapsed = match self.store().expired_leases(now, 100).await {
            Ok(lapsed) => lapsed,
            Err(e) => {
                self.saw_store_error(&e);
                return Err(e);
            }
        };
        // Right after an outage every lease may have lapsed, the living
        // included: their holders renew first.
        let after_outage = self
            .shared
            .outage_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() < self.limits().lease_ttl);
        let mut taken = 0;
        for record in lapsed {
            // A body running here whose renewals failed (the store was
            // away) is alive: it renews its own lease, never taken over.
            if after_outage || self.runs_here(&record.id) {
                continue;
            }
            let woke = record
                .lease()
                .as_ref()
                .is_some_and(|l| l.holder == super::sleep::SLEEPING);
            let Ok((claimed, fresh)) = self.claim(&record.owner, &record.id).await else {
                continue;
            };
            taken += 1;
            if let Some(body) = self.take_over(&claimed, fresh, woke).await {
                drop(self.spawn_body(&claimed, body));
            }
        }
        Ok(taken)
    }

    /// After a create answered that the store is out of reach, its write
    /// may have been applied all the same. Once the store answers again, a
    /// task found stored under this instance's lease gets `body`, so a
    /// client told "may not have been applied" never finds a task that
    /// nothing runs; one not found was never written. Gives up at shutdown.
    pub(super) fn adopt_if_stored(&self, owner: String, id: String, body: TaskBody) {
        let runtime = self.clone();
        let closing = self.shared.closing.clone();
        let look = async move {
            let mut wait = super::table::OutageWait::new();
            loop {
                match runtime.get(&owner, &id).await {
                    Ok(_) => {
                        // Claimed by renewing this instance's lease: refused
                        // if another instance took it over meanwhile.
                        let me = runtime.shared.instance.clone();
                        let until = runtime.lease_until(runtime.shared.table.now());
                        let renewed = runtime
                            .shared
                            .table
                            .update(&owner, &id, |t, _| t.renew_lease(&me, until))
                            .await;
                        if let Ok((record, ())) = renewed {
                            tracing::warn!(task = %id, "a create answered 'store unavailable' was stored after all: running its body");
                            drop(runtime.spawn_body(&record, body));
                        }
                        return;
                    }
                    Err(StoreError::Unavailable(_)) if wait.again().await => {}
                    Err(_) => return,
                }
            }
        };
        tokio::spawn(async move {
            tokio::select! {
                _ = look => {}
                _ = closing.cancelled() => {}
            }
        });
    }

    /// Notes a store failure: one that says the store is out of reach
    /// starts the grace period after an outage (see `recover_lapsed`).
    pub(super) fn saw_store_error(&self, e: &StoreError) {
        if matches!(e, StoreError::Unavailable(_)) {
            *self
                .shared
                .outage_seen
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(tokio::time::Instant::now());
        }
    }

    /// Whether this task's body runs in this process.
    fn runs_here(&self, id: &str) -> bool {
        self.shared
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(id)
    }

    /// Resolves once no body runs in this process (at once if none does):
    /// how a worker that must not return while work is in flight (a Lambda
    /// invocation is frozen when it returns) waits for the bodies that
    /// recovery started.
    pub async fn idle(&self) {
        loop {
            let notified = self.shared.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.running_count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests;
