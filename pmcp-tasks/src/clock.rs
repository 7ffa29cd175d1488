//! Where time comes from: one [`Clock`], given to the runtime and passed to
//! every store operation that depends on the time (expiry, leases), so that
//! tests can control it.
//!
//! Servers use [`SystemClock`], the default. Tests that run on tokio's
//! paused time (`#[tokio::test(start_paused = true)]`) use [`TokioClock`],
//! whose wall time moves exactly as tokio's timers do: a TTL, a lease or
//! the sweeper then ends when the test's virtual time says so, with no
//! sleeping in real time.

use chrono::{DateTime, Utc};
use std::fmt::Debug;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall time that follows tokio's clock: it reads the wall time once, when
/// made, and from then on advances by exactly what `tokio::time::Instant`
/// advances. Under paused time that is the virtual time of the test.
///
/// Meant for tests: across a long uptime, a monotonic clock drifts from the
/// wall clock that other instances sharing a store read.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads the wall time now and follows tokio from here.
    pub fn new() -> Self {
        TokioClock {
            wall: Utc::now(),
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed =
            chrono::Duration::from_std(self.start.elapsed()).unwrap_or(chrono::Duration::MAX);
        self.wall
            .checked_add_signed(elapsed)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// A clock that moves only when told to: for tests of stores and of code
/// that runs without a tokio runtime.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock {
            now: std::sync::Mutex::new(at),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now
            .checked_add_signed(by)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_moves_with_paused_time_only() {
        let clock = TokioClock::new();
        let before = clock.now();
        assert_eq!(clock.now(), before, "paused time does not move by itself");
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now() - before, chrono::Duration::seconds(90));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(clock.now() - before, chrono::Duration::milliseconds(91_500));
    }
}
