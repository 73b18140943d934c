//! C01/C02: usage, help and version.

use expect_test::expect_file;

use crate::{assert_error, dcmrecv};

#[test]
fn no_arguments_print_the_usage_on_stdout() {
    let run = dcmrecv(&[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, dcmrecv(&["--help"]).stdout);
}

/// DCMTK's help text, group for group (only the header line and a trailing space after
/// `[p]assword: string` differ), then our extensions.
#[test]
fn help_matches_the_snapshot() {
    let run = dcmrecv(&["--help"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stderr, "");
    expect_file!["data/help.txt"].assert_eq(&run.stdout);
    // `-h` and `--help` are the same, and win over the parameter count.
    assert_eq!(dcmrecv(&["-h"]).stdout, run.stdout);
    assert_eq!(dcmrecv(&["1", "2", "-h"]).stdout, run.stdout);
    assert_eq!(dcmrecv(&["--version", "-h"]).stdout, run.stdout);
}

#[test]
fn version_says_what_we_are_and_ignores_parameters() {
    for args in [&["--version"][..], &["--version", "1", "2"]] {
        let run = dcmrecv(args);
        assert_eq!(run.code, 0, "{args:?}");
        assert_eq!(run.stderr, "");
        let first = run.stdout.lines().next().unwrap();
        assert_eq!(
            first,
            format!(
                "dcmrecv-rs {} (compatible with DCMTK dcmrecv 3.6.7)",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(run.stdout.contains("\nHost type: "), "{}", run.stdout);
    }
}

#[test]
fn parse_errors_win_over_help_and_version() {
    assert_error(&["-h", "--foo"], "Unknown option --foo");
    assert_error(&["--version", "--foo"], "Unknown option --foo");
    assert_error(
        &["-h", "-od"],
        "Missing value for option --output-directory",
    );
}
