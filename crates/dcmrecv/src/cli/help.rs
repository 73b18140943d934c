//! The texts the program prints itself: the header, the usage/help text, the version text and
//! the command-line error block, laid out like DCMTK's `OFConsoleApplication`.

use super::options::{HELP_LAYOUT, Layout};

/// The first line of every text we print. DCMTK prints `$dcmtk: dcmrecv v3.6.7 2022-04-22 $`
/// here; we say what we are instead (a deliberate difference), and which DCMTK we follow.
pub(crate) const HEADER: &str = concat!(
    "dcmrecv-rs ",
    env!("CARGO_PKG_VERSION"),
    " (compatible with DCMTK dcmrecv 3.6.7)"
);

/// DCMTK's one-line description of the tool, printed under the header.
const TITLE: &str = "dcmrecv: Simple DICOM storage SCP (receiver)";

/// The column where descriptions start.
const DESCRIPTION_COLUMN: usize = 33;

/// The help text (also printed for a command line without arguments), to stdout.
pub(crate) fn help_text() -> String {
    let mut out = format!(
        "{HEADER}\n\n{TITLE}\nusage: dcmrecv [options] port\n\nparameters:\n{}\n",
        entry("  ", "port", &["tcp/ip port number to listen on"])
    );
    let mut in_subgroup = false;
    for line in HELP_LAYOUT {
        match *line {
            Layout::Group(title) => {
                out.push_str(title);
                out.push('\n');
                in_subgroup = false;
            }
            Layout::Subgroup(title) => {
                out.push_str("  ");
                out.push_str(title);
                out.push('\n');
                in_subgroup = true;
            }
            Layout::Option(opt) => {
                let spec = opt.spec();
                // DCMTK: the short spelling is padded so that the long one starts at column 10.
                let (indent, short_width) = if in_subgroup { ("    ", 6) } else { ("  ", 8) };
                let spellings = format!(
                    "{:short_width$}{}",
                    spec.short.unwrap_or_default(),
                    spec.long
                );
                out.push_str(&entry(indent, &spellings, spec.help));
            }
        }
    }
    out.push('\n');
    out
}

/// One entry: the spellings, then the description lines aligned at [`DESCRIPTION_COLUMN`].
fn entry(indent: &str, spellings: &str, help: &[&str]) -> String {
    let mut out = String::new();
    let width = DESCRIPTION_COLUMN - indent.len();
    for (i, line) in help.iter().enumerate() {
        let left = if i == 0 { spellings } else { "" };
        out.push_str(&format!("{indent}{left:width$}{line}\n"));
    }
    out
}

/// The start of the `--version` and `+cc` texts: header, title and platform, as DCMTK lays them
/// out.
fn about() -> String {
    format!(
        "{HEADER}\n\n{TITLE}\n\nHost type: {}-{}\nTLS support: {TLS_LIBRARY}\n",
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

/// The TLS implementation, for `--version` and `+cc`.
const TLS_LIBRARY: &str = "rustls 0.23 with the ring crypto provider (no OpenSSL)";

/// The `--version` text, to stdout.
pub(crate) fn version_text() -> String {
    about()
}

/// The `+cc`/`--list-ciphers` text, to stdout: DCMTK's layout, with the suites we can
/// negotiate.
pub(crate) fn cipher_list_text() -> String {
    format!("{}\n{}", about(), crate::tls_layer::cipher_list_text())
}

/// A command-line error as DCMTK prints it on stderr: the header, then `error: <message>`.
pub(crate) fn error_text(message: &str) -> String {
    format!("{HEADER}\n\n{TITLE}\nerror: {message}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_help_lines_fit_80_columns() {
        // DCMTK's own lines are kept as DCMTK prints them (a few have 81 columns).
        let help = help_text();
        let ours = help.split("dcmrecv-rs extensions").nth(1).unwrap();
        for line in ours.lines() {
            assert!(line.chars().count() <= 80, "too long: {line:?}");
        }
    }

    #[test]
    fn entries_align_like_dcmtk() {
        let help = help_text();
        assert!(help.contains(
            "\n  -h      --help                 print this help text and exit\n          --version              print version information and exit\n"
        ));
        assert!(help.contains(
            "\n    -xf   --config-file          [f]ilename, [p]rofile: string\n                                 use profile p from configuration file f\n"
        ));
        assert!(help.contains(
            "\n          --ignore               ignore dataset, receive but do not store it\n"
        ));
    }

    #[test]
    fn errors_start_with_the_header() {
        assert_eq!(
            error_text("Unknown option --foo"),
            format!(
                "{HEADER}\n\ndcmrecv: Simple DICOM storage SCP (receiver)\nerror: Unknown option --foo\n"
            )
        );
    }
}
