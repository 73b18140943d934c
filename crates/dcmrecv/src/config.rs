//! The validated configuration ("high-level arguments", as in ripgrep's `hiargs.rs`): every
//! option evaluated, in DCMTK's order, into plain values. Parse, then validate, then run: a bad
//! combination fails here, with DCMTK's message, before anything binds a port.
//!
//! The order of evaluation is DCMTK 3.6.7's (`dcmrecv.cc`), because it decides which error a
//! command line with several problems reports: `+v`; the network options; the output options;
//! the `port` parameter; the TLS options ([`tls`]); then our extensions. The enums are our own;
//! the composition maps them onto the library crates.

mod tls;

use std::ffi::{OsStr, OsString};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use snafu::Snafu;

use crate::cli::number::{self, Refusal};
use crate::cli::{LowArgs, Occurrence, Opt};
use crate::logging::LogSettings;

pub(crate) use tls::{
    CrlMode, KeyFormat, KeyPassword, PeerCertificate, TlsIdentity, TlsProfile, TlsSettings,
};

/// A semantic command-line error (exit code 1). Not printed under `-q`, as in DCMTK.
///
/// The messages are DCMTK's, word for word where DCMTK has the error (they start with a capital
/// letter, unlike our other messages); our extensions' errors use the same shapes.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub(crate) enum Error {
    /// `+v` without INFO enabled.
    #[snafu(display("--verbose-pc only allowed with verbose mode"))]
    VerbosePcWithoutVerbose,
    /// An option value that is not acceptable at all (not a number, negative, not an address...).
    #[snafu(display("Invalid value for option {option}{}", in_parentheses(value)))]
    InvalidValue {
        /// The option's long spelling.
        option: &'static str,
        /// The value given.
        value: String,
    },
    /// A number below the option's minimum.
    #[snafu(display("Invalid value for option {option} (underflow: {value})"))]
    ValueUnderflow {
        /// The option's long spelling.
        option: &'static str,
        /// The value given.
        value: String,
    },
    /// A number above the option's maximum.
    #[snafu(display("Invalid value for option {option} (overflow: {value})"))]
    ValueOverflow {
        /// The option's long spelling.
        option: &'static str,
        /// The value given.
        value: String,
    },
    /// The port is not a number.
    #[snafu(display("Invalid parameter value {value}"))]
    InvalidPort {
        /// The parameter given.
        value: String,
    },
    /// The port is 0.
    #[snafu(display("Invalid parameter value {value} (underflow)"))]
    PortUnderflow {
        /// The parameter given.
        value: String,
    },
    /// The port is above 65535.
    #[snafu(display("Invalid parameter value {value} (overflow)"))]
    PortOverflow {
        /// The parameter given.
        value: String,
    },
    /// A TLS option without `+tls`.
    #[snafu(display("{option} only allowed with --enable-tls"))]
    TlsOptionWithoutTls {
        /// The option as DCMTK names it (`+pa` is `--profile-basic` in this message).
        option: &'static str,
    },
    /// `+ws`/`+wf` without `+rs`.
    #[snafu(display("{option} only allowed with --seed"))]
    WriteSeedWithoutSeed {
        /// The option's long spelling.
        option: &'static str,
    },
    /// `+cs` with `+pz`.
    #[snafu(display("--cipher not allowed with --profile-bcp195-ex"))]
    CipherWithBcp195Extended,
    /// A TLS option that rustls cannot honour (not in DCMTK: it accepts them).
    #[snafu(display("{option} is not supported by dcmrecv-rs ({reason})"))]
    UnsupportedTlsOption {
        /// The option's long spelling.
        option: &'static str,
        /// Why rustls cannot do it.
        reason: &'static str,
    },
}

fn in_parentheses(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(" ({value})")
    }
}

/// Where the association negotiation profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProfileSource {
    /// No `-xf`: Verification with Implicit VR Little Endian only (DCMTK's default).
    VerificationOnly,
    /// `-xf FILE PROFILE`.
    File {
        /// The asconfig file.
        path: PathBuf,
        /// The profile's name, as given (DCMTK matches it ignoring case and blanks).
        name: String,
    },
    /// `+xa` (not in DCMTK): Verification and every storage SOP class with every transfer syntax.
    AcceptAll,
}

/// The AE title we respond with (`-aet`/`-uca`); it has no effect on the wire in DCMTK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AeTitle {
    /// `-aet` (default `DCMRECV`).
    Fixed(String),
    /// `-uca`: respond with the called AE title.
    UseCalled,
}

/// The output directory (`-od`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputDirectory {
    /// As given (default `.`).
    pub(crate) given: PathBuf,
    /// DCMTK's normalised form, used to build and log file paths: trailing separators removed
    /// (a leading one is kept), empty → `.`.
    pub(crate) normalised: PathBuf,
}

/// Sub-directory generation (`-s`/`+ssd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubdirectoryScheme {
    /// `-s` (default): files go directly into the output directory.
    None,
    /// `+ssd`: `data/YYYY/MM/DD` from Series Date, else `undef/YYYYMMDD`.
    SeriesDate,
}

/// File naming (`+fd`/`+fu`/`+fsu`/`+fst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamingScheme {
    /// `+fd` (default): `<prefix>.<SOP Instance UID>`.
    SopInstanceUid,
    /// `+fu`: `<prefix>.X.<new UID>`.
    UniqueUid,
    /// `+fsu`: `<prefix>_<16 hex digits>`.
    ShortUnique,
    /// `+fst`: `<YYYYMMDDhhmmss>.<ffffff>.<prefix>`.
    SystemTime,
}

/// Storage mode (`-B`/`+B`/`--ignore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StorageMode {
    /// `-B` (default).
    Normal,
    /// `+B`: the received bytes, unchanged.
    BitPreserving,
    /// `--ignore`: receive, answer success, store nothing.
    Ignore,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    /// The TCP port (1..=65535).
    pub(crate) port: u16,
    /// The address to listen on (`-ba`, not in DCMTK; default all IPv4 interfaces, as DCMTK).
    pub(crate) bind_address: IpAddr,
    /// The logging options.
    pub(crate) log: LogSettings,
    /// `--arguments`.
    pub(crate) print_arguments: bool,
    /// `+v`: presentation context dumps at INFO instead of DEBUG.
    pub(crate) verbose_pc: bool,
    /// `-xf`/`+xa`.
    pub(crate) profile: ProfileSource,
    /// `-aet`/`-uca`.
    pub(crate) ae_title: AeTitle,
    /// `-ta` (default 30 s).
    pub(crate) acse_timeout: Duration,
    /// `-td` (default unlimited).
    pub(crate) dimse_timeout: Option<Duration>,
    /// `-pdu` (4096..=131072, default 16384).
    pub(crate) max_pdu: u32,
    /// `false` with `-dhl`: log peers' IP addresses instead of reverse-resolved names.
    pub(crate) host_lookup: bool,
    /// `-od`.
    pub(crate) output_directory: OutputDirectory,
    /// `-s`/`+ssd`.
    pub(crate) subdirectories: SubdirectoryScheme,
    /// `+fd`/`+fu`/`+fsu`/`+fst`.
    pub(crate) naming: NamingScheme,
    /// `-fe`, appended verbatim to generated file names.
    pub(crate) extension: OsString,
    /// `-B`/`+B`/`--ignore`.
    pub(crate) storage_mode: StorageMode,
    /// `+fs`/`-fs` (not in DCMTK): fsync each file (and its directory) before success.
    pub(crate) fsync: bool,
    /// The TLS options.
    pub(crate) tls: TlsSettings,
    /// `--max-associations` (not in DCMTK; default 64).
    pub(crate) max_associations: usize,
    /// `--max-pending` (not in DCMTK; default 512): connections held before their request.
    pub(crate) max_pending: usize,
    /// `--max-pending-per-ip` (not in DCMTK; default 32).
    pub(crate) max_pending_per_address: usize,
    /// `--pending-timeout` (not in DCMTK; default 10 s).
    pub(crate) pending_timeout: Duration,
    /// `--allow-calling` (not in DCMTK): accepted calling AE titles; empty accepts any.
    pub(crate) allowed_calling: Vec<String>,
    /// `--allow-called` (not in DCMTK): accepted called AE titles; empty accepts any.
    pub(crate) allowed_called: Vec<String>,
    /// `--shutdown-timeout` (not in DCMTK; default 10 s): how long SIGTERM/SIGINT wait for
    /// running associations.
    pub(crate) shutdown_timeout: Duration,
}

/// DCMTK's default AE title.
const DEFAULT_AE_TITLE: &str = "DCMRECV";

impl Config {
    /// Evaluates the options after logging is set up (DCMTK's step 3), in DCMTK's order.
    /// `info_enabled` says whether the installed logging shows INFO events (`+v` needs it).
    pub(crate) fn from_args(
        args: &LowArgs,
        log: LogSettings,
        info_enabled: bool,
    ) -> Result<Config, Error> {
        if args.has(Opt::VerbosePc) && !info_enabled {
            return Err(Error::VerbosePcWithoutVerbose);
        }

        // Network options.
        let profile = match winner(args, &[Opt::ConfigFile, Opt::AcceptAll]) {
            None => ProfileSource::VerificationOnly,
            Some(o) if o.opt == Opt::AcceptAll => ProfileSource::AcceptAll,
            Some(o) => ProfileSource::File {
                path: PathBuf::from(o.value(0)),
                name: o.text(1).into_owned(),
            },
        };
        let ae_title = match winner(args, &[Opt::AeTitle, Opt::UseCalledAeTitle]) {
            Some(o) if o.opt == Opt::AeTitle => AeTitle::Fixed(o.text(0).into_owned()),
            Some(_) => AeTitle::UseCalled,
            None => AeTitle::Fixed(DEFAULT_AE_TITLE.into()),
        };
        let acse_timeout = match args.last(Opt::AcseTimeout) {
            Some(o) => Duration::from_secs(option_number(o, 1, None)?),
            None => Duration::from_secs(30),
        };
        let dimse_timeout = match args.last(Opt::DimseTimeout) {
            Some(o) => Some(Duration::from_secs(option_number(o, 1, None)?)),
            None => None,
        };
        let max_pdu = match args.last(Opt::MaxPdu) {
            Some(o) => u32::try_from(option_number(o, 4096, Some(131_072))?).unwrap_or(131_072),
            None => 16384,
        };
        let host_lookup = !args.has(Opt::DisableHostLookup);

        // Output options.
        let given = args
            .last(Opt::OutputDirectory)
            .map_or_else(|| OsString::from("."), |o| o.value(0).to_os_string());
        let output_directory = OutputDirectory {
            normalised: normalise_directory(&given),
            given: PathBuf::from(given),
        };
        let subdirectories = match winner(args, &[Opt::NoSubdir, Opt::SeriesDateSubdir]) {
            Some(o) if o.opt == Opt::SeriesDateSubdir => SubdirectoryScheme::SeriesDate,
            _ => SubdirectoryScheme::None,
        };
        let naming = match winner(
            args,
            &[
                Opt::DefaultFilenames,
                Opt::UniqueFilenames,
                Opt::ShortUniqueNames,
                Opt::SystemTimeNames,
            ],
        )
        .map(|o| o.opt)
        {
            Some(Opt::UniqueFilenames) => NamingScheme::UniqueUid,
            Some(Opt::ShortUniqueNames) => NamingScheme::ShortUnique,
            Some(Opt::SystemTimeNames) => NamingScheme::SystemTime,
            _ => NamingScheme::SopInstanceUid,
        };
        let extension = args
            .last(Opt::FilenameExtension)
            .map_or_else(OsString::new, |o| o.value(0).to_os_string());
        let storage_mode = storage_mode(args, subdirectories);

        // The parameter.
        let port = port(args)?;

        let tls = tls::from_args(args)?;

        // Our extensions.
        let bind_address = match args.last(Opt::BindAddress) {
            Some(o) => o.text(0).parse().map_err(|_| invalid(o))?,
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let max_associations = match args.last(Opt::MaxAssociations) {
            Some(o) => usize::try_from(option_number(o, 1, Some(65535))?).unwrap_or(65535),
            None => 64,
        };
        let max_pending = match args.last(Opt::MaxPending) {
            Some(o) => usize::try_from(option_number(o, 1, Some(65535))?).unwrap_or(65535),
            None => 512,
        };
        let max_pending_per_address = match args.last(Opt::MaxPendingPerAddress) {
            Some(o) => usize::try_from(option_number(o, 1, Some(65535))?).unwrap_or(65535),
            None => 32,
        };
        let pending_timeout = match args.last(Opt::PendingTimeout) {
            Some(o) => Duration::from_secs(option_number(o, 1, None)?),
            None => Duration::from_secs(10),
        };
        let allowed_calling = ae_titles(args, Opt::AllowCalling)?;
        let allowed_called = ae_titles(args, Opt::AllowCalled)?;
        let shutdown_timeout = match args.last(Opt::ShutdownTimeout) {
            Some(o) => Duration::from_secs(option_number(o, 0, None)?),
            None => Duration::from_secs(10),
        };
        let fsync = winner(args, &[Opt::Fsync, Opt::NoFsync]).is_some_and(|o| o.opt == Opt::Fsync);

        Ok(Config {
            port,
            bind_address,
            log,
            print_arguments: args.has(Opt::Arguments),
            verbose_pc: args.has(Opt::VerbosePc),
            profile,
            ae_title,
            acse_timeout,
            dimse_timeout,
            max_pdu,
            host_lookup,
            output_directory,
            subdirectories,
            naming,
            extension,
            storage_mode,
            fsync,
            tls,
            max_associations,
            max_pending,
            max_pending_per_address,
            pending_timeout,
            allowed_calling,
            allowed_called,
            shutdown_timeout,
        })
    }
}

/// The effective member of a block whose members have no side effects: the rightmost one.
fn winner<'a>(args: &'a LowArgs, members: &[Opt]) -> Option<&'a Occurrence> {
    let mut block = args.block();
    members.iter().fold(None, |won, &m| block.find(m).or(won))
}

/// The storage block, evaluated as DCMTK does.
///
/// DCMTK refuses `+B` with `+ssd` (`--bit-preserving not allowed with --series-date-subdir`)
/// whenever its block evaluation reaches `+B`, i.e. `+ssd` is in effect and a `+B` stands right
/// of the last `-B`, even if `--ignore` wins (spec §1.3). We deliberately accept the
/// combination: our storage writes to a temporary file and names it when it is complete, so the
/// Series Date is known in time. The rule's place is kept here and noted at DEBUG.
fn storage_mode(args: &LowArgs, subdirectories: SubdirectoryScheme) -> StorageMode {
    let mut block = args.block();
    let mut mode = StorageMode::Normal;
    if block.find(Opt::Normal).is_some() {
        mode = StorageMode::Normal;
    }
    if block.find(Opt::BitPreserving).is_some() {
        if subdirectories == SubdirectoryScheme::SeriesDate {
            tracing::debug!(
                "--bit-preserving with --series-date-subdir: DCMTK refuses this combination, \
                 dcmrecv-rs supports it (files are named once they are complete)"
            );
        }
        mode = StorageMode::BitPreserving;
    }
    if block.find(Opt::Ignore).is_some() {
        mode = StorageMode::Ignore;
    }
    mode
}

/// The `port` parameter, with DCMTK's lenient parsing and messages.
fn port(args: &LowArgs) -> Result<u16, Error> {
    let raw = args
        .params
        .first()
        .map(OsString::as_os_str)
        .unwrap_or_default();
    let value = raw.to_string_lossy().into_owned();
    number::port_value(&value).map_err(|refusal| match refusal {
        Refusal::Invalid => Error::InvalidPort { value },
        Refusal::Underflow => Error::PortUnderflow { value },
        Refusal::Overflow => Error::PortOverflow { value },
    })
}

/// An option's integer value, with DCMTK's lenient parsing and messages.
fn option_number(occurrence: &Occurrence, min: u64, max: Option<u64>) -> Result<u64, Error> {
    let value = occurrence.text(0).into_owned();
    let option = occurrence.opt.long();
    number::option_value(&value, min, max).map_err(|refusal| match refusal {
        Refusal::Invalid => Error::InvalidValue { option, value },
        Refusal::Underflow => Error::ValueUnderflow { option, value },
        Refusal::Overflow => Error::ValueOverflow { option, value },
    })
}

fn invalid(occurrence: &Occurrence) -> Error {
    Error::InvalidValue {
        option: occurrence.opt.long(),
        value: occurrence.text(0).into_owned(),
    }
}

/// The AE titles of a repeatable allow-list option: 1 to 16 characters of the default
/// repertoire without backslash (PS3.5 AE); surrounding spaces are not significant.
fn ae_titles(args: &LowArgs, opt: Opt) -> Result<Vec<String>, Error> {
    args.all(opt)
        .map(|o| {
            let text = o.text(0);
            let title = text.trim_matches(' ');
            let valid = !title.is_empty()
                && title.len() <= 16
                && title
                    .bytes()
                    .all(|b| (0x20..0x7f).contains(&b) && b != b'\\');
            if valid {
                Ok(title.to_owned())
            } else {
                Err(invalid(o))
            }
        })
        .collect()
}

/// DCMTK's `OFStandard::normalizeDirName`: trailing separators are removed unless the path is
/// only a separator; an empty path becomes `.`.
fn normalise_directory(given: &OsStr) -> PathBuf {
    let trimmed = trim_trailing_separators(given);
    if trimmed.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(trimmed)
    }
}

#[cfg(unix)]
fn trim_trailing_separators(path: &OsStr) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = path.as_bytes();
    while bytes.len() > 1 {
        match bytes.split_last() {
            Some((b'/', rest)) => bytes = rest,
            _ => break,
        }
    }
    OsStr::from_bytes(bytes).to_os_string()
}

#[cfg(not(unix))]
fn trim_trailing_separators(path: &OsStr) -> OsString {
    let Some(text) = path.to_str() else {
        return path.to_os_string();
    };
    let mut trimmed = text;
    while trimmed.chars().count() > 1 {
        match trimmed.strip_suffix(['/', '\\']) {
            Some(rest) => trimmed = rest,
            None => break,
        }
    }
    OsString::from(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Parsed, parse};
    use crate::logging::LogSettings;

    fn config(args: &[&str]) -> Result<Config, String> {
        let mut all = vec![OsString::from("dcmrecv")];
        all.extend(args.iter().map(OsString::from));
        let low = match parse(all) {
            Ok(Parsed::Run(low)) => low,
            other => panic!("{args:?}: {other:?}"),
        };
        let log = LogSettings::from_args(&low).map_err(|e| e.to_string())?;
        let info_enabled = log.level >= crate::logging::LogLevel::Info;
        Config::from_args(&low, log, info_enabled).map_err(|e| e.to_string())
    }

    fn ok(args: &[&str]) -> Config {
        config(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn err(args: &[&str]) -> String {
        match config(args) {
            Ok(c) => panic!("{args:?} was accepted: {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_are_dcmtks() {
        let c = ok(&["104"]);
        assert_eq!(c.port, 104);
        assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(c.profile, ProfileSource::VerificationOnly);
        assert_eq!(c.ae_title, AeTitle::Fixed("DCMRECV".into()));
        assert_eq!(c.acse_timeout, Duration::from_secs(30));
        assert_eq!(c.dimse_timeout, None);
        assert_eq!(c.max_pdu, 16384);
        assert!(c.host_lookup);
        assert_eq!(c.output_directory.given, PathBuf::from("."));
        assert_eq!(c.output_directory.normalised, PathBuf::from("."));
        assert_eq!(c.subdirectories, SubdirectoryScheme::None);
        assert_eq!(c.naming, NamingScheme::SopInstanceUid);
        assert_eq!(c.extension, OsString::new());
        assert_eq!(c.storage_mode, StorageMode::Normal);
        assert!(!c.fsync);
        assert_eq!(c.tls, TlsSettings::default());
        assert_eq!(c.max_associations, 64);
        assert!(c.allowed_calling.is_empty() && c.allowed_called.is_empty());
        assert_eq!(c.shutdown_timeout, Duration::from_secs(10));
        assert!(!c.print_arguments && !c.verbose_pc);
    }

    #[test]
    fn numbers_follow_dcmtk() {
        assert_eq!(ok(&["011188"]).port, 11188);
        assert_eq!(ok(&["+11188"]).port, 11188);
        assert_eq!(ok(&[" 11188"]).port, 11188);
        assert_eq!(ok(&["11188abc"]).port, 11188);
        assert_eq!(ok(&["1e3"]).port, 1);
        assert_eq!(ok(&["-pdu", "5000x", "104"]).max_pdu, 5000);
        assert_eq!(ok(&["-pdu", "4097", "104"]).max_pdu, 4097);
        assert_eq!(
            ok(&["-ta", "1.5", "104"]).acse_timeout,
            Duration::from_secs(1)
        );
        assert_eq!(
            ok(&["-td", "7", "104"]).dimse_timeout,
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            err(&["0x2B67"]),
            "Invalid parameter value 0x2B67 (underflow)"
        );
        assert_eq!(err(&["0"]), "Invalid parameter value 0 (underflow)");
        assert_eq!(err(&["70000"]), "Invalid parameter value 70000 (overflow)");
        assert_eq!(err(&["-5"]), "Invalid parameter value -5 (overflow)");
        assert_eq!(err(&["abc"]), "Invalid parameter value abc");
        assert_eq!(err(&[""]), "Invalid parameter value ");
        assert_eq!(
            err(&["-pdu", "4095", "104"]),
            "Invalid value for option --max-pdu (underflow: 4095)"
        );
        assert_eq!(
            err(&["-pdu", "131073", "104"]),
            "Invalid value for option --max-pdu (overflow: 131073)"
        );
        assert_eq!(
            err(&["-pdu", "abc", "104"]),
            "Invalid value for option --max-pdu (abc)"
        );
        assert_eq!(
            err(&["-pdu", "", "104"]),
            "Invalid value for option --max-pdu"
        );
        assert_eq!(
            err(&["-ta", "0", "104"]),
            "Invalid value for option --acse-timeout (underflow: 0)"
        );
        assert_eq!(
            err(&["-td", "0", "104"]),
            "Invalid value for option --dimse-timeout (underflow: 0)"
        );
        assert_eq!(
            err(&["-td", "-3", "104"]),
            "Invalid value for option --dimse-timeout (-3)"
        );
    }

    #[test]
    fn errors_come_in_dcmtk_order() {
        // Option values before the port; the port before the TLS options.
        assert_eq!(
            err(&["0", "-pdu", "4095"]),
            "Invalid value for option --max-pdu (underflow: 4095)"
        );
        assert_eq!(err(&["0", "+ps"]), "Invalid parameter value 0 (underflow)");
        assert_eq!(
            err(&["0", "+v"]),
            "--verbose-pc only allowed with verbose mode"
        );
        assert_eq!(
            err(&["+ps", "+pz", "0"]),
            "Invalid parameter value 0 (underflow)"
        );
    }

    #[test]
    fn verbose_pc_needs_info() {
        assert_eq!(
            err(&["+v", "104"]),
            "--verbose-pc only allowed with verbose mode"
        );
        assert_eq!(
            err(&["-q", "+v", "104"]),
            "--verbose-pc only allowed with verbose mode"
        );
        assert!(ok(&["-v", "+v", "104"]).verbose_pc);
        assert!(ok(&["+v", "-d", "104"]).verbose_pc);
        assert!(ok(&["-ll", "trace", "+v", "104"]).verbose_pc);
        assert_eq!(
            err(&["-ll", "warn", "+v", "104"]),
            "--verbose-pc only allowed with verbose mode"
        );
    }

    /// Spec §1.3's block table, with our deliberate difference: `+B` with `+ssd` is accepted.
    #[test]
    fn storage_block_is_rightmost_wins() {
        use StorageMode::*;
        use SubdirectoryScheme::{None as Flat, SeriesDate};
        let mode = |args: &[&str]| {
            let c = ok(args);
            (c.storage_mode, c.subdirectories)
        };
        // DCMTK: error, exit 1. Ours: bit-preserving with sub-directories.
        assert_eq!(mode(&["+B", "+ssd", "104"]), (BitPreserving, SeriesDate));
        // DCMTK: error (quirk). Ours: --ignore wins.
        assert_eq!(
            mode(&["+B", "+ssd", "--ignore", "104"]),
            (Ignore, SeriesDate)
        );
        // DCMTK: error. Ours: +B wins.
        assert_eq!(
            mode(&["+ssd", "--ignore", "+B", "104"]),
            (BitPreserving, SeriesDate)
        );
        assert_eq!(mode(&["+B", "-B", "+ssd", "104"]), (Normal, SeriesDate));
        assert_eq!(mode(&["+B", "+ssd", "-s", "104"]), (BitPreserving, Flat));
        assert_eq!(mode(&["--ignore", "+ssd", "104"]), (Ignore, SeriesDate));
        assert_eq!(mode(&["-B", "--ignore", "-B", "104"]), (Normal, Flat));
        assert_eq!(mode(&["104"]), (Normal, Flat));
    }

    #[test]
    fn ae_title_block_is_rightmost_wins() {
        assert_eq!(
            ok(&["-aet", "FOO", "-uca", "104"]).ae_title,
            AeTitle::UseCalled
        );
        assert_eq!(
            ok(&["-uca", "-aet", "FOO", "104"]).ae_title,
            AeTitle::Fixed("FOO".into())
        );
        assert_eq!(
            ok(&["-aet", "A", "-aet", "B", "104"]).ae_title,
            AeTitle::Fixed("B".into())
        );
    }

    #[test]
    fn naming_and_other_blocks_are_rightmost_wins() {
        assert_eq!(
            ok(&["+fu", "+fsu", "104"]).naming,
            NamingScheme::ShortUnique
        );
        assert_eq!(
            ok(&["+fst", "+fd", "104"]).naming,
            NamingScheme::SopInstanceUid
        );
        assert_eq!(ok(&["+fd", "+fst", "104"]).naming, NamingScheme::SystemTime);
        assert_eq!(ok(&["+fsu", "+fu", "104"]).naming, NamingScheme::UniqueUid);
        assert_eq!(
            ok(&["+ssd", "-s", "+ssd", "104"]).subdirectories,
            SubdirectoryScheme::SeriesDate
        );
        assert!(ok(&["-fs", "+fs", "104"]).fsync);
        assert!(!ok(&["+fs", "-fs", "104"]).fsync);
        let c = ok(&["-od", "a", "-fe", ".x", "-od", "b/", "-fe", ".dcm", "104"]);
        assert_eq!(c.output_directory.given, PathBuf::from("b/"));
        assert_eq!(c.output_directory.normalised, PathBuf::from("b"));
        assert_eq!(c.extension, OsString::from(".dcm"));
    }

    #[test]
    fn profile_sources() {
        assert_eq!(
            ok(&["-xf", "/etc/dcmtk/storescp.cfg", "Default", "104"]).profile,
            ProfileSource::File {
                path: "/etc/dcmtk/storescp.cfg".into(),
                name: "Default".into()
            }
        );
        assert_eq!(
            ok(&["-xf", "a.cfg", "p", "+xa", "104"]).profile,
            ProfileSource::AcceptAll
        );
        assert_eq!(
            ok(&["+xa", "-xf", "a.cfg", "p", "104"]).profile,
            ProfileSource::File {
                path: "a.cfg".into(),
                name: "p".into()
            }
        );
        assert_eq!(
            ok(&["-xf", "a.cfg", "p", "-xf", "b.cfg", "q", "104"]).profile,
            ProfileSource::File {
                path: "b.cfg".into(),
                name: "q".into()
            }
        );
    }

    #[test]
    fn output_directory_is_normalised_like_dcmtk() {
        let normalised = |dir: &str| ok(&["-od", dir, "104"]).output_directory.normalised;
        assert_eq!(normalised("sub/"), PathBuf::from("sub"));
        assert_eq!(normalised("/a/b//"), PathBuf::from("/a/b"));
        assert_eq!(normalised("./sub"), PathBuf::from("./sub"));
        assert_eq!(normalised("."), PathBuf::from("."));
        assert_eq!(normalised(""), PathBuf::from("."));
        assert_eq!(normalised("/"), PathBuf::from("/"));
        assert_eq!(normalised("//"), PathBuf::from("/"));
        assert_eq!(
            ok(&["-od", "", "104"]).output_directory.given,
            PathBuf::from("")
        );
    }

    #[test]
    fn extensions_validate_their_values() {
        let c = ok(&[
            "-ba",
            "127.0.0.1",
            "--max-associations",
            "8",
            "--allow-calling",
            " MODALITY1 ",
            "--allow-calling",
            "CT",
            "--allow-called",
            "ARCHIVE",
            "--shutdown-timeout",
            "0",
            "--max-pending",
            "100",
            "--max-pending-per-ip",
            "5",
            "--pending-timeout",
            "3",
            "104",
        ]);
        assert_eq!(c.max_pending, 100);
        assert_eq!(c.max_pending_per_address, 5);
        assert_eq!(c.pending_timeout, Duration::from_secs(3));
        let d = ok(&["104"]);
        assert_eq!((d.max_pending, d.max_pending_per_address), (512, 32));
        assert_eq!(d.pending_timeout, Duration::from_secs(10));
        assert_eq!(
            err(&["--pending-timeout", "0", "104"]),
            "Invalid value for option --pending-timeout (underflow: 0)"
        );
        assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(c.max_associations, 8);
        assert_eq!(c.allowed_calling, ["MODALITY1", "CT"]);
        assert_eq!(c.allowed_called, ["ARCHIVE"]);
        assert_eq!(c.shutdown_timeout, Duration::ZERO);
        assert_eq!(ok(&["-ba", "::1", "104"]).bind_address.to_string(), "::1");
        assert_eq!(
            err(&["-ba", "localhost", "104"]),
            "Invalid value for option --bind-address (localhost)"
        );
        assert_eq!(
            err(&["--max-associations", "0", "104"]),
            "Invalid value for option --max-associations (underflow: 0)"
        );
        assert_eq!(
            err(&["--max-associations", "65536", "104"]),
            "Invalid value for option --max-associations (overflow: 65536)"
        );
        assert_eq!(
            err(&["--allow-calling", "SEVENTEEN_CHARS_X", "104"]),
            "Invalid value for option --allow-calling (SEVENTEEN_CHARS_X)"
        );
        assert_eq!(
            err(&["--allow-called", "A\\B", "104"]),
            "Invalid value for option --allow-called (A\\B)"
        );
        assert_eq!(
            err(&["--allow-called", "  ", "104"]),
            "Invalid value for option --allow-called (  )"
        );
        assert_eq!(
            err(&["--shutdown-timeout", "-1", "104"]),
            "Invalid value for option --shutdown-timeout (-1)"
        );
    }
}
