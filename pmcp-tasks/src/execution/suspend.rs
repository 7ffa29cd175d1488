//! Suspension without a live worker: a resumable body that has waited
//! [`Limits::suspend_after`](crate::Limits::suspend_after) for input lets
//! go of its lease and its worker; the instance that receives the last
//! answer (any of them) resumes it from its step journal.

use super::context::TaskContext;
use super::runtime::TaskRuntime;
use super::takeover::QUEUED;
use crate::domain::{DomainError, TaskRecord};
use crate::store::UpdateError;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a body may suspend while it waits for input.
pub(crate) struct Suspension {
    /// How long it waits before letting go.
    pub(crate) after: Duration,
    /// The instance holding its lease (the one that lets go).
    pub(crate) holder: String,
    /// Cancelled once the task is written suspended: the runtime then
    /// drops the body's future.
    pub(crate) signal: CancellationToken,
}

impl TaskContext {
    /// Resolves once the body has waited long enough to let go of its
    /// worker; never, for a body that may not.
    pub(super) async fn idle_for_suspension(&self) {
        match self.suspension() {
            Some(suspension) => tokio::time::sleep(suspension.after).await,
            None => std::future::pending().await,
        }
    }

    /// Writes `release` (given this instance's name: it gives the lease up)
    /// once; if the task is then no longer held by this body, signals the
    /// runtime to drop it and never returns. Returns if the body must go on
    /// (the change was refused: an answer came, say). A write whose outcome
    /// is unknown (the store failed) is settled by reading the task back.
    pub(super) async fn let_go(
        &self,
        mut release: impl FnMut(&mut TaskRecord, DateTime<Utc>, &str) -> Result<(), DomainError>,
    ) {
        let (Some(suspension), Some(table)) = (self.suspension(), self.table()) else {
            return;
        };
        let (owner, id, me) = (self.owner(), self.task_id(), suspension.holder.as_str());
        let written = table.update(owner, id, |t, now| release(t, now, me)).await;
        let gone = match written {
            Ok(_) => true,
            Err(UpdateError::Domain(e)) => {
                tracing::debug!(task = %id, error = %e, "not letting go of the worker");
                false
            }
            Err(UpdateError::Store(e)) => match table.get_waiting(owner, id).await {
                Ok(now) => now.lease().as_ref().map(|l| l.holder.as_str()) != Some(me),
                Err(_) => {
                    tracing::warn!(task = %id, error = %e, "could not let go of the worker");
                    false
                }
            },
        };
        if gone {
            suspension.signal.cancel();
            std::future::pending::<()>().await;
        }
    }
}

impl TaskRuntime {
    /// How the body of `record` may suspend: only a body that can be
    /// resumed (its tool is resumable and served here), and only if the
    /// limits allow it.
    pub(super) fn suspension_for(&self, record: &TaskRecord) -> Option<Suspension> {
        let after = self.limits().suspend_after?;
        let resumer = self.shared.resumer.get()?;
        // Only whether a body can be rebuilt matters here.
        drop(resumer(record)?);
        Some(Suspension {
            after,
            holder: self.shared.instance.clone(),
            signal: CancellationToken::new(),
        })
    }

    /// Who resumes a suspended task claimed by this runtime: itself, or a
    /// worker when it dispatches (the task is queued for one).
    pub(super) fn resume_holder(&self) -> String {
        match self.shared.dispatcher.get() {
            Some(_) => QUEUED.to_owned(),
            None => self.shared.instance.clone(),
        }
    }

    /// Runs the body of a task this runtime just claimed back from
    /// suspension (in the write that answered it): here, replaying its
    /// checkpoints and answers, or through the dispatcher. A body of it
    /// still registered here (one that let go a moment ago) is stopped
    /// first. At shutdown nothing starts: the claim lapses and recovery
    /// elsewhere resumes it. A task this instance cannot resume is failed,
    /// saying why.
    pub(super) async fn start_resumed(&self, claimed: &Arc<TaskRecord>) {
        if let Some(dispatcher) = self.shared.dispatcher.get().cloned() {
            self.dispatch(dispatcher.as_ref(), claimed.clone()).await;
            return;
        }
        if self.is_closing() {
            return;
        }
        match self.shared.resumer.get().and_then(|build| build(claimed)) {
            Some(body) => {
                tracing::info!(task = %claimed.id, tool = %claimed.tool, "resuming a suspended task: its input is answered");
                self.stop_body(&claimed.id);
                drop(self.spawn_body(claimed, body));
            }
            None => {
                let message = format!(
                    "The task's input was answered on an instance that cannot resume it: it \
                     serves no resumable tool '{}' (are all instances running the same server?).",
                    claimed.tool
                );
                tracing::warn!(task = %claimed.id, "{message}");
                let _ = self
                    .shared
                    .table
                    .update(&claimed.owner, &claimed.id, |t, now| {
                        t.fail(message.clone(), now)
                    })
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TaskBody, TaskContext, TaskRuntime};
    use crate::domain::{Era, Limits, NewTask, TaskOutcome, TaskStatus};
    use crate::store::MemoryStore;
    use serde_json::{json, Map, Value};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    const AFTER: Duration = Duration::from_secs(60);

    /// A body that prepares (a counted step), asks `q`, and answers with
    /// what it was told.
    fn asker(prepared: Arc<AtomicUsize>) -> TaskBody {
        Box::new(move |ctx: TaskContext| {
            Box::pin(async move {
                let _: u32 = ctx
                    .step("prepare", async {
                        prepared.fetch_add(1, Ordering::SeqCst);
                        Ok(1)
                    })
                    .await
                    .unwrap();
                let schema = json!({"type": "object", "properties": {"v": {"type": "string"}}});
                match ctx.elicit_form("q", "Which?", schema).await {
                    Ok(answer) => {
                        TaskOutcome::result(json!({"content": [], "told": answer.content}))
                    }
                    Err(e) => TaskOutcome::error(crate::domain::RpcError::internal(e.to_string())),
                }
            })
        })
    }

    /// A runtime whose `ask` tool is resumable (`plain` is not).
    fn runtime(prepared: &Arc<AtomicUsize>) -> TaskRuntime {
        let rt = TaskRuntime::with_clock(
            Arc::new(MemoryStore::new()),
            Limits {
                suspend_after: Some(AFTER),
                ..Limits::default()
            },
            Arc::new(crate::clock::TokioClock::new()),
        );
        let prepared = prepared.clone();
        rt.set_resumer(move |record| (record.tool == "ask").then(|| asker(prepared.clone())));
        rt
    }

    async fn start(rt: &TaskRuntime, tool: &str, prepared: &Arc<AtomicUsize>) -> String {
        let new = NewTask {
            owner: "alice".into(),
            era: Era::V2026_07_28,
            tool: tool.into(),
            arguments: json!({}),
            ttl: Some(Duration::from_secs(3600)),
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        };
        rt.start(new, asker(prepared.clone()))
            .await
            .unwrap()
            .id
            .clone()
    }

    fn answer() -> Map<String, Value> {
        Map::from_iter([(
            "q".to_owned(),
            json!({"action": "accept", "content": {"v": "tea"}}),
        )])
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_body_lets_go_after_the_idle_time_and_its_answer_resumes_it() {
        let prepared = Arc::new(AtomicUsize::new(0));
        let rt = runtime(&prepared);
        let id = start(&rt, "ask", &prepared).await;
        tokio::time::sleep(AFTER - Duration::from_secs(1)).await;
        let waiting = rt.get("alice", &id).await.unwrap();
        assert!(!waiting.suspended && waiting.lease().is_some(), "not yet");
        assert_eq!(rt.running_count(), 1);

        tokio::time::sleep(Duration::from_secs(2)).await;
        let suspended = rt.get("alice", &id).await.unwrap();
        assert!(suspended.suspended, "{suspended:?}");
        assert_eq!(suspended.status, TaskStatus::InputRequired);
        assert_eq!(suspended.lease(), None);
        assert_eq!(rt.running_count(), 0, "the worker is free");
        // Nothing renews or takes over a suspended task.
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(rt.recover_lapsed().await.unwrap(), 0);
        assert_eq!(
            rt.get("alice", &id).await.unwrap().version,
            suspended.version
        );

        assert_eq!(
            rt.answer_input("alice", &id, &answer()).await.unwrap(),
            ["q"]
        );
        let done = rt.wait_terminal("alice", &id).await.unwrap();
        assert_eq!(done.status, TaskStatus::Completed, "{done:?}");
        assert_eq!(
            done.outcome(),
            Some(&TaskOutcome::result(
                json!({"content": [], "told": {"v": "tea"}})
            ))
        );
        assert!(!done.suspended);
        assert_eq!(prepared.load(Ordering::SeqCst), 1, "the step was replayed");
        assert_eq!(rt.running_count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_answered_in_time_never_lets_go() {
        let prepared = Arc::new(AtomicUsize::new(0));
        let rt = runtime(&prepared);
        let id = start(&rt, "ask", &prepared).await;
        tokio::time::sleep(AFTER / 2).await;
        rt.answer_input("alice", &id, &answer()).await.unwrap();
        let done = rt.wait_terminal("alice", &id).await.unwrap();
        assert_eq!(done.status, TaskStatus::Completed);
        assert!(!done.suspended);
        assert_eq!(prepared.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_cannot_be_resumed_keeps_its_worker() {
        let prepared = Arc::new(AtomicUsize::new(0));
        let rt = runtime(&prepared);
        let id = start(&rt, "plain", &prepared).await;
        tokio::time::sleep(AFTER * 10).await;
        let waiting = rt.get("alice", &id).await.unwrap();
        assert!(!waiting.suspended);
        assert!(waiting.lease().is_some(), "its lease is renewed");
        assert_eq!(rt.running_count(), 1);
        rt.answer_input("alice", &id, &answer()).await.unwrap();
        let done = rt.wait_terminal("alice", &id).await.unwrap();
        assert_eq!(done.status, TaskStatus::Completed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_suspended_task_cancelled_stays_cancelled_and_runs_nothing() {
        let prepared = Arc::new(AtomicUsize::new(0));
        let rt = runtime(&prepared);
        let id = start(&rt, "ask", &prepared).await;
        tokio::time::sleep(AFTER * 2).await;
        assert!(rt.get("alice", &id).await.unwrap().suspended);
        rt.cancel("alice", &id).await.unwrap();
        assert!(rt.answer_input("alice", &id, &answer()).await.is_err());
        tokio::time::sleep(AFTER).await;
        let end = rt.get("alice", &id).await.unwrap();
        assert_eq!(end.status, TaskStatus::Cancelled);
        assert_eq!(rt.running_count(), 0);
        assert_eq!(prepared.load(Ordering::SeqCst), 1, "no body ran again");
    }
}
