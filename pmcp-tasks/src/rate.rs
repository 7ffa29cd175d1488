//! A rate per key (an owner, a client address) on `governor`: the one
//! place both the task service and the HTTP transport count events.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

/// Keys tracked before those not seen lately are forgotten, so that the
/// table follows the active keys, not every key ever seen.
const FORGET_ABOVE: usize = 10_000;

/// At most `per_minute` events per key (as a burst, refilled evenly).
pub(crate) struct KeyedRate<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    per_minute: NonZeroU32,
}

impl<K: Hash + Eq + Clone> KeyedRate<K> {
    pub(crate) fn per_minute(per_minute: NonZeroU32) -> Self {
        KeyedRate {
            limiter: RateLimiter::hashmap(Quota::per_minute(per_minute)),
            per_minute,
        }
    }

    /// The configured rate.
    pub(crate) fn limit(&self) -> u32 {
        self.per_minute.get()
    }

    /// Counts one event for `key`; past the rate, how long until one more
    /// would be admitted.
    pub(crate) fn admit(&self, key: &K) -> Result<(), Duration> {
        if self.limiter.len() > FORGET_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}
