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
/// 2³⁸ ms is 8.7 years: a store up longer files later ids in its newest
/// window, which is still correct, only slower.
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
        match created_ms(id) {
            Some(ms) => {
                let time = ms.saturating_sub(self.origin_ms).min(TIME_MASK);
                (keyed & !(TIME_MASK << TIME_SHIFT)) | (time << TIME_SHIFT) | TIMED
            }
            None => keyed & !TIMED,
        }
    }
}

/// The creation time a hash carries (ms after the store was made), if any.
pub(super) fn time_of(hash: u64) -> Option<u64> {
    (hash & TIMED != 0).then_some((hash >> TIME_SHIFT) & TIME_MASK)
}

/// Which of `shards` holds the task whose id hashes to `hash`: keyed bits
/// that the task's own table does not index by.
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

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::{NoContext, Timestamp, Uuid};

    fn v7_at(ms: u64) -> String {
        Uuid::new_v7(Timestamp::from_unix(
            NoContext,
            ms / 1000,
            (ms % 1000) as u32 * 1_000_000,
        ))
        .to_string()
    }

    #[test]
    fn a_v7_id_carries_its_creation_time_from_the_stores_origin() {
        let hasher = IdHasher::with_keys(RandomState::default(), 1_000_000);
        let hash = hasher.hash(&v7_at(1_004_321));
        assert_eq!(time_of(hash), Some(4_321));
        assert_eq!(hasher.hash(&v7_at(1_004_321).to_uppercase()) & TIMED, TIMED);
        // Before the origin: time 0; far after it: the last time there is.
        assert_eq!(time_of(hasher.hash(&v7_at(5))), Some(0));
        let far = v7_at(1_000_000 + (1 << 40));
        assert_eq!(time_of(hasher.hash(&far)), Some(TIME_MASK));
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
