//! Wake-ups for code that waits on a task: a blocked `tasks/result`, or a
//! body waiting for the client's input.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Notify;

/// A per-task [`Notify`], created on demand and dropped with its last waiter.
///
/// Waiters must re-read the store after every wake-up (and on a timer, since
/// another instance may have written the task): a wake-up says "look again",
/// never "this is what changed".
#[derive(Debug, Default)]
pub(crate) struct TaskEvents {
    waiters: Mutex<HashMap<String, Weak<Notify>>>,
}

impl TaskEvents {
    /// The notifier of task `id`; hold it while waiting.
    pub(crate) fn subscribe(&self, id: &str) -> Arc<Notify> {
        let mut map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = map.get(id).and_then(Weak::upgrade) {
            return existing;
        }
        // Drop entries whose waiters are gone, at most once per doubling, so
        // the map stays as large as the number of live waiters.
        if map.len() >= 64 && map.len().is_power_of_two() {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let notify = Arc::new(Notify::new());
        map.insert(id.to_owned(), Arc::downgrade(&notify));
        notify
    }

    /// Wakes everything waiting on task `id`.
    pub(crate) fn notify(&self, id: &str) {
        let notify = {
            let map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
            map.get(id).and_then(Weak::upgrade)
        };
        if let Some(n) = notify {
            n.notify_waiters();
        }
    }
}
