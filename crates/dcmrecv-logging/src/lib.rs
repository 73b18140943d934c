//! DCMTK's logging for Rust tools, on `tracing`: the verbosity options of DCMTK's `OFLog`
//! (`-q`, `-v`, `-d`, `-ll`, `-lc`) with DCMTK's rules and messages, DCMTK's console lines
//! (`I: message`), log4cplus property files and `PatternLayout` patterns for `-lc`, and JSON
//! lines (`--log-format json`, not in DCMTK).
//!
//! Libraries emit ordinary `tracing` events whose message is DCMTK's log text; a program
//! evaluates the options ([`LogSettings::from_args`]) and installs the one subscriber
//! ([`init`]). The default output is DCMTK's console layout `%P: %m%n` on stderr: one
//! upper-case level letter (`F E W I D T`), a colon, a space and the message; no timestamps,
//! targets, fields or spans, which appear only in JSON lines.
//!
//! Levels (DCMTK → tracing): default WARN; `-v` INFO; `-d` DEBUG; `-ll` any of `fatal`,
//! `error`, `warn`, `info`, `debug`, `trace` (also log4cplus's `off` and `all`); `-q` fatal
//! only. tracing has no FATAL level: a fatal event is an `error!` with target [`FATAL_TARGET`]
//! (the [`fatal!`] macro), printed as `F:`. Events with target [`FORCED_TARGET`] are printed
//! whatever the level (DCMTK's forced log, used by `--arguments`). `RUST_LOG`, when set,
//! replaces the level the command line chose.
//!
//! # Example
//!
//! ```
//! use dcmrecv_cmdline::{CommandLine, Layout};
//! use dcmrecv_logging::{LogLevel, LogSettings};
//!
//! const TOOL: CommandLine = CommandLine::new("tool", "tool 1.0", "A DCMTK-style tool")
//!     .layout(&[Layout::Group("general options:"), Layout::Include(dcmrecv_logging::HELP_LAYOUT)]);
//!
//! let args = TOOL.parse(["tool", "-v"].map(Into::into))?.unwrap();
//! let settings = LogSettings::from_args(&args, "tool")?;
//! assert_eq!(settings.level(), LogLevel::Info);
//! let logging = dcmrecv_logging::init(&settings); // once, in main
//! assert!(logging.info_enabled() && !logging.quiet());
//! tracing::info!("Association Received localhost: STORESCU -> ANY-SCP"); // "I: Association..."
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - [`LogOpt`], [`HELP_LAYOUT`]: the options' rows for the program's option table.
//! - [`LogSettings`]: the options evaluated in DCMTK's order, with DCMTK's conflict messages
//!   ([`Error`]); `-lc` files are read here.
//! - [`init`], [`Logging`]: the subscriber, and whether INFO and ERROR are shown (DCMTK's `+v`
//!   check and quiet mode).
//! - `-lc`: the root logger's level and appenders (console, file, rolling files written as
//!   plain files, null), `Threshold`, `SimpleLayout` and `PatternLayout` with `%m %n %p %P %c
//!   %i %h %F %b %L %l %M %t %r %d %D` and their padding; `${...}` substitution. What does not
//!   map (per-logger levels, filters...) is logged as a warning once logging is up.
//! - [`log_arguments`]: DCMTK's `--arguments` lines.

mod level;
mod log_config;
mod options;
mod pattern;
mod subscriber;

pub use level::{FATAL_TARGET, FORCED_TARGET, LogLevel};
pub use options::{Error, HELP_LAYOUT, LogFormat, LogOpt, LogSettings};
pub use subscriber::{Logging, init, log_arguments};

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
