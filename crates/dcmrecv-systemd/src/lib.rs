//! systemd integration of dcmrecv-rs: readiness and status notifications, a watchdog that
//! pings only while the accept loop is alive, and socket activation.
//!
//! # Example
//!
//! ```no_run
//! use dcmrecv_systemd::{Heartbeat, Notifier, Supervisor, SupervisorOptions};
//!
//! // First thing in main, before any thread starts:
//! let listener = match dcmrecv_systemd::listener_from_env()? {
//!     Some(listener) => listener,
//!     None => std::net::TcpListener::bind("0.0.0.0:11112")?,
//! };
//! let notifier = Notifier::from_env();
//! let heartbeat = Heartbeat::new(); // the accept loop calls heartbeat.beat() every turn
//! notifier.ready()?;
//! let supervisor = Supervisor::spawn(
//!     notifier.clone(),
//!     heartbeat.clone(),
//!     || "2 associations active, 1520 objects stored".to_string(),
//!     SupervisorOptions::new(),
//! )?;
//! // ... serve `listener` until SIGTERM ...
//! supervisor.stop();
//! notifier.stopping()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - **Notifications** ([`Notifier`]) through the `sd-notify` crate: `READY=1`, `STOPPING=1`,
//!   `RELOADING=1`, `STATUS=`, `WATCHDOG=1`. Outside systemd they do nothing.
//! - **A watchdog with a liveness proof** ([`Supervisor`], [`Heartbeat`]): `WATCHDOG=1` every
//!   half `WatchdogSec=`, but only while the accept loop's heartbeat is fresh; a stuck loop
//!   stops the pings and systemd restarts the service.
//! - **Socket activation** ([`listener_from_env`]): the `dcmrecv.socket` unit binds the port
//!   (port 104 needs no capability then) and the service takes it as fd 3. No `unsafe` here:
//!   `listenfd` converts the checked descriptor.
//!
//! Linux only in practice: it speaks systemd's protocols.
#![warn(missing_docs)]

mod activation;
mod heartbeat;
mod notifier;
mod supervisor;

pub use activation::{Error as ActivationError, listener_from_env};
pub use heartbeat::Heartbeat;
pub use notifier::{Error as NotifyError, Notifier};
pub use supervisor::{Error as SupervisorError, Supervisor, SupervisorOptions};

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
