//! The texts a DCMTK tool prints itself: the usage/help text and the command-line error block,
//! laid out like DCMTK's `OFConsoleApplication`.

use crate::command_line::CommandLine;
use crate::layout::{self, Layout};

/// The column where descriptions start.
const DESCRIPTION_COLUMN: usize = 33;

/// The help text (also printed for a command line without arguments).
pub(crate) fn help_text(cmd: &CommandLine) -> String {
    let mut out = format!(
        "{}\n\n{}\nusage: {}\n\nparameters:\n",
        cmd.header(),
        cmd.title(),
        cmd.usage()
    );
    for param in cmd.parameter_list() {
        out.push_str(&entry("  ", param.name(), param.help()));
    }
    out.push('\n');
    let mut in_subgroup = false;
    for line in layout::flatten(cmd.layout_lines()) {
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
            Layout::Option(spec) if !spec.is_hidden() => {
                // DCMTK: the short spelling is padded so that the long one starts at column 10.
                let (indent, short_width) = if in_subgroup { ("    ", 6) } else { ("  ", 8) };
                let spellings = format!(
                    "{:short_width$}{}",
                    spec.short().unwrap_or_default(),
                    spec.long()
                );
                out.push_str(&entry(indent, &spellings, spec.help()));
            }
            Layout::Option(_) | Layout::Include(_) => {}
        }
    }
    out.push('\n');
    out
}

/// One entry: the spellings, then the description lines aligned at [`DESCRIPTION_COLUMN`].
/// Spellings that leave fewer than DCMTK's two spaces before that column (only our longer
/// extensions; DCMTK would widen the column for every option) get a line of their own.
fn entry(indent: &str, spellings: &str, help: &[&str]) -> String {
    let mut out = String::new();
    let width = DESCRIPTION_COLUMN - indent.len();
    if spellings.len() + 2 > width {
        out.push_str(&format!("{indent}{spellings}\n"));
        for line in help {
            out.push_str(&format!("{indent}{:width$}{line}\n", ""));
        }
        return out;
    }
    for (i, line) in help.iter().enumerate() {
        let left = if i == 0 { spellings } else { "" };
        out.push_str(&format!("{indent}{left:width$}{line}\n"));
    }
    out
}

/// A command-line error as DCMTK prints it on stderr: the header, then `error: <message>`.
pub(crate) fn error_text(cmd: &CommandLine, message: &str) -> String {
    format!("{}\n\n{}\nerror: {message}\n", cmd.header(), cmd.title())
}

#[cfg(test)]
mod tests {
    use crate::test_table::TOOL;

    #[test]
    fn entries_align_like_dcmtk() {
        expect_test::expect![[r#"
            tool 1.0 (test header)

            dcmrecv: Simple DICOM storage SCP (receiver)
            usage: dcmrecv [options] port

            parameters:
              port                           tcp/ip port number to listen on

            general options:
              -h      --help                 print this help text and exit
                      --version              print version information and exit
              -v      --verbose              verbose mode, print processing details
              +v      --verbose-pc           show presentation contexts in verbose mode
            network options:
              association negotiation profile from configuration file:
                -xf   --config-file          [f]ilename, [p]rofile: string
                                             use profile p from configuration file f
              application entity title:
                -aet  --aetitle              [a]etitle: string
                                             set my AE title
                -pdu  --max-pdu              [n]umber of bytes: integer (4096..131072)
                +tls  --enable-tls           [p]rivate key file, [c]ertificate file: string
                                             use authenticated secure TLS connection
            output options:
              -od     --output-directory     [d]irectory: string (default: ".")
                                             write received objects to existing directory d
              +ssd    --series-date-subdir   generate subdirectories from series date
              storage mode:
                -B    --normal               allow implicit format conversions (default)
                +B    --bit-preserving       write dataset exactly as received
                      --ignore               ignore dataset, receive but do not store it

        "#]]
        .assert_eq(&TOOL.help_text());
    }

    #[test]
    fn spellings_too_long_for_the_column_get_a_line_of_their_own() {
        assert_eq!(
            super::entry(
                "    ",
                "      --a-very-long-option-name",
                &["[n]umber", "does it"]
            ),
            format!(
                "          --a-very-long-option-name\n{0}[n]umber\n{0}does it\n",
                " ".repeat(33)
            )
        );
        // Two spaces before the column still fit on one line, as DCMTK lays them out.
        assert_eq!(
            super::entry("    ", "-dhl  --disable-host-lookup", &["disable"]),
            "    -dhl  --disable-host-lookup  disable\n"
        );
    }

    #[test]
    fn errors_start_with_the_header() {
        assert_eq!(
            TOOL.error_text("Unknown option --foo"),
            "tool 1.0 (test header)\n\ndcmrecv: Simple DICOM storage SCP (receiver)\nerror: Unknown option --foo\n"
        );
    }
}
