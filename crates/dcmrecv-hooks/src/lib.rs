//! Run a command for every received DICOM object and every completed study, with storescp's
//! option syntax and placeholders — and without a shell, ever.
//!
//! storescp (DCMTK 3.6.7) substitutes `#p #f #a #c #r` into the command string and hands the
//! result to `/bin/sh -c`, so a value holding `;`, `$(...)` or quotes runs commands
//! (CVE-2026-5663). Here the command string is split into words once, at start-up
//! ([`CommandTemplate::parse`]; the rules are below),
//! each placeholder is substituted inside one word, and the program is started directly with
//! [`std::process::Command`]. Whatever a value holds reaches the program as one literal
//! argument.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use dcmrecv_hooks::{CommandTemplate, HookJob, HookKind, HookOptions, HookRunner, Values};
//!
//! let dir = tempfile::tempdir()?;
//! let marker = dir.path().join("pwned");
//! let template = CommandTemplate::parse("/bin/echo received #f from #a", HookKind::Reception)?;
//! let argv = template.expand(&Values {
//!     file_name: Some(format!("CT.1;touch {}", marker.display())),
//!     calling_ae: Some("$(reboot)".into()),
//!     ..Values::default()
//! });
//! let runner = HookRunner::start(HookOptions::new().workers(2).timeout(Some(Duration::from_secs(10))));
//! runner.submit(HookJob::new(HookKind::Reception, argv, "CT.1"));
//! let report = runner.shutdown(Duration::from_secs(10)); // queued hooks still run
//! assert_eq!((report.not_run, runner.stats().succeeded), (0, 1));
//! assert!(!marker.exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - **Templates** ([`CommandTemplate`]): POSIX-like words and quotes, storescp's placeholders,
//!   start-up errors for anything that would need a shell.
//! - **A runner** ([`HookRunner`]): asynchronous on a fixed pool with a bounded queue, or
//!   synchronous on the caller's thread (`--exec-sync`); timeouts that kill the hook's whole
//!   process group; counters and queue depth for metrics ([`HookStats`]); a shutdown that runs
//!   what was queued, within a deadline.
//! - **Event-driven hooks** ([`EventHooks`]): an [`EventSink`](dcmrecv_events::EventSink) that
//!   runs the reception hook per stored instance and the end-of-study hook per completed study.
//!
//! # Quoting rules
//!
//! The command string is split like a POSIX shell splits words, and nothing else a shell does
//! happens (the `shlex` crate does the splitting):
//!
//! - spaces, tabs and newlines separate words;
//! - `'...'` keeps everything inside literally;
//! - `"..."` keeps everything inside, except that `\"`, `\\`, `` \` `` and `\$` stand for the
//!   character and a backslash before a newline removes both;
//! - outside quotes, `\x` stands for `x`;
//! - `#` at the start of a word begins a comment to the end of the line, as in sh (and so as
//!   in storescp) — unless it starts a placeholder;
//! - an unterminated quote or a trailing backslash is an error.
//!
//! There is no expansion of variables, commands, `~` or globs, and there are no operators.
//! Because a command written for storescp's `/bin/sh -c` would silently mean something else,
//! what a shell would act on is refused at start-up, with a message: `;`, `|`, `&`, `<`, `>`,
//! `(`, `)` or a newline between words, unquoted, and `$` or `` ` `` outside single quotes. To
//! use a shell, write one and pass the values as its positional arguments:
//! `sh -c 'gzip -k "$1"' hook #p/#f`. A placeholder inside the script of `sh -c` (or bash, dash,
//! zsh, ksh, mksh, ash) is refused, since the shell would parse the value. A placeholder may
//! not be part of the program name.
//!
//! # Placeholders
//!
//! storescp 3.6.7's, anywhere in a word, quoted or not: `#p` the directory of the stored file
//! (end of study: the study's directory), `#f` the file name (reception only; in an
//! end-of-study command `#f` is text, as in storescp), `#a` the calling AE title, `#c` the
//! called AE title, `#r` the remote host. Differences from storescp: `#a` and `#c` come without
//! the double quotes storescp wraps them in (its shell removed them, except inside single
//! quotes); a value is never scanned for further placeholders; a placeholder with no value
//! (`#p`, `#f` when nothing was written) is passed as its own text.
//!
//! # What a hook gets
//!
//! Its own process group; standard input from `/dev/null`; standard output and error read by
//! the runner (the last 4 KiB are logged when the hook fails, at `debug` when it succeeds), so
//! a hook never writes into the receiver's own output (`--events -`); the receiver's
//! environment and working directory; on the pool, a lower scheduling priority than reception
//! ([`HookOptions::niceness`], and on Linux the idle class, [`HookOptions::idle_priority`]).

#![warn(missing_docs)]

mod event_hooks;
mod process;
mod runner;
mod template;

pub use crate::event_hooks::{EventHooks, WrongKind};
pub use crate::runner::{
    DEFAULT_NICENESS, HookJob, HookOptions, HookResult, HookRunner, HookStats, ShutdownReport,
    Submitted,
};
pub use crate::template::{CommandTemplate, Error as TemplateError, HookKind, Placeholder, Values};

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
