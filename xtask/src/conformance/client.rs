//! The clients of the conformance matrix and how their outcome is read.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dcmrecv_e2e::peers::{dcmtk_command, python};
use dcmrecv_e2e::process::run_with_timeout;

use crate::shell::workspace_root;

/// A sending client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Client {
    /// `/usr/bin/storescu` with its default contexts.
    Storescu,
    /// `/usr/bin/storescu -xf /etc/dcmtk/storescu.cfg Default` (proposes compressed syntaxes too).
    StorescuCfg,
    /// `/usr/bin/dcmsend` (proposes the file's own transfer syntax).
    Dcmsend,
    /// pynetdicom (`xtask/conformance/pynetdicom_store.py`).
    Pynetdicom,
}

impl Client {
    /// Short name for tables.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Client::Storescu => "storescu",
            Client::StorescuCfg => "storescu-cfg",
            Client::Dcmsend => "dcmsend",
            Client::Pynetdicom => "pynetdicom",
        }
    }

    /// Sends one file in its own association and returns the status the client reports:
    /// `Success`, another DCMTK status text, four hex digits (pynetdicom), or what went wrong
    /// (`rejected`, `not sent`, ...).
    pub(crate) fn send(self, port: u16, file: &Path) -> String {
        let port_s = port.to_string();
        let output = match self {
            Client::Storescu | Client::StorescuCfg => {
                let mut cmd = dcmtk_command("storescu");
                cmd.arg("-v");
                if self == Client::StorescuCfg {
                    cmd.args(["-xf", "/etc/dcmtk/storescu.cfg", "Default"]);
                }
                cmd.args(["127.0.0.1", &port_s]).arg(file);
                run_with_timeout(cmd, Duration::from_secs(120))
            }
            Client::Dcmsend => {
                let mut cmd = dcmtk_command("dcmsend");
                cmd.args(["-v", "127.0.0.1", &port_s]).arg(file);
                run_with_timeout(cmd, Duration::from_secs(120))
            }
            Client::Pynetdicom => {
                let mut cmd = Command::new(python());
                cmd.arg(workspace_root().join("xtask/conformance/pynetdicom_store.py"))
                    .args(["127.0.0.1", &port_s])
                    .arg(file);
                let out = run_with_timeout(cmd, Duration::from_secs(120));
                let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
                return if text.is_empty() {
                    format!(
                        "client error: {}",
                        String::from_utf8_lossy(&out.stderr)
                            .lines()
                            .last()
                            .unwrap_or("")
                    )
                } else {
                    text
                };
            }
        };
        dcmtk_status(&String::from_utf8_lossy(&output.stderr))
    }
}

/// The status a DCMTK client logged at `-v`: the text of `Received Store Response (...)` /
/// `Received C-STORE Response (...)`, else a short description of the failure.
fn dcmtk_status(log: &str) -> String {
    for marker in ["Received Store Response (", "Received C-STORE Response ("] {
        if let Some(rest) = log
            .lines()
            .find_map(|l| l.split_once(marker).map(|(_, r)| r))
        {
            return rest.trim_end_matches(')').to_string();
        }
    }
    if log.contains("Association Rejected") {
        "rejected".to_string()
    } else if log.contains("No presentation context") || log.contains("no acceptable presentation")
    {
        "no-context".to_string()
    } else {
        "not sent".to_string()
    }
}

/// Runs `echoscu` and returns `Success` or the failure it reported.
pub(crate) fn echo(port: u16) -> String {
    let mut cmd = dcmtk_command("echoscu");
    cmd.args(["-v", "127.0.0.1", &port.to_string()]);
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    if out.status.success() {
        "Success".to_string()
    } else if String::from_utf8_lossy(&out.stderr).contains("Association Rejected") {
        "rejected".to_string()
    } else {
        format!("failed ({})", out.status)
    }
}

/// Proposes a fixed set of contexts with pynetdicom and returns the acceptor's answer, one line
/// per context.
pub(crate) fn negotiate(port: u16) -> String {
    let mut cmd = Command::new(python());
    cmd.arg(workspace_root().join("xtask/conformance/negotiate.py"))
        .args(["127.0.0.1", &port.to_string()]);
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if text.is_empty() {
        format!("client error: {}", String::from_utf8_lossy(&out.stderr))
    } else {
        text
    }
}
