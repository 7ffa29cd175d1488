//! Suspension: a body waiting for input lets go of its lease and its
//! worker, and whichever instance receives the answer resumes it from its
//! step journal.

use super::record::TaskRecord;
use super::status::TaskStatus;
use super::DomainError;
use chrono::{DateTime, Utc};

impl TaskRecord {
    /// Lets go of the body that `holder` runs, which waits for answer `key`:
    /// the task stays `input_required`, without a lease, so that recovery
    /// leaves it alone and the answer resumes it ([`resume`](Self::resume)).
    /// Refused if the answer is in (the body reads it instead) or another
    /// instance holds the task.
    pub fn suspend(
        &mut self,
        holder: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        if self.status.is_terminal() {
            return Err(DomainError::Terminal(self.status));
        }
        if self.status != TaskStatus::InputRequired || !self.input_requests().contains_key(key) {
            return Err(DomainError::NotWaiting(key.to_owned()));
        }
        if self.lease().is_some_and(|l| l.holder != holder) {
            return Err(DomainError::LeaseHeldElsewhere);
        }
        self.release_lease();
        self.suspended = true;
        self.updated_at = now;
        Ok(())
    }

    /// Whether the task is suspended and all its questions are answered:
    /// its body should run again.
    pub fn is_ready_to_resume(&self) -> bool {
        self.suspended && self.status == TaskStatus::Working
    }

    /// Claims a suspended task whose questions are answered, for `holder`
    /// until `until`: one instance wins, and runs the body again.
    pub fn resume(&mut self, holder: &str, until: DateTime<Utc>) -> Result<(), DomainError> {
        if !self.is_ready_to_resume() {
            return Err(DomainError::NotSuspended);
        }
        self.suspended = false;
        self.hold_lease(holder, until)
    }

    /// Lets go of the body that `holder` runs, which sleeps until `wake`:
    /// the task keeps working under a lease held by `sleeper` until then,
    /// so that recovery (any instance's sweeper) takes it over at `wake`
    /// and runs the body again, and the task is kept at least that long.
    pub fn sleep_until(
        &mut self,
        holder: &str,
        sleeper: &str,
        wake: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        if self.status.is_terminal() {
            return Err(DomainError::Terminal(self.status));
        }
        if self.lease().is_some_and(|l| l.holder != holder) {
            return Err(DomainError::LeaseHeldElsewhere);
        }
        self.hold_lease(sleeper, wake)
    }

    /// Renews `holder`'s lease; refused once the task passed to another
    /// instance or was suspended (a renewal must not revive a lease the
    /// body gave up).
    pub fn renew_lease(&mut self, holder: &str, until: DateTime<Utc>) -> Result<(), DomainError> {
        if self.suspended || self.lease().is_some_and(|l| l.holder != holder) {
            return Err(DomainError::LeaseHeldElsewhere);
        }
        self.hold_lease(holder, until)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{DomainError, Era, NewTask, TaskRecord, TaskStatus};
    use chrono::{DateTime, Utc};
    use serde_json::{json, Map};

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn waiting() -> TaskRecord {
        let mut t = TaskRecord::new(
            NewTask {
                owner: "o".into(),
                era: Era::V2025_11_25,
                tool: "t".into(),
                arguments: json!({}),
                ttl: None,
                poll_interval: None,
                input_responses: Default::default(),
                variables: Default::default(),
                client_elicits: None,
            },
            at(0),
        );
        t.hold_lease("a", at(30)).unwrap();
        t.request_input("q", json!({"method": "elicitation/create"}), at(1))
            .unwrap();
        t
    }

    fn answer(t: &mut TaskRecord) {
        let answers = Map::from_iter([("q".to_owned(), json!({"action": "accept"}))]);
        t.answer_input(&answers, at(3)).unwrap();
    }

    #[test]
    fn a_suspended_task_is_resumed_once_answered_and_only_then() {
        let mut t = waiting();
        assert_eq!(
            t.suspend("b", "q", at(2)),
            Err(DomainError::LeaseHeldElsewhere),
            "only the holder lets go"
        );
        t.suspend("a", "q", at(2)).unwrap();
        assert!(t.suspended && t.lease().is_none());
        assert_eq!(t.status, TaskStatus::InputRequired);
        assert_eq!(t.lease_deadline(), None, "recovery does not see it");
        assert_eq!(
            t.renew_lease("a", at(40)),
            Err(DomainError::LeaseHeldElsewhere)
        );
        assert_eq!(t.resume("b", at(40)), Err(DomainError::NotSuspended));
        answer(&mut t);
        assert!(t.is_ready_to_resume());
        t.resume("b", at(40)).unwrap();
        assert!(!t.suspended);
        assert_eq!(t.lease().as_ref().unwrap().holder, "b");
        assert_eq!(
            t.resume("c", at(41)),
            Err(DomainError::NotSuspended),
            "one wins"
        );
    }

    #[test]
    fn a_task_suspended_past_its_ttl_is_kept_a_ttl_from_then() {
        let mut t = waiting();
        t.set_ttl(Some(std::time::Duration::from_secs(60)));
        t.hold_lease("a", at(600)).unwrap();
        t.suspend("a", "q", at(500)).unwrap();
        assert_eq!(t.expires_at(), Some(at(560)));
        assert!(!t.is_expired(at(559)));
        assert_eq!(t.reported_ttl(), Some(std::time::Duration::from_secs(560)));
    }

    #[test]
    fn a_body_whose_answer_is_in_does_not_suspend() {
        let mut t = waiting();
        answer(&mut t);
        assert_eq!(
            t.suspend("a", "q", at(2)),
            Err(DomainError::NotWaiting("q".into()))
        );
        assert!(!t.suspended);
    }

    #[test]
    fn a_suspended_task_can_still_be_cancelled() {
        let mut t = waiting();
        t.suspend("a", "q", at(2)).unwrap();
        t.cancel(at(5)).unwrap();
        assert!(!t.is_ready_to_resume());
    }
}
