//! The real HAProxy (Debian's `/usr/sbin/haproxy`) as a layer-4 balancer in front of several
//! receivers, run from the configuration we ship (`etc/haproxy/dcmrecv.cfg`) with only its
//! `bind` address and `server` lines replaced by ports on 127.0.0.1.
//!
//! HAProxy runs in the foreground (`-db`: no daemon, no master process), so the PID the guard
//! holds is the one process that listens; it is stopped by that PID. Its log (the shipped file
//! logs to stderr, one `option tcplog` line per finished connection) says which receiver took
//! each association.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::peers::workspace_root;
use crate::process::{ChildGuard, free_port, run_with_timeout};
use crate::receiver::is_listening;

/// The hint printed when HAProxy is missing.
pub const HAPROXY_HINT: &str = "HAProxy is required for the balancer tests: \
     `sudo apt-get install -y haproxy` (or set DCMRECV_HAPROXY to the haproxy binary); \
     `.ci/run` installs it";

/// The backend section of the shipped configuration, as it appears in HAProxy's log lines.
pub const BACKEND: &str = "dicom_receivers";

/// The HAProxy binary: `$DCMRECV_HAPROXY`, else `/usr/sbin/haproxy`. Panics with
/// [`HAPROXY_HINT`] when it is missing.
pub fn haproxy_binary() -> PathBuf {
    let path = std::env::var_os("DCMRECV_HAPROXY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/haproxy"));
    assert!(
        path.is_file(),
        "{} not found: {HAPROXY_HINT}",
        path.display()
    );
    path
}

/// The configuration we ship to users, `etc/haproxy/dcmrecv.cfg`.
pub fn shipped_config() -> PathBuf {
    workspace_root()
        .join("etc")
        .join("haproxy")
        .join("dcmrecv.cfg")
}

/// Runs `haproxy -c -f config` (HAProxy's own check of a configuration file).
pub fn check_config(config: &Path) -> Output {
    let mut cmd = Command::new(haproxy_binary());
    cmd.arg("-c").arg("-f").arg(config);
    run_with_timeout(cmd, Duration::from_secs(20))
}

/// Renders `template` (a complete HAProxy configuration such as the shipped one) for a
/// balancer on `127.0.0.1:frontend_port` in front of receivers on `127.0.0.1:<backends[i]>`.
///
/// Every `bind` line becomes `bind 127.0.0.1:<frontend_port>`. The first `server` line is the
/// model for the receivers: it is replaced by one line per backend port, named like it with
/// the number changed (`dcmrecv1`, `dcmrecv2`, ...) and keeping its options; the other `server`
/// lines are dropped. Comments and everything else are kept as they are. Panics if the
/// template has no `bind` or no `server` line.
pub fn render_config(template: &str, frontend_port: u16, backends: &[u16]) -> String {
    let mut out = String::with_capacity(template.len() + 64 * backends.len());
    let (mut binds, mut servers) = (0, 0);
    for line in template.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let mut words = line.split_whitespace();
        match words.next() {
            Some("bind") => {
                binds += 1;
                out.push_str(&format!("{indent}bind 127.0.0.1:{frontend_port}\n"));
            }
            Some("server") => {
                servers += 1;
                if servers > 1 {
                    continue;
                }
                let name = words.next().unwrap_or("receiver");
                let _address = words.next();
                let options: Vec<&str> = words.collect();
                let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
                for (i, port) in backends.iter().enumerate() {
                    let mut server = format!("{indent}server {stem}{} 127.0.0.1:{port}", i + 1);
                    for option in &options {
                        server.push(' ');
                        server.push_str(option);
                    }
                    out.push_str(&server);
                    out.push('\n');
                }
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(binds > 0, "the HAProxy template has no `bind` line");
    assert!(servers > 0, "the HAProxy template has no `server` line");
    out
}

/// A running HAProxy; stopped (by its PID) when dropped.
pub struct Balancer {
    port: u16,
    guard: ChildGuard,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Balancer {
    /// Starts HAProxy with the shipped configuration on a free 127.0.0.1 port in front of
    /// receivers listening on `127.0.0.1:<backends[i]>`, and waits until it listens.
    #[track_caller]
    pub fn start(backends: &[u16]) -> Balancer {
        let template = std::fs::read_to_string(shipped_config())
            .unwrap_or_else(|e| panic!("read {}: {e}", shipped_config().display()));
        Balancer::start_with(&template, backends)
    }

    /// Starts HAProxy from the configuration `template` (see [`render_config`]).
    #[track_caller]
    pub fn start_with(template: &str, backends: &[u16]) -> Balancer {
        let binary = haproxy_binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("haproxy.cfg");
        for _attempt in 0..3 {
            let port = free_port();
            std::fs::write(&config, render_config(template, port, backends))
                .unwrap_or_else(|e| panic!("write {}: {e}", config.display()));
            let mut cmd = Command::new(&binary);
            cmd.arg("-db").arg("-f").arg(&config);
            let mut guard = ChildGuard::spawn(cmd);
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut port_taken = false;
            while Instant::now() < deadline {
                if is_listening(port) {
                    return Balancer {
                        port,
                        guard,
                        config,
                        _dir: dir,
                    };
                }
                if let Some(status) = guard.wait_timeout(Duration::from_millis(10)) {
                    let log = guard.stderr();
                    // Someone took the port meanwhile: try another.
                    port_taken = log.contains("cannot bind socket");
                    assert!(
                        port_taken,
                        "haproxy exited with {status} before listening:\n{log}"
                    );
                    break;
                }
            }
            assert!(
                port_taken,
                "haproxy did not listen on 127.0.0.1:{port} within 10 s:\n{}",
                guard.stderr()
            );
        }
        panic!("haproxy could not bind a free port in 3 attempts");
    }

    /// The port senders connect to (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// HAProxy's process id.
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// The configuration file HAProxy runs with (the rendered template).
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// Everything HAProxy logged so far (start-up notices, health-check changes, and one
    /// `option tcplog` line per finished connection).
    pub fn log(&self) -> String {
        self.guard.stderr()
    }

    /// How many finished connections each server took, from the `tcplog` lines
    /// (`... dicom dicom_receivers/dcmrecv2 ...`), keyed by server name (`dcmrecv2`).
    /// Connections HAProxy could not pass on count under `<NOSRV>`.
    pub fn connections_per_server(&self) -> BTreeMap<String, usize> {
        let marker = format!(" {BACKEND}/");
        let mut counts = BTreeMap::new();
        for line in self.log().lines() {
            if let Some((_, rest)) = line.split_once(&marker) {
                let server = rest.split_whitespace().next().unwrap_or("");
                *counts.entry(server.to_string()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Waits until HAProxy has logged `count` finished connections in all (true) or `timeout`
    /// passes (false).
    pub fn wait_for_connections(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.connections_per_server().values().sum::<usize>() >= count {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops HAProxy (by PID) and waits for it to exit.
    pub fn stop(mut self) {
        self.guard.signal("KILL");
        let _ = self.guard.wait_timeout(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_replaces_bind_and_servers_and_keeps_the_rest() {
        let template = "frontend f\n    # the port\n    bind :11112\n\
                        backend b\n    server dcmrecv1 10.0.0.1:104 check\n    server dcmrecv2 10.0.0.2:104\n";
        assert_eq!(
            render_config(template, 4000, &[4001, 4002, 4003]),
            "frontend f\n    # the port\n    bind 127.0.0.1:4000\nbackend b\n    \
             server dcmrecv1 127.0.0.1:4001 check\n    server dcmrecv2 127.0.0.1:4002 check\n    \
             server dcmrecv3 127.0.0.1:4003 check\n"
        );
    }
}
