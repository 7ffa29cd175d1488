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
    /// `progress` of `total` done. A number that is not finite (NaN, an
    /// infinity, say from a division by zero) is no progress: the report
    /// then carries no numbers (a non-finite `total` is dropped alone).
    pub fn of(progress: f64, total: f64) -> Self {
        ProgressUpdate {
            message: None,
            mark: progress.is_finite().then(|| ProgressMark {
                progress,
                total: total.is_finite().then_some(total),
            }),
        }
    }

    /// `progress` done, of a total not known (non-finite: no numbers).
    pub fn done(progress: f64) -> Self {
        ProgressUpdate {
            message: None,
            mark: progress.is_finite().then_some(ProgressMark {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_are_not_finite_are_left_out() {
        assert_eq!(ProgressUpdate::of(f64::NAN, 10.0).mark, None);
        assert_eq!(ProgressUpdate::done(f64::INFINITY).mark, None);
        let no_total = ProgressUpdate::of(3.0, f64::NEG_INFINITY).message("m");
        assert_eq!(
            no_total.mark,
            Some(ProgressMark {
                progress: 3.0,
                total: None
            })
        );
        assert_eq!(no_total.message.as_deref(), Some("m"));
    }
}
