//! An ordered set kept in short sorted runs: the memory store's indexes
//! (deadlines, owners' listings).
//!
//! Why not `BTreeSet`: these indexes grow at their end (creation order,
//! deadlines a fixed TTL ahead), and the standard B-tree splits a full
//! node in the middle even then, so its nodes stay about half full: some
//! 40 bytes for each 16-byte entry. Runs that are appended to fill up
//! completely, for about 17 bytes an entry. Lookups are a binary search
//! over the runs and one within a run; an insert or removal in the middle
//! moves at most one run's entries, and now and then part of the list of
//! runs (one entry per run): when a run splits, empties, or is so small
//! that it joins a neighbour.

use std::collections::VecDeque;

/// Entries per run.
#[cfg(not(test))]
const RUN: usize = 64;
/// Small in tests, so that every memory-store test spans many runs.
#[cfg(test)]
const RUN: usize = 8;

#[derive(Debug, Clone)]
pub(super) struct SortedRuns<T> {
    /// In order, none empty, and every entry of a run before every entry
    /// of the next.
    runs: VecDeque<Run<T>>,
    len: usize,
}

/// A run and its first entry, kept beside it so that finding a run reads
/// the list of runs only, not each run's memory.
#[derive(Debug, Clone)]
struct Run<T> {
    first: T,
    items: Vec<T>,
}

impl<T> Default for SortedRuns<T> {
    fn default() -> Self {
        SortedRuns {
            runs: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T: Ord + Copy> SortedRuns<T> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn first(&self) -> Option<&T> {
        self.runs.front().map(|run| &run.first)
    }

    /// The run `item` belongs in: the last that starts at or before it
    /// (the first, if none does). Only for a non-empty set. The ends are
    /// tried first: these sets grow at the end and shrink at the front.
    fn run_of(&self, item: &T) -> usize {
        let last = self.runs.len() - 1;
        if self.runs[last].first <= *item {
            return last;
        }
        if self.runs.get(1).is_none_or(|second| *item < second.first) {
            return 0;
        }
        self.runs
            .partition_point(|run| run.first <= *item)
            .saturating_sub(1)
    }

    /// Adds `item`; `false` if it was there already.
    pub(super) fn insert(&mut self, item: T) -> bool {
        if self.runs.is_empty() {
            // The first run grows as it fills: a small set stays small.
            self.runs.push_back(Run::new(item, 0));
            self.len = 1;
            return true;
        }
        let i = self.run_of(&item);
        let last = i + 1 == self.runs.len();
        let run = &mut self.runs[i];
        let Err(at) = run.items.binary_search(&item) else {
            return false;
        };
        if run.items.len() < RUN {
            if run.items.len() == run.items.capacity() {
                // Doubling, but never past a run's size.
                let room = (run.items.len() * 2).clamp(4, RUN) - run.items.len();
                run.items.reserve_exact(room);
            }
            run.items.insert(at, item);
            run.first = run.items[0];
        } else if at == RUN && last {
            // Past the end: a new run, so that appended runs stay full.
            self.runs.push_back(Run::new(item, RUN));
        } else {
            let mut tail = run.items.split_off(RUN / 2);
            tail.reserve_exact(RUN - tail.len());
            if at <= RUN / 2 {
                run.items.insert(at, item);
                run.first = run.items[0];
            } else {
                tail.insert(at - RUN / 2, item);
            }
            let tail = Run {
                first: tail[0],
                items: tail,
            };
            self.runs.insert(i + 1, tail);
        }
        self.len += 1;
        true
    }

    /// Takes `item` out; `false` if it was not there.
    pub(super) fn remove(&mut self, item: &T) -> bool {
        if self.runs.is_empty() {
            return false;
        }
        let i = self.run_of(item);
        let run = &mut self.runs[i];
        let Ok(at) = run.items.binary_search(item) else {
            return false;
        };
        run.items.remove(at);
        match run.items.first() {
            None => {
                self.runs.remove(i);
            }
            Some(&first) => {
                run.first = first;
                let (len, capacity) = (run.items.len(), run.items.capacity());
                if len * 4 < RUN {
                    self.join(i);
                } else if len * 4 <= capacity {
                    // What is left of an old run (tasks that outlive their
                    // neighbours) keeps no room it will not use.
                    run.items.shrink_to_fit();
                }
            }
        }
        self.len -= 1;
        true
    }

    /// Moves the few entries of run `i` into a neighbour with room for
    /// them, so that stragglers do not each keep a run of their own.
    fn join(&mut self, i: usize) {
        let len = self.runs[i].items.len();
        let fits = |run: &Run<T>| run.items.len() + len <= RUN;
        let (into, from) = if i > 0 && fits(&self.runs[i - 1]) {
            (i - 1, i)
        } else if self.runs.get(i + 1).is_some_and(fits) {
            (i, i + 1)
        } else {
            return;
        };
        let Some(from) = self.runs.remove(from) else {
            return;
        };
        let into = &mut self.runs[into].items;
        into.reserve_exact(from.items.len());
        into.extend(from.items);
    }

    pub(super) fn pop_first(&mut self) -> Option<T> {
        let first = *self.first()?;
        self.remove(&first);
        Some(first)
    }

    /// Every entry, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.runs.iter().flat_map(|run| &run.items)
    }

    /// The entries from `start` on (`start` included), in order.
    pub(super) fn iter_from(&self, start: &T) -> impl Iterator<Item = &T> + '_ {
        let (i, at) = if self.runs.is_empty() {
            (0, 0)
        } else {
            let i = self.run_of(start);
            (i, self.runs[i].items.partition_point(|x| x < start))
        };
        self.runs
            .range(i..)
            .enumerate()
            .flat_map(move |(n, run)| &run.items[if n == 0 { at } else { 0 }..])
    }
}

impl<T> Run<T> {
    fn new(item: T, capacity: usize) -> Self
    where
        T: Copy,
    {
        let mut items = Vec::with_capacity(capacity);
        items.push(item);
        Run { first: item, items }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8),
        Remove(u8),
        PopFirst,
        /// Inserts past every entry, as an index that grows at its end.
        Append,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => any::<u8>().prop_map(Op::Insert),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => Just(Op::PopFirst),
            3 => Just(Op::Append),
        ]
    }

    proptest! {
        #[test]
        fn it_behaves_as_a_btreeset(ops in prop::collection::vec(op(), 0..300), from in any::<u16>()) {
            let mut runs = SortedRuns::<u16>::default();
            let mut model = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Insert(x) => prop_assert_eq!(runs.insert(x.into()), model.insert(u16::from(x))),
                    Op::Remove(x) => prop_assert_eq!(runs.remove(&x.into()), model.remove(&u16::from(x))),
                    Op::PopFirst => prop_assert_eq!(runs.pop_first(), model.pop_first()),
                    Op::Append => {
                        let next = model.last().map_or(0, |x| x + 1);
                        prop_assert_eq!(runs.insert(next), model.insert(next));
                    }
                }
                prop_assert_eq!(runs.len(), model.len());
                prop_assert_eq!(runs.first(), model.first());
                prop_assert!(runs.runs.iter().all(|r| !r.items.is_empty()
                    && r.items.len() <= RUN
                    && r.items.capacity() <= RUN
                    && r.first == r.items[0]));
            }
            prop_assert!(runs.iter().eq(model.iter()));
            prop_assert!(runs.iter_from(&from).eq(model.range(from..)));
            for x in model.iter().take(20) {
                prop_assert!(runs.iter_from(x).eq(model.range(x..)));
            }
        }
    }

    #[test]
    fn a_straggler_joins_a_neighbour() {
        let mut runs = SortedRuns::default();
        for x in 0..(RUN * 3) as u32 {
            runs.insert(x);
        }
        // Empty the middle run but for one entry: it joins the first run's
        // remains once they fit together.
        let middle = RUN as u32..2 * RUN as u32 - 1;
        for x in middle.clone() {
            runs.remove(&x);
        }
        for x in 1..RUN as u32 {
            runs.remove(&x);
        }
        assert_eq!(runs.runs.len(), 2, "{:?}", runs.runs);
        assert!(runs.iter().copied().eq([0, 2 * RUN as u32 - 1]
            .into_iter()
            .chain(2 * RUN as u32..3 * RUN as u32)));
    }

    #[test]
    fn appended_runs_are_full() {
        let mut runs = SortedRuns::default();
        for x in 0..(RUN * 10) as u32 {
            runs.insert(x);
        }
        assert_eq!(runs.runs.len(), 10);
        assert!(runs
            .runs
            .iter()
            .all(|r| r.items.len() == RUN && r.items.capacity() == RUN));
    }
}
