//! Durable timers: `ctx.sleep` waits a duration counted from the first
//! time the body reached it, across restarts, and a resumable body that
//! sleeps longer than [`Limits::suspend_after`](crate::Limits::suspend_after)
//! lets go of its worker until then.

use super::context::TaskContext;
use crate::error::TaskError;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The lease holder of a task whose body sleeps without a worker: its
/// lease ends when the body should wake, and recovery then runs it again.
pub(crate) const SLEEPING: &str = "sleeping";

impl TaskContext {
    /// Sleeps `duration`, counted from the first time this body reached
    /// the timer `name` (unique in the task, like a step's name): a body
    /// resumed after a restart sleeps only what is left.
    ///
    /// A resumable tool's body that would sleep longer than
    /// [`Limits::suspend_after`](crate::Limits::suspend_after) lets go of
    /// its worker and lease: the task stays `working`, and when the time
    /// comes the next recovery round of any instance (its sweeper) runs
    /// the body again, replaying its steps, and this returns. Expect the
    /// wake to be late by up to a sweep interval then.
    ///
    /// ```no_run
    /// # async fn f(ctx: pmcp_tasks::TaskContext) -> Result<(), pmcp_tasks::ToolError> {
    /// // Check the order again tomorrow, without holding a worker all night.
    /// ctx.sleep("until-tomorrow", std::time::Duration::from_secs(24 * 3600)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn sleep(&self, name: &str, duration: Duration) -> Result<(), TaskError> {
        let Some(table) = self.table() else {
            tokio::select! {
                _ = tokio::time::sleep(duration) => return Ok(()),
                _ = self.cancelled() => return Err(TaskError::Cancelled),
            }
        };
        let (owner, id) = (self.owner(), self.task_id());
        let key = format!("sleep:{name}");
        let journaled = table
            .get_waiting(owner, id)
            .await?
            .checkpoints()
            .get(&key)
            .cloned();
        let wake = match journaled.and_then(|v| serde_json::from_value::<DateTime<Utc>>(v).ok()) {
            Some(wake) => wake,
            None => {
                let span = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
                let wake = table
                    .now()
                    .checked_add_signed(span)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                let value = serde_json::json!(wake);
                table
                    .update_waiting(owner, id, |t, now| t.checkpoint(&key, value.clone(), now))
                    .await?;
                wake
            }
        };
        loop {
            let left = (wake - table.now()).to_std().unwrap_or_default();
            if left.is_zero() {
                return Ok(());
            }
            let Some(suspension) = self.suspension().filter(|s| left > s.after) else {
                tokio::select! {
                    _ = tokio::time::sleep(left) => return Ok(()),
                    _ = self.cancelled() => return Err(TaskError::Cancelled),
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(suspension.after) => {}
                _ = self.cancelled() => return Err(TaskError::Cancelled),
            }
            self.let_go(|t, _, holder| t.sleep_until(holder, SLEEPING, wake))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TaskBody, TaskContext, TaskRuntime};
    use super::SLEEPING;
    use crate::domain::{Era, Limits, NewTask, TaskOutcome, TaskStatus};
    use crate::store::MemoryStore;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    const HOUR: Duration = Duration::from_secs(3600);

    /// Prepares (a counted step), sleeps an hour, answers.
    fn napper(prepared: Arc<AtomicUsize>) -> TaskBody {
        Box::new(move |ctx: TaskContext| {
            Box::pin(async move {
                let _: u32 = ctx
                    .step("prepare", async {
                        prepared.fetch_add(1, Ordering::SeqCst);
                        Ok(1)
                    })
                    .await
                    .unwrap();
                match ctx.sleep("nap", HOUR).await {
                    Ok(()) => TaskOutcome::result(json!({"content": []})),
                    Err(e) => TaskOutcome::error(crate::domain::RpcError::internal(e.to_string())),
                }
            })
        })
    }

    async fn start(tool: &str) -> (TaskRuntime, String, Arc<AtomicUsize>) {
        let prepared = Arc::new(AtomicUsize::new(0));
        let rt = TaskRuntime::with_clock(
            Arc::new(MemoryStore::new()),
            Limits {
                suspend_after: Some(Duration::from_secs(60)),
                ..Limits::default()
            },
            Arc::new(crate::clock::TokioClock::new()),
        );
        let counter = prepared.clone();
        rt.set_resumer(move |r| (r.tool == "nap").then(|| napper(counter.clone())));
        let new = NewTask {
            owner: "alice".into(),
            era: Era::V2026_07_28,
            tool: tool.into(),
            arguments: json!({}),
            ttl: Some(Duration::from_secs(600)),
            poll_interval: None,
            input_responses: Default::default(),
            variables: Default::default(),
            client_elicits: None,
        };
        let id = rt
            .start(new, napper(prepared.clone()))
            .await
            .unwrap()
            .id
            .clone();
        (rt, id, prepared)
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_sleep_lets_go_of_the_worker_and_recovery_wakes_it_on_time() {
        let (rt, id, prepared) = start("nap").await;
        tokio::time::sleep(Duration::from_secs(61)).await;
        let asleep = rt.get("alice", &id).await.unwrap();
        assert_eq!(asleep.status, TaskStatus::Working);
        let lease = asleep.lease().cloned().unwrap();
        assert_eq!(lease.holder, SLEEPING);
        assert_eq!(rt.running_count(), 0, "no worker held");
        // Kept past its 10-minute TTL: the sleep's end is its lease's.
        assert!(asleep.expires_at().unwrap() > lease.until);

        tokio::time::sleep(HOUR - Duration::from_secs(120)).await;
        assert_eq!(rt.recover_lapsed().await.unwrap(), 0, "not yet");
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(rt.recover_lapsed().await.unwrap(), 1);
        let done = rt.wait_terminal("alice", &id).await.unwrap();
        assert_eq!(done.status, TaskStatus::Completed, "{done:?}");
        assert_eq!(prepared.load(Ordering::SeqCst), 1, "the step was replayed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_cannot_be_resumed_sleeps_in_place() {
        let (rt, id, _) = start("plain").await;
        tokio::time::sleep(Duration::from_secs(61)).await;
        let lease = rt
            .get("alice", &id)
            .await
            .unwrap()
            .lease()
            .cloned()
            .unwrap();
        assert_ne!(lease.holder, SLEEPING);
        assert_eq!(rt.running_count(), 1);
        let done = rt.wait_terminal("alice", &id).await.unwrap();
        assert_eq!(done.status, TaskStatus::Completed);
    }
}
