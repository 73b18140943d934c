//! DCMTK's command-line conventions, for Rust tools that must accept a DCMTK tool's command
//! line unchanged (DCMTK's `OFCommandLine` and `OFConsoleApplication`).
//!
//! - Options are rows of a `const` table ([`option_table!`], [`Layout`]): the lexer, clap, the
//!   `--help` text and the man page all read the same rows.
//! - `-x` and `+x` are different options, short options have several letters (`-od`, `+ssd`),
//!   and an option's values are taken from the following arguments unconditionally (`-xf f.cfg
//!   11112` swallows the port); `-5` is a parameter, `--5` an unknown option.
//! - `@file` arguments are replaced by the file's tokens (DCMTK's quoting rules) before
//!   anything else is parsed.
//! - Every occurrence is kept in order, so a program evaluates DCMTK's "rightmost wins" blocks
//!   ([`Arguments::winner`], [`Block`]) and conflict checks in DCMTK's order.
//! - Numbers are parsed as DCMTK's `sscanf` does (`011188` is 11188, `1e3` is 1), and every
//!   error message is DCMTK's, word for word ([`Error`], [`ValueError`]).
//!
//! The crate never prints and installs nothing: it returns texts ([`CommandLine::help_text`],
//! [`CommandLine::error_text`], [`CommandLine::man_page`]) and errors; the program decides where
//! they go and which exit code follows (DCMTK: 0 for `--help`, 1 for a bad command line).
//!
//! # Example
//!
//! ```
//! use dcmrecv_cmdline::{CommandLine, Layout, Parameter};
//!
//! dcmrecv_cmdline::option_table! {
//!     /// The options of a small receiver.
//!     enum Opt;
//!     /// `-h`.
//!     Help = Some("-h"), "--help", 0, ["print this help text and exit"];
//!     /// `-B`.
//!     Normal = Some("-B"), "--normal", 0, ["allow implicit format conversions (default)"];
//!     /// `+B`.
//!     BitPreserving = Some("+B"), "--bit-preserving", 0, ["write dataset exactly as received"];
//! }
//!
//! const RECEIVER: CommandLine = CommandLine::new("recv", "recv 1.0", "A small receiver")
//!     .parameters(&[Parameter::new("port", &["tcp/ip port number to listen on"])])
//!     .layout(&[
//!         Layout::Group("general options:"),
//!         Layout::Option(Opt::Help.spec()),
//!         Layout::Subgroup("storage mode:"),
//!         Layout::Option(Opt::Normal.spec()),
//!         Layout::Option(Opt::BitPreserving.spec()),
//!     ]);
//!
//! let args = RECEIVER.parse(["recv", "+B", "-B", "104"].map(Into::into))?.unwrap();
//! if !args.has(Opt::Help) {
//!     RECEIVER.check_parameters(&args)?;
//! }
//! // Rightmost wins: `-B` stands right of `+B`.
//! let mode = args.winner(&[Opt::Normal, Opt::BitPreserving]);
//! assert!(mode.is_some_and(|o| o.is(Opt::Normal)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - [`CommandLine`]: a program's name, header, parameters and table; `parse`,
//!   `check_parameters`, `help_text`, `error_text`, `man_page`.
//! - [`option_table!`], [`OptionSpec`], [`OptionId`]: option rows and the enums naming them; a
//!   library that contributes options (logging, TLS) exports its own enum and [`Layout`] slice.
//! - [`Arguments`], [`Occurrence`], [`Block`]: what was parsed, queried DCMTK's way.
//! - [`ManPage`], [`ManSection`]: the rest of a manual page.

mod arguments;
mod command_file;
mod command_line;
mod error;
mod help;
pub mod layout;
mod lexer;
mod man;
mod number;
mod spec;
#[cfg(test)]
mod test_table;

pub use arguments::{Arguments, Block, Occurrence};
pub use command_line::CommandLine;
pub use error::Error;
pub use layout::{Layout, Parameter};
pub use man::{ManPage, ManSection};
pub use number::ValueError;
pub use spec::{OptionId, OptionSpec};

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
