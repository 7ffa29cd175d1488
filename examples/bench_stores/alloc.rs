//! A counting allocator: on only while a store is filled or a lifecycle's
//! allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

pub(crate) struct Counting;

pub(crate) static COUNTING: AtomicBool = AtomicBool::new(false);
pub(crate) static NET_BYTES: AtomicIsize = AtomicIsize::new(0);
/// Allocations (and reallocations) made, and the bytes they asked for.
pub(crate) static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
pub(crate) static ASKED_BYTES: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        NET_BYTES.fetch_add(delta, Ordering::Relaxed);
    }
}

pub(crate) fn count_allocation(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ASKED_BYTES.fetch_add(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only adds to a counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
            count_allocation(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
            count_allocation(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
            count_allocation(new_size);
        }
        p
    }
}

#[global_allocator]
pub(crate) static ALLOCATOR: Counting = Counting;

/// Runs `f` with allocation counting on; returns its output and the net
/// bytes allocated meanwhile.
pub(crate) async fn counting_allocations<T>(f: impl std::future::Future<Output = T>) -> (T, isize) {
    NET_BYTES.store(0, Ordering::SeqCst);
    ALLOCATIONS.store(0, Ordering::SeqCst);
    ASKED_BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let out = f.await;
    COUNTING.store(false, Ordering::SeqCst);
    (out, NET_BYTES.load(Ordering::SeqCst))
}
