//! dcmrecv-rs: a drop-in replacement for DCMTK 3.6.7's `dcmrecv` storage SCP.
//!
//! Start-up follows DCMTK's sequence (`dcmrecv.cc`): parse the command line (`@file`
//! included), handle `--help`/`--version`, set up logging, then validate everything else into a
//! [`Config`] before anything touches the network. Each failing phase has DCMTK's exit
//! code ([`exit_codes`]). The option table and its validation are `dcmrecv-cli` (on the
//! `dcmrecv-cmdline` engine, with the rows of `dcmrecv-logging` and `dcmrecv-tls`); this binary
//! holds the start-up sequence, the exit codes and the adapters that compose the libraries.

mod exit_codes;
mod operations;
mod password;
mod pipeline;
mod profile;
mod run;
mod sink;

use std::io::Write;
use std::process::ExitCode;

use dcmrecv_logging::LogSettings;

use crate::exit_codes::Phase;
use dcmrecv_cli::{COMMAND_LINE, Config, Opt, Parsed};

fn main() -> ExitCode {
    // Socket activation, before any thread exists (it removes LISTEN_FDS/LISTEN_PID from the
    // environment); reported once logging is set up.
    let inherited = dcmrecv_systemd::listener_from_env();
    let args = match dcmrecv_cli::parse(std::env::args_os()) {
        Ok(Parsed::Usage | Parsed::Help) => return print_stdout(&COMMAND_LINE.help_text()),
        Ok(Parsed::Version) => return print_stdout(&dcmrecv_cli::version_text()),
        Ok(Parsed::ListCiphers) => return print_stdout(&dcmrecv_cli::cipher_list_text()),
        Ok(Parsed::ManPage) => return print_stdout(&dcmrecv_cli::man_page()),
        Ok(Parsed::Run(args)) => args,
        Err(e) => return fail(&e),
    };
    let log = match LogSettings::from_args(&args, "dcmrecv") {
        Ok(log) => log,
        Err(e) => return fail(&e),
    };
    let logging = dcmrecv_logging::init(&log);
    if args.has(Opt::Arguments) {
        dcmrecv_logging::log_arguments(&args);
    }
    let config = match Config::from_args(&args, log, logging.info_enabled()) {
        Ok(config) => config,
        // DCMTK's quiet mode hides semantic errors; the exit code stays.
        Err(_) if logging.quiet() => return Phase::Cli.into(),
        Err(e) => return fail(&e),
    };
    tracing::debug!("{}", dcmrecv_cli::HEADER);
    tracing::debug!("");
    tracing::debug!("configuration: {config:?}");
    if args.has(Opt::PrintConfig) {
        return print_stdout(&format!("{config:#?}\n"));
    }
    let inherited = match inherited {
        Ok(listener) => listener,
        Err(e) => {
            dcmrecv_logging::fatal!(
                "cannot use the socket passed by systemd: {}",
                snafu::Report::from_error(e)
            );
            return Phase::Listen.into();
        }
    };
    match run::run(&config, inherited) {
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
    let text = COMMAND_LINE.error_text(&error.to_string());
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    Phase::Cli.into()
}
