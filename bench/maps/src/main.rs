//! Which map the in-memory store keeps its tasks in, chosen by numbers.
//!
//! Every candidate serves the store's lifecycle as `bench_stores` drives it:
//! a create (an insert that must not overwrite, plus an entry in a deadline
//! index), an update (a read, then a compare-and-set of a changed copy),
//! then `tasks/get` and `tasks/result` (two reads that hand out the stored
//! `Arc`). Records are values as large as a `TaskRecord` behind `Arc`.
//! Each round runs every candidate in turn on a fresh map, so a noisy
//! machine slows all of them alike; the figures are medians over rounds.
//!
//! ```text
//! cargo run --release --manifest-path bench/maps/Cargo.toml -- [--rounds N]
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

type Hasher = foldhash::fast::RandomState;

/// Shards, as many as the store has.
const SHARDS: usize = 16;

/// As large as a `TaskRecord` (568 bytes).
#[derive(Clone)]
struct Record {
    version: u64,
    _body: [u64; 70],
}

/// `(deadline, id)`: the store's expiry index.
type Deadlines = BTreeSet<(u64, Arc<str>)>;

/// What the store needs of its task map.
trait Tasks: Send + Sync + Sized + 'static {
    const NAME: &'static str;
    fn new() -> Self;
    /// Stores a new task unless its id is taken, and indexes its deadline.
    fn create(&self, id: Arc<str>, record: Arc<Record>, deadline: u64) -> bool;
    fn get(&self, id: &str) -> Option<Arc<Record>>;
    /// Stores `record` if what is stored is the version before it.
    fn replace(&self, id: &str, record: Arc<Record>) -> bool;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct Shard {
    tasks: HashMap<Arc<str>, Arc<Record>, Hasher>,
    expiry: Deadlines,
}

impl Shard {
    fn create(&mut self, id: Arc<str>, record: Arc<Record>, deadline: u64) -> bool {
        let std::collections::hash_map::Entry::Vacant(slot) = self.tasks.entry(id.clone()) else {
            return false;
        };
        slot.insert(record);
        self.expiry.insert((deadline, id));
        true
    }

    fn replace(&mut self, id: &str, record: Arc<Record>) -> bool {
        match self.tasks.get_mut(id) {
            Some(stored) if stored.version + 1 == record.version => {
                *stored = record;
                true
            }
            _ => false,
        }
    }
}

/// What the store has: a std mutex per shard over a hash map and the
/// shard's deadline index.
struct ShardedMutex {
    shards: Box<[Mutex<Shard>]>,
    hasher: Hasher,
}

impl ShardedMutex {
    fn shard(&self, id: &str) -> MutexGuard<'_, Shard> {
        lock(&self.shards[self.hasher.hash_one(id) as usize % SHARDS])
    }
}

impl Tasks for ShardedMutex {
    const NAME: &'static str = "16 std-mutex shards (the store today)";
    fn new() -> Self {
        ShardedMutex {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: Hasher::default(),
        }
    }
    fn create(&self, id: Arc<str>, record: Arc<Record>, deadline: u64) -> bool {
        self.shard(&id.clone()).create(id, record, deadline)
    }
    fn get(&self, id: &str) -> Option<Arc<Record>> {
        self.shard(id).tasks.get(id).cloned()
    }
    fn replace(&self, id: &str, record: Arc<Record>) -> bool {
        self.shard(id).replace(id, record)
    }
}

/// One mutex over everything: pmcp's `InMemoryTaskStore`'s design.
struct OneMutex(Mutex<Shard>);

impl Tasks for OneMutex {
    const NAME: &'static str = "one std mutex";
    fn new() -> Self {
        OneMutex(Mutex::default())
    }
    fn create(&self, id: Arc<str>, record: Arc<Record>, deadline: u64) -> bool {
        lock(&self.0).create(id, record, deadline)
    }
    fn get(&self, id: &str) -> Option<Arc<Record>> {
        lock(&self.0).tasks.get(id).cloned()
    }
    fn replace(&self, id: &str, record: Arc<Record>) -> bool {
        lock(&self.0).replace(id, record)
    }
}

/// The deadline index beside a concurrent map, which cannot hold it under
/// its own locks: sharded like the store's. (Keeping it consistent with
/// the map against a concurrent purge would cost more than this does, so
/// these candidates are measured at their best.)
struct DeadlineShards {
    shards: Box<[Mutex<Deadlines>]>,
    hasher: Hasher,
}

impl DeadlineShards {
    fn new() -> Self {
        DeadlineShards {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: Hasher::default(),
        }
    }
    fn insert(&self, id: Arc<str>, deadline: u64) {
        let shard = self.hasher.hash_one(&*id) as usize % SHARDS;
        lock(&self.shards[shard]).insert((deadline, id));
    }
}

struct Dash(
    dashmap::DashMap<Arc<str>, Arc<Record>, Hasher>,
    DeadlineShards,
);

impl Tasks for Dash {
    const NAME: &'static str = "dashmap 6";
    fn new() -> Self {
        Dash(
            dashmap::DashMap::with_hasher(Hasher::default()),
            DeadlineShards::new(),
        )
    }
    fn create(&self, id: Arc<str>, record: Arc<Record>, deadline: u64) -> bool {
        match self.0.entry(id.clone()) {
            dashmap::Entry::Occupied(_) => return false,
            dashmap::Entry::Vacant(slot) => slot.insert(record),
        };
        self.1.insert(id, deadline);
        true
    }
    fn get(&self, id: &str) -> Option<Arc<Record>> {
        self.0.get(id).map(|r| r.value().clone())
    }
    fn replace(&self, id: &str, record: Arc<Record>) -> bool {
        match self.0.get_mut(id) {
            Some(mut stored) if stored.version + 1 == record.version => {
                *stored = record;
                true
            }
            _ => false,
        }
    }
}

struct Papaya(
    papaya::HashMap<Arc<str>, Arc<Record>, Hasher>,
    DeadlineShards,
);

impl Tasks for Papaya {
    const NAME: &'static str = "papaya 0.2";
    fn new() -> Self {
        Papaya(
            papaya::HashMap::with_hasher(Hasher::default()),
            DeadlineShards::new(),
        )
    }
    fn create(&self, id: Arc<str>, record: Arc<Record>, deadline: u64) -> bool {
        if self.0.pin().try_insert(id.clone(), record).is_err() {
            return false;
        }
        self.1.insert(id, deadline);
        true
    }
    fn get(&self, id: &str) -> Option<Arc<Record>> {
        self.0.pin().get(id).cloned()
    }
    fn replace(&self, id: &str, record: Arc<Record>) -> bool {
        // papaya's atomic operations take the key by value: the store's
        // compare-and-set, which is given a `String` id, pays for one.
        let key: Arc<str> = Arc::from(id);
        let map = self.0.pin();
        let outcome = map.compute(key, |stored| match stored {
            Some((_, stored)) if stored.version + 1 == record.version => {
                papaya::Operation::Insert(record.clone())
            }
            _ => papaya::Operation::Abort(()),
        });
        matches!(outcome, papaya::Compute::Updated { .. })
    }
}

struct Scc(scc::HashMap<Arc<str>, Arc<Record>, Hasher>, DeadlineShards);

impl Tasks for Scc {
    const NAME: &'static str = "scc 3 HashMap";
    fn new() -> Self {
        Scc(
            scc::HashMap::with_hasher(Hasher::default()),
            DeadlineShards::new(),
        )
    }
    fn create(&self, id: Arc<str>, record: Arc<Record>, deadline: u64) -> bool {
        if self.0.insert_sync(id.clone(), record).is_err() {
            return false;
        }
        self.1.insert(id, deadline);
        true
    }
    fn get(&self, id: &str) -> Option<Arc<Record>> {
        self.0.read_sync(id, |_, r| r.clone())
    }
    fn replace(&self, id: &str, record: Arc<Record>) -> bool {
        self.0
            .update_sync(id, |_, stored| {
                if stored.version + 1 != record.version {
                    return false;
                }
                *stored = record;
                true
            })
            .unwrap_or(false)
    }
}

/// A random task id, formatted as a UUID is (the cost is the same for
/// every candidate).
fn new_id() -> Arc<str> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let a = foldhash::fast::FixedState::with_seed(1).hash_one(n);
    let b = foldhash::fast::FixedState::with_seed(2).hash_one(n);
    let s = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    );
    Arc::from(s)
}

fn lifecycle<M: Tasks>(tasks: &M, deadline: u64) {
    let id = new_id();
    let first = Arc::new(Record {
        version: 1,
        _body: [deadline; 70],
    });
    assert!(tasks.create(id.clone(), first, deadline));
    // The result is written as the store's `update` does: read, change a
    // copy, compare-and-set.
    let read = tasks.get(&id).expect("created");
    let mut done = Record::clone(&read);
    done.version += 1;
    assert!(tasks.replace(&id, Arc::new(done)));
    // tasks/get, tasks/result
    assert_eq!(tasks.get(&id).map(|r| r.version), Some(2));
    assert!(tasks.get(&id).is_some());
}

/// How the workers reach the map.
#[derive(Clone, Copy)]
enum Sharing {
    /// One map for all: the store.
    Shared,
    /// A map per worker thread: what the same work costs when no core
    /// touches what the other writes (not a store: a task created on one
    /// thread is unknown on the other).
    PerThread,
    /// No map at all: the lifecycle's own work (an id, two records) and
    /// the harness's (spawning, joining).
    None,
}

thread_local! {
    static THREAD: usize = {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) as usize
    };
}

/// Time per lifecycle of `n` lifecycles on a fresh map, `in_flight` tasks
/// at a time, done on `reps` fresh maps in a row: one sample of a few
/// milliseconds is mostly the scheduler's noise.
async fn run<M: Tasks>(n: usize, in_flight: usize, sharing: Sharing, reps: usize) -> Duration {
    let rounds: Vec<Arc<Vec<M>>> = (0..reps)
        .map(|_| {
            Arc::new(match sharing {
                Sharing::Shared => vec![M::new()],
                // Enough for the runtime's worker threads and the main thread.
                Sharing::PerThread | Sharing::None => (0..64).map(|_| M::new()).collect(),
            })
        })
        .collect();
    let one = move |maps: &Vec<M>, i: usize| match sharing {
        Sharing::Shared => lifecycle(&maps[0], i as u64),
        Sharing::PerThread => lifecycle(&maps[THREAD.with(|t| *t) % maps.len()], i as u64),
        Sharing::None => without_map(i as u64),
    };
    let start = Instant::now();
    for maps in &rounds {
        if in_flight <= 1 {
            for i in 0..n {
                one(maps, i);
            }
            continue;
        }
        let per = n / in_flight;
        let workers: Vec<_> = (0..in_flight)
            .map(|_| {
                let maps = maps.clone();
                tokio::spawn(async move {
                    for i in 0..per {
                        one(&maps, i);
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.expect("worker");
        }
    }
    let took = start.elapsed();
    drop(rounds);
    took / (n * reps) as u32
}

/// The lifecycle's work that is not the map's.
fn without_map(deadline: u64) {
    let id = new_id();
    let first = Arc::new(Record {
        version: 1,
        _body: [deadline; 70],
    });
    let mut done = Record::clone(&first);
    done.version += 1;
    std::hint::black_box((id, first, Arc::new(done)));
}

// ---------------------------------------------------------------------------
// Memory: the bytes asked of the allocator, net.
// ---------------------------------------------------------------------------

struct Counting;
static NET: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        NET.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NET.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        NET.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes per entry the map itself holds (ids and records not counted),
/// after `n` creates and an update of each.
fn map_bytes_per_entry<M: Tasks>(n: usize) -> f64 {
    let ids: Vec<Arc<str>> = (0..n).map(|_| new_id()).collect();
    let records: Vec<Arc<Record>> = (0..n)
        .map(|i| {
            Arc::new(Record {
                version: 1,
                _body: [i as u64; 70],
            })
        })
        .collect();
    let before = NET.load(Ordering::Relaxed);
    let map = M::new();
    for (i, (id, record)) in ids.iter().zip(&records).enumerate() {
        map.create(id.clone(), record.clone(), i as u64);
    }
    let after = NET.load(Ordering::Relaxed);
    drop(map);
    (after - before) as f64 / n as f64
}

// ---------------------------------------------------------------------------

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

type Runner = fn(
    usize,
    usize,
    Sharing,
    usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Duration>>>;

fn runner<M: Tasks>() -> (&'static str, Runner, fn(usize) -> f64) {
    (
        M::NAME,
        |n, k, sharing, reps| Box::pin(run::<M>(n, k, sharing, reps)),
        map_bytes_per_entry::<M>,
    )
}

#[tokio::main]
async fn main() {
    let mut rounds = 11;
    // Fresh maps per sample at 6 400 tasks (ten times as many at 640);
    // `--single`: one map per sample, as bench_stores has it.
    let mut reps_for = 4;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|r| r.parse().ok())
                    .expect("--rounds N")
            }
            "--quick" => rounds = 3,
            "--single" => reps_for = 0,
            other => panic!("unknown argument {other}; use --rounds N, --quick or --single"),
        }
    }
    let candidates = [
        runner::<ShardedMutex>(),
        runner::<OneMutex>(),
        runner::<Dash>(),
        runner::<Papaya>(),
        runner::<Scc>(),
    ];
    let configs = [(640, 1), (640, 64), (6400, 1), (6400, 64)];
    // Two more rows per config: the store's design with a map per thread,
    // and no map at all.
    let mut samples = vec![vec![Vec::new(); candidates.len() + 2]; configs.len()];
    for _ in 0..rounds {
        for (c, &(n, k)) in configs.iter().enumerate() {
            let reps = (reps_for * 6400 / n).max(1);
            for (i, (_, run, _)) in candidates.iter().enumerate() {
                samples[c][i].push(run(n, k, Sharing::Shared, reps).await);
            }
            let extra = candidates.len();
            samples[c][extra].push(run::<ShardedMutex>(n, k, Sharing::PerThread, reps).await);
            samples[c][extra + 1].push(run::<ShardedMutex>(n, k, Sharing::None, reps).await);
        }
    }
    println!(
        "µs per lifecycle (create, get, compare-and-set, get, get), median of {rounds} rounds of {} fresh maps each at 6 400 tasks; ÷ the store today\n",
        reps_for.max(1)
    );
    print!("| map |");
    for (n, k) in configs {
        print!(" {n} tasks, {k} in flight | ÷ |");
    }
    println!("\n|---|{}", "---|---|".repeat(configs.len()));
    let names: Vec<&str> = candidates
        .iter()
        .map(|c| c.0)
        .chain([
            "(the store today, a map per worker thread: nothing shared)",
            "(no map: ids, records and the harness only)",
        ])
        .collect();
    for (i, name) in names.iter().enumerate() {
        print!("| {name} |");
        for config in &samples {
            let ours = median(config[0].clone()).as_secs_f64();
            let this = median(config[i].clone()).as_secs_f64();
            print!(" {:.2} | {:.2} |", this * 1e6, this / ours);
        }
        println!();
    }
    println!("\nBytes per entry the map holds at 100,000 entries (ids and records not counted)\n");
    println!("| map | bytes |\n|---|---|");
    for (name, _, bytes) in &candidates {
        println!("| {name} | {:.0} |", bytes(100_000));
    }
}
