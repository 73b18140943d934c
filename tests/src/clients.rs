//! Running the sending peers (DCMTK's `storescu`, `dcmsend`, `echoscu`) against a receiver on
//! 127.0.0.1 and reading what they report.

use std::ffi::OsStr;
use std::process::{Command, Output};
use std::time::Duration;

use crate::peers::dcmtk_command;
use crate::process::run_with_timeout;

/// How long a client may take before the test fails.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a client command to completion (with `TCP_NODELAY=1`); panics after [`CLIENT_TIMEOUT`].
pub fn run(mut cmd: Command) -> Output {
    cmd.env("TCP_NODELAY", "1");
    run_with_timeout(cmd, CLIENT_TIMEOUT)
}

/// The client's stderr (where DCMTK tools log) as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Panics with the client's output unless it exited successfully.
#[track_caller]
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
}

/// A DCMTK client command: `<tool> <options> 127.0.0.1 <port> <files>`.
pub fn dcmtk_client<S: AsRef<OsStr>>(
    tool: &str,
    port: u16,
    options: &[&str],
    files: &[S],
) -> Command {
    let mut cmd = dcmtk_command(tool);
    cmd.args(options)
        .arg("127.0.0.1")
        .arg(port.to_string())
        .args(files);
    cmd
}

/// Runs `/usr/bin/storescu -v <options> 127.0.0.1 <port> <files>`.
pub fn storescu<S: AsRef<OsStr>>(port: u16, options: &[&str], files: &[S]) -> Output {
    run(dcmtk_client(
        "storescu",
        port,
        &[&["-v"], options].concat(),
        files,
    ))
}

/// Runs `/usr/bin/dcmsend -v <options> 127.0.0.1 <port> <files>`.
pub fn dcmsend<S: AsRef<OsStr>>(port: u16, options: &[&str], files: &[S]) -> Output {
    run(dcmtk_client(
        "dcmsend",
        port,
        &[&["-v"], options].concat(),
        files,
    ))
}

/// Runs `/usr/bin/echoscu -v <options> 127.0.0.1 <port>`.
pub fn echoscu(port: u16, options: &[&str]) -> Output {
    run(dcmtk_client(
        "echoscu",
        port,
        &[&["-v"], options].concat(),
        &[] as &[&str],
    ))
}

/// The C-STORE statuses a DCMTK client logged at `-v`, in order: the text of each
/// `Received Store Response (...)` (storescu) or `Received C-STORE Response (...)` (dcmsend).
pub fn store_responses(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| {
            ["Received Store Response (", "Received C-STORE Response ("]
                .iter()
                .find_map(|marker| line.split_once(marker))
                .map(|(_, rest)| rest.trim_end().trim_end_matches(')').to_string())
        })
        .collect()
}
