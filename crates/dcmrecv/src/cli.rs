//! DCMTK command-line compatibility: `@file` expansion, DCMTK's option spellings, clap, and the
//! exclusive options (`--help`, `--version`, `+cc`).
//!
//! Parsing follows step 1 and 2 of DCMTK's start-up (spec §1.4): expand command files, lex the
//! DCMTK spellings ([`lexer`]), let clap parse the result ([`lowargs`]), then handle the exclusive
//! options before the parameter count is checked. What the options *mean* is evaluated later, in
//! DCMTK's order, by [`crate::logging::LogSettings::from_args`] and
//! [`crate::config::Config::from_args`].

mod command_file;
mod help;
mod lexer;
mod lowargs;
pub(crate) mod number;
pub(crate) mod options;

use std::ffi::OsString;

use snafu::Snafu;

pub(crate) use help::{HEADER, cipher_list_text, error_text, help_text, version_text};
pub(crate) use lowargs::{LowArgs, Occurrence};
pub(crate) use options::Opt;

/// A command-line syntax error (exit code 1), always printed, even with `--quiet`.
///
/// The messages are DCMTK's, word for word (they start with a capital letter, unlike our other
/// messages), so that scripts and people who know DCMTK recognise them.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub(crate) enum Error {
    /// A command file (`@path`) could not be read.
    #[snafu(display("Cannot open command file '{path}'"))]
    ReadCommandFile {
        /// The path after the `@`.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// An argument that looks like an option is not one.
    #[snafu(display("Unknown option {option}"))]
    UnknownOption {
        /// The argument as given.
        option: String,
    },
    /// The command line ended before an option's values.
    #[snafu(display("Missing value for option {option}"))]
    MissingValue {
        /// The option's long spelling.
        option: &'static str,
    },
    /// No `port` parameter.
    #[snafu(display("Missing parameter port"))]
    MissingParameter,
    /// More than one parameter.
    #[snafu(display("Too many parameters"))]
    TooManyParameters,
    /// clap refused the lexer's token stream; this indicates a bug in the lexer or the table.
    #[snafu(display("{message}"))]
    ClapRejected {
        /// clap's message.
        message: String,
    },
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// No arguments at all: print the usage (the help text) to stdout and exit 0.
    Usage,
    /// `-h`/`--help`: print the help text to stdout and exit 0.
    Help,
    /// `--version`: print the version text to stdout and exit 0.
    Version,
    /// `+cc`/`--list-ciphers`: print the supported TLS cipher suites to stdout and exit 0.
    ListCiphers,
    /// Run with these arguments (still to be validated).
    Run(LowArgs),
}

/// Parses the process arguments, `argv[0]` first.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, Error> {
    let mut args = args.into_iter();
    let program = args.next().unwrap_or_else(|| OsString::from("dcmrecv"));
    // DCMTK looks at the command line after `@file` expansion: an empty command file alone
    // also prints the usage.
    let args = command_file::expand(args.collect())?;
    if args.is_empty() {
        return Ok(Parsed::Usage);
    }
    let tokens = lexer::lex(args)?;
    let low = LowArgs::parse(
        program,
        lexer::long_form(&tokens),
        lexer::clap_args(&tokens),
    )?;
    // Exclusive options win over the parameter count (`dcmrecv 1 2 -h` prints the help).
    if low.has(Opt::Help) {
        return Ok(Parsed::Help);
    }
    if low.has(Opt::Version) {
        return Ok(Parsed::Version);
    }
    if low.has(Opt::ListCiphers) {
        return Ok(Parsed::ListCiphers);
    }
    match low.params.len() {
        0 => Err(Error::MissingParameter),
        1 => Ok(Parsed::Run(low)),
        _ => Err(Error::TooManyParameters),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<String, String> {
        let mut all = vec![OsString::from("dcmrecv")];
        all.extend(args.iter().map(OsString::from));
        match parse(all) {
            Ok(Parsed::Run(_)) => Ok("run".into()),
            Ok(other) => Ok(format!("{other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn syntax_errors_use_dcmtk_messages() {
        assert_eq!(
            parsed(&["--foo", "11112"]),
            Err("Unknown option --foo".into())
        );
        assert_eq!(parsed(&["--"]), Err("Unknown option --".into()));
        assert_eq!(
            parsed(&["-od"]),
            Err("Missing value for option --output-directory".into())
        );
        assert_eq!(
            parsed(&["-xf", "a"]),
            Err("Missing value for option --config-file".into())
        );
        assert_eq!(
            parsed(&["+tls", "a"]),
            Err("Missing value for option --enable-tls".into())
        );
        assert_eq!(
            parsed(&["-xf", "f.cfg", "11112"]),
            Err("Missing parameter port".into())
        );
        assert_eq!(parsed(&["-v"]), Err("Missing parameter port".into()));
        assert_eq!(parsed(&["1", "2"]), Err("Too many parameters".into()));
        assert_eq!(parsed(&["@", "0"]), Err("Too many parameters".into()));
        assert_eq!(
            parsed(&["1", "2", "--foo"]),
            Err("Unknown option --foo".into())
        );
        assert_eq!(
            parsed(&["1", "2", "-od"]),
            Err("Missing value for option --output-directory".into())
        );
    }

    #[test]
    fn exclusive_options_win_over_parameters_but_not_over_syntax() {
        assert_eq!(parsed(&[]), Ok("Usage".into()));
        assert_eq!(parsed(&["1", "2", "-h"]), Ok("Help".into()));
        assert_eq!(parsed(&["--version", "1", "2"]), Ok("Version".into()));
        assert_eq!(parsed(&["--version", "-h"]), Ok("Help".into()));
        assert_eq!(parsed(&["-h", "--foo"]), Err("Unknown option --foo".into()));
        assert_eq!(
            parsed(&["--version", "--foo"]),
            Err("Unknown option --foo".into())
        );
        assert_eq!(
            parsed(&["-h", "-od"]),
            Err("Missing value for option --output-directory".into())
        );
        assert_eq!(parsed(&["+cc"]), Ok("ListCiphers".into()));
        assert_eq!(parsed(&["+cc", "1", "2"]), Ok("ListCiphers".into()));
        assert_eq!(parsed(&["+cc", "--version"]), Ok("Version".into()));
        assert_eq!(parsed(&["+cc", "-h"]), Ok("Help".into()));
        assert_eq!(parsed(&["104"]), Ok("run".into()));
    }
}
