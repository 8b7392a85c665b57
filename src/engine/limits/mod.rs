//! The bounds of a chart render. Chart templates are untrusted input (they come from chart
//! repositories), so every render has a time limit, an output limit and a memory limit
//! ([`RenderLimits`]; the CLI sets the first and the last for the whole process from
//! `--render-timeout` and `--render-max-memory` with [`configure`]).
//!
//! Both engines check time and output as they go (the Go-template engine every 1024 steps,
//! tera on its writes and in `range`, `include` and `tpl`) and fail the template with an
//! error that names it and the flag to raise. Functions whose result grows with an argument
//! (`repeat`, `until`, `seq`, `randAlphaNum`, tera's `range`, …) refuse a result larger than
//! the output limit ([`check_result`]), so one call cannot build what the render may not hold.
//!
//! Two hard stops back these checks up where an engine cannot check: a watchdog thread that
//! ends the process once the deadline has passed by [`GRACE`] (a tera loop with an empty
//! body over a list calls nothing that could check), and [`RenderAllocator`], which ends it
//! when an allocation would take the heap past the memory limit (memory held in variables
//! is not output). Both write the line the CLI would (`Error: FILE: …`, naming the template
//! being rendered) and exit with status 1. They act only in a process whose global
//! allocator is [`RenderAllocator`] (the `rudder` binary), never in a test binary or a
//! program that uses the library with its own allocator.
//!
//! A hard stop cannot leave a release half-written: install and upgrade render in their
//! plan phase, before they claim the release or apply anything (`src/action/operation.rs`:
//! plan, then claim, hooks, apply, wait, record). The one cluster write that can come before
//! a render is install's creation of the chart's `crds/` CRDs, made after a first complete
//! render and followed by a second one so templates see the new kinds; a stop in that second
//! render leaves the CRDs (as helm does, which creates them before rendering at all) and no
//! release record. `rudder apply` renders every release in its plan, before deploying any;
//! each deploy renders again before its own claim, so only a render that the plan's did not
//! predict (a `lookup` answered differently) can stop the process while other releases are
//! deploying, and those are then taken over as interrupted by the next operation on them.

mod memory;

pub use memory::RenderAllocator;

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use super::RenderError;

/// How long past its deadline a render may still run before the watchdog ends the process;
/// the engines' own checks stop a render well within it.
pub const GRACE: Duration = Duration::from_secs(1);

/// How long one render may take, how much text it may write and how much memory it may add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderLimits {
    /// From the start of the render to its end (`--render-timeout`).
    pub timeout: Duration,
    /// Bytes of rendered text over all templates; also the largest result one function call
    /// may build.
    pub max_output: usize,
    /// Bytes of heap the process may add while it renders (`--render-max-memory`; renders
    /// that run at once share it).
    pub max_memory: usize,
}

impl RenderLimits {
    /// 60 s, 256 MiB of output and 2 GiB of memory. The public charts rudder is checked
    /// against (argo-cd, prometheus, vault, …) render in under 0.2 s to a few MiB of text,
    /// the whole process peaking at 27 MiB; 2 GiB leaves a chart seventy times that (room
    /// for charts that carry big files) and still stops a template that doubles a string
    /// before it pushes a small CI runner or a laptop into swap or the OOM killer.
    pub const DEFAULT: RenderLimits = RenderLimits {
        timeout: Duration::from_secs(60),
        max_output: 256 << 20,
        max_memory: 2 << 30,
    };
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits::DEFAULT
    }
}

// The configured limits, as atomics: the function checks read them on every call.
static TIMEOUT_NANOS: AtomicU64 = AtomicU64::new(RenderLimits::DEFAULT.timeout.as_nanos() as u64);
static MAX_OUTPUT: AtomicUsize = AtomicUsize::new(RenderLimits::DEFAULT.max_output);
static MAX_MEMORY: AtomicUsize = AtomicUsize::new(RenderLimits::DEFAULT.max_memory);

/// Sets the limits of every render this process starts from now on (the CLI's flags).
pub fn configure(limits: RenderLimits) {
    let nanos = u64::try_from(limits.timeout.as_nanos()).unwrap_or(u64::MAX);
    TIMEOUT_NANOS.store(nanos, Ordering::Relaxed);
    MAX_OUTPUT.store(limits.max_output, Ordering::Relaxed);
    MAX_MEMORY.store(limits.max_memory, Ordering::Relaxed);
}

/// The limits renders use: those last [`configure`]d, else [`RenderLimits::DEFAULT`].
/// Reads three atomics and allocates nothing.
pub fn configured() -> RenderLimits {
    RenderLimits {
        timeout: Duration::from_nanos(TIMEOUT_NANOS.load(Ordering::Relaxed)),
        max_output: MAX_OUTPUT.load(Ordering::Relaxed),
        max_memory: MAX_MEMORY.load(Ordering::Relaxed),
    }
}

/// Which limit a render went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    Time,
    Output,
    Memory,
}

/// The sentence saying that a render went past a limit, and which flag raises it.
struct Sentence<'a>(Exceeded, &'a RenderLimits);

impl fmt::Display for Sentence<'_> {
    /// Allocates nothing except for a time limit (its duration is written as Go writes one).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Sentence(what, limits) = self;
        match what {
            Exceeded::Time => {
                let nanos = i64::try_from(limits.timeout.as_nanos()).unwrap_or(i64::MAX);
                write!(
                    f,
                    "the render took longer than its time limit of {} (set --render-timeout to allow more)",
                    super::library::dates::format_duration(nanos)
                )
            }
            Exceeded::Output => write!(
                f,
                "the rendered output grew past its limit of {}",
                Bytes(limits.max_output)
            ),
            Exceeded::Memory => write!(
                f,
                "the render needed more memory than its limit of {} (set --render-max-memory to allow more)",
                Bytes(limits.max_memory)
            ),
        }
    }
}

/// A size in the largest binary unit that divides it (`2 GiB`, `64 MiB`), else in bytes.
struct Bytes(usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, name) in [(1usize << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
            if self.0 >= unit && self.0.is_multiple_of(unit) {
                return write!(f, "{} {name}", self.0 / unit);
            }
        }
        write!(f, "{} bytes", self.0)
    }
}

/// Refuses a function result of `bytes` bytes when that is more than a render may output:
/// the function's error message, in the words of the limit.
pub(crate) fn check_result(bytes: u128) -> Result<(), String> {
    let max = MAX_OUTPUT.load(Ordering::Relaxed);
    if bytes <= max as u128 {
        return Ok(());
    }
    Err(format!(
        "the result would be larger than the render's output limit of {}",
        Bytes(max)
    ))
}

thread_local! {
    /// The limit the template this thread renders went past, if that is why it failed.
    static EXCEEDED: Cell<Option<Exceeded>> = const { Cell::new(None) };
}

/// Records that the template this thread renders went past `what`; the engine's error on its
/// way out is replaced by the limit's own ([`Budget::failure`]).
pub(crate) fn note(what: Exceeded) {
    EXCEEDED.with(|e| e.set(Some(what)));
}

/// One render's limits as the engines check them: its deadline and the text written so far.
pub(crate) struct Budget {
    pub limits: RenderLimits,
    pub deadline: Instant,
    /// Bytes written by the templates finished so far.
    output: AtomicUsize,
}

impl Budget {
    fn new(limits: RenderLimits) -> Self {
        let now = Instant::now();
        Budget {
            limits,
            // A timeout too long to add is as good as none.
            deadline: now
                .checked_add(limits.timeout)
                .unwrap_or(now + Duration::from_secs(1 << 40)),
            output: AtomicUsize::new(0),
        }
    }

    /// Fails (with the engine-side message) once the deadline has passed.
    pub fn check_time(&self) -> Result<(), String> {
        if Instant::now() <= self.deadline {
            return Ok(());
        }
        note(Exceeded::Time);
        Err(Sentence(Exceeded::Time, &self.limits).to_string())
    }

    /// Fails once `pending` bytes more than the finished templates wrote would be past the
    /// output limit.
    pub fn check_output(&self, pending: usize) -> Result<(), String> {
        if self.written().saturating_add(pending) <= self.limits.max_output {
            return Ok(());
        }
        note(Exceeded::Output);
        Err(Sentence(Exceeded::Output, &self.limits).to_string())
    }

    /// Bytes written by the templates finished so far.
    pub fn written(&self) -> usize {
        self.output.load(Ordering::Relaxed)
    }

    /// Counts the text of a finished template.
    pub fn add_output(&self, bytes: usize) {
        self.output.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The error of template `file`, which failed because it went past a limit, if it did.
    pub fn failure(&self, file: &str) -> Option<RenderError> {
        let what = EXCEEDED.with(Cell::take)?;
        Some(RenderError::Limit {
            file: file.to_string(),
            message: Sentence(what, &self.limits).to_string(),
        })
    }
}

/// A render in progress: its [`Budget`] and, in the binary, its watchdog and its hold on the
/// memory ceiling, both released when it is dropped. Renders may overlap (`rudder apply`):
/// each has its own deadline and output, and they share the memory limit.
pub(crate) struct Render {
    budget: Arc<Budget>,
    _memory: Option<memory::Armed>,
    _watchdog: Option<Watchdog>,
}

impl Render {
    /// Starts a render with the [`configured`] limits.
    pub fn start() -> Render {
        let budget = Arc::new(Budget::new(configured()));
        let hard_stops = memory::installed();
        Render {
            _memory: hard_stops.then(|| memory::arm(budget.limits.max_memory)),
            _watchdog: hard_stops.then(|| Watchdog::start(&budget)).flatten(),
            budget,
        }
    }

    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }
}

/// A thread that ends the process when a render is still running [`GRACE`] past its
/// deadline.
struct Watchdog {
    done: Arc<AtomicBool>,
    thread: std::thread::Thread,
}

impl Watchdog {
    /// `None` when no thread can be started (the engines' own checks still apply).
    fn start(budget: &Budget) -> Option<Watchdog> {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let (limits, stop_at) = (budget.limits, budget.deadline + GRACE);
        let handle = std::thread::Builder::new()
            .name("render-watchdog".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    let now = Instant::now();
                    if now >= stop_at {
                        hard_stop(Exceeded::Time, &limits, false);
                    }
                    std::thread::park_timeout(stop_at - now);
                }
            })
            .ok()?;
        Some(Watchdog {
            done,
            thread: handle.thread().clone(),
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Ends the process with the line the CLI prints for an error, saying the render went past
/// `what` and naming the template being rendered (this thread's first when
/// `this_thread_first`). Allocates nothing for a memory stop.
fn hard_stop(what: Exceeded, limits: &RenderLimits, this_thread_first: bool) -> ! {
    let mut line = LineBuf::new();
    let _ = line.write_str("Error: ");
    with_rendering(this_thread_first, |file| {
        if !file.is_empty() {
            let _ = write!(line, "{file}: ");
        }
    });
    let _ = write!(line, "{}", Sentence(what, limits));
    line.end_line();
    let text = line.as_bytes();
    // SAFETY: `text` is a live buffer of `text.len()` bytes; `_exit` ends the process at
    // once without running destructors or atexit handlers, which is what a hard stop is for
    // (nothing buffered for stdout is written).
    unsafe {
        libc::write(2, text.as_ptr().cast(), text.len());
        libc::_exit(1)
    }
}

/// A line of text on the stack (longer lines are cut, keeping room for the newline).
struct LineBuf {
    bytes: [u8; 1024],
    len: usize,
}

impl LineBuf {
    fn new() -> Self {
        LineBuf {
            bytes: [0; 1024],
            len: 0,
        }
    }

    fn end_line(&mut self) {
        self.len = self.len.min(self.bytes.len() - 1);
        self.bytes[self.len] = b'\n';
        self.len += 1;
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.bytes.len() - 1 - self.len;
        let take = s.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

// ---- the templates being rendered, for the hard stops' messages ----

/// Longest template name kept (longer ones are cut at a character boundary).
const NAME_MAX: usize = 240;
/// Threads that can be told apart; more share slots (only the messages suffer).
const SLOTS: usize = 64;

/// What one rendering thread is rendering, and since when.
#[derive(Clone, Copy)]
struct Slot {
    since: Option<Instant>,
    len: usize,
    name: [u8; NAME_MAX],
}

impl Slot {
    const EMPTY: Slot = Slot {
        since: None,
        len: 0,
        name: [0; NAME_MAX],
    };

    fn name(&self) -> &str {
        std::str::from_utf8(&self.name[..self.len]).unwrap_or_default()
    }
}

/// Fixed storage the allocator can read without allocating.
static RENDERING: [Mutex<Slot>; SLOTS] = [const { Mutex::new(Slot::EMPTY) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot in [`RENDERING`]; `usize::MAX` until it renders a template.
    static THREAD_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Marks the template this thread renders, until dropped; a new template starts with no
/// limit exceeded.
pub(crate) struct Rendering {
    slot: usize,
    previous: Slot,
}

impl Rendering {
    pub fn mark(file: &str) -> Rendering {
        EXCEEDED.with(|e| e.set(None));
        let slot = THREAD_SLOT.with(|s| {
            if s.get() == usize::MAX {
                s.set(NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS);
            }
            s.get()
        });
        let mut len = file.len().min(NAME_MAX);
        while !file.is_char_boundary(len) {
            len -= 1;
        }
        let mut current = Slot {
            since: Some(Instant::now()),
            len,
            name: [0; NAME_MAX],
        };
        current.name[..len].copy_from_slice(&file.as_bytes()[..len]);
        let mut held = RENDERING[slot]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let previous = std::mem::replace(&mut *held, current);
        Rendering { slot, previous }
    }
}

impl Drop for Rendering {
    fn drop(&mut self) {
        *RENDERING[self.slot]
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.previous;
    }
}

/// Calls `f` with the template this thread renders (when `this_thread_first` and it renders
/// one), else the one that has been rendering longest; "" when none is known. Allocates
/// nothing and never waits for a lock.
fn with_rendering<R>(this_thread_first: bool, f: impl FnOnce(&str) -> R) -> R {
    let read = |i: usize| {
        match RENDERING[i].try_lock() {
            Ok(slot) => Some(*slot),
            Err(TryLockError::Poisoned(p)) => Some(*p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
        .filter(|s| s.since.is_some())
    };
    let own = THREAD_SLOT.with(Cell::get);
    let mut chosen = (this_thread_first && own < SLOTS)
        .then(|| read(own))
        .flatten();
    if chosen.is_none() {
        chosen = (0..SLOTS).filter_map(read).min_by_key(|s| s.since);
    }
    f(chosen.as_ref().map_or("", Slot::name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_their_largest_whole_unit() {
        assert_eq!(Bytes(2 << 30).to_string(), "2 GiB");
        assert_eq!(Bytes(256 << 20).to_string(), "256 MiB");
        assert_eq!(Bytes(1536 << 10).to_string(), "1536 KiB");
        assert_eq!(Bytes(1_000_000).to_string(), "1000000 bytes");
    }

    #[test]
    fn sentences_name_the_limit_and_the_flag() {
        let limits = RenderLimits {
            timeout: Duration::from_secs(90),
            max_output: 256 << 20,
            max_memory: 512 << 20,
        };
        assert_eq!(
            Sentence(Exceeded::Time, &limits).to_string(),
            "the render took longer than its time limit of 1m30s (set --render-timeout to allow more)"
        );
        assert_eq!(
            Sentence(Exceeded::Memory, &limits).to_string(),
            "the render needed more memory than its limit of 512 MiB (set --render-max-memory to allow more)"
        );
        assert_eq!(
            Sentence(Exceeded::Output, &limits).to_string(),
            "the rendered output grew past its limit of 256 MiB"
        );
    }

    #[test]
    fn a_failed_template_reports_the_limit_it_went_past() {
        let budget = Budget::new(RenderLimits {
            timeout: Duration::ZERO,
            ..RenderLimits::DEFAULT
        });
        let _mark = Rendering::mark("c/templates/a.yaml");
        std::thread::sleep(Duration::from_millis(2));
        assert!(budget.check_time().is_err());
        let error = budget.failure("c/templates/a.yaml").expect("a limit error");
        assert_eq!(
            error.to_string(),
            "c/templates/a.yaml: the render took longer than its time limit of 0s (set --render-timeout to allow more)"
        );
        // Taken once; the next template starts clean.
        assert!(budget.failure("c/templates/a.yaml").is_none());
    }

    #[test]
    fn the_longest_running_template_is_named() {
        let mark = Rendering::mark("c/templates/slow.yaml");
        assert_eq!(
            with_rendering(true, str::to_string),
            "c/templates/slow.yaml"
        );
        let slot = mark.slot;
        drop(mark);
        let after = *RENDERING[slot].lock().unwrap();
        assert!(after.since.is_none(), "the slot is free again");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let long = "é".repeat(NAME_MAX);
        let _mark = Rendering::mark(&long);
        let name = with_rendering(true, str::to_string);
        assert!(long.starts_with(&name) && name.len() <= NAME_MAX);
    }

    #[test]
    fn results_past_the_output_limit_are_refused() {
        assert!(check_result(1 << 20).is_ok());
        assert_eq!(
            check_result(1 << 40).unwrap_err(),
            "the result would be larger than the render's output limit of 256 MiB"
        );
    }
}
