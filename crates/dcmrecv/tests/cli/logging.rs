//! The default log line format, `RUST_LOG` and JSON lines.

use std::process::Command;

use crate::{MISSING, dcmrecv};

#[test]
fn debug_lines_are_dcmtk_shaped() {
    let run = dcmrecv(&["-d", "+B", "+ssd", "-od", MISSING, "11112"]);
    assert_eq!(run.code, 45);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines.iter().all(|l| {
            let b = l.as_bytes();
            b.len() >= 2 && b"FEWIDT".contains(&b[0]) && b[1] == b':'
        }),
        "{lines:?}"
    );
    assert!(
        run.stderr
            .contains(&format!("\nD: dcmrecv-rs {} ", env!("CARGO_PKG_VERSION"))),
        "{}",
        run.stderr
    );
    // Where DCMTK would refuse, we say so at DEBUG.
    assert!(
        run.stderr
            .starts_with("D: --bit-preserving with --series-date-subdir: DCMTK refuses"),
        "{}",
        run.stderr
    );
    // Nothing about it at the default level.
    let quiet = dcmrecv(&["+B", "+ssd", "-od", MISSING, "11112"]).stderr;
    assert!(!quiet.contains("bit-preserving"), "{quiet}");
}

#[test]
fn rust_log_overrides_the_command_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_dcmrecv"))
        .args(["-od", MISSING, "11112"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("D: dcmrecv-rs "), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_dcmrecv"))
        .args(["-v", "+v", "11112"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    // RUST_LOG=warn hides INFO, so `+v` is refused.
    assert_eq!(output.status.code(), Some(1));
    let output = Command::new(env!("CARGO_BIN_EXE_dcmrecv"))
        .args(["-v", "-od", MISSING, "11112"])
        .env("RUST_LOG", "[[not a filter")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("W: ignoring RUST_LOG ("), "{stderr}");
}

#[test]
fn json_lines_carry_level_message_and_target() {
    let run = dcmrecv(&[
        "--log-format",
        "json",
        "-d",
        "--arguments",
        "-od",
        MISSING,
        "11112",
    ]);
    assert_eq!(run.code, 45, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines.len() >= 4, "{lines:?}");
    for line in &lines {
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
        assert!(
            line.contains("\"level\":\"") && line.contains("\"message\":\""),
            "{line}"
        );
    }
    assert!(
        lines[0].contains("\"level\":\"INFO\"")
            && lines[0].contains("\"target\":\"dcmrecv::forced\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[0]
            .contains("with 7 arguments: '--log-format' 'json' '--debug' '--arguments' '--output-directory' '/nonexistent-dcmrecv-rs-test' '11112'"),
        "{}",
        lines[0]
    );
}
