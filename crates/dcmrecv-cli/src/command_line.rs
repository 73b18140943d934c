//! `dcmrecv`'s command line on `dcmrecv-cmdline`: our table ([`options`]) with the logging and
//! TLS rows of their crates, the exclusive options (`--help`, `--version`, `+cc`), and the texts
//! we print (help, version, cipher list, error block, man page).
//!
//! Parsing follows step 1 and 2 of DCMTK's start-up: expand command files, lex the DCMTK
//! spellings, let clap parse the result, then handle the exclusive options before the parameter
//! count is checked. What the options *mean* is evaluated later, in DCMTK's order, by
//! `dcmrecv_logging::LogSettings::from_args` and [`crate::config::Config::from_args`].

mod options;

use std::ffi::OsString;

use dcmrecv_cmdline::{Arguments, CommandLine, Error, ManPage, ManSection, Parameter};
use dcmrecv_tls::TlsOpt;

pub use options::Opt;

/// The first line of every text we print. DCMTK prints `$dcmtk: dcmrecv v3.6.7 2022-04-22 $`
/// here; we say what we are instead (a deliberate difference), and which DCMTK we follow.
pub const HEADER: &str = concat!(
    "dcmrecv-rs ",
    env!("CARGO_PKG_VERSION"),
    " (compatible with DCMTK dcmrecv 3.6.7)"
);

/// The command line: DCMTK's one-line description, the `port` parameter, the option table.
pub const COMMAND_LINE: CommandLine =
    CommandLine::new("dcmrecv", HEADER, "Simple DICOM storage SCP (receiver)")
        .parameters(&[Parameter::new("port", &["tcp/ip port number to listen on"])])
        .layout(options::HELP_LAYOUT);

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// No arguments at all: print the usage (the help text) to stdout and exit 0.
    Usage,
    /// `-h`/`--help`: print the help text to stdout and exit 0.
    Help,
    /// `--version`: print the version text to stdout and exit 0.
    Version,
    /// `+cc`/`--list-ciphers`: print the supported TLS cipher suites to stdout and exit 0.
    ListCiphers,
    /// `--print-man-page` (hidden): print the manual page to stdout and exit 0.
    ManPage,
    /// Run with these arguments (still to be validated).
    Run(Arguments),
}

/// Parses the process arguments, `argv[0]` first.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, Error> {
    let Some(args) = COMMAND_LINE.parse(args)? else {
        return Ok(Parsed::Usage);
    };
    // Exclusive options win over the parameter count (`dcmrecv 1 2 -h` prints the help).
    if args.has(Opt::Help) {
        return Ok(Parsed::Help);
    }
    if args.has(Opt::Version) {
        return Ok(Parsed::Version);
    }
    if args.has(TlsOpt::ListCiphers) {
        return Ok(Parsed::ListCiphers);
    }
    if args.has(Opt::PrintManPage) {
        return Ok(Parsed::ManPage);
    }
    COMMAND_LINE.check_parameters(&args)?;
    Ok(Parsed::Run(args))
}

/// The start of the `--version` and `+cc` texts: header, title and platform, as DCMTK lays them
/// out.
fn about() -> String {
    format!(
        "{HEADER}\n\n{}\n\nHost type: {}-{}\nTLS support: {}\n",
        COMMAND_LINE.title(),
        std::env::consts::ARCH,
        std::env::consts::OS,
        dcmrecv_tls::LIBRARY
    )
}

/// The `--version` text, to stdout.
pub fn version_text() -> String {
    about()
}

/// The `+cc`/`--list-ciphers` text, to stdout: DCMTK's layout, with the suites we can
/// negotiate.
pub fn cipher_list_text() -> String {
    format!("{}\n{}", about(), dcmrecv_tls::cipher_list_text())
}

/// The manual page: the option table, and what `--help` does not say.
const MAN_PAGE: ManPage = ManPage::new("dcmrecv-rs", "1", HEADER)
    .description(&[
        "dcmrecv-rs is a DICOM Storage SCP (receiver), a drop-in replacement for DCMTK's dcmrecv: \
         the same options, file names, directory layout, statuses, exit codes and log lines. It \
         serves associations concurrently, streams each object to a temporary file and publishes \
         it under its final name only when it is complete.",
        "Without -xf or +xa only Verification (C-ECHO) is accepted, as with DCMTK. +xa accepts \
         every storage SOP class with every transfer syntax; -xf FILE PROFILE reads an asconfig \
         profile, such as those in /etc/dcmrecv-rs/dcmrecv.cfg.",
    ])
    .sections(&[
        ManSection::new(
            "EXIT STATUS",
            &[
                "0\tsuccess, or --help, --version, --list-ciphers",
                "1\tcommand line syntax or semantics",
                "45\tthe output directory does not exist or is not writable",
                "64\tcannot listen on the port",
                "66\tthe association negotiation profile cannot be loaded",
                "71\tthe TLS transport layer cannot be created",
            ],
        ),
        ManSection::new(
            "FILES",
            &[
                "/etc/dcmrecv-rs/dcmrecv.cfg\tthe shipped asconfig profiles (Default, \
               AllImagesAndWaveforms, AllOtherObjects)",
            ],
        ),
        ManSection::new(
            "NOTES",
            &[
                "The Debian package installs the program as dcmrecv-rs, so that it does not \
               replace DCMTK's /usr/bin/dcmrecv; the two can be installed side by side.",
            ],
        ),
        ManSection::new(
            "SEE ALSO",
            &["dcmrecv(1), storescp(1), storescu(1), dcmsend(1)"],
        ),
    ]);

/// The `--print-man-page` text, to stdout.
pub fn man_page() -> String {
    COMMAND_LINE.man_page(&MAN_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_help_lines_fit_80_columns() {
        // DCMTK's own lines are kept as DCMTK prints them (a few have 81 columns).
        let help = COMMAND_LINE.help_text();
        let ours = help.split("dcmrecv-rs extensions").nth(1).unwrap();
        for line in ours.lines() {
            assert!(line.chars().count() <= 80, "too long: {line:?}");
        }
    }

    #[test]
    fn exclusive_options_win_over_the_parameter_count() {
        let parsed = |args: &[&str]| {
            let all = std::iter::once("dcmrecv").chain(args.iter().copied());
            format!("{:?}", parse(all.map(OsString::from)))
        };
        assert_eq!(parsed(&["+cc", "1", "2"]), "Ok(ListCiphers)");
        assert_eq!(parsed(&["+cc", "--version"]), "Ok(Version)");
        assert_eq!(parsed(&["+cc", "-h"]), "Ok(Help)");
        assert_eq!(parsed(&["--print-man-page"]), "Ok(ManPage)");
        assert!(parsed(&["1", "2"]).contains("TooManyParameters"));
    }

    #[test]
    fn the_man_page_has_every_visible_option() {
        let page = man_page();
        for spec in COMMAND_LINE.options().filter(|s| !s.is_hidden()) {
            assert!(
                page.contains(&spec.long().replace('-', "\\-")),
                "{}",
                spec.long()
            );
        }
        assert!(!page.contains("print\\-config"));
    }
}
