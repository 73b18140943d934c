//! [`Supervisor`]: the thread that pings the watchdog and keeps `STATUS=` current.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use snafu::{ResultExt, Snafu};
use tracing::{info, warn};

use crate::heartbeat::Heartbeat;
use crate::notifier::Notifier;

/// The shortest wait between two turns, whatever `WATCHDOG_USEC` says.
const MIN_TICK: Duration = Duration::from_millis(10);

/// The supervisor thread could not be started.
#[derive(Debug, Snafu)]
#[snafu(display("cannot start the systemd supervisor thread"))]
pub struct Error {
    source: std::io::Error,
}

/// Options for [`Supervisor::spawn`].
///
/// ```
/// use std::time::Duration;
/// use dcmrecv_systemd::SupervisorOptions;
///
/// let options = SupervisorOptions::new()
///     .status_interval(Duration::from_secs(2))
///     .max_beat_age(Duration::from_secs(10));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    status_interval: Duration,
    max_beat_age: Option<Duration>,
    beat_period: Duration,
}

impl SupervisorOptions {
    /// Status every 5 s (when it changed); heartbeat allowed to be half the watchdog timeout old.
    pub fn new() -> Self {
        SupervisorOptions {
            status_interval: Duration::from_secs(5),
            max_beat_age: None,
            beat_period: Duration::ZERO,
        }
    }

    /// How often the status text is asked for (it is sent only when it changed).
    pub fn status_interval(mut self, interval: Duration) -> Self {
        self.status_interval = interval;
        self
    }

    /// How old the heartbeat may be for a watchdog ping to be sent (by default half the
    /// watchdog timeout, or two [`beat_period`](Self::beat_period)s when that is longer). The
    /// accept loop must beat more often than this.
    pub fn max_beat_age(mut self, age: Duration) -> Self {
        self.max_beat_age = Some(age);
        self
    }
}

impl SupervisorOptions {
    /// The longest the heartbeat's source goes between two beats when all is well (e.g. an
    /// accept loop that wakes at least once a second). The default allowed age is then never
    /// below two periods, so a watchdog timeout shorter than that does not skip pings.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dcmrecv_systemd::SupervisorOptions;
    ///
    /// let options = SupervisorOptions::new().beat_period(Duration::from_secs(1));
    /// # let _ = options;
    /// ```
    pub fn beat_period(mut self, period: Duration) -> Self {
        self.beat_period = period;
        self
    }
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        SupervisorOptions::new()
    }
}

/// Sends `STATUS=` when the status text changes and, when systemd set a watchdog
/// (`WatchdogSec=`), `WATCHDOG=1` every half timeout *while the heartbeat is fresh*. When the
/// heartbeat goes stale the pings stop (with one warning), and systemd kills and restarts the
/// service when the timeout runs out (`Restart=on-failure` or `on-watchdog`).
///
/// Without `NOTIFY_SOCKET` no thread is started. Stop it (or drop it) before sending
/// `STOPPING=1`, so no ping follows.
///
/// ```no_run
/// use dcmrecv_systemd::{Heartbeat, Notifier, Supervisor, SupervisorOptions};
///
/// let notifier = Notifier::from_env();
/// let heartbeat = Heartbeat::new(); // beaten by the accept loop
/// notifier.ready()?;
/// let supervisor = Supervisor::spawn(
///     notifier.clone(),
///     heartbeat.clone(),
///     || "3 associations active".to_string(),
///     SupervisorOptions::new(),
/// )?;
/// // ... serve until SIGTERM ...
/// supervisor.stop();
/// notifier.stopping()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Supervisor {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Starts the thread (none when `notifier` is disabled). `status` is called on that thread
    /// every status interval.
    pub fn spawn(
        notifier: Notifier,
        heartbeat: Heartbeat,
        status: impl FnMut() -> String + Send + 'static,
        options: SupervisorOptions,
    ) -> Result<Supervisor, Error> {
        if !notifier.is_enabled() {
            return Ok(Supervisor {
                stop: None,
                thread: None,
            });
        }
        let (stop, stopped) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("dcmrecv-systemd".to_string())
            .spawn(move || run(notifier, heartbeat, status, options, stopped))
            .context(Snafu)?;
        Ok(Supervisor {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it; no message is sent after this returns.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

fn run(
    notifier: Notifier,
    heartbeat: Heartbeat,
    mut status: impl FnMut() -> String,
    options: SupervisorOptions,
    stopped: mpsc::Receiver<()>,
) {
    let watchdog = notifier.watchdog_timeout();
    let ping_every = watchdog.map(|timeout| timeout / 2);
    let max_beat_age = options
        .max_beat_age
        .or(ping_every.map(|p| p.max(options.beat_period * 2)))
        .unwrap_or(Duration::MAX);
    let tick = ping_every
        .map_or(options.status_interval, |p| p.min(options.status_interval))
        .max(MIN_TICK);
    let mut last_status: Option<String> = None;
    let mut last_status_at: Option<Instant> = None;
    let mut stale = false;
    loop {
        if last_status_at.is_none_or(|at| at.elapsed() >= options.status_interval) {
            let text = status();
            if last_status.as_deref() != Some(text.as_str()) {
                if let Err(e) = notifier.status(&text) {
                    warn!("{}", snafu::Report::from_error(e));
                }
                last_status = Some(text);
            }
            last_status_at = Some(Instant::now());
        }
        if watchdog.is_some() {
            let age = heartbeat.age();
            if age <= max_beat_age {
                if stale {
                    info!("the accept loop is turning again; watchdog pings resumed");
                    stale = false;
                }
                if let Err(e) = notifier.watchdog() {
                    warn!("{}", snafu::Report::from_error(e));
                }
            } else if !stale {
                warn!(
                    age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
                    "the accept loop has not turned for {age:?}; no more watchdog pings, so systemd will restart the service"
                );
                stale = true;
            }
        }
        match stopped.recv_timeout(tick) {
            Err(RecvTimeoutError::Timeout) => continue,
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}
