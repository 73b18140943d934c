//! The study watch: a [`StudyTracker`] behind a lock, fed with events, with a timer thread
//! that completes idle studies on time and hands each [`StudyComplete`] on.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::event::{Event, StudyComplete};
use crate::sink::EventSink;
use crate::tracker::{StudyTracker, TrackerOptions, TrackerStats};

/// Runs a [`StudyTracker`] for a live receiver: feed it every event (it is an [`EventSink`]);
/// it emits an [`Event::StudyComplete`] to its downstream sink whenever a study completes,
/// from the association thread that ended it or from its own timer thread (idle timeout).
///
/// It ignores the `StudyComplete` events it receives, so it can sit in the same
/// [`FanOut`](crate::FanOut) as its own downstream sinks.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// use dcmrecv_events::{Event, StudyWatch, TrackerOptions, from_fn};
///
/// let completed = Arc::new(Mutex::new(Vec::new()));
/// let downstream = {
///     let completed = Arc::clone(&completed);
///     from_fn(move |event: &Event| {
///         if let Event::StudyComplete(done) = event {
///             completed.lock().expect("not poisoned").push(done.study_instance_uid.clone());
///         }
///     })
/// };
/// let watch = StudyWatch::start(
///     TrackerOptions::new().idle_timeout(Some(Duration::from_secs(30))),
///     Arc::new(downstream),
/// );
/// // ... feed `watch.event(&e)` with the receiver's events ...
/// watch.shutdown(); // completes what is still open
/// assert!(completed.lock().expect("not poisoned").is_empty());
/// ```
pub struct StudyWatch {
    shared: Arc<Shared>,
    timer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    downstream: Arc<dyn EventSink>,
}

struct State {
    tracker: StudyTracker,
    stopping: bool,
}

impl StudyWatch {
    /// Starts the watch (and, with an idle timeout, its timer thread).
    pub fn start(options: TrackerOptions, downstream: Arc<dyn EventSink>) -> StudyWatch {
        let with_timer = options.get_idle_timeout().is_some();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                tracker: StudyTracker::new(options),
                stopping: false,
            }),
            wake: Condvar::new(),
            downstream,
        });
        let timer = with_timer.then(|| {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("study-watch".into())
                .spawn(move || timer_loop(&shared))
        });
        let timer = match timer {
            Some(Ok(handle)) => Some(handle),
            Some(Err(error)) => {
                tracing::error!(%error, "cannot start the end-of-study timer thread; idle studies complete only at the next event");
                None
            }
            None => None,
        };
        StudyWatch {
            shared,
            timer: Mutex::new(timer),
        }
    }

    /// Counters and gauges of the tracker.
    pub fn stats(&self) -> TrackerStats {
        self.shared.lock().tracker.stats()
    }

    /// Completes every open study (reason `shutdown`), emits them, and stops the timer thread.
    /// Later events are ignored. Safe to call more than once.
    pub fn shutdown(&self) {
        let done = {
            let mut state = self.shared.lock();
            state.stopping = true;
            state.tracker.finish_all(Instant::now())
        };
        self.shared.wake.notify_all();
        self.shared.emit(done);
        let handle = match self.timer.lock() {
            Ok(mut timer) => timer.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for StudyWatch {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for StudyWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StudyWatch")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl EventSink for StudyWatch {
    fn event(&self, event: &Event) {
        let now = Instant::now();
        let done = {
            let mut state = self.shared.lock();
            if state.stopping {
                return;
            }
            let done = match event {
                Event::InstanceStored(stored) => state.tracker.instance_stored(stored, now),
                Event::AssociationEnded(ended) => state.tracker.association_ended(ended, now),
                _ => return,
            };
            // A new object may have moved the next deadline earlier than the timer's.
            self.shared.wake.notify_all();
            done
        };
        self.shared.emit(done);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Hands completions on, outside the lock (a slow sink must not block the tracker).
    fn emit(&self, done: Vec<StudyComplete>) {
        for study in done {
            tracing::info!(
                study = %study.study_instance_uid,
                revision = study.revision,
                objects = study.objects,
                reason = study.reason.as_str(),
                "study complete"
            );
            self.downstream.event(&Event::StudyComplete(study));
        }
    }
}

fn timer_loop(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.stopping {
            return;
        }
        let now = Instant::now();
        let done = state.tracker.poll(now);
        if !done.is_empty() {
            drop(state);
            shared.emit(done);
            state = shared.lock();
            continue;
        }
        state = match state.tracker.next_deadline() {
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(now);
                match shared.wake.wait_timeout(state, wait) {
                    Ok((state, _)) => state,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
            None => match shared.wake.wait(state) {
                Ok(state) => state,
                Err(poisoned) => poisoned.into_inner(),
            },
        };
    }
}
