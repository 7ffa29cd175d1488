//! The tables a shard keeps its tasks in: one per creation window for ids
//! that carry their creation time (see `ids`), one more for every other id.
//!
//! Windows, because with one table per shard a create wrote to a random
//! place in a table as large as the shard (4 MB of slots per shard at a
//! million tasks), which nearly always missed the CPU's caches and TLB: a
//! create cost 1.3 to 1.7 times as much at a million tasks as at a
//! thousand. Now it writes to the newest window's table, which is small
//! and in use, and a get of a recent task reads there too. A window fills
//! to nearly [`WINDOW_TASKS`] (7/8 of its slots: hashbrown's most) before
//! the next one starts; an older one shrinks as its tasks go, and is
//! dropped when it is empty.

use super::ids::{spread, time_of, IdHasher};
use super::shard::Slot;
use hashbrown::hash_table::{Entry, HashTable};
use std::hash::BuildHasher;

/// Tasks per window: 2 048 slots, 66 KB. Small enough that the newest
/// window of every shard stays in the L2 and L3 caches, large enough that
/// finding a window among a million tasks' is a short binary search.
#[cfg(not(test))]
pub(super) const WINDOW_TASKS: usize = 1792;
/// Small in tests, so that every memory-store test spans many windows.
#[cfg(test)]
pub(super) const WINDOW_TASKS: usize = 14;

#[derive(Debug, Default)]
pub(super) struct Tables {
    /// Tasks whose id carries no time.
    untimed: HashTable<Slot>,
    /// By `from`, ascending. A window holds the tasks created from its
    /// `from` until the next window's; the first also any created earlier.
    windows: Vec<Window>,
}

#[derive(Debug)]
struct Window {
    from: u64,
    /// The latest creation time ever filed here: the next window starts
    /// after it, so that no task's window changes.
    latest: u64,
    /// How many tasks were filed at `latest`.
    at_latest: usize,
    tasks: HashTable<Slot>,
}

/// Which table a hash belongs in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    Untimed,
    Window(usize),
}

impl Tables {
    pub(super) fn len(&self) -> usize {
        self.untimed.len() + self.windows.iter().map(|w| w.tasks.len()).sum::<usize>()
    }

    /// How many tasks each window can hold without growing.
    #[cfg(test)]
    pub(super) fn capacities(&self) -> Vec<usize> {
        self.windows.iter().map(|w| w.tasks.capacity()).collect()
    }

    /// The table a task of `hash` is in, if it can be anywhere.
    fn place(&self, hash: u64) -> Option<Place> {
        match time_of(hash) {
            None => Some(Place::Untimed),
            Some(_) if self.windows.is_empty() => None,
            Some(time) => Some(Place::Window(
                self.windows
                    .partition_point(|w| w.from <= time)
                    .saturating_sub(1),
            )),
        }
    }

    fn table(&self, place: Place) -> &HashTable<Slot> {
        match place {
            Place::Untimed => &self.untimed,
            Place::Window(i) => &self.windows[i].tasks,
        }
    }

    fn table_mut(&mut self, place: Place) -> &mut HashTable<Slot> {
        match place {
            Place::Untimed => &mut self.untimed,
            Place::Window(i) => &mut self.windows[i].tasks,
        }
    }

    /// The task of `hash` that `eq` picks.
    pub(super) fn find(&self, hash: u64, eq: impl FnMut(&Slot) -> bool) -> Option<&Slot> {
        self.table(self.place(hash)?).find(spread(hash), eq)
    }

    pub(super) fn find_mut(
        &mut self,
        hash: u64,
        eq: impl FnMut(&Slot) -> bool,
    ) -> Option<&mut Slot> {
        let place = self.place(hash)?;
        self.table_mut(place).find_mut(spread(hash), eq)
    }

    /// The tasks that may have `hash` (a table matches on 7 of its bits).
    pub(super) fn with_hash(&self, hash: u64) -> impl Iterator<Item = &Slot> + '_ {
        self.place(hash)
            .into_iter()
            .flat_map(move |place| self.table(place).iter_hash(spread(hash)))
    }

    /// Stores a new task, or hands it back if its id is taken.
    pub(super) fn insert<S: BuildHasher>(
        &mut self,
        hash: u64,
        slot: Slot,
        hasher: &IdHasher<S>,
    ) -> Result<(), Slot> {
        let place = match (time_of(hash), self.windows.last_mut()) {
            (None, _) => Place::Untimed,
            (Some(time), None) => {
                // A shard's first window grows as it fills: a small store
                // stays small.
                self.windows.push(Window::new(time, 0));
                self.newest_at(time)
            }
            (Some(time), Some(last)) if time >= last.latest => {
                if time > last.latest && last.would_overflow() {
                    self.windows.push(Window::new(time, WINDOW_TASKS));
                }
                self.newest_at(time)
            }
            (Some(_), Some(_)) => self.place(hash).expect("a window exists"),
        };
        let entry = self.table_mut(place).entry(
            spread(hash),
            |s| s.record.id == slot.record.id,
            |s| table_hash(hasher, s),
        );
        match entry {
            Entry::Occupied(_) => Err(slot),
            Entry::Vacant(vacant) => {
                vacant.insert(slot);
                Ok(())
            }
        }
    }

    /// The newest window, counting a task filed there at `time`.
    fn newest_at(&mut self, time: u64) -> Place {
        let newest = self.windows.len() - 1;
        self.windows[newest].file_at(time);
        Place::Window(newest)
    }

    /// Takes out the task of `hash` that `eq` picks.
    pub(super) fn remove<S: BuildHasher>(
        &mut self,
        hash: u64,
        eq: impl FnMut(&Slot) -> bool,
        hasher: &IdHasher<S>,
    ) -> Option<Slot> {
        let place = self.place(hash)?;
        let table = self.table_mut(place);
        let (slot, _) = table.find_entry(spread(hash), eq).ok()?.remove();
        if let Place::Window(i) = place {
            self.settle(i, hasher);
        }
        Some(slot)
    }

    /// Drops window `i` once it is empty, or shrinks it once it is mostly
    /// empty; the newest is left to fill.
    fn settle<S: BuildHasher>(&mut self, i: usize, hasher: &IdHasher<S>) {
        if i + 1 == self.windows.len() {
            return;
        }
        let tasks = &mut self.windows[i].tasks;
        if tasks.is_empty() {
            self.windows.remove(i);
        } else if tasks.len() * 8 <= tasks.capacity() {
            tasks.shrink_to(tasks.len(), |s| table_hash(hasher, s));
        }
    }
}

/// The hash a table keeps `slot` under when it moves it (growing,
/// shrinking): what it was found by, `spread` of its id's hash.
fn table_hash<S: BuildHasher>(hasher: &IdHasher<S>, slot: &Slot) -> u64 {
    spread(hasher.hash(&slot.record.id))
}

impl Window {
    fn new(from: u64, capacity: usize) -> Self {
        Window {
            from,
            latest: from,
            at_latest: 0,
            tasks: HashTable::with_capacity(capacity),
        }
    }

    /// Whether another millisecond like the latest one, twice over, would
    /// outgrow [`WINDOW_TASKS`]. A window can only end between two
    /// milliseconds, and one that outgrows its table doubles it and is
    /// left less than half full, so it ends a little early instead.
    fn would_overflow(&self) -> bool {
        self.tasks.len() + 2 * self.at_latest.max(1) > WINDOW_TASKS
    }

    /// Counts a task filed at `time`, no earlier than `latest`.
    fn file_at(&mut self, time: u64) {
        if time > self.latest {
            (self.latest, self.at_latest) = (time, 0);
        }
        self.at_latest += 1;
    }
}

#[cfg(test)]
#[path = "windows_tests.rs"]
mod tests;
