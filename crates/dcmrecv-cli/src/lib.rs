//! The command line of dcmrecv-rs: every option of DCMTK 3.6.7's `dcmrecv` with DCMTK's
//! spellings, rightmost-wins groups and messages, our extensions (marked "not in DCMTK" in the
//! help), parsed by `dcmrecv-cmdline` and validated, in DCMTK's order, into a [`Config`] of
//! plain values. Parse, then validate, then run: the binary (`dcmrecv`) starts nothing before a
//! [`Config`] exists, and every option can be tested here without a network or a file system.
//!
//! # Example
//!
//! ```
//! use dcmrecv_cli::{Config, Parsed, parse};
//!
//! let Parsed::Run(args) = parse(["dcmrecv", "+fsu", "-od", ".", "11112"].map(Into::into))? else {
//!     unreachable!("not --help or --version");
//! };
//! let log = dcmrecv_logging::LogSettings::from_args(&args, "dcmrecv")?;
//! let config = Config::from_args(&args, log, true)?;
//! assert_eq!(config.port, 11112);
//! assert_eq!(config.naming, dcmrecv_storage_policy::Naming::ShortUnique);
//!
//! // `--help` is the option table rendered as DCMTK renders it; the man page reads the same table.
//! assert!(dcmrecv_cli::COMMAND_LINE.help_text().contains("--output-directory"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where an option goes
//!
//! A new option is a row in [`Opt`] (`command_line/options.rs`), a line in its help layout, and
//! its meaning in [`Config::from_args`] (`config.rs`). The logging and TLS rows are
//! `dcmrecv-logging`'s and `dcmrecv-tls`'s, included in the layout.

mod command_line;
mod config;
mod operations;
mod pipeline;

pub use command_line::{
    COMMAND_LINE, HEADER, Opt, Parsed, cipher_list_text, man_page, parse, version_text,
};
pub use config::{AeTitle, Config, Error, OutputDirectory, ProfileSource};
pub use operations::Operations;
pub use pipeline::{DEFAULT_EXEC_TIMEOUT, DEFAULT_EXEC_WORKERS, Pipeline, PipelineError};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
