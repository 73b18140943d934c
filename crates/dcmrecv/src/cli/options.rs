//! The table of every command-line option: DCMTK's spellings, how many values each takes, and
//! the help text, in the order and grouping of DCMTK 3.6.7's `dcmrecv --help`.
//!
//! This table is the single source for the lexer (spelling → option, values to consume), the clap
//! command (one clap argument per option) and the help text. Options marked "(not in DCMTK)" are
//! our extensions; their spellings collide with no `dcmrecv` or `storescp` option of DCMTK 3.6.7
//! except `+xa`/`--accept-all`, which `storescp` spells the same way for the same idea (accept all
//! transfer syntaxes of all storage SOP classes).

/// One option's spellings, number of values and help text.
#[derive(Debug)]
pub(crate) struct Spec {
    /// DCMTK's short spelling, with its `-` or `+` prefix (`-od`, `+B`); `None` for long-only
    /// options such as `--version`.
    pub(crate) short: Option<&'static str>,
    /// The long spelling with its `--` prefix; also the clap argument's name without the prefix.
    pub(crate) long: &'static str,
    /// How many values follow the option; they are consumed unconditionally, as DCMTK does.
    pub(crate) arity: usize,
    /// The help lines shown right of the spellings (value description first, if any).
    pub(crate) help: &'static [&'static str],
}

/// Declares [`Opt`], [`Opt::ALL`] and [`Opt::spec`] from one list.
macro_rules! options {
    ($(
        $(#[$doc:meta])*
        $name:ident = $short:expr, $long:literal, $arity:literal, [$($help:literal),* $(,)?];
    )*) => {
        /// Every option the command line knows, DCMTK's and ours.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Opt {
            $($(#[$doc])* $name,)*
        }

        impl Opt {
            /// All options, in table order.
            pub(crate) const ALL: &'static [Opt] = &[$(Opt::$name,)*];

            /// This option's spellings, arity and help text.
            pub(crate) const fn spec(self) -> &'static Spec {
                match self {
                    $(Opt::$name => &Spec {
                        short: $short,
                        long: $long,
                        arity: $arity,
                        help: &[$($help),*],
                    },)*
                }
            }
        }
    };
}

options! {
    // General options.
    /// `-h`: print the help text and exit.
    Help = Some("-h"), "--help", 0, ["print this help text and exit"];
    /// `--version`: print version information and exit.
    Version = None, "--version", 0, ["print version information and exit"];
    /// `--arguments`: log the expanded command line.
    Arguments = None, "--arguments", 0, ["print expanded command line arguments"];
    /// `-q`: fatal messages only; command-line semantic errors are not printed.
    Quiet = Some("-q"), "--quiet", 0, ["quiet mode, print no warnings and errors"];
    /// `-v`: log level INFO.
    Verbose = Some("-v"), "--verbose", 0, ["verbose mode, print processing details"];
    /// `-d`: log level DEBUG.
    Debug = Some("-d"), "--debug", 0, ["debug mode, print debug information"];
    /// `-ll LEVEL`.
    LogLevel = Some("-ll"), "--log-level", 1, [
        "[l]evel: string constant",
        "(fatal, error, warn, info, debug, trace)",
        "use level l for the logger",
    ];
    /// `-lc FILE`: a log4cplus-style logger configuration.
    LogConfig = Some("-lc"), "--log-config", 1, [
        "[f]ilename: string",
        "use config file f for the logger",
    ];
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

    // TLS options.
    /// `-tls`.
    DisableTls = Some("-tls"), "--disable-tls", 0, ["use normal TCP/IP connection (default)"];
    /// `+tls KEY CERT`.
    EnableTls = Some("+tls"), "--enable-tls", 2, [
        "[p]rivate key file, [c]ertificate file: string",
        "use authenticated secure TLS connection",
    ];
    /// `+ps`.
    StdPasswd = Some("+ps"), "--std-passwd", 0, [
        "prompt user to type password on stdin (default)",
    ];
    /// `+pw PASSWORD`.
    UsePasswd = Some("+pw"), "--use-passwd", 1, ["[p]assword: string", "use specified password"];
    /// `-pw`.
    NullPasswd = Some("-pw"), "--null-passwd", 0, ["use empty string as password"];
    /// `-pem`.
    PemKeys = Some("-pem"), "--pem-keys", 0, ["read keys and certificates as PEM file (default)"];
    /// `-der`.
    DerKeys = Some("-der"), "--der-keys", 0, ["read keys and certificates as DER file"];
    /// `+cf FILE` (repeatable).
    AddCertFile = Some("+cf"), "--add-cert-file", 1, [
        "[f]ilename: string",
        "add certificate file to list of certificates",
    ];
    /// `+cd DIR` (repeatable).
    AddCertDir = Some("+cd"), "--add-cert-dir", 1, [
        "[d]irectory: string",
        "add certificates in d to list of certificates",
    ];
    /// `+crl FILE` (repeatable).
    AddCrlFile = Some("+crl"), "--add-crl-file", 1, [
        "[f]ilename: string",
        "add certificate revocation list file",
        "(implies --enable-crl-vfy)",
    ];
    /// `+crv`.
    EnableCrlVfy = Some("+crv"), "--enable-crl-vfy", 0, ["enable leaf CRL verification"];
    /// `+cra`.
    EnableCrlAll = Some("+cra"), "--enable-crl-all", 0, ["enable full chain CRL verification"];
    /// `+py`.
    ProfileBcp195Nd = Some("+py"), "--profile-bcp195-nd", 0, [
        "Non-downgrading BCP 195 TLS Profile (default)",
    ];
    /// `+px`.
    ProfileBcp195 = Some("+px"), "--profile-bcp195", 0, ["BCP 195 TLS Profile"];
    /// `+pz`.
    ProfileBcp195Ex = Some("+pz"), "--profile-bcp195-ex", 0, ["Extended BCP 195 TLS Profile"];
    /// `+pa`.
    ProfileAes = Some("+pa"), "--profile-aes", 0, [
        "AES TLS Secure Transport Connection Profile",
        "(retired)",
    ];
    /// `+pn`.
    ProfileNull = Some("+pn"), "--profile-null", 0, [
        "Authenticated unencrypted communication",
        "(retired, was used in IHE ATNA)",
    ];
    /// `+cc`: list the cipher suites and exit.
    ListCiphers = Some("+cc"), "--list-ciphers", 0, [
        "show list of supported TLS ciphersuites and exit",
    ];
    /// `+cs NAME` (repeatable).
    Cipher = Some("+cs"), "--cipher", 1, [
        "[c]iphersuite name: string",
        "add ciphersuite to list of negotiated suites",
        "(not with --profile-bcp195-ex)",
    ];
    /// `+dp FILE`.
    DhParam = Some("+dp"), "--dhparam", 1, [
        "[f]ilename: string",
        "read DH parameters for DH/DSS ciphersuites",
    ];
    /// `+rs FILE`.
    Seed = Some("+rs"), "--seed", 1, [
        "[f]ilename: string",
        "seed random generator with contents of f",
    ];
    /// `+ws`.
    WriteSeed = Some("+ws"), "--write-seed", 0, ["write back modified seed (only with --seed)"];
    /// `+wf FILE`.
    WriteSeedFile = Some("+wf"), "--write-seed-file", 1, [
        "[f]ilename: string (only with --seed)",
        "write modified seed to file f",
    ];
    /// `-rc`.
    RequirePeerCert = Some("-rc"), "--require-peer-cert", 0, [
        "verify peer certificate, fail if absent (default)",
    ];
    /// `-vc`.
    VerifyPeerCert = Some("-vc"), "--verify-peer-cert", 0, ["verify peer certificate if present"];
    /// `-ic`.
    IgnorePeerCert = Some("-ic"), "--ignore-peer-cert", 0, ["don't verify peer certificate"];

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
        "with all transfer syntaxes (no file needed)",
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
    /// `--log-format FORMAT`.
    LogFormat = None, "--log-format", 1, [
        "[f]ormat: string (text, json; default: text)",
        "text: DCMTK's lines; json: one JSON object",
        "per event, with fields and spans",
    ];

    /// `--print-config` (hidden): print the validated configuration and exit; for tests and
    /// for debugging a command line.
    PrintConfig = None, "--print-config", 0, [];

    /// Not an option: the positional `port` parameter, handed to clap as `--port VALUE` so that
    /// values starting with `-` (DCMTK reads `-5` as a parameter) survive.
    Port = None, "--port", 1, [];
}

impl Opt {
    /// The long spelling, e.g. `--output-directory`; DCMTK uses it in every message.
    pub(crate) const fn long(self) -> &'static str {
        self.spec().long
    }

    /// The clap argument id: the long spelling without `--`.
    pub(crate) fn id(self) -> &'static str {
        let long = self.long();
        long.strip_prefix("--").unwrap_or(long)
    }

    /// Finds the option a command-line token spells (short or long), if any. The internal
    /// [`Opt::Port`] is never spelled by a user.
    pub(crate) fn from_spelling(token: &str) -> Option<Opt> {
        Opt::ALL.iter().copied().find(|opt| {
            let spec = opt.spec();
            *opt != Opt::Port && (spec.long == token || spec.short == Some(token))
        })
    }
}

/// One line of the help text's layout.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Layout {
    /// A top-level group heading (`general options:`).
    Group(&'static str),
    /// A sub-group heading (`  application entity title:`); options below are indented more.
    Subgroup(&'static str),
    /// An option's entry.
    Option(Opt),
}

/// The help text's layout: DCMTK 3.6.7's groups in DCMTK's order, then ours.
pub(crate) const HELP_LAYOUT: &[Layout] = {
    use Layout::{Group, Option as O, Subgroup};
    &[
        Group("general options:"),
        O(Opt::Help),
        O(Opt::Version),
        O(Opt::Arguments),
        O(Opt::Quiet),
        O(Opt::Verbose),
        O(Opt::Debug),
        O(Opt::LogLevel),
        O(Opt::LogConfig),
        O(Opt::VerbosePc),
        Group("network options:"),
        Subgroup("association negotiation profile from configuration file:"),
        O(Opt::ConfigFile),
        Subgroup("application entity title:"),
        O(Opt::AeTitle),
        O(Opt::UseCalledAeTitle),
        Subgroup("other network options:"),
        O(Opt::AcseTimeout),
        O(Opt::DimseTimeout),
        O(Opt::MaxPdu),
        O(Opt::DisableHostLookup),
        Group("transport layer security (TLS) options:"),
        Subgroup("transport protocol stack:"),
        O(Opt::DisableTls),
        O(Opt::EnableTls),
        Subgroup("private key password (only with --enable-tls):"),
        O(Opt::StdPasswd),
        O(Opt::UsePasswd),
        O(Opt::NullPasswd),
        Subgroup("key and certificate file format:"),
        O(Opt::PemKeys),
        O(Opt::DerKeys),
        Subgroup("certification authority:"),
        O(Opt::AddCertFile),
        O(Opt::AddCertDir),
        O(Opt::AddCrlFile),
        O(Opt::EnableCrlVfy),
        O(Opt::EnableCrlAll),
        Subgroup("security profile:"),
        O(Opt::ProfileBcp195Nd),
        O(Opt::ProfileBcp195),
        O(Opt::ProfileBcp195Ex),
        O(Opt::ProfileAes),
        O(Opt::ProfileNull),
        Subgroup("ciphersuite:"),
        O(Opt::ListCiphers),
        O(Opt::Cipher),
        O(Opt::DhParam),
        Subgroup("pseudo random generator:"),
        O(Opt::Seed),
        O(Opt::WriteSeed),
        O(Opt::WriteSeedFile),
        Subgroup("peer authentication:"),
        O(Opt::RequirePeerCert),
        O(Opt::VerifyPeerCert),
        O(Opt::IgnorePeerCert),
        Group("output options:"),
        Subgroup("general:"),
        O(Opt::OutputDirectory),
        Subgroup("subdirectory generation:"),
        O(Opt::NoSubdir),
        O(Opt::SeriesDateSubdir),
        Subgroup("filename generation:"),
        O(Opt::DefaultFilenames),
        O(Opt::UniqueFilenames),
        O(Opt::ShortUniqueNames),
        O(Opt::SystemTimeNames),
        O(Opt::FilenameExtension),
        Subgroup("storage mode:"),
        O(Opt::Normal),
        O(Opt::BitPreserving),
        O(Opt::Ignore),
        Group("dcmrecv-rs extensions (not in DCMTK):"),
        Subgroup("association negotiation profile:"),
        O(Opt::AcceptAll),
        Subgroup("network:"),
        O(Opt::BindAddress),
        O(Opt::MaxAssociations),
        O(Opt::MaxPending),
        O(Opt::MaxPendingPerAddress),
        O(Opt::PendingTimeout),
        O(Opt::AllowCalling),
        O(Opt::AllowCalled),
        O(Opt::ShutdownTimeout),
        Subgroup("output:"),
        O(Opt::Fsync),
        O(Opt::NoFsync),
        Subgroup("logging:"),
        O(Opt::LogFormat),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for opt in Opt::ALL {
            let spec = opt.spec();
            assert!(
                spec.long.starts_with("--") && spec.long.len() > 3,
                "{opt:?}"
            );
            assert!(seen.insert(spec.long), "duplicate {}", spec.long);
            if let Some(short) = spec.short {
                assert!(short.starts_with('-') || short.starts_with('+'), "{opt:?}");
                assert!(!short.starts_with("--"), "{opt:?}");
                assert!(seen.insert(short), "duplicate {short}");
            }
        }
    }

    #[test]
    fn every_visible_option_is_in_the_help_layout_once() {
        for opt in Opt::ALL {
            let count = HELP_LAYOUT
                .iter()
                .filter(|l| matches!(l, Layout::Option(o) if o == opt))
                .count();
            let hidden = matches!(opt, Opt::PrintConfig | Opt::Port);
            assert_eq!(count, usize::from(!hidden), "{opt:?}");
            assert_eq!(opt.spec().help.is_empty(), hidden, "{opt:?}");
        }
    }

    #[test]
    fn spellings_resolve_to_their_option() {
        assert_eq!(Opt::from_spelling("+B"), Some(Opt::BitPreserving));
        assert_eq!(Opt::from_spelling("-B"), Some(Opt::Normal));
        assert_eq!(Opt::from_spelling("+v"), Some(Opt::VerbosePc));
        assert_eq!(Opt::from_spelling("-v"), Some(Opt::Verbose));
        assert_eq!(Opt::from_spelling("--ignore"), Some(Opt::Ignore));
        assert_eq!(Opt::from_spelling("-ignore"), None);
        assert_eq!(Opt::from_spelling("--port"), None);
        assert_eq!(Opt::from_spelling("--"), None);
    }
}
