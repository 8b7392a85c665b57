//! The memory bound of a render: [`RenderAllocator`], the binary's global allocator, counts
//! the heap the process holds and, while a render is armed, ends the process when an
//! allocation would take it past the render's ceiling.
//!
//! Counting is cheap on the hot path: each thread adds to its own counter (a `Cell` with a
//! constant initialiser: no atomic, no lazy initialisation), and only when that counter has
//! moved by [`FLUSH`] is it added to the process total and the total checked, before the
//! allocation is made. The total is exact to within [`FLUSH`] per thread (what a thread
//! still holds uncounted when it ends is lost, within the same bound); a request the system
//! refuses is counted all the same, which can only make the limit stricter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use super::{Exceeded, configured, hard_stop};

/// How far a thread's counter moves before it is added to the process total (1 MiB).
const FLUSH: usize = 1 << 20;

thread_local! {
    /// Bytes this thread allocated (less those it freed) not yet added to [`IN_USE`].
    static LOCAL: Cell<isize> = const { Cell::new(0) };
}

/// Heap bytes the process holds, as counted so far.
static IN_USE: AtomicIsize = AtomicIsize::new(0);
/// What [`IN_USE`] may reach while a render is armed; `isize::MAX` when none is.
static CEILING: AtomicIsize = AtomicIsize::new(isize::MAX);
/// Set by the first stop, so the stop itself (or another thread) does not start a second.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting. Install it with `#[global_allocator]`; renders then arm
/// their memory limit on it.
pub struct RenderAllocator;

impl RenderAllocator {
    /// Lets glibc's malloc grow a heap by 16 MiB at a time instead of by the page. Its
    /// per-thread heaps otherwise grow with one `mprotect` per few pages: 1,692 calls for a
    /// render of 1,000 templates, each taking the address-space lock the other worker's page
    /// faults need (~7 % of the run's CPU). Growing only makes the address range usable, so
    /// resident memory is unchanged. Call once, before the first thread starts; elsewhere than
    /// glibc it does nothing.
    pub fn tune_system_allocator() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `mallopt` only sets a malloc parameter; no allocation is in flight on
        // another thread yet.
        unsafe {
            libc::mallopt(libc::M_TOP_PAD, 16 << 20);
        }
    }
}

// SAFETY: every method hands the request to `System` unchanged; counting only reads the
// layout's size, touches this thread's counter and, rarely, two atomics, none of which
// allocates. A stop writes to stderr and ends the process without allocating.
//
// Each method is a counter update and a branch in front of a tail call: the rare flush is a
// separate function that also makes the call, so the common path saves no registers. The
// methods stay out of line: inlined into every allocation site by the release build's LTO,
// they made the binary's code 2 MiB (10 %) larger and its resident size 1.2 MiB larger.
unsafe impl GlobalAlloc for RenderAllocator {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if count(layout.size() as isize) {
            // SAFETY: the caller's guarantees for `alloc` are `System.alloc`'s.
            unsafe { System.alloc(layout) }
        } else {
            // SAFETY: as above.
            unsafe { alloc_flushing(layout) }
        }
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        flush_unless(count(layout.size() as isize), layout.size() as isize);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let freed = -(layout.size() as isize);
        if count(freed) {
            // SAFETY: `ptr` came from `System` with `layout`, as the caller guarantees.
            unsafe { System.dealloc(ptr, layout) }
        } else {
            // SAFETY: as above.
            unsafe { dealloc_flushing(ptr, layout) }
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Both sizes are at most `isize::MAX`: the difference cannot overflow.
        let grown = new_size as isize - layout.size() as isize;
        flush_unless(count(grown), grown);
        // SAFETY: as for `dealloc`; `new_size` is valid as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Adds `delta` bytes to this thread's counter; `false` (the counter untouched) when the
/// counter would move [`FLUSH`] or more from zero, for [`flush`] to add it to the total.
#[inline(always)]
fn count(delta: isize) -> bool {
    LOCAL.with(|local| {
        // A sum that wraps (a request near `isize::MAX`, which `System` refuses) reads as
        // far from zero and goes to `flush`, which adds without wrapping.
        let moved = local.get().wrapping_add(delta);
        let near = (moved as usize).wrapping_add(FLUSH) < 2 * FLUSH;
        if near {
            local.set(moved);
        }
        near
    })
}

#[inline(always)]
fn flush_unless(counted: bool, delta: isize) {
    if !counted {
        flush(delta);
    }
}

#[cold]
#[inline(never)]
unsafe fn alloc_flushing(layout: Layout) -> *mut u8 {
    flush(layout.size() as isize);
    // SAFETY: the caller's guarantees for `GlobalAlloc::alloc`.
    unsafe { System.alloc(layout) }
}

#[cold]
#[inline(never)]
unsafe fn dealloc_flushing(ptr: *mut u8, layout: Layout) {
    flush(-(layout.size() as isize));
    // SAFETY: the caller's guarantees for `GlobalAlloc::dealloc`.
    unsafe { System.dealloc(ptr, layout) }
}

/// Adds this thread's counter and `delta` to the process total, and stops the process when
/// a render is armed and the total has passed its ceiling.
#[cold]
#[inline(never)]
fn flush(delta: isize) {
    let moved = LOCAL.with(|local| local.replace(0)).saturating_add(delta);
    let total = IN_USE
        .fetch_add(moved, Ordering::Relaxed)
        .wrapping_add(moved);
    if moved > 0
        && total > CEILING.load(Ordering::Relaxed)
        && !STOPPING.swap(true, Ordering::Relaxed)
    {
        hard_stop(Exceeded::Memory, &configured(), true);
    }
}

/// Whether this process's global allocator is [`RenderAllocator`] (the binary's is; test
/// binaries' is not): only then does an allocation move this thread's counter.
pub(super) fn installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let before = LOCAL.with(Cell::get);
        // `black_box` keeps the allocation from being optimised away.
        let probe = std::hint::black_box(Box::new(0u8));
        let after = LOCAL.with(Cell::get);
        drop(probe);
        before != after
    })
}

/// Renders in progress (`rudder apply` renders several releases at once); the ceiling is
/// armed while there is one.
static RENDERS: Mutex<usize> = Mutex::new(0);

/// One render's hold on the memory ceiling; the last one dropped disarms it.
pub(super) struct Armed;

/// From now on, until every render that overlaps this one has ended, the process may hold
/// at most `max_memory` bytes more than it holds now: renders that overlap share the room
/// the first one armed.
pub(super) fn arm(max_memory: usize) -> Armed {
    let mut renders = RENDERS.lock().unwrap_or_else(PoisonError::into_inner);
    if *renders == 0 {
        let now = IN_USE
            .load(Ordering::Relaxed)
            .saturating_add(LOCAL.with(Cell::get));
        let room = isize::try_from(max_memory).unwrap_or(isize::MAX);
        CEILING.store(now.saturating_add(room), Ordering::Relaxed);
    }
    *renders += 1;
    Armed
}

impl Drop for Armed {
    fn drop(&mut self) {
        let mut renders = RENDERS.lock().unwrap_or_else(PoisonError::into_inner);
        *renders -= 1;
        if *renders == 0 {
            CEILING.store(isize::MAX, Ordering::Relaxed);
        }
    }
}
