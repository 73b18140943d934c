//! The table of `dcmrecv`'s own options: DCMTK's spellings, how many values each takes, and the
//! help text, in the order and grouping of DCMTK 3.6.7's `dcmrecv --help`; the logging rows
//! come from `dcmrecv-logging` and the TLS rows from `dcmrecv-tls`.
//!
//! This table is the single source for the lexer (spelling → option, values to consume), the clap
//! command (one clap argument per option), the help text and the man page. A new option is a row
//! in [`Opt`] and a line in [`HELP_LAYOUT`]; `config.rs` gives it its meaning. Options marked
//! "(not in DCMTK)" are our extensions; their spellings collide with no `dcmrecv` or `storescp`
//! option of DCMTK 3.6.7 except `+xa`/`--accept-all`, which `storescp` spells the same way for
//! the same idea (accept all transfer syntaxes of all storage SOP classes).

use dcmrecv_cmdline::Layout;
use dcmrecv_logging::LogOpt;

dcmrecv_cmdline::option_table! {
    /// Every option of `dcmrecv` itself (the logging and TLS options are the libraries').
    pub enum Opt;

    // General options.
    /// `-h`: print the help text and exit.
    Help = Some("-h"), "--help", 0, ["print this help text and exit"];
    /// `--version`: print version information and exit.
    Version = None, "--version", 0, ["print version information and exit"];
    /// `--arguments`: log the expanded command line.
    Arguments = None, "--arguments", 0, ["print expanded command line arguments"];
    /// `+v`: show presentation contexts at INFO.
    VerbosePc = Some("+v"), "--verbose-pc", 0, ["show presentation contexts in verbose mode"];

    // Network options.
    /// `-xf FILE PROFILE`.
    ConfigFile = Some("-xf"), "--config-file", 2, [
        "[f]ilename, [p]rofile: string",
        "use profile p from configuration file f",
    ];
    /// `-aet AETITLE`.
    AeTitle = Some("-aet"), "--aetitle", 1, [
        "[a]etitle: string",
        "set my AE title (default: DCMRECV)",
    ];
    /// `-uca`.
    UseCalledAeTitle = Some("-uca"), "--use-called-aetitle", 0, [
        "always respond with called AE title",
    ];
    /// `-ta SECONDS`.
    AcseTimeout = Some("-ta"), "--acse-timeout", 1, [
        "[s]econds: integer (default: 30)",
        "timeout for ACSE messages",
    ];
    /// `-td SECONDS`.
    DimseTimeout = Some("-td"), "--dimse-timeout", 1, [
        "[s]econds: integer (default: unlimited)",
        "timeout for DIMSE messages",
    ];
    /// `-pdu BYTES`.
    MaxPdu = Some("-pdu"), "--max-pdu", 1, [
        "[n]umber of bytes: integer (4096..131072)",
        "set max receive pdu to n bytes (default: 16384)",
    ];
    /// `-dhl`.
    DisableHostLookup = Some("-dhl"), "--disable-host-lookup", 0, ["disable hostname lookup"];

    // Output options.
    /// `-od DIR`.
    OutputDirectory = Some("-od"), "--output-directory", 1, [
        "[d]irectory: string (default: \".\")",
        "write received objects to existing directory d",
    ];
    /// `-s`.
    NoSubdir = Some("-s"), "--no-subdir", 0, ["do not generate any subdirectories (default)"];
    /// `+ssd`.
    SeriesDateSubdir = Some("+ssd"), "--series-date-subdir", 0, [
        "generate subdirectories from series date",
    ];
    /// `+fd`.
    DefaultFilenames = Some("+fd"), "--default-filenames", 0, [
        "generate filename from instance UID (default)",
    ];
    /// `+fu`.
    UniqueFilenames = Some("+fu"), "--unique-filenames", 0, [
        "generate unique filename based on new UID",
    ];
    /// `+fsu`.
    ShortUniqueNames = Some("+fsu"), "--short-unique-names", 0, [
        "generate short pseudo-random unique filename",
    ];
    /// `+fst`.
    SystemTimeNames = Some("+fst"), "--system-time-names", 0, [
        "generate filename from current system time",
    ];
    /// `-fe EXT`.
    FilenameExtension = Some("-fe"), "--filename-extension", 1, [
        "[e]xtension: string (default: none)",
        "append e to all generated filenames",
    ];
    /// `-B`.
    Normal = Some("-B"), "--normal", 0, ["allow implicit format conversions (default)"];
    /// `+B`.
    BitPreserving = Some("+B"), "--bit-preserving", 0, ["write dataset exactly as received"];
    /// `--ignore`.
    Ignore = None, "--ignore", 0, ["ignore dataset, receive but do not store it"];

    // Extensions (not in DCMTK).
    /// `+xa`: the embedded accept-everything profile.
    AcceptAll = Some("+xa"), "--accept-all", 0, [
        "accept Verification and all storage SOP classes",
        "with all transfer syntaxes (no file needed),",
        "keeping the one the sender proposes first",
    ];
    /// `-ba ADDR`.
    BindAddress = Some("-ba"), "--bind-address", 1, [
        "[a]ddress: string (default: all interfaces)",
        "listen on IPv4 or IPv6 address a only",
    ];
    /// `--max-associations N`.
    MaxAssociations = None, "--max-associations", 1, [
        "[n]umber: integer (1..65535, default: 64)",
        "serve at most n associations at the same time;",
        "when all are taken, abort the one idle longest",
        "if idle longer than -ta, else reject",
    ];
    /// `--max-pending N`.
    MaxPending = None, "--max-pending", 1, [
        "[n]umber: integer (1..65535, default: 512)",
        "hold at most n connections that have not sent",
        "their association request; beyond, close the",
        "oldest of them",
    ];
    /// `--max-pending-per-ip N`.
    MaxPendingPerAddress = None, "--max-pending-per-ip", 1, [
        "[n]umber: integer (1..65535, default: 32)",
        "the same, per source IP address",
    ];
    /// `--pending-timeout SECONDS`.
    PendingTimeout = None, "--pending-timeout", 1, [
        "[s]econds: integer (default: 10)",
        "close a connection that has not sent its whole",
        "association request (and TLS handshake) within",
        "s seconds (or -ta, if shorter)",
    ];
    /// `--allow-calling AE` (repeatable).
    AllowCalling = None, "--allow-calling", 1, [
        "[a]etitle: string",
        "accept associations from calling AE title a",
        "only (repeatable; default: any)",
    ];
    /// `--allow-called AE` (repeatable).
    AllowCalled = None, "--allow-called", 1, [
        "[a]etitle: string",
        "accept associations to called AE title a only",
        "(repeatable; default: any)",
    ];
    /// `--shutdown-timeout SECONDS`.
    ShutdownTimeout = None, "--shutdown-timeout", 1, [
        "[s]econds: integer (default: 10)",
        "on SIGTERM/SIGINT/SIGQUIT, let running",
        "associations finish for up to s seconds",
        "(SIGHUP reloads -xf and the allow-lists)",
    ];
    /// `+fs`.
    Fsync = Some("+fs"), "--fsync", 0, [
        "flush each file to disk before the C-STORE",
        "response reports success",
    ];
    /// `-fs`.
    NoFsync = Some("-fs"), "--no-fsync", 0, ["do not flush files to disk (default)"];
    /// `--max-object-size BYTES`.
    MaxObjectSize = None, "--max-object-size", 1, [
        "[n]umber of bytes: integer (default: unlimited)",
        "refuse data sets larger than n bytes (inflated)",
        "with 0xA700; nothing of them is stored",
    ];

    /// `--node-id ID`.
    NodeId = None, "--node-id", 1, [
        "[i]d: string (default: none; <host>-<port>",
        "with -od s3://...)",
        "name this receiver in +fsu and +fst names",
        "(CT_<16 hex>-i, <time>.<us>-i.CT) and, with",
        "an object store, in its upload markers; give",
        "every receiver sharing an output its own id",
    ];
    /// `--object-part-size BYTES`.
    ObjectPartSize = None, "--object-part-size", 1, [
        "[n]umber of bytes: integer (5 MiB..1 GiB,",
        "default: 6291456 = 6 MiB)",
        "with -od s3://bucket/prefix: objects up to n",
        "bytes go up with one PUT, larger ones in parts",
        "of n bytes",
    ];
    /// `--object-parts-in-flight N`.
    ObjectPartsInFlight = None, "--object-parts-in-flight", 1, [
        "[n]umber: integer (1..64, default: 1)",
        "parts of one object sent at once while the next",
        "fills (memory: (n + 1) parts per association)",
    ];

    // storescp's sorting and event options (DCMTK's storescp 3.6.7 spellings).
    /// `-ss PREFIX` (storescp).
    SortConcStudies = Some("-ss"), "--sort-conc-studies", 1, [
        "[p]refix: string",
        "sort studies using prefix p and a timestamp",
    ];
    /// `-su PREFIX` (storescp).
    SortOnStudyUid = Some("-su"), "--sort-on-study-uid", 1, [
        "[p]refix: string",
        "sort studies using prefix p and the Study",
        "Instance UID",
    ];
    /// `-sp` (storescp).
    SortOnPatientName = Some("-sp"), "--sort-on-patientname", 0, [
        "sort studies using the Patient's Name and",
        "a timestamp",
    ];
    /// `-xcr COMMAND` (storescp).
    ExecOnReception = Some("-xcr"), "--exec-on-reception", 1, [
        "[c]ommand: string",
        "execute command c after having received and",
        "processed one C-STORE-RQ message (run",
        "directly, never through a shell)",
    ];
    /// `-xcs COMMAND` (storescp).
    ExecOnEndOfStudy = Some("-xcs"), "--exec-on-eostudy", 1, [
        "[c]ommand: string",
        "execute command c after having received and",
        "processed all C-STORE-RQ messages that belong",
        "to one study (decided per Study Instance UID",
        "across associations; no sorting needed)",
    ];
    /// `-rns` (storescp).
    RenameOnEndOfStudy = Some("-rns"), "--rename-on-eostudy", 0, [
        "having received and processed all C-STORE-RQ",
        "messages that belong to one study, rename",
        "output files according to certain pattern",
        "(never replacing an existing file)",
    ];
    /// `-tos SECONDS` (storescp).
    EndOfStudyTimeout = Some("-tos"), "--eostudy-timeout", 1, [
        "[t]imeout: integer",
        "specifies a timeout of t seconds for",
        "end-of-study determination",
    ];
    /// `-xs` (storescp).
    ExecSync = Some("-xs"), "--exec-sync", 0, [
        "execute command synchronously in foreground",
        "(after the C-STORE response, as storescp)",
    ];
    /// `--exec-workers N`.
    ExecWorkers = None, "--exec-workers", 1, [
        "[n]umber: integer (1..256, default: 4)",
        "run at most n hooks at the same time; more",
        "wait in a bounded queue (never -xs)",
    ];
    /// `--exec-timeout SECONDS`.
    ExecTimeout = None, "--exec-timeout", 1, [
        "[s]econds: integer (default: 300, 0: none)",
        "kill a hook (its process group) running",
        "longer than s seconds; statuses never change",
    ];
    /// `--events FILE`.
    Events = None, "--events", 1, [
        "[f]ilename: string, or - for stdout",
        "append one JSON object per line for each",
        "association, stored or failed object and",
        "completed study",
    ];
    /// `--output-template TEMPLATE`.
    OutputTemplate = None, "--output-template", 1, [
        "[t]emplate: string, e.g.",
        "{PatientID|UNKNOWN}/{StudyInstanceUID}/",
        "{Modality}.{SOPInstanceUID}.dcm",
        "name files from data set attributes; values",
        "are sanitised and never leave -od",
    ];
    /// `--max-associations-per-ae N`.
    MaxAssociationsPerAe = None, "--max-associations-per-ae", 1, [
        "[n]umber: integer (1..65535, default: no limit)",
        "serve at most n associations of one calling AE",
        "title at the same time; beyond, reject",
        "(A-ASSOCIATE-RJ transient, local limit)",
    ];
    /// `--min-free-space SIZE`.
    MinFreeSpace = None, "--min-free-space", 1, [
        "[s]ize: bytes, with K, M, G or T, or n%",
        "(default: none)",
        "below s free on the output directory's file",
        "system, refuse new objects with 0xA700 (C-ECHO",
        "and associations go on); resume above it",
    ];
    /// `--on-duplicate POLICY`.
    OnDuplicate = None, "--on-duplicate", 1, [
        "[p]olicy: overwrite, keep, reject, unique",
        "(default: overwrite)",
        "for an instance whose file exists (+fd names):",
        "replace it; keep it and answer success; keep",
        "it and answer 0xC000; store it as <name>_<n>",
    ];
    /// `--metrics-address ADDR:PORT`.
    MetricsAddress = None, "--metrics-address", 1, [
        "[a]ddress: string (ip:port, default: none)",
        "serve /metrics (Prometheus), /healthz and",
        "/readyz over HTTP on a, e.g. 127.0.0.1:9104",
        "(no authentication: bind loopback or a",
        "management network)",
    ];
    /// `--metrics-per-ae`.
    MetricsPerAe = None, "--metrics-per-ae", 0, [
        "label association and object metrics with the",
        "calling AE title (the first 64 titles)",
    ];

    /// `--print-config` (hidden): print the validated configuration and exit; for tests and
    /// for debugging a command line.
    PrintConfig = None, "--print-config", 0, [];
    /// `--print-man-page` (hidden): print the manual page (roff) and exit; `cargo xtask dist`
    /// installs it.
    PrintManPage = None, "--print-man-page", 0, [];
}

/// The help text's layout: DCMTK 3.6.7's groups in DCMTK's order, then ours. Hidden options
/// (no help lines) are parsed but not shown.
pub(crate) const HELP_LAYOUT: &[Layout] = {
    use Layout::{Group, Include, Option as O, Subgroup};
    &[
        Group("general options:"),
        O(Opt::Help.spec()),
        O(Opt::Version.spec()),
        O(Opt::Arguments.spec()),
        Include(dcmrecv_logging::HELP_LAYOUT),
        O(Opt::VerbosePc.spec()),
        Group("network options:"),
        Subgroup("association negotiation profile from configuration file:"),
        O(Opt::ConfigFile.spec()),
        Subgroup("application entity title:"),
        O(Opt::AeTitle.spec()),
        O(Opt::UseCalledAeTitle.spec()),
        Subgroup("other network options:"),
        O(Opt::AcseTimeout.spec()),
        O(Opt::DimseTimeout.spec()),
        O(Opt::MaxPdu.spec()),
        O(Opt::DisableHostLookup.spec()),
        Include(dcmrecv_tls::HELP_LAYOUT),
        Group("output options:"),
        Subgroup("general:"),
        O(Opt::OutputDirectory.spec()),
        Subgroup("subdirectory generation:"),
        O(Opt::NoSubdir.spec()),
        O(Opt::SeriesDateSubdir.spec()),
        Subgroup("filename generation:"),
        O(Opt::DefaultFilenames.spec()),
        O(Opt::UniqueFilenames.spec()),
        O(Opt::ShortUniqueNames.spec()),
        O(Opt::SystemTimeNames.spec()),
        O(Opt::FilenameExtension.spec()),
        Subgroup("storage mode:"),
        O(Opt::Normal.spec()),
        O(Opt::BitPreserving.spec()),
        O(Opt::Ignore.spec()),
        Group("storescp's options (DCMTK storescp 3.6.7 spellings):"),
        Subgroup("sorting into subdirectories (also with +B):"),
        O(Opt::SortConcStudies.spec()),
        O(Opt::SortOnStudyUid.spec()),
        O(Opt::SortOnPatientName.spec()),
        Subgroup("event options (no shell: see README, pipelines):"),
        O(Opt::ExecOnReception.spec()),
        O(Opt::ExecOnEndOfStudy.spec()),
        O(Opt::RenameOnEndOfStudy.spec()),
        O(Opt::EndOfStudyTimeout.spec()),
        O(Opt::ExecSync.spec()),
        Group("dcmrecv-rs extensions (not in DCMTK):"),
        Subgroup("association negotiation profile:"),
        O(Opt::AcceptAll.spec()),
        Subgroup("network:"),
        O(Opt::BindAddress.spec()),
        O(Opt::MaxAssociations.spec()),
        O(Opt::MaxPending.spec()),
        O(Opt::MaxPendingPerAddress.spec()),
        O(Opt::PendingTimeout.spec()),
        O(Opt::AllowCalling.spec()),
        O(Opt::AllowCalled.spec()),
        O(Opt::ShutdownTimeout.spec()),
        Subgroup("output:"),
        O(Opt::Fsync.spec()),
        O(Opt::NoFsync.spec()),
        O(Opt::MaxObjectSize.spec()),
        O(Opt::NodeId.spec()),
        Subgroup("object storage (-od s3://bucket/prefix):"),
        O(Opt::ObjectPartSize.spec()),
        O(Opt::ObjectPartsInFlight.spec()),
        Subgroup("pipelines:"),
        O(Opt::ExecWorkers.spec()),
        O(Opt::ExecTimeout.spec()),
        O(Opt::Events.spec()),
        O(Opt::OutputTemplate.spec()),
        Subgroup("operations:"),
        O(Opt::MaxAssociationsPerAe.spec()),
        O(Opt::MinFreeSpace.spec()),
        O(Opt::OnDuplicate.spec()),
        O(Opt::MetricsAddress.spec()),
        O(Opt::MetricsPerAe.spec()),
        Subgroup("logging:"),
        O(LogOpt::LogFormat.spec()),
        // Hidden.
        O(Opt::PrintConfig.spec()),
        O(Opt::PrintManPage.spec()),
    ]
};

#[cfg(test)]
mod tests {
    use dcmrecv_cmdline::{OptionId, layout};
    use dcmrecv_tls::TlsOpt;

    use super::*;

    fn count<O: OptionId>(opt: O) -> usize {
        layout::options(HELP_LAYOUT)
            .filter(|spec| *spec == opt.spec())
            .count()
    }

    #[test]
    fn every_option_is_in_the_table_once_and_spellings_are_unique() {
        assert_eq!(layout::check(HELP_LAYOUT), Ok(()));
        for &opt in Opt::ALL {
            assert_eq!(count(opt), 1, "{opt:?}");
            let hidden = matches!(opt, Opt::PrintConfig | Opt::PrintManPage);
            assert_eq!(opt.spec().is_hidden(), hidden, "{opt:?}");
        }
        assert!(LogOpt::ALL.iter().all(|&o| count(o) == 1));
        assert!(TlsOpt::ALL.iter().all(|&o| count(o) == 1));
    }

    #[test]
    fn spellings_resolve_to_their_option() {
        assert_eq!(Opt::from_spelling("+B"), Some(Opt::BitPreserving));
        assert_eq!(Opt::from_spelling("-B"), Some(Opt::Normal));
        assert_eq!(Opt::from_spelling("+v"), Some(Opt::VerbosePc));
        assert_eq!(LogOpt::from_spelling("-v"), Some(LogOpt::Verbose));
        assert_eq!(Opt::from_spelling("--ignore"), Some(Opt::Ignore));
        assert_eq!(Opt::from_spelling("-ignore"), None);
        assert_eq!(Opt::from_spelling("--"), None);
    }
}
