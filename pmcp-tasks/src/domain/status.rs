//! The task status machine shared by both protocol eras.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a task is in its life. The wire names are the same in both eras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// The body is running.
    Working,
    /// The body waits for the client to answer one or more input requests.
    InputRequired,
    /// Finished with a result (terminal).
    Completed,
    /// Finished with an error (terminal).
    Failed,
    /// Stopped on request (terminal).
    Cancelled,
}

impl TaskStatus {
    /// Every status, in declaration order (handy for exhaustive tests).
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Working,
        TaskStatus::InputRequired,
        TaskStatus::Completed,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    /// `completed`, `failed` and `cancelled` never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }

    /// Whether the spec allows moving from `self` to `next`.
    ///
    /// Staying in the same non-terminal status is allowed: it is how a status
    /// message or variables change without a transition.
    pub fn can_become(self, next: TaskStatus) -> bool {
        // `working` and `input_required` may each become any status (the
        // other, a terminal one, or themselves); a terminal status is final.
        let _ = next;
        !self.is_terminal()
    }

    /// The wire name (`working`, `input_required`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Working => "working",
            TaskStatus::InputRequired => "input_required",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = TaskStatus> {
        prop::sample::select(TaskStatus::ALL.to_vec())
    }

    /// The transition table of both specs, written out edge by edge.
    fn spec_allows(from: TaskStatus, to: TaskStatus) -> bool {
        use TaskStatus::*;
        matches!(
            (from, to),
            (Working, Working)
                | (Working, InputRequired)
                | (Working, Completed)
                | (Working, Failed)
                | (Working, Cancelled)
                | (InputRequired, InputRequired)
                | (InputRequired, Working)
                | (InputRequired, Completed)
                | (InputRequired, Failed)
                | (InputRequired, Cancelled)
        )
    }

    #[test]
    fn table_matches_spec_for_every_pair() {
        for from in TaskStatus::ALL {
            for to in TaskStatus::ALL {
                assert_eq!(from.can_become(to), spec_allows(from, to), "{from} -> {to}");
            }
        }
    }

    proptest! {
        /// Applying any sequence of attempted transitions, only allowed ones
        /// take effect, and once terminal the status never changes.
        #[test]
        fn terminal_is_forever(attempts in prop::collection::vec(status(), 0..40)) {
            let mut current = TaskStatus::Working;
            let mut terminal_at: Option<TaskStatus> = None;
            for next in attempts {
                if current.can_become(next) {
                    prop_assert!(spec_allows(current, next));
                    current = next;
                }
                if let Some(t) = terminal_at {
                    prop_assert_eq!(current, t);
                }
                if current.is_terminal() {
                    terminal_at.get_or_insert(current);
                }
            }
        }

        #[test]
        fn wire_name_round_trips(s in status()) {
            let json = serde_json::to_value(s).unwrap();
            prop_assert_eq!(json.as_str().unwrap(), s.as_str());
            let back: TaskStatus = serde_json::from_value(json).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}
