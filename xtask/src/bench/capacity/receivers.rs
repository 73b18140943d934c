//! The receivers of the capacity section: which are installed, how each is started on a port
//! with an output directory, and what it leaves there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dcmrecv_e2e::process::{ChildGuard, free_port};
use dcmrecv_e2e::receiver::is_listening;

/// How a receiver takes its output directory and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `ARGS -od DIR PORT` (dcmrecv, ours, pynetdicom's storescp).
    OdPort,
    /// `ARGS -o DIR -p PORT` (dicom-rs's dicom-storescp).
    DicomRs,
    /// `ARGS --port PORT`, no directory (the discarding SCP).
    PortOnly,
}

/// A receiver under test.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    pub(crate) label: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    layout: Layout,
    /// Whether it writes one file per stored object (checked after every run).
    pub(crate) stores_files: bool,
    /// The share of each case's objects it is sent (1 = all; slow receivers get fewer so
    /// the section stays short; rates stay comparable).
    pub(crate) divisor: u64,
    /// The most parallel associations it is run with, and why (`None`: no limit).
    pub(crate) max_assocs: Option<(usize, &'static str)>,
}

/// The receivers that will run, and the optional ones that were not found.
pub(crate) struct Roster {
    pub(crate) receivers: Vec<Receiver>,
    pub(crate) missing: Vec<String>,
}

const PROFILE: [&str; 3] = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"];

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Our binary (normal storage mode).
pub(crate) fn ours(bin: &Path, extra: &[&str], label: &str) -> Receiver {
    let mut args = strings(&["-ba", "127.0.0.1"]);
    args.extend(strings(&PROFILE));
    args.extend(strings(extra));
    Receiver {
        label: label.to_string(),
        program: bin.to_path_buf(),
        args,
        env: vec![],
        layout: Layout::OdPort,
        stores_files: !extra.contains(&"--ignore"),
        divisor: 1,
        max_assocs: None,
    }
}

/// The real `/usr/bin/dcmrecv`, with `TCP_NODELAY=1` (Nagle would dominate otherwise).
pub(crate) fn dcmrecv() -> Receiver {
    Receiver {
        label: "dcmrecv".into(),
        program: dcmrecv_e2e::peers::dcmtk("dcmrecv"),
        args: strings(&PROFILE),
        env: vec![("TCP_NODELAY".into(), "1".into())],
        layout: Layout::OdPort,
        stores_files: true,
        divisor: 1,
        max_assocs: None,
    }
}

/// The discarding SCP of the load generator, in a process of its own (this executable).
pub(crate) fn null_scp(window: Option<u16>) -> Result<Receiver, String> {
    let program = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let mut args = vec!["null-scp".to_string()];
    let mut label = "null-scp (discards)".to_string();
    if let Some(w) = window {
        args.extend(["--window".to_string(), w.to_string()]);
        label = format!("null-scp (discards, window {w})");
    }
    Ok(Receiver {
        label,
        program,
        args,
        env: vec![],
        layout: Layout::PortOnly,
        stores_files: false,
        divisor: 1,
        max_assocs: None,
    })
}

/// Every receiver: ours (normal and `--ignore`), the real dcmrecv, the discarding SCP, and
/// the optional ones that are installed (pynetdicom's storescp, dicom-rs's dicom-storescp;
/// Orthanc is reported but not driven).
pub(crate) fn roster(ours_bin: &Path, wanted: Option<&[String]>) -> Result<Roster, String> {
    let mut receivers = vec![
        ours(ours_bin, &[], "ours"),
        dcmrecv(),
        ours(ours_bin, &["--ignore"], "ours --ignore"),
        null_scp(None)?,
    ];
    let mut missing = Vec::new();
    let venv = std::env::var_os("DCMRECV_E2E_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| dcmrecv_e2e::peers::workspace_root().join("target/e2e-venv"));
    let python = venv.join("bin/python");
    let has_pynetdicom = python.is_file()
        && Command::new(&python)
            .args(["-c", "import pynetdicom"])
            .output()
            .is_ok_and(|o| o.status.success());
    if has_pynetdicom {
        receivers.push(Receiver {
            label: "pynetdicom storescp".into(),
            program: python,
            args: strings(&["-m", "pynetdicom", "storescp", "-ba", "127.0.0.1"]),
            env: vec![],
            layout: Layout::OdPort,
            stores_files: true,
            divisor: 4,
            // Measured: it accepts 10 associations at once (more are rejected, "local limit
            // exceeded") and listens with a backlog of 5 (Python's socketserver), so at 64
            // associations connections wait for SYN retransmissions: ~55 s per run.
            max_assocs: Some((
                16,
                "it serves 10 associations at once and its listen backlog of 5 makes 64 \
                 connections wait for TCP SYN retransmissions (about a minute per run); \
                 `--receivers pynetdicom --assocs 64` runs it",
            )),
        });
    } else {
        missing.push(format!(
            "pynetdicom storescp (not installed: no pynetdicom in {})",
            venv.display()
        ));
    }
    match super::super::find_dicom_storescp() {
        Some(p) => receivers.push(Receiver {
            label: "dicom-storescp".into(),
            program: p,
            args: vec![],
            env: vec![],
            layout: Layout::DicomRs,
            stores_files: true,
            divisor: 1,
            max_assocs: None,
        }),
        None => missing.push("dicom-storescp (not installed)".into()),
    }
    match [
        "/usr/sbin/Orthanc",
        "/usr/bin/Orthanc",
        "/usr/local/bin/Orthanc",
    ]
    .iter()
    .find(|p| Path::new(p).is_file())
    {
        Some(p) => missing.push(format!(
            "Orthanc (installed at {p}, but this bench does not drive it yet)"
        )),
        None => missing.push("Orthanc (not installed)".into()),
    }
    if let Some(wanted) = wanted {
        for w in wanted {
            if !receivers.iter().any(|r| r.label.starts_with(w.as_str())) {
                return Err(format!(
                    "--receivers: no receiver `{w}` (have: {})",
                    receivers
                        .iter()
                        .map(|r| r.label.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        receivers.retain(|r| wanted.iter().any(|w| r.label.starts_with(w.as_str())));
    }
    Ok(Roster { receivers, missing })
}

/// A started receiver; killed by PID when dropped.
pub(crate) struct Started {
    pub(crate) guard: ChildGuard,
    pub(crate) port: u16,
}

impl Receiver {
    /// The same receiver with `env` set (e.g. an object store's `AWS_*` variables), labelled
    /// `label`, counted by its caller rather than by files (`stores_files` off).
    pub(crate) fn with_env(mut self, label: &str, env: Vec<(String, String)>) -> Receiver {
        self.label = label.to_string();
        self.env.extend(env);
        self.stores_files = false;
        self
    }

    /// Starts the receiver on a free port writing into `od` (which must exist), and waits
    /// until it listens (read from `/proc/net/tcp`: a probe connection would be an
    /// association attempt, and would hold up a receiver that serves one at a time).
    pub(crate) fn start(&self, od: &Path) -> Result<Started, String> {
        let mut last = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let mut cmd = Command::new(&self.program);
            cmd.args(&self.args);
            match self.layout {
                Layout::OdPort => {
                    cmd.arg("-od").arg(od).arg(port.to_string());
                }
                Layout::DicomRs => {
                    cmd.arg("-o").arg(od).arg("-p").arg(port.to_string());
                }
                Layout::PortOnly => {
                    cmd.arg("--port").arg(port.to_string());
                }
            }
            cmd.env_remove("TCP_NODELAY");
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            let mut guard = ChildGuard::spawn(cmd);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if is_listening(port) {
                    return Ok(Started { guard, port });
                }
                if let Some(status) = guard.wait_timeout(Duration::from_millis(10)) {
                    last = format!("{} exited with {status}:\n{}", self.label, guard.stderr());
                    break;
                }
            }
            if last.is_empty() {
                last = format!("{} did not listen within 20 s", self.label);
            }
        }
        Err(last)
    }
}

/// Regular files below `dir` that are not temporary files (`*.part`, or hidden).
pub(crate) fn count_stored(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        count_stored(&p)
                    } else {
                        usize::from(is_final_name(&e.file_name().to_string_lossy()))
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Whether a file name is a stored object rather than a receiver's temporary file.
pub(crate) fn is_final_name(name: &str) -> bool {
    !name.starts_with('.') && !name.ends_with(".part")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_not_counted() {
        assert!(is_final_name("CT.1.2.3"));
        assert!(!is_final_name(".dcmrecv-tmp-12-3.part"));
        assert!(!is_final_name("CT.1.2.3.part"));
    }
}
