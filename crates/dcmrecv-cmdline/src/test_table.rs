//! A small DCMTK-like table for the unit tests (a subset of `dcmrecv`'s options).

use crate::{CommandLine, Layout, Parameter};

crate::option_table! {
    /// The test table's options.
    pub(crate) enum Opt;

    Help = Some("-h"), "--help", 0, ["print this help text and exit"];
    Version = None, "--version", 0, ["print version information and exit"];
    Verbose = Some("-v"), "--verbose", 0, ["verbose mode, print processing details"];
    VerbosePc = Some("+v"), "--verbose-pc", 0, ["show presentation contexts in verbose mode"];
    ConfigFile = Some("-xf"), "--config-file", 2, [
        "[f]ilename, [p]rofile: string",
        "use profile p from configuration file f",
    ];
    AeTitle = Some("-aet"), "--aetitle", 1, ["[a]etitle: string", "set my AE title"];
    EnableTls = Some("+tls"), "--enable-tls", 2, [
        "[p]rivate key file, [c]ertificate file: string",
        "use authenticated secure TLS connection",
    ];
    OutputDirectory = Some("-od"), "--output-directory", 1, [
        "[d]irectory: string (default: \".\")",
        "write received objects to existing directory d",
    ];
    SeriesDateSubdir = Some("+ssd"), "--series-date-subdir", 0, [
        "generate subdirectories from series date",
    ];
    Normal = Some("-B"), "--normal", 0, ["allow implicit format conversions (default)"];
    BitPreserving = Some("+B"), "--bit-preserving", 0, ["write dataset exactly as received"];
    Ignore = None, "--ignore", 0, ["ignore dataset, receive but do not store it"];
    MaxPdu = Some("-pdu"), "--max-pdu", 1, ["[n]umber of bytes: integer (4096..131072)"];
    Hidden = None, "--print-config", 0, [];
}

/// The test table's layout.
pub(crate) const LAYOUT: &[Layout] = &[
    Layout::Group("general options:"),
    Layout::Option(Opt::Help.spec()),
    Layout::Option(Opt::Version.spec()),
    Layout::Option(Opt::Verbose.spec()),
    Layout::Option(Opt::VerbosePc.spec()),
    Layout::Group("network options:"),
    Layout::Subgroup("association negotiation profile from configuration file:"),
    Layout::Option(Opt::ConfigFile.spec()),
    Layout::Subgroup("application entity title:"),
    Layout::Option(Opt::AeTitle.spec()),
    Layout::Option(Opt::MaxPdu.spec()),
    Layout::Option(Opt::EnableTls.spec()),
    Layout::Group("output options:"),
    Layout::Include(OUTPUT),
    Layout::Option(Opt::Hidden.spec()),
];

const OUTPUT: &[Layout] = &[
    Layout::Option(Opt::OutputDirectory.spec()),
    Layout::Option(Opt::SeriesDateSubdir.spec()),
    Layout::Subgroup("storage mode:"),
    Layout::Option(Opt::Normal.spec()),
    Layout::Option(Opt::BitPreserving.spec()),
    Layout::Option(Opt::Ignore.spec()),
];

/// The test program.
pub(crate) const TOOL: CommandLine = CommandLine::new(
    "dcmrecv",
    "tool 1.0 (test header)",
    "Simple DICOM storage SCP (receiver)",
)
.parameters(&[Parameter::new("port", &["tcp/ip port number to listen on"])])
.layout(LAYOUT);
