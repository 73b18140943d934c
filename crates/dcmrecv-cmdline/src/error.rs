//! Command-line syntax errors, with DCMTK's messages.

use snafu::Snafu;

/// A command-line syntax error (DCMTK's exit code 1), always printed, even with `--quiet`.
///
/// The messages are DCMTK's (`OFCommandLine`), word for word; they start with a capital letter,
/// unlike the messages of our other crates, so that scripts and people who know DCMTK
/// recognise them.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
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
    /// A parameter is missing.
    #[snafu(display("Missing parameter {name}"))]
    MissingParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// More parameters than the program takes.
    #[snafu(display("Too many parameters"))]
    TooManyParameters,
    /// clap refused the lexer's token stream; this indicates a bug in the lexer or the table.
    #[snafu(display("{message}"))]
    ClapRejected {
        /// clap's message.
        message: String,
    },
}
