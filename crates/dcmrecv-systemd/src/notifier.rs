//! [`Notifier`]: the sd_notify(3) messages, through the `sd-notify` crate.

use std::env;
use std::io;
use std::time::Duration;

use sd_notify::NotifyState;
use snafu::{ResultExt, Snafu};

/// A notification could not be sent. Never fatal: log it and go on.
#[derive(Debug, Snafu)]
#[snafu(display("cannot send {state} to the service manager"))]
pub struct Error {
    /// The message, e.g. `READY=1`.
    state: &'static str,
    source: io::Error,
}

/// Sends state changes to the service manager over `$NOTIFY_SOCKET`.
///
/// Outside systemd (no `NOTIFY_SOCKET`) every call does nothing and succeeds, so the program
/// calls it unconditionally. With `Type=notify`, systemd considers the service started at
/// [`ready`](Self::ready), and stopping at [`stopping`](Self::stopping).
///
/// ```
/// use dcmrecv_systemd::Notifier;
///
/// let notifier = Notifier::from_env();
/// // ... bind the DICOM port ...
/// notifier.ready()?;
/// notifier.status("listening on port 11112, 0 associations")?;
/// // ... on SIGTERM:
/// notifier.stopping()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Notifier {
    enabled: bool,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, and `WATCHDOG_USEC`/`WATCHDOG_PID` (the watchdog is on only when
    /// `WATCHDOG_PID` is unset or is this process).
    pub fn from_env() -> Notifier {
        let enabled = env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty());
        Notifier {
            enabled,
            watchdog: sd_notify::watchdog_enabled().filter(|_| enabled),
        }
    }

    /// A notifier that sends nothing (the program does not run under systemd).
    pub fn disabled() -> Notifier {
        Notifier {
            enabled: false,
            watchdog: None,
        }
    }

    /// Whether messages go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The watchdog timeout (`WatchdogSec=`), when systemd asked for pings.
    pub fn watchdog_timeout(&self) -> Option<Duration> {
        self.watchdog
    }

    /// `READY=1`: the DICOM port is bound and associations are accepted.
    pub fn ready(&self) -> Result<(), Error> {
        self.send(&[NotifyState::Ready], "READY=1")
    }

    /// `STOPPING=1`: shutting down (sent when a stop signal arrives, before draining).
    pub fn stopping(&self) -> Result<(), Error> {
        self.send(&[NotifyState::Stopping], "STOPPING=1")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (SIGHUP is re-reading the configuration); send
    /// [`ready`](Self::ready) when done.
    pub fn reloading(&self) -> Result<(), Error> {
        if !self.enabled {
            return Ok(());
        }
        let now = NotifyState::monotonic_usec_now().context(Snafu {
            state: "RELOADING=1",
        })?;
        self.send(&[NotifyState::Reloading, now], "RELOADING=1")
    }

    /// `WATCHDOG=1`: the service is alive. [`Supervisor`](crate::Supervisor) sends it only
    /// while the heartbeat is fresh.
    pub fn watchdog(&self) -> Result<(), Error> {
        self.send(&[NotifyState::Watchdog], "WATCHDOG=1")
    }

    /// `STATUS=<text>`, shown by `systemctl status`. Line breaks become spaces (a newline
    /// would start another assignment).
    pub fn status(&self, text: &str) -> Result<(), Error> {
        if !self.enabled {
            return Ok(());
        }
        let line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.send(&[NotifyState::Status(&line)], "STATUS=")
    }

    fn send(&self, states: &[NotifyState<'_>], name: &'static str) -> Result<(), Error> {
        if !self.enabled {
            return Ok(());
        }
        sd_notify::notify(states).context(Snafu { state: name })
    }
}
