//! dcmrecv-rs: a drop-in replacement for DCMTK 3.6.7's `dcmrecv` storage SCP.
//!
//! Start-up follows DCMTK's sequence (spec §1.4): parse the command line (`@file` included),
//! handle `--help`/`--version`, set up logging, then validate everything else into a
//! [`config::Config`] before anything touches the network. Each failing phase has DCMTK's exit
//! code ([`exit_codes`]).

mod cli;
mod config;
mod exit_codes;
mod logging;
mod profile;
mod run;
mod sink;
mod tls_layer;

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Opt, Parsed};
use crate::config::Config;
use crate::exit_codes::Phase;
use crate::logging::LogSettings;

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args_os()) {
        Ok(Parsed::Usage | Parsed::Help) => return print_stdout(&cli::help_text()),
        Ok(Parsed::Version) => return print_stdout(&cli::version_text()),
        Ok(Parsed::ListCiphers) => return print_stdout(&cli::cipher_list_text()),
        Ok(Parsed::Run(args)) => args,
        Err(e) => return fail(&e),
    };
    let log = match LogSettings::from_args(&args) {
        Ok(log) => log,
        Err(e) => return fail(&e),
    };
    let logging = logging::init(&log);
    if args.has(Opt::Arguments) {
        logging::log_arguments(&args);
    }
    let config = match Config::from_args(&args, log, logging.info_enabled()) {
        Ok(config) => config,
        // DCMTK's quiet mode hides semantic errors; the exit code stays.
        Err(_) if logging.quiet() => return Phase::Cli.into(),
        Err(e) => return fail(&e),
    };
    tracing::debug!("{}", cli::HEADER);
    tracing::debug!("");
    tracing::debug!("configuration: {config:?}");
    if args.has(Opt::PrintConfig) {
        return print_stdout(&format!("{config:#?}\n"));
    }
    match run::run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(phase) => phase.into(),
    }
}

/// Writes a text the user asked for to stdout; a closed pipe is not an error.
fn print_stdout(text: &str) -> ExitCode {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Prints a command-line error as DCMTK does (on stderr, after the header) and returns exit
/// code 1.
fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    let text = cli::error_text(&error.to_string());
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    Phase::Cli.into()
}
