//! `@file` command files and `--arguments`.

use std::path::Path;

use crate::{assert_error, dcmrecv_in, error_block, write_file};

fn write(dir: &Path, name: &str, content: &str) -> String {
    format!("@{}", write_file(dir, name, content).display())
}

/// C43: quotes group, and `--arguments` shows the expanded line with long spellings.
#[test]
fn arguments_show_the_expanded_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let at = write(dir.path(), "args.txt", "-od '/srv/with space'\n");
    let run = dcmrecv_in(dir.path(), &["--arguments", &at, "11112"]);
    // The directory does not exist, so start-up ends at the output directory check (45).
    assert_eq!(run.code, 45, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "I: calling '{}' with 4 arguments: '--arguments' '--output-directory' '/srv/with space' '11112' \nI: \n",
            env!("CARGO_BIN_EXE_dcmrecv")
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn quotes_follow_dcmtk() {
    let dir = tempfile::tempdir().unwrap();
    // A closing quote ends the argument (also an empty one); the other quote is kept inside.
    let at = write(
        dir.path(),
        "args.txt",
        "-aet x'y z'-od\t\"it's\"\r\n-fe '' -aet 'unterminated  x",
    );
    let run = dcmrecv_in(dir.path(), &["--arguments", &at, "11112"]);
    // `-od it's` does not exist: start-up ends at the output directory check (45).
    assert_eq!(run.code, 45, "{run:?}");
    // Ten arguments; the empty one is counted but not shown, as in DCMTK.
    assert!(
        run.stderr.contains(
            "with 10 arguments: '--arguments' '--aetitle' 'xy z' '--output-directory' 'it's' '--filename-extension' '--aetitle' 'unterminated  x' '11112' \n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn command_files_do_not_nest_and_expand_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let inner = write(dir.path(), "inner.txt", "-v");
    let outer = write(dir.path(), "outer.txt", &inner);
    // The nested `@inner.txt` stays a parameter: with the port that makes two.
    let run = dcmrecv_in(dir.path(), &[&outer, "11112"]);
    assert_eq!(
        (run.code, run.stderr),
        (1, error_block("Too many parameters"))
    );
    // Even an option's value is expanded: `-od @inner.txt` is `-od -v`.
    let config = crate::config(&["-od", &inner, "11112"]);
    assert!(config.contains("given: \"-v\","), "{config}");
}

#[test]
fn an_empty_command_file_alone_prints_the_usage() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let at = write(dir.path(), "empty.txt", " \n");
    let run = dcmrecv_in(dir.path(), &[&at]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, crate::dcmrecv(&["--help"]).stdout);
}

#[test]
fn unreadable_command_files_are_errors() {
    assert_error(
        &["@/nonexistent/args.txt", "11112"],
        "Cannot open command file '/nonexistent/args.txt'",
    );
    // Expansion comes first: even before an unknown option.
    assert_error(
        &["--foo", "@/nonexistent/args.txt"],
        "Cannot open command file '/nonexistent/args.txt'",
    );
    // `@` alone is a parameter.
    assert_error(&["@", "11112"], "Too many parameters");
}

#[test]
fn arguments_are_printed_even_when_quiet_or_failing() {
    let dir = tempfile::tempdir().unwrap();
    let run = dcmrecv_in(dir.path(), &["--arguments", "-q", "0"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "I: calling '{}' with 3 arguments: '--arguments' '--quiet' '0' \nI: \n",
            env!("CARGO_BIN_EXE_dcmrecv")
        )
    );
    // Logging-option errors come before logging exists, so nothing is printed before them.
    let run = dcmrecv_in(dir.path(), &["--arguments", "-ll", "foo", "0"]);
    assert_eq!(
        run.stderr,
        error_block("Invalid log level for --log-level option")
    );
}
