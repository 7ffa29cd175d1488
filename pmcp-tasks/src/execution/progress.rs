//! What a body reports with `ctx.progress(..)`: a message, numbers, or both.

use crate::domain::ProgressMark;

/// One progress report of a task body.
///
/// A plain message (`ctx.progress("loading")`) becomes the task's
/// `statusMessage`. Numbers (`ProgressUpdate::of(3.0, 10.0)`) also go to the
/// client as `notifications/progress` when its `tools/call` carried a
/// `progressToken`, for the whole life of the task.
///
/// ```
/// use pmcp_tasks::ProgressUpdate;
/// let step = ProgressUpdate::of(3.0, 10.0).message("step 3 of 10");
/// let open_ended = ProgressUpdate::done(42.0);
/// let text: ProgressUpdate = "loading".into();
/// # let _ = (step, open_ended, text);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProgressUpdate {
    pub(crate) message: Option<String>,
    pub(crate) mark: Option<ProgressMark>,
}

impl ProgressUpdate {
    /// `progress` of `total` done.
    pub fn of(progress: f64, total: f64) -> Self {
        ProgressUpdate {
            message: None,
            mark: Some(ProgressMark {
                progress,
                total: Some(total),
            }),
        }
    }

    /// `progress` done, of a total not known.
    pub fn done(progress: f64) -> Self {
        ProgressUpdate {
            message: None,
            mark: Some(ProgressMark {
                progress,
                total: None,
            }),
        }
    }

    /// The same report with a message (the task's `statusMessage`).
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

impl From<&str> for ProgressUpdate {
    fn from(message: &str) -> Self {
        ProgressUpdate::default().message(message)
    }
}

impl From<String> for ProgressUpdate {
    fn from(message: String) -> Self {
        ProgressUpdate::default().message(message)
    }
}
