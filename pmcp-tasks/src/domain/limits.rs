//! Configurable bounds with safe defaults.

use std::time::Duration;

/// Bounds the runtime enforces on every owner and task.
///
/// The defaults suit a server shared by a few users; raise them deliberately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Tasks an owner may have that are not yet terminal (`working` or
    /// `input_required`). Creating one more answers an error.
    pub max_active_tasks_per_owner: usize,
    /// Tasks an owner may keep stored, unfinished and finished (a finished
    /// task counts until it expires). Creating one more answers an error,
    /// so that one caller cannot fill the store with results.
    pub max_stored_tasks_per_owner: usize,
    /// The size of the tasks an owner keeps (their records as compact JSON:
    /// arguments, results, variables, ...), in bytes. A create that would
    /// go over it is refused; results written later are bounded by
    /// [`max_result_bytes`](Self::max_result_bytes) instead.
    pub max_stored_bytes_per_owner: u64,
    /// The longest TTL a task gets. A client's requested TTL is clamped to
    /// this; `None` allows unlimited tasks. A task's TTL counts from its
    /// creation while nothing runs it, is extended while its body holds its
    /// lease (a task is never deleted under a working body), and counts
    /// again from its end once it has ended (see
    /// [`retention`](Self::retention) and `docs/architecture.md`).
    pub max_ttl: Option<Duration>,
    /// The shortest TTL a task gets: a client asking for less (down to 0)
    /// gets this, so that a task it was told about can still be read. The
    /// maximum wins if it is lower.
    pub min_ttl: Duration,
    /// The TTL given to a task whose client asked for none.
    pub default_ttl: Duration,
    /// The poll interval suggested to clients.
    pub poll_interval: Duration,
    /// Size of a task's variables, as compact JSON, in bytes.
    pub max_variable_bytes: usize,
    /// Tasks per `tasks/list` page.
    pub list_page_size: usize,
    /// How often a running body checks the store for an end written by
    /// someone else (a `tasks/cancel` served by another instance, expiry).
    pub external_cancel_poll: Duration,
    /// How often a push subscription (status and progress notifications,
    /// `subscriptions/listen`) re-reads its task. Changes made here, or by
    /// another instance on a store with a change feed, arrive at once; this
    /// bounds the delay on a store without one (DynamoDB). While a feed is
    /// live, followers still look every ten times this, in case the feed
    /// missed a change (a reconnection).
    pub watch_poll: Duration,
    /// The largest `arguments` a task tool accepts, as compact JSON, in
    /// bytes; larger calls are refused (`-32602`) before anything is stored.
    pub max_argument_bytes: usize,
    /// The largest outcome a task stores (its result or its error), as
    /// compact JSON, in bytes. A body that returns more fails, and its
    /// status message says why.
    pub max_result_bytes: usize,
    /// Task bodies running at once in this process. Tasks beyond it are
    /// created and wait, `working` with a status message saying they are
    /// queued, until a body ends: work is never spawned without bound.
    pub max_running_bodies: usize,
    /// Tasks one owner may create per minute (as a burst, refilled
    /// evenly); more are refused with `-32005` and a retry hint. `None`
    /// lifts the limit.
    pub max_creates_per_minute: Option<std::num::NonZeroU32>,
    /// How long a task is kept once it has ended (completed, failed or
    /// cancelled), counted from its end. `None` (the default): its TTL, the
    /// one the client asked for or [`default_ttl`](Self::default_ttl).
    pub retention: Option<Duration>,
    /// How long a running body's claim on its task lasts unless renewed
    /// (it is renewed every third of this). When an instance dies, its tasks
    /// are taken over this long after its last renewal.
    pub lease_ttl: Duration,
    /// How long the body of a resumable tool waits for input before it lets
    /// go of its worker and its lease (the task stays `input_required`);
    /// the answer, on whichever instance receives it, resumes the body from
    /// its step journal. `None`: bodies hold their worker while they wait.
    pub suspend_after: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_active_tasks_per_owner: 100,
            max_stored_tasks_per_owner: 1000,
            max_stored_bytes_per_owner: 64 * 1024 * 1024,
            max_ttl: Some(Duration::from_secs(24 * 60 * 60)),
            min_ttl: Duration::from_secs(10),
            default_ttl: Duration::from_secs(60 * 60),
            poll_interval: Duration::from_secs(1),
            max_variable_bytes: 64 * 1024,
            list_page_size: 50,
            external_cancel_poll: Duration::from_millis(500),
            watch_poll: Duration::from_millis(500),
            lease_ttl: Duration::from_secs(30),
            suspend_after: Some(Duration::from_secs(300)),
            retention: None,
            max_argument_bytes: 1024 * 1024,
            max_result_bytes: 1024 * 1024,
            max_running_bodies: 256,
            max_creates_per_minute: std::num::NonZeroU32::new(600),
        }
    }
}

impl Limits {
    /// What each owner may hold, as the store checks it at create.
    pub fn owner_quota(&self) -> crate::store::OwnerQuota {
        crate::store::OwnerQuota {
            max_active: self.max_active_tasks_per_owner,
            max_stored: self.max_stored_tasks_per_owner,
            max_stored_bytes: self.max_stored_bytes_per_owner,
        }
    }

    /// The TTL a task gets: the requested one (or the default), raised to
    /// the minimum and then clamped to the maximum.
    pub fn effective_ttl(&self, requested: Option<Duration>) -> Option<Duration> {
        let wanted = requested.unwrap_or(self.default_ttl).max(self.min_ttl);
        match self.max_ttl {
            Some(max) => Some(wanted.min(max)),
            None => Some(wanted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_clamped_and_defaulted() {
        let limits = Limits {
            max_ttl: Some(Duration::from_secs(60)),
            default_ttl: Duration::from_secs(30),
            ..Limits::default()
        };
        assert_eq!(limits.effective_ttl(None), Some(Duration::from_secs(30)));
        assert_eq!(
            limits.effective_ttl(Some(Duration::from_secs(10))),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            limits.effective_ttl(Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            limits.effective_ttl(Some(Duration::ZERO)),
            Some(Duration::from_secs(10)),
            "raised to the minimum"
        );
        assert_eq!(
            limits.effective_ttl(Some(Duration::from_millis(u64::MAX))),
            Some(Duration::from_secs(60)),
            "absurd requests are clamped"
        );
        let tight = Limits {
            max_ttl: Some(Duration::from_secs(1)),
            ..limits
        };
        assert_eq!(
            tight.effective_ttl(Some(Duration::ZERO)),
            Some(Duration::from_secs(1)),
            "a maximum below the minimum wins"
        );
    }
}
