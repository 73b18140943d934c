//! The validated configuration ("high-level arguments", as in ripgrep's `hiargs.rs`): every
//! option evaluated, in DCMTK's order, into plain values. Parse, then validate, then run: a bad
//! combination fails here, with DCMTK's message, before anything binds a port.
//!
//! The order of evaluation is DCMTK 3.6.7's (`dcmrecv.cc`), because it decides which error a
//! command line with several problems reports: `+v`; the network options; the output options;
//! the `port` parameter; the TLS options (`dcmrecv_tls::TlsSettings::from_args`); then our
//! extensions. The storage enums are the storage policy's own.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use dcmrecv_cmdline::{Arguments, Occurrence, ValueError};
use dcmrecv_logging::LogSettings;
use dcmrecv_storage_policy::{
    Mode, Naming, Subdirectories, check_node_id, is_object_store_url, normalize_output_directory,
};
use dcmrecv_tls::TlsSettings;
use snafu::Snafu;

use crate::command_line::Opt;

/// A semantic command-line error (exit code 1). Not printed under `-q`, as in DCMTK.
///
/// The messages are DCMTK's, word for word where DCMTK has the error (they start with a capital
/// letter, unlike our other messages); our extensions' errors use the same shapes.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum Error {
    /// `+v` without INFO enabled.
    #[snafu(display("--verbose-pc only allowed with verbose mode"))]
    VerbosePcWithoutVerbose,
    /// A value or parameter DCMTK's parser refuses (`Invalid value for option ...`).
    #[snafu(transparent)]
    Value {
        /// DCMTK's message.
        source: ValueError,
    },
    /// A pipeline option (hooks, sorting, events, templates) that cannot be used.
    #[snafu(transparent)]
    Pipeline {
        /// Why.
        source: crate::PipelineError,
    },
    /// A TLS option DCMTK or rustls refuses.
    #[snafu(transparent)]
    Tls {
        /// The message.
        source: dcmrecv_tls::OptionError,
    },
}

/// Where the association negotiation profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
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
pub enum AeTitle {
    /// `-aet` (default `DCMRECV`).
    Fixed(String),
    /// `-uca`: respond with the called AE title.
    UseCalled,
}

/// The output directory (`-od`), or an object store (`-od s3://BUCKET/PREFIX`, not in DCMTK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDirectory {
    /// As given (default `.`).
    pub given: PathBuf,
    /// DCMTK's normalised form, used to build and log file paths: trailing separators removed
    /// (a leading one is kept), empty → `.`.
    pub normalised: PathBuf,
    /// The object store's URL, when `-od` names one (`<scheme>://...`): see
    /// [`is_object_store_url`](dcmrecv_storage_policy::is_object_store_url).
    pub url: Option<String>,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The TCP port (1..=65535).
    pub port: u16,
    /// The address to listen on (`-ba`, not in DCMTK; default all IPv4 interfaces, as DCMTK).
    pub bind_address: IpAddr,
    /// The logging options.
    pub log: LogSettings,
    /// `--arguments`.
    pub print_arguments: bool,
    /// `+v`: presentation context dumps at INFO instead of DEBUG.
    pub verbose_pc: bool,
    /// `-xf`/`+xa`.
    pub profile: ProfileSource,
    /// `-aet`/`-uca`.
    pub ae_title: AeTitle,
    /// `-ta` (default 30 s).
    pub acse_timeout: Duration,
    /// `-td` (default unlimited).
    pub dimse_timeout: Option<Duration>,
    /// `-pdu` (4096..=131072, default 16384).
    pub max_pdu: u32,
    /// `false` with `-dhl`: log peers' IP addresses instead of reverse-resolved names.
    pub host_lookup: bool,
    /// `-od`.
    pub output_directory: OutputDirectory,
    /// `-s`/`+ssd`.
    pub subdirectories: Subdirectories,
    /// `+fd`/`+fu`/`+fsu`/`+fst`.
    pub naming: Naming,
    /// `-fe`, appended verbatim to generated file names.
    pub extension: OsString,
    /// `-B`/`+B`/`--ignore`.
    pub storage_mode: Mode,
    /// `+fs`/`-fs` (not in DCMTK): fsync each file (and its directory) before success.
    pub fsync: bool,
    /// The TLS options.
    pub tls: TlsSettings,
    /// `--max-associations` (not in DCMTK; default 64).
    pub max_associations: usize,
    /// `--max-pending` (not in DCMTK; default 512): connections held before their request.
    pub max_pending: usize,
    /// `--max-pending-per-ip` (not in DCMTK; default 32).
    pub max_pending_per_address: usize,
    /// `--pending-timeout` (not in DCMTK; default 10 s).
    pub pending_timeout: Duration,
    /// `--allow-calling` (not in DCMTK): accepted calling AE titles; empty accepts any.
    pub allowed_calling: Vec<String>,
    /// `--allow-called` (not in DCMTK): accepted called AE titles; empty accepts any.
    pub allowed_called: Vec<String>,
    /// `--shutdown-timeout` (not in DCMTK; default 10 s): how long SIGTERM/SIGINT wait for
    /// running associations.
    pub shutdown_timeout: Duration,
    /// `--max-object-size` (not in DCMTK; default unlimited): the largest data set stored, in
    /// bytes (inflated).
    pub max_object_size: Option<u64>,
    /// `--node-id` (not in DCMTK): this receiver's node identity.
    pub node_id: Option<String>,
    /// `--object-part-size` (not in DCMTK; default: the storage policy's).
    pub object_part_size: Option<usize>,
    /// `--object-parts-in-flight` (not in DCMTK; default: the storage policy's).
    pub object_parts_in_flight: Option<usize>,
    /// storescp's hooks and sorting, events and output templates.
    pub pipeline: crate::Pipeline,
    /// The options for running unattended (not in DCMTK): metrics, free space, duplicates,
    /// per-AE limits.
    pub operations: crate::Operations,
}

/// DCMTK's default AE title.
const DEFAULT_AE_TITLE: &str = "DCMRECV";

impl Config {
    /// Evaluates the options after logging is set up (DCMTK's step 3), in DCMTK's order.
    /// `info_enabled` says whether the installed logging shows INFO events (`+v` needs it).
    pub fn from_args(
        args: &Arguments,
        log: LogSettings,
        info_enabled: bool,
    ) -> Result<Config, Error> {
        if args.has(Opt::VerbosePc) && !info_enabled {
            return Err(Error::VerbosePcWithoutVerbose);
        }

        // Network options.
        let profile = match args.winner(&[Opt::ConfigFile, Opt::AcceptAll]) {
            None => ProfileSource::VerificationOnly,
            Some(o) if o.is(Opt::AcceptAll) => ProfileSource::AcceptAll,
            Some(o) => ProfileSource::File {
                path: PathBuf::from(o.value(0)),
                name: o.text(1).into_owned(),
            },
        };
        let ae_title = match args.winner(&[Opt::AeTitle, Opt::UseCalledAeTitle]) {
            Some(o) if o.is(Opt::AeTitle) => AeTitle::Fixed(o.text(0).into_owned()),
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
        let url = given
            .to_str()
            .filter(|text| is_object_store_url(text))
            .map(str::to_owned);
        let output_directory = OutputDirectory {
            normalised: normalize_output_directory(Path::new(&given)),
            given: PathBuf::from(given),
            url,
        };
        let subdirectories = match args.winner(&[Opt::NoSubdir, Opt::SeriesDateSubdir]) {
            Some(o) if o.is(Opt::SeriesDateSubdir) => Subdirectories::SeriesDate,
            _ => Subdirectories::None,
        };
        let naming = match args
            .winner(&[
                Opt::DefaultFilenames,
                Opt::UniqueFilenames,
                Opt::ShortUniqueNames,
                Opt::SystemTimeNames,
            ])
            .and_then(Occurrence::id)
        {
            Some(Opt::UniqueFilenames) => Naming::UniqueUid,
            Some(Opt::ShortUniqueNames) => Naming::ShortUnique,
            Some(Opt::SystemTimeNames) => Naming::SystemTime,
            _ => Naming::Default,
        };
        let extension = args
            .last(Opt::FilenameExtension)
            .map_or_else(OsString::new, |o| o.value(0).to_os_string());
        let storage_mode = storage_mode(args, subdirectories);

        // The parameter.
        let port = port(args)?;

        let tls = TlsSettings::from_args(args)?;

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
        let fsync = args
            .winner(&[Opt::Fsync, Opt::NoFsync])
            .is_some_and(|o| o.is(Opt::Fsync));
        let max_object_size = match args.last(Opt::MaxObjectSize) {
            Some(o) => Some(option_number(o, 1, None)?),
            None => None,
        };

        let node_id = match args.last(Opt::NodeId) {
            Some(o) => {
                let id = o.text(0).into_owned();
                check_node_id(&id).map_err(|_| invalid(o))?;
                Some(id)
            }
            None => None,
        };
        let object_part_size = match args.last(Opt::ObjectPartSize) {
            Some(o) => {
                Some(usize::try_from(option_number(o, 5 << 20, Some(1 << 30))?).unwrap_or(1 << 30))
            }
            None => None,
        };
        let object_parts_in_flight = match args.last(Opt::ObjectPartsInFlight) {
            Some(o) => Some(usize::try_from(option_number(o, 1, Some(64))?).unwrap_or(64)),
            None => None,
        };

        let pipeline = crate::Pipeline::from_args(args, storage_mode)?;

        Ok(Config {
            pipeline,
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
            max_object_size,
            node_id,
            object_part_size,
            object_parts_in_flight,
            operations: crate::operations::Operations::from_args(args)?,
        })
    }
}

/// The storage block, evaluated as DCMTK does.
///
/// DCMTK refuses `+B` with `+ssd` (`--bit-preserving not allowed with --series-date-subdir`)
/// whenever its block evaluation reaches `+B`, i.e. `+ssd` is in effect and a `+B` stands right
/// of the last `-B`, even if `--ignore` wins. We deliberately accept the
/// combination: our storage writes to a temporary file and names it when it is complete, so the
/// Series Date is known in time. The rule's place is kept here and noted at DEBUG.
fn storage_mode(args: &Arguments, subdirectories: Subdirectories) -> Mode {
    let mut block = args.block();
    let mut mode = Mode::Normal;
    if block.find(Opt::Normal).is_some() {
        mode = Mode::Normal;
    }
    if block.find(Opt::BitPreserving).is_some() {
        if subdirectories == Subdirectories::SeriesDate {
            tracing::debug!(
                "--bit-preserving with --series-date-subdir: DCMTK refuses this combination, \
                 dcmrecv-rs supports it (files are named once they are complete)"
            );
        }
        mode = Mode::BitPreserving;
    }
    if block.find(Opt::Ignore).is_some() {
        mode = Mode::Ignore;
    }
    mode
}

/// The `port` parameter, with DCMTK's lenient parsing and messages.
fn port(args: &Arguments) -> Result<u16, Error> {
    let port = args.parameter_number(0, 1, u64::from(u16::MAX))?;
    Ok(u16::try_from(port).unwrap_or(u16::MAX))
}

/// An option's integer value, with DCMTK's lenient parsing and messages.
fn option_number(occurrence: &Occurrence, min: u64, max: Option<u64>) -> Result<u64, Error> {
    Ok(occurrence.number(min, max)?)
}

/// DCMTK's `Invalid value for option ...` for an option's first value.
fn invalid(occurrence: &Occurrence) -> Error {
    occurrence.invalid().into()
}

/// The AE titles of a repeatable allow-list option: 1 to 16 characters of the default
/// repertoire without backslash (PS3.5 AE); surrounding spaces are not significant.
fn ae_titles(args: &Arguments, opt: Opt) -> Result<Vec<String>, Error> {
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

#[cfg(test)]
mod tests {
    use dcmrecv_logging::LogLevel;

    use super::*;
    use crate::command_line::{Parsed, parse};

    fn config(args: &[&str]) -> Result<Config, String> {
        let mut all = vec![OsString::from("dcmrecv")];
        all.extend(args.iter().map(OsString::from));
        let low = match parse(all) {
            Ok(Parsed::Run(low)) => low,
            other => panic!("{args:?}: {other:?}"),
        };
        let log = LogSettings::from_args(&low, "dcmrecv").map_err(|e| e.to_string())?;
        let info_enabled = log.level() >= LogLevel::Info;
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
        assert_eq!(c.subdirectories, Subdirectories::None);
        assert_eq!(c.naming, Naming::Default);
        assert_eq!(c.extension, OsString::new());
        assert_eq!(c.storage_mode, Mode::Normal);
        assert!(!c.fsync);
        assert_eq!(c.tls, TlsSettings::default());
        assert_eq!(c.max_associations, 64);
        assert!(c.allowed_calling.is_empty() && c.allowed_called.is_empty());
        assert_eq!(c.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(c.max_object_size, None);
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

    #[test]
    fn naming_and_other_blocks_are_rightmost_wins() {
        assert_eq!(ok(&["+fu", "+fsu", "104"]).naming, Naming::ShortUnique);
        assert_eq!(ok(&["+fst", "+fd", "104"]).naming, Naming::Default);
        assert_eq!(ok(&["+fd", "+fst", "104"]).naming, Naming::SystemTime);
        assert_eq!(ok(&["+fsu", "+fu", "104"]).naming, Naming::UniqueUid);
        assert_eq!(
            ok(&["+ssd", "-s", "+ssd", "104"]).subdirectories,
            Subdirectories::SeriesDate
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
    fn object_store_outputs_and_node_ids() {
        let c = ok(&[
            "-od",
            "s3://dicom/incoming/",
            "--node-id",
            "gw1-11112",
            "--object-part-size",
            "8388608",
            "--object-parts-in-flight",
            "2",
            "104",
        ]);
        assert_eq!(
            c.output_directory.url.as_deref(),
            Some("s3://dicom/incoming/")
        );
        assert_eq!(c.node_id.as_deref(), Some("gw1-11112"));
        assert_eq!(c.object_part_size, Some(8 << 20));
        assert_eq!(c.object_parts_in_flight, Some(2));
        let c = ok(&["-od", "/srv/dicom", "104"]);
        assert_eq!((c.output_directory.url, c.node_id), (None, None));
        assert_eq!((c.object_part_size, c.object_parts_in_flight), (None, None));
        assert_eq!(
            ok(&["-od", "gs://b", "104"])
                .output_directory
                .url
                .as_deref(),
            Some("gs://b")
        );
        assert_eq!(
            err(&["--node-id", "a/b", "104"]),
            "Invalid value for option --node-id (a/b)"
        );
        assert_eq!(
            err(&["--object-part-size", "1048576", "104"]),
            "Invalid value for option --object-part-size (underflow: 1048576)"
        );
        assert_eq!(
            err(&["--object-parts-in-flight", "0", "104"]),
            "Invalid value for option --object-parts-in-flight (underflow: 0)"
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
            ok(&["--max-object-size", "1048576", "104"]).max_object_size,
            Some(1_048_576)
        );
        assert_eq!(
            err(&["--max-object-size", "0", "104"]),
            "Invalid value for option --max-object-size (underflow: 0)"
        );
        assert_eq!(
            err(&["--max-object-size", "-1", "104"]),
            "Invalid value for option --max-object-size (-1)"
        );
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
