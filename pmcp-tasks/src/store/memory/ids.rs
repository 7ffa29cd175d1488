//! The memory store's hash of a task id, which also says where in its shard
//! the task is kept.
//!
//! Ids minted by [`TaskRecord::new`](crate::domain::TaskRecord::new) are
//! UUIDv7: their first 48 bits are the creation time in milliseconds. The
//! hash of such an id carries that time (counted from when the store was
//! made), so the hash alone, which is all the deadline indexes and the
//! owners' listings keep, names the creation window that holds the task
//! (see `windows`). Every other id (a keyed task's UUIDv5, an id a caller
//! chose) hashes as usual with the [`TIMED`] bit clear.
//!
//! Bits of a timed hash, low to high: 14 keyed bits for the slot in a
//! window's table, 4 keyed bits for the shard, 38 bits of time, the
//! [`TIMED`] bit, and 7 keyed bits that hashbrown uses as the slot's tag.
//! An untimed hash is keyed throughout; its shard comes from bits 32–35.

use foldhash::fast::RandomState;
use std::hash::BuildHasher;
use std::time::{SystemTime, UNIX_EPOCH};

/// Set in the hash of an id that carries its creation time.
const TIMED: u64 = 1 << 56;
const TIME_SHIFT: u32 = 18;
/// 2³⁸ ms is 8.7 years. An id whose time falls outside the store's first
/// 8.7 years (a clock set back before the store was made, a store up
/// longer) counts as one without a time.
const TIME_MASK: u64 = (1 << 38) - 1;
const SHARD_SHIFT_TIMED: u32 = 14;
const SHARD_SHIFT_UNTIMED: u32 = 32;

/// Hashes ids with a per-store key.
#[derive(Debug)]
pub(super) struct IdHasher<S = RandomState> {
    keys: S,
    /// Unix time in ms when the store was made: time 0 of its hashes.
    origin_ms: u64,
}

impl Default for IdHasher {
    fn default() -> Self {
        IdHasher::with_keys(RandomState::default(), unix_ms_now())
    }
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl<S: BuildHasher> IdHasher<S> {
    pub(super) fn with_keys(keys: S, origin_ms: u64) -> Self {
        IdHasher { keys, origin_ms }
    }

    /// The hash of `id`.
    pub(super) fn hash(&self, id: &str) -> u64 {
        let keyed = self.keys.hash_one(id);
        let time = created_ms(id)
            .and_then(|ms| ms.checked_sub(self.origin_ms))
            .filter(|time| *time <= TIME_MASK);
        match time {
            Some(time) => (keyed & !(TIME_MASK << TIME_SHIFT)) | (time << TIME_SHIFT) | TIMED,
            None => keyed & !TIMED,
        }
    }
}

/// The creation time a hash carries (ms after the store was made), if any.
pub(super) fn time_of(hash: u64) -> Option<u64> {
    (hash & TIMED != 0).then_some((hash >> TIME_SHIFT) & TIME_MASK)
}

/// The hash a table is given for `hash`: the 7 keyed bits of its tag mixed
/// into the bits above the 14 keyed low ones, which in a timed hash are the
/// shard's (the same for the whole table) and the time (nearly the same for
/// a window), so that a table that grows past 2¹⁴ slots still spreads its
/// tasks; and into bits 25–31, where a 32-bit target takes the tag from.
pub(super) fn spread(hash: u64) -> u64 {
    let tag = hash >> 57;
    hash ^ (tag << 14) ^ (tag << 25)
}

/// Which of `shards` holds the task whose id hashes to `hash`: keyed bits
/// above the 14 low ones a window's table picks slots by (for a timed hash;
/// an untimed table grows larger, so its shard comes from higher up).
pub(super) fn shard_of(hash: u64, shards: usize) -> usize {
    let shift = if hash & TIMED != 0 {
        SHARD_SHIFT_TIMED
    } else {
        SHARD_SHIFT_UNTIMED
    };
    (hash >> shift) as usize % shards
}

/// The Unix time in ms of a UUIDv7 in its hyphenated form; `None` for any
/// other id. Only the form is checked: a look-alike still hashes the same
/// way every time, which is all the store needs.
fn created_ms(id: &str) -> Option<u64> {
    let b = id.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[14] != b'7' {
        return None;
    }
    let mut ms = 0u64;
    for &c in b[..8].iter().chain(&b[9..13]) {
        ms = (ms << 4) | u64::from(char::from(c).to_digit(16)?);
    }
    Some(ms)
}

/// A UUIDv7 of Unix time `ms`, with fresh random bits (for tests).
#[cfg(test)]
pub(super) fn v7_at(ms: u64) -> String {
    let nanos = (ms % 1000) as u32 * 1_000_000;
    uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        ms / 1000,
        nanos,
    ))
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_v7_id_carries_its_creation_time_from_the_stores_origin() {
        let hasher = IdHasher::with_keys(RandomState::default(), 1_000_000);
        let hash = hasher.hash(&v7_at(1_004_321));
        assert_eq!(time_of(hash), Some(4_321));
        assert_eq!(hasher.hash(&v7_at(1_004_321).to_uppercase()) & TIMED, TIMED);
        assert_eq!(time_of(hasher.hash(&v7_at(1_000_000))), Some(0));
        let last = v7_at(1_000_000 + TIME_MASK);
        assert_eq!(time_of(hasher.hash(&last)), Some(TIME_MASK));
        // Before the origin, or past the times a hash can carry: no time.
        assert_eq!(time_of(hasher.hash(&v7_at(999_999))), None);
        assert_eq!(
            time_of(hasher.hash(&v7_at(1_000_000 + TIME_MASK + 1))),
            None
        );
    }

    #[test]
    fn other_ids_carry_no_time() {
        let hasher = IdHasher::default();
        for id in [
            Uuid::new_v4().to_string(),
            Uuid::new_v5(&Uuid::NAMESPACE_OID, b"k").to_string(),
            "job-17".into(),
            "0189c7g0-12ab-7abc-8000-000000000000".into(),
            String::new(),
        ] {
            assert_eq!(time_of(hasher.hash(&id)), None, "{id}");
        }
    }

    #[test]
    fn the_hash_is_the_same_every_time_and_differs_between_ids() {
        let hasher = IdHasher::default();
        let (a, b) = (v7_at(unix_ms_now()), v7_at(unix_ms_now()));
        assert_eq!(hasher.hash(&a), hasher.hash(&a));
        assert_ne!(hasher.hash(&a), hasher.hash(&b));
    }

    #[test]
    fn a_large_table_of_one_moment_and_shard_still_spreads() {
        let hasher = IdHasher::default();
        let ms = unix_ms_now();
        let mut slots = std::collections::HashSet::new();
        for _ in 0..4000 {
            let hash = hasher.hash(&v7_at(ms));
            if shard_of(hash, 16) == 0 {
                // The slot bits of a 2²¹-slot table.
                slots.insert(spread(hash) & ((1 << 21) - 1));
            }
        }
        let above = slots
            .iter()
            .map(|s| s >> 14)
            .collect::<std::collections::HashSet<_>>();
        assert!(above.len() > 64, "{} of 128", above.len());
    }

    #[test]
    fn ids_of_one_moment_spread_over_every_shard() {
        let hasher = IdHasher::default();
        let ms = unix_ms_now();
        let mut seen = [0usize; 16];
        for _ in 0..1600 {
            seen[shard_of(hasher.hash(&v7_at(ms)), 16)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 40), "{seen:?}");
    }
}
