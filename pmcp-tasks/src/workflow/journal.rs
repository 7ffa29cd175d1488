//! Writes to a workflow's task: a step completed, a pause, a failed step,
//! the end. Each is one validated compare-and-set through the runtime.

use super::{
    result_key, PauseReason, Progress, SequentialWorkflow, StepStatus, PAUSE_KEY, PROGRESS_KEY,
};
use crate::domain::{DomainError, RpcError, TaskOutcome, TaskRecord};
use crate::execution::TaskRuntime;
use crate::service::ServiceError;
use crate::store::UpdateError;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::Arc;

/// The writes of one workflow run.
pub(super) struct Journal<'a> {
    pub(super) runtime: &'a TaskRuntime,
    pub(super) workflow: &'a SequentialWorkflow,
}

impl Journal<'_> {
    fn limit(&self) -> usize {
        self.runtime.limits().max_variable_bytes
    }

    /// Writes a change to the task. A task that ended meanwhile (cancelled)
    /// is returned as it is; variables over the limit fail the task, saying
    /// so.
    async fn apply(
        &self,
        record: Arc<TaskRecord>,
        mut change: impl FnMut(&mut TaskRecord, DateTime<Utc>) -> Result<(), DomainError>,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        let (owner, id) = (record.owner.clone(), record.id.clone());
        match self.runtime.update(&owner, &id, &mut change).await {
            Ok((written, ())) => Ok(written),
            Err(UpdateError::Domain(DomainError::Terminal(_))) => self
                .runtime
                .get(&owner, &id)
                .await
                .map_err(|e| ServiceError::store(e, &id)),
            Err(UpdateError::Domain(DomainError::VariablesTooLarge { size, limit })) => {
                let error = RpcError::internal(format!(
                    "the workflow's step outputs take {size} bytes, more than the task's \
                     variable limit of {limit} (Limits::max_variable_bytes)"
                ));
                self.runtime
                    .update(&owner, &id, |t, now| {
                        t.finish(TaskOutcome::error(error.clone()), now)
                    })
                    .await
                    .map(|(written, ())| written)
                    .map_err(|e| ServiceError::update(e, &id))
            }
            Err(e) => Err(ServiceError::update(e, &id)),
        }
    }

    /// Marks step `index` completed with its output.
    pub(super) async fn step_done(
        &self,
        record: Arc<TaskRecord>,
        index: usize,
        output: Value,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        let (workflow, limit) = (self.workflow, self.limit());
        let step = workflow.steps()[index].name().to_string();
        self.apply(record, |t, now| {
            let Ok(mut progress) = Progress::matching(t, workflow) else {
                return Ok(());
            };
            if progress.steps[index].status == StepStatus::Completed {
                // A concurrent call recorded it first.
                return Ok(());
            }
            progress.steps[index].status = StepStatus::Completed;
            t.set_variable(&result_key(&step), Some(output.clone()), limit, now)?;
            t.set_variable(PROGRESS_KEY, Some(json!(progress)), limit, now)?;
            t.set_variable(PAUSE_KEY, None, limit, now)?;
            t.set_message(format!("step '{step}' completed"), now)
        })
        .await
    }

    /// Records why the workflow waits for the client.
    pub(super) async fn pause(
        &self,
        record: Arc<TaskRecord>,
        reason: PauseReason,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        let limit = self.limit();
        let message = format!("waiting for the client: {}", reason.explain());
        self.apply(record, |t, now| {
            t.set_variable(PAUSE_KEY, Some(json!(reason)), limit, now)?;
            t.set_message(message.clone(), now)
        })
        .await
    }

    /// A step the client ran failed: the workflow's task fails with it.
    pub(super) async fn step_failed(
        &self,
        record: Arc<TaskRecord>,
        index: usize,
        error: &str,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        let (workflow, limit) = (self.workflow, self.limit());
        let step = &workflow.steps()[index];
        let failure =
            RpcError::internal(format!("workflow step '{}' failed: {error}", step.name()))
                .with_data(json!({
                    "step": step.name().to_string(),
                    "tool": step.tool().map(|t| t.name()),
                }));
        self.apply(record, |t, now| {
            if let Ok(mut progress) = Progress::matching(t, workflow) {
                progress.steps[index].status = StepStatus::Failed;
                t.set_variable(PROGRESS_KEY, Some(json!(progress)), limit, now)?;
            }
            t.set_variable(PAUSE_KEY, None, limit, now)?;
            t.finish(TaskOutcome::error(failure.clone()), now)
        })
        .await
    }

    /// Every step is done: the task completes with a summary.
    pub(super) async fn complete(
        &self,
        record: Arc<TaskRecord>,
    ) -> Result<Arc<TaskRecord>, ServiceError> {
        let workflow = self.workflow;
        let steps: Vec<Value> = workflow
            .steps()
            .iter()
            .map(|s| {
                json!({
                    "name": s.name().to_string(),
                    "tool": s.tool().map(|t| t.name()),
                    "output": record.variables().get(&result_key(s.name().as_str())),
                })
            })
            .collect();
        let names: Vec<String> = workflow
            .steps()
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        let summary = json!({
            "content": [{"type": "text", "text": format!(
                "Workflow '{}' completed: {}", workflow.name(), names.join(", ")
            )}],
            "structuredContent": {"workflow": workflow.name(), "steps": steps},
        });
        let limit = self.limit();
        self.apply(record, |t, now| {
            t.set_variable(PAUSE_KEY, None, limit, now)?;
            t.finish(TaskOutcome::result(summary.clone()), now)
        })
        .await
    }
}
