//! The process exit codes, all in one place (fd's `exit_codes.rs`).
//!
//! The codes are DCMTK 3.6.7 `dcmrecv`'s, so scripts written for DCMTK keep working:
//!
//! | code | phase | DCMTK name |
//! |---|---|---|
//! | 0 | success, `--help`, `--version`, no arguments | `EXITCODE_NO_ERROR` |
//! | 1 | [`Phase::Cli`] | `EXITCODE_COMMANDLINE_SYNTAX_ERROR` |
//! | 66 | [`Phase::LoadProfile`] | `EXITCODE_INVALID_ASSOCIATION_CONFIG` |
//! | 45 | [`Phase::OutputDirectory`] | `EXITCODE_INVALID_OUTPUT_DIRECTORY` |
//! | 71 | [`Phase::TransportLayer`] | (DCMTK's TLS layer creation failure) |
//! | 64 | [`Phase::Listen`] | `EXITCODE_CANNOT_START_SCP_AND_LISTEN` |
//! | 128+n | killed by signal n | – |
//!
//! DCMTK checks the phases in the order of the table (1 > 66 > 45 > 71 > 64): the first failing
//! phase decides the code. Codes 20, 40 and 60 are defined by DCMTK but never produced.

use std::process::ExitCode;

/// The start-up phase that failed; each has one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Command-line syntax or semantics, including `@file` and logging options.
    Cli,
    /// Loading the association negotiation profile (`-xf`).
    LoadProfile,
    /// The output directory is missing, not a directory or not writable.
    OutputDirectory,
    /// The TLS transport layer could not be created (key or certificate not loadable...).
    TransportLayer,
    /// Binding or listening on the port failed.
    Listen,
}

impl Phase {
    /// DCMTK's exit code for a failure in this phase.
    pub(crate) const fn exit_code(self) -> u8 {
        match self {
            Phase::Cli => 1,
            Phase::LoadProfile => 66,
            Phase::OutputDirectory => 45,
            Phase::TransportLayer => 71,
            Phase::Listen => 64,
        }
    }
}

impl From<Phase> for ExitCode {
    fn from(phase: Phase) -> ExitCode {
        ExitCode::from(phase.exit_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dcmtks() {
        let table = [
            (Phase::Cli, 1),
            (Phase::LoadProfile, 66),
            (Phase::OutputDirectory, 45),
            (Phase::TransportLayer, 71),
            (Phase::Listen, 64),
        ];
        for (phase, code) in table {
            assert_eq!(phase.exit_code(), code, "{phase:?}");
        }
    }
}
