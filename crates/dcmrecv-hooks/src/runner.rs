//! The hook runner: a bounded queue and a fixed pool of worker threads (or, in synchronous
//! mode, the caller's thread), timeouts, counters, and a shutdown that still runs what was
//! queued.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::process::{self, Ending};
use crate::template::HookKind;

/// How hooks run.
///
/// ```
/// use std::time::Duration;
///
/// use dcmrecv_hooks::HookOptions;
///
/// let options = HookOptions::new()
///     .workers(8)                                  // --exec-workers 8
///     .queue_capacity(4096)
///     .timeout(Some(Duration::from_secs(120)));    // --exec-timeout 120
/// assert!(!options.is_synchronous());
/// ```
#[derive(Debug, Clone)]
pub struct HookOptions {
    workers: usize,
    queue_capacity: usize,
    timeout: Option<Duration>,
    kill_grace: Duration,
    synchronous: bool,
    niceness: i32,
    idle_priority: bool,
}

impl Default for HookOptions {
    fn default() -> Self {
        HookOptions::new()
    }
}

impl HookOptions {
    /// Asynchronous, 4 workers, 1024 queued hooks at most, no timeout, 2 s between SIGTERM and
    /// SIGKILL of a timed-out hook, workers and hooks [`DEFAULT_NICENESS`] nice levels below the
    /// receiver and, on Linux, in the idle scheduling class ([`HookOptions::idle_priority`]).
    pub fn new() -> Self {
        HookOptions {
            workers: 4,
            queue_capacity: 1024,
            timeout: None,
            kill_grace: Duration::from_secs(2),
            synchronous: false,
            niceness: DEFAULT_NICENESS,
            idle_priority: true,
        }
    }

    /// Worker threads for asynchronous hooks (at least 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// The most hooks waiting for a worker; one more is dropped (logged and counted).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// How long a hook may run before its process group gets SIGTERM (`None`: no limit).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long after SIGTERM the group gets SIGKILL.
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Run each hook on the caller's thread, before [`HookRunner::submit`] returns (storescp's
    /// `--exec-sync`). No worker threads are started.
    pub fn synchronous(mut self, yes: bool) -> Self {
        self.synchronous = yes;
        self
    }

    /// How much lower than the receiver's the scheduling priority of the worker threads, and so
    /// of the hooks they start, is (added to the nice value, at most 19; default
    /// [`DEFAULT_NICENESS`]; 0 keeps the receiver's). Spawning a process per object costs about
    /// as much CPU as receiving it, so on a busy machine hooks must yield to reception. Linux
    /// only (nice values are per thread there); elsewhere ignored. Synchronous hooks
    /// (`--exec-sync`) run at the receiver's priority.
    ///
    /// ```
    /// use dcmrecv_hooks::HookOptions;
    ///
    /// let options = HookOptions::new().niceness(0); // hooks compete with reception as equals
    /// # let _ = options;
    /// ```
    pub fn niceness(mut self, n: i32) -> Self {
        self.niceness = n.clamp(0, 19);
        self
    }

    /// Whether the worker threads, and so the hooks they start, run in Linux's idle scheduling
    /// class (`SCHED_IDLE`, see sched(7); default yes; ignored elsewhere, with `--exec-sync`
    /// and with [`niceness`](HookOptions::niceness) 0). A nice value alone still lets a freshly
    /// started hook hold a core while the receiver's thread waits to run: measured with
    /// `-xcr /bin/true` on two cores, reception took +20% to +42% longer at nice +10 and a few
    /// percent with `SCHED_IDLE`, where any other thread that wakes up takes the core at once.
    /// The price: on a machine that is busy all the time, hooks get almost no CPU time and wait
    /// in the queue (and past [`queue_capacity`](HookOptions::queue_capacity) are dropped) until
    /// the load falls — at the latest at shutdown, which still runs what was queued.
    ///
    /// ```
    /// use dcmrecv_hooks::HookOptions;
    ///
    /// let options = HookOptions::new().idle_priority(false); // nice value only
    /// # let _ = options;
    /// ```
    pub fn idle_priority(mut self, yes: bool) -> Self {
        self.idle_priority = yes;
        self
    }

    /// Whether hooks run on the caller's thread.
    pub fn is_synchronous(&self) -> bool {
        self.synchronous
    }
}

/// The default [`HookOptions::niceness`]: hooks run 10 nice levels below the receiver.
pub const DEFAULT_NICENESS: i32 = 10;

/// One command to run.
///
/// ```
/// use dcmrecv_hooks::{HookJob, HookKind};
///
/// let job = HookJob::new(HookKind::Reception, vec!["/bin/true".into()], "out/CT.1.2.3");
/// assert_eq!(job.subject(), "out/CT.1.2.3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookJob {
    kind: HookKind,
    argv: Vec<String>,
    subject: String,
}

impl HookJob {
    /// `argv[0]` is the program; `subject` names what the hook is about in logs (a path, a
    /// study UID).
    pub fn new(kind: HookKind, argv: Vec<String>, subject: impl Into<String>) -> HookJob {
        HookJob {
            kind,
            argv,
            subject: subject.into(),
        }
    }

    /// The hook kind.
    pub fn kind(&self) -> HookKind {
        self.kind
    }

    /// The argument vector.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// What it is about.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// What [`HookRunner::submit`] did with a job.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Queued for a worker.
    Queued,
    /// Synchronous mode: it ran and ended like this.
    Ran(HookResult),
    /// The queue was full: not run (logged, counted in `dropped`).
    Dropped,
    /// The runner is shutting down: not run (logged, counted in `not_run`).
    Refused,
}

/// How a hook that started ended.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookResult {
    /// Exit status 0.
    Succeeded,
    /// Another exit status.
    Failed(i32),
    /// Killed by a signal it did not get from us.
    Signalled(i32),
    /// Past the timeout; its process group was killed.
    TimedOut,
    /// Past the shutdown deadline; its process group was killed.
    Interrupted,
    /// It could not be started (no such program, not executable, a NUL byte in an argument).
    SpawnFailed,
}

/// Counters and gauges of a [`HookRunner`], for metrics.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HookStats {
    /// Jobs handed to `submit`.
    pub submitted: u64,
    /// Hooks that exited with status 0.
    pub succeeded: u64,
    /// Hooks that exited with another status.
    pub failed: u64,
    /// Hooks killed by a signal not sent by us.
    pub signalled: u64,
    /// Hooks killed for running past the timeout.
    pub timed_out: u64,
    /// Hooks that could not be started.
    pub spawn_failed: u64,
    /// Jobs dropped because the queue was full.
    pub dropped: u64,
    /// Jobs never started because the runner shut down (refused, or still queued at the
    /// deadline).
    pub not_run: u64,
    /// Hooks killed because the shutdown deadline passed while they ran.
    pub interrupted: u64,
    /// Jobs waiting for a worker now.
    pub queue_depth: u64,
    /// Hooks running now.
    pub running: u64,
}

/// What [`HookRunner::shutdown`] left undone.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Queued jobs that never started (each was logged with its subject).
    pub not_run: u64,
    /// Hooks killed at the deadline.
    pub interrupted: u64,
}

/// Runs hook commands without a shell, on a bounded pool or synchronously.
///
/// **Reception is never slowed or failed by a hook.** `submit` never blocks in asynchronous
/// mode: a job goes to a bounded queue or, if it is full, is dropped (logged at `error`,
/// counted). A hook that fails, is killed by a signal, cannot start or runs past the timeout
/// (its whole process group gets SIGTERM, then SIGKILL) is logged at `warn` with the end of
/// its output, and counted; the caller's status is never changed.
///
/// **Shutdown** ([`shutdown`](Self::shutdown)) refuses new jobs and lets the workers run
/// everything already queued, so an object that was acknowledged gets its hook once, within the
/// caller's deadline. Past the deadline, running hooks are killed (process group) and counted
/// as `interrupted`, and queued jobs are logged at `error` one by one as not run, with their
/// subject, and counted as `not_run`.
///
/// ```
/// use std::time::Duration;
///
/// use dcmrecv_hooks::{HookJob, HookKind, HookOptions, HookResult, HookRunner, Submitted};
///
/// let runner = HookRunner::start(HookOptions::new().synchronous(true));
/// let job = HookJob::new(HookKind::Reception, vec!["/bin/true".into()], "out/CT.1");
/// assert_eq!(runner.submit(job), Submitted::Ran(HookResult::Succeeded));
/// let report = runner.shutdown(Duration::from_secs(5));
/// assert_eq!(report.not_run, 0);
/// ```
pub struct HookRunner {
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

struct Shared {
    options: HookOptions,
    queue: Mutex<Queue>,
    /// Signalled when a job is queued, when the runner closes, and when a job finishes.
    changed: Condvar,
    /// Set at the shutdown deadline: running hooks are killed.
    interrupt: AtomicBool,
    counters: Counters,
}

struct Queue {
    jobs: VecDeque<HookJob>,
    running: u64,
    closed: bool,
}

#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    signalled: AtomicU64,
    timed_out: AtomicU64,
    spawn_failed: AtomicU64,
    dropped: AtomicU64,
    not_run: AtomicU64,
    interrupted: AtomicU64,
}

impl HookRunner {
    /// Starts the runner (and, unless synchronous, its workers).
    pub fn start(options: HookOptions) -> HookRunner {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                running: 0,
                closed: false,
            }),
            changed: Condvar::new(),
            interrupt: AtomicBool::new(false),
            counters: Counters::default(),
            options,
        });
        let mut workers = Vec::new();
        if !shared.options.synchronous {
            for i in 0..shared.options.workers {
                let shared = Arc::clone(&shared);
                match std::thread::Builder::new()
                    .name(format!("hook-{i}"))
                    .spawn(move || worker(&shared))
                {
                    Ok(handle) => workers.push(handle),
                    Err(error) => tracing::error!(%error, "cannot start a hook worker thread"),
                }
            }
        }
        HookRunner {
            shared,
            workers: Mutex::new(workers),
        }
    }

    /// The options it runs with.
    pub fn options(&self) -> &HookOptions {
        &self.shared.options
    }

    /// Runs `job` now (synchronous mode) or queues it. Never blocks in asynchronous mode.
    pub fn submit(&self, job: HookJob) -> Submitted {
        let c = &self.shared.counters;
        c.submitted.fetch_add(1, Ordering::Relaxed);
        if self.shared.options.synchronous {
            {
                let mut q = self.shared.lock();
                if q.closed {
                    drop(q);
                    return self.shared.refuse(&job);
                }
                q.running += 1;
            }
            let result = self.shared.execute(&job);
            self.shared.lock().running -= 1;
            self.shared.changed.notify_all();
            return Submitted::Ran(result);
        }
        let mut q = self.shared.lock();
        if q.closed {
            drop(q);
            return self.shared.refuse(&job);
        }
        if q.jobs.len() >= self.shared.options.queue_capacity {
            drop(q);
            c.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                hook = %job.kind,
                subject = %job.subject,
                capacity = self.shared.options.queue_capacity,
                "hook queue full; hook not run"
            );
            return Submitted::Dropped;
        }
        q.jobs.push_back(job);
        drop(q);
        // All: `shutdown` waits on the same condition variable as the workers.
        self.shared.changed.notify_all();
        Submitted::Queued
    }

    /// Counters and gauges.
    pub fn stats(&self) -> HookStats {
        let c = &self.shared.counters;
        let (queue_depth, running) = {
            let q = self.shared.lock();
            (q.jobs.len() as u64, q.running)
        };
        HookStats {
            submitted: c.submitted.load(Ordering::Relaxed),
            succeeded: c.succeeded.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            signalled: c.signalled.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
            spawn_failed: c.spawn_failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            not_run: c.not_run.load(Ordering::Relaxed),
            interrupted: c.interrupted.load(Ordering::Relaxed),
            queue_depth,
            running,
        }
    }

    /// Refuses new jobs, runs the queued ones, and waits for the running ones — at most
    /// `deadline`; then kills what still runs and gives up what is still queued (see the type's
    /// docs). Returns what was left undone by this call. Safe to call more than once.
    pub fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let until = Instant::now() + deadline;
        let mut q = self.shared.lock();
        q.closed = true;
        self.shared.changed.notify_all();
        while (!q.jobs.is_empty() || q.running > 0) && Instant::now() < until {
            let wait = until.saturating_duration_since(Instant::now());
            q = match self.shared.changed.wait_timeout(q, wait) {
                Ok((q, _)) => q,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        let leftover: Vec<HookJob> = q.jobs.drain(..).collect();
        let running = q.running;
        drop(q);
        for job in &leftover {
            self.shared.counters.not_run.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                hook = %job.kind,
                subject = %job.subject,
                "shutdown deadline passed; hook not run"
            );
        }
        let interrupted_before = self.shared.counters.interrupted.load(Ordering::Relaxed);
        if running > 0 {
            self.shared.interrupt.store(true, Ordering::Relaxed);
        }
        let handles: Vec<JoinHandle<()>> = match self.workers.lock() {
            Ok(mut w) => w.drain(..).collect(),
            Err(poisoned) => poisoned.into_inner().drain(..).collect(),
        };
        for handle in handles {
            let _ = handle.join();
        }
        ShutdownReport {
            not_run: leftover.len() as u64,
            interrupted: self.shared.counters.interrupted.load(Ordering::Relaxed)
                - interrupted_before,
        }
    }
}

impl Drop for HookRunner {
    fn drop(&mut self) {
        // Without an explicit shutdown, give queued hooks no extra time.
        self.shutdown(Duration::ZERO);
    }
}

impl std::fmt::Debug for HookRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookRunner")
            .field("options", &self.shared.options)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        match self.queue.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn refuse(&self, job: &HookJob) -> Submitted {
        self.counters.not_run.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            hook = %job.kind,
            subject = %job.subject,
            "hook runner shut down; hook not run"
        );
        Submitted::Refused
    }

    /// Runs one job to its end, logs and counts how it ended.
    fn execute(&self, job: &HookJob) -> HookResult {
        let o = &self.options;
        let run = process::run(&job.argv, o.timeout, o.kill_grace, &self.interrupt);
        let output = String::from_utf8_lossy(&run.output);
        let output = output.trim_end();
        let program = job.argv.first().map_or("", String::as_str);
        let elapsed_ms = u64::try_from(run.elapsed.as_millis()).unwrap_or(u64::MAX);
        let c = &self.counters;
        match run.ending {
            Ending::Exited(status) if status.success() => {
                c.succeeded.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(hook = %job.kind, subject = %job.subject, program, elapsed_ms, output, "hook succeeded");
                HookResult::Succeeded
            }
            Ending::Exited(status) => {
                let how = process::describe(&status);
                tracing::warn!(hook = %job.kind, subject = %job.subject, program, elapsed_ms, status = %how, output, "hook failed");
                match status.code() {
                    Some(code) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        HookResult::Failed(code)
                    }
                    None => {
                        c.signalled.fetch_add(1, Ordering::Relaxed);
                        HookResult::Signalled(
                            std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0),
                        )
                    }
                }
            }
            Ending::TimedOut => {
                c.timed_out.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(hook = %job.kind, subject = %job.subject, program, elapsed_ms, output, "hook ran past the timeout; its process group was killed");
                HookResult::TimedOut
            }
            Ending::Interrupted => {
                c.interrupted.fetch_add(1, Ordering::Relaxed);
                tracing::error!(hook = %job.kind, subject = %job.subject, program, elapsed_ms, "shutdown deadline passed; running hook killed");
                HookResult::Interrupted
            }
            Ending::SpawnFailed(error) => {
                c.spawn_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(hook = %job.kind, subject = %job.subject, program, %error, "cannot start hook");
                HookResult::SpawnFailed
            }
        }
    }
}

/// Lowers the calling (worker) thread's priority by `niceness` and, if `idle`, puts it in the
/// idle scheduling class; the hooks it starts inherit both.
fn lower_priority(niceness: i32, idle: bool) {
    if niceness == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        let tid = rustix::thread::gettid();
        let current = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
        let wanted = (current + niceness).min(19);
        if idle {
            // Sets the nice value too (to its own idea of the lowest); ours is set after it.
            if let Err(error) = set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Min,
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
            ) {
                tracing::debug!(
                    ?error,
                    "cannot put a hook worker in the idle scheduling class"
                );
            }
        }
        if let Err(error) = rustix::process::setpriority_process(Some(tid), wanted) {
            tracing::debug!(%error, "cannot lower the priority of a hook worker");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = idle;
}

fn worker(shared: &Shared) {
    lower_priority(shared.options.niceness, shared.options.idle_priority);
    loop {
        let job = {
            let mut q = shared.lock();
            loop {
                if let Some(job) = q.jobs.pop_front() {
                    q.running += 1;
                    break job;
                }
                if q.closed {
                    return;
                }
                q = match shared.changed.wait(q) {
                    Ok(q) => q,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
        };
        shared.execute(&job);
        shared.lock().running -= 1;
        shared.changed.notify_all();
    }
}
