//! How long a task lives: its TTL from creation while nothing runs it,
//! extended while its body holds its lease, and counted again from its end
//! once it has ended (its retention).

use super::record::TaskRecord;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long an unfinished task outlives the end of its lease, so that
/// recovery can take it over (resume it, or fail it saying why) before it
/// may be deleted.
pub const RECOVERY_GRACE: chrono::Duration = chrono::Duration::hours(1);

impl TaskRecord {
    /// When the task may be deleted; `None` if never (no TTL, or a lease
    /// without end):
    ///
    /// - ended: its retention (else its TTL) after it ended;
    /// - unfinished: its TTL after creation, or [`RECOVERY_GRACE`] after its
    ///   lease ends if that is later: a body that renews its lease keeps its
    ///   task (renewals move this on), so a task is never deleted under a
    ///   working body, and one whose holder died is taken over (resumed or
    ///   failed) before it may be deleted; a suspended one, its TTL after
    ///   its last change if that is later.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        let ttl = chrono::Duration::from_std(self.ttl()?).ok()?;
        if self.status.is_terminal() {
            let keep = match self.retention() {
                Some(retention) => chrono::Duration::from_std(retention).ok()?,
                None => ttl,
            };
            // A task does not change once it has ended: its last change is
            // its end.
            return self.updated_at.checked_add_signed(keep);
        }
        let from_creation = self.created_at.checked_add_signed(ttl)?;
        Some(match self.lease() {
            // A lapsed lease is kept long enough for recovery (any instance's
            // sweeper) to resume or fail the task first, so that a crashed
            // holder's task ends with an answer instead of vanishing.
            // A lease that ends past the calendar's end never lapses.
            Some(lease) => from_creation.max(lease.until.checked_add_signed(RECOVERY_GRACE)?),
            // A body that let go while waiting for an answer leaves its task
            // a TTL from then (its last change), so a task kept alive by a
            // working body does not vanish the moment it suspends.
            None if self.suspended => from_creation.max(self.updated_at.checked_add_signed(ttl)?),
            None => from_creation,
        })
    }

    /// The TTL the task has now, counted from creation as both eras report
    /// it (the spec lets a receiver change the TTL it was asked for): the
    /// span from creation to [`expires_at`](Self::expires_at). That is the
    /// TTL granted, unless a working body's lease runs past it (a TTL
    /// shorter than `Limits::lease_ttl`, or work that outlives its TTL,
    /// which renewals carry on), and counts from the end once it ended.
    pub fn reported_ttl(&self) -> Option<Duration> {
        let ttl = self.ttl()?;
        if self.status.is_terminal() {
            return (self.expires_at()? - self.created_at).to_std().ok();
        }
        // The grace for recovery is not promised: the lease is.
        let leased = match self.lease() {
            Some(lease) => (lease.until - self.created_at).to_std().unwrap_or_default(),
            None if self.suspended => (self.expires_at()? - self.created_at)
                .to_std()
                .unwrap_or_default(),
            None => Duration::ZERO,
        };
        Some(ttl.max(leased))
    }

    /// Whether the TTL has run out at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{Era, NewTask, TaskOutcome, TaskRecord};
    use chrono::{DateTime, Utc};
    use serde_json::json;
    use std::time::Duration;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn task(ttl: u64) -> TaskRecord {
        TaskRecord::new(
            NewTask {
                owner: "alice".into(),
                era: Era::V2025_11_25,
                tool: "t".into(),
                arguments: json!({}),
                ttl: Some(Duration::from_secs(ttl)),
                poll_interval: None,
                input_responses: Default::default(),
                variables: Default::default(),
                client_elicits: None,
            },
            at(0),
        )
    }

    #[test]
    fn a_lease_held_to_the_end_of_time_never_expires_and_does_not_panic() {
        let mut t = task(60);
        t.hold_lease("me", DateTime::<Utc>::MAX_UTC).unwrap();
        assert_eq!(t.expires_at(), None);
        assert!(!t.is_expired(at(1_000_000)));
    }

    #[test]
    fn an_unrun_task_expires_its_ttl_after_creation() {
        let t = task(60);
        assert_eq!(t.expires_at(), Some(at(60)));
        assert_eq!(t.reported_ttl(), Some(Duration::from_secs(60)));
        assert!(!t.is_expired(at(59)) && t.is_expired(at(60)));
    }

    #[test]
    fn a_held_lease_keeps_a_working_task_past_its_ttl() {
        let mut t = task(60);
        t.hold_lease("me", at(30)).unwrap();
        let grace = super::RECOVERY_GRACE.num_seconds();
        assert_eq!(
            t.expires_at(),
            Some(at(30 + grace)),
            "deletion waits for recovery"
        );
        assert_eq!(
            t.reported_ttl(),
            Some(Duration::from_secs(60)),
            "the TTL reported is the one granted"
        );
        // Renewed past the TTL: alive as long as the lease, and the TTL
        // reported grows with it.
        t.hold_lease("me", at(600)).unwrap();
        assert_eq!(t.expires_at(), Some(at(600 + grace)));
        assert_eq!(t.reported_ttl(), Some(Duration::from_secs(600)));
        // Once the body stops renewing, recovery has the grace to take the
        // task over; only then may it be deleted.
        assert!(!t.is_expired(at(600 + grace - 1)));
        assert!(t.is_expired(at(600 + grace)));
    }

    #[test]
    fn an_ended_task_is_kept_its_ttl_or_retention_after_its_end() {
        let mut t = task(60);
        t.hold_lease("me", at(1000)).unwrap();
        t.finish(TaskOutcome::result(json!({"content": []})), at(900))
            .unwrap();
        assert_eq!(t.expires_at(), Some(at(960)));
        assert_eq!(t.reported_ttl(), Some(Duration::from_secs(960)));
        t.set_retention(Some(Duration::from_secs(5)));
        assert_eq!(t.expires_at(), Some(at(905)));
        let mut cancelled = task(60);
        cancelled.cancel(at(10)).unwrap();
        assert_eq!(cancelled.expires_at(), Some(at(70)));
    }

    #[test]
    fn no_ttl_is_never_expiring() {
        let mut t = task(60);
        t.set_ttl(None);
        t.hold_lease("me", at(10)).unwrap();
        assert_eq!(t.expires_at(), None);
        assert_eq!(t.reported_ttl(), None);
    }
}
