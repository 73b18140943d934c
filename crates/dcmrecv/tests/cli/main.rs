//! Tests that drive the built `dcmrecv` binary: exit codes, stdout/stderr, and the command-line
//! rules of DCMTK 3.6.7's `dcmrecv`. Hermetic: no DCMTK needed, nothing listens: a
//! run that gets past the command line is given [`MISSING`] as output directory, so start-up
//! stops there (exit 45) before binding a port.

#![allow(
    clippy::unwrap_used,
    reason = "test support code: a failed unwrap is a failed test"
)]

mod command_file;
mod errors;
mod log_config;
mod logging;
mod rightmost;
mod tls;
mod usage;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An output directory that does not exist: start-up ends with exit code 45 there.
pub const MISSING: &str = "/nonexistent-dcmrecv-rs-test";

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

/// DCMTK's error block, with our header.
pub fn error_block(message: &str) -> String {
    format!(
        "dcmrecv-rs {} (compatible with DCMTK dcmrecv 3.6.7)\n\ndcmrecv: Simple DICOM storage SCP (receiver)\nerror: {message}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write a test file");
    path
}

/// Runs `dcmrecv args...` in a fresh temporary directory (or `dir`), without `RUST_LOG`.
pub fn dcmrecv(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temporary directory");
    dcmrecv_in(dir.path(), args)
}

/// Runs `dcmrecv args...` in `dir`, without `RUST_LOG`.
pub fn dcmrecv_in(dir: &Path, args: &[&str]) -> Run {
    dcmrecv_with_stdin(dir, args, None)
}

/// Runs `dcmrecv args...` in `dir`, without `RUST_LOG`, with `input` on stdin (else none).
pub fn dcmrecv_with_stdin(dir: &Path, args: &[&str], input: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcmrecv"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dcmrecv");
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    // A run that got past start-up would serve forever: stop it by its PID and fail.
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait for dcmrecv").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dcmrecv {args:?} did not exit (is it listening?)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().expect("collect dcmrecv output");
    Run {
        code: output.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// Asserts that `args` fail with exit code 1 and DCMTK's `error: <message>` block on stderr.
#[track_caller]
pub fn assert_error(args: &[&str], message: &str) {
    let run = dcmrecv(args);
    assert_eq!(run.code, 1, "{args:?}: {run:?}");
    assert_eq!(run.stderr, error_block(message), "{args:?}");
    assert_eq!(run.stdout, "", "{args:?}");
}

/// The validated configuration `--print-config` shows for `args`.
#[track_caller]
pub fn config(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--print-config");
    let run = dcmrecv(&all);
    assert_eq!(run.code, 0, "{args:?}: {run:?}");
    run.stdout
}
