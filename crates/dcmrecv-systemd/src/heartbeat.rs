//! [`Heartbeat`]: how the accept loop proves it is alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A timestamp the acceptor's accept loop refreshes on every turn; the
/// [`Supervisor`](crate::Supervisor) pings systemd's watchdog only while it is fresh.
///
/// A thread that pinged on a timer alone would keep a receiver whose accept loop is stuck
/// (deadlocked, blocked on a full disk, wedged in a syscall) "healthy" for ever. Tying the
/// ping to the loop means systemd restarts the service when the loop stops turning. The loop
/// must therefore turn even when no peer connects: the acceptor waits for connections with a
/// timeout (a second, say) shorter than the heartbeat's allowed age.
///
/// [`beat`](Self::beat) is one clock read and one relaxed atomic store.
///
/// ```
/// use std::time::Duration;
/// use dcmrecv_systemd::Heartbeat;
///
/// let heartbeat = Heartbeat::new();
/// heartbeat.beat(); // in the accept loop
/// assert!(heartbeat.age() < Duration::from_secs(1));
/// ```
#[derive(Debug, Clone)]
pub struct Heartbeat {
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    origin: Instant,
    /// Milliseconds from `origin` to the last beat.
    last_ms: AtomicU64,
}

impl Heartbeat {
    /// A heartbeat that has just beaten.
    pub fn new() -> Heartbeat {
        Heartbeat {
            state: Arc::new(State {
                origin: Instant::now(),
                last_ms: AtomicU64::new(0),
            }),
        }
    }

    /// Records that the loop is alive now.
    pub fn beat(&self) {
        self.state
            .last_ms
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }

    /// Time since the last beat (millisecond resolution).
    pub fn age(&self) -> Duration {
        let last = self.state.last_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.elapsed_ms().saturating_sub(last))
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.state.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat::new()
    }
}
