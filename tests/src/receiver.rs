//! Starting receivers for tests: our built `dcmrecv` and the real `/usr/bin/dcmrecv` (the
//! oracle), each on a free port with its own output directory, stopped by PID. Ours listens on
//! 127.0.0.1 only (`-ba 127.0.0.1`); DCMTK's cannot be restricted and listens on all interfaces.

use std::ffi::{OsStr, OsString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::peers::{dcmtk, dcmtk_command, workspace_root};
use crate::process::{ChildGuard, free_port, run_with_timeout};

/// Which receiver to start.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// `dcmrecv` (the real one) or `ours`.
    pub name: &'static str,
    /// Path of the executable.
    pub binary: PathBuf,
    /// Arguments [`start`](Receiver::start) puts before the caller's (so the caller's win where
    /// rightmost wins): `-ba 127.0.0.1` for ours.
    pub default_args: Vec<String>,
}

/// A started receiver; stopped (by PID) when dropped.
pub struct Running {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The process; its stderr is the receiver's log.
    pub guard: ChildGuard,
}

/// Whether a TCP socket is listening on `port` (read from `/proc/net/tcp{,6}`: connecting to
/// probe would itself be an association attempt in the receiver's log).
pub fn is_listening(port: u16) -> bool {
    !listening_addresses(port).is_empty()
}

/// The local addresses of the TCP sockets listening on `port`, from `/proc/net/tcp` and
/// `/proc/net/tcp6` (e.g. `0.0.0.0:11112` for all IPv4 interfaces).
pub fn listening_addresses(port: u16) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for (table, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let mut cols = line.split_whitespace();
            let local = cols.nth(1).unwrap_or("");
            let state = cols.nth(1).unwrap_or("");
            let Some((ip_hex, port_hex)) = local.split_once(':') else {
                continue;
            };
            if state != "0A" || u16::from_str_radix(port_hex, 16) != Ok(port) {
                continue;
            }
            if let Some(ip) = proc_net_ip(ip_hex, v6) {
                out.push(SocketAddr::new(ip, port));
            }
        }
    }
    out
}

/// An address as `/proc/net/tcp{,6}` writes it: 32-bit words in hexadecimal, each in host
/// (little endian) byte order.
fn proc_net_ip(hex: &str, v6: bool) -> Option<IpAddr> {
    let words: Vec<u32> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    if v6 {
        let octets: [u8; 16] = bytes.try_into().ok()?;
        Some(Ipv6Addr::from(octets).into())
    } else {
        let octets: [u8; 4] = bytes.try_into().ok()?;
        Some(Ipv4Addr::from(octets).into())
    }
}

/// The target directory cargo builds into (`$CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Our `dcmrecv`, built once per test process with `cargo build -p dcmrecv` (debug profile) so
/// tests of this crate do not depend on what else was built.
pub fn ours_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = crate::cargo::command()
                .args(["build", "--quiet", "-p", "dcmrecv"])
                .current_dir(workspace_root())
                .status()
                .expect("run cargo build -p dcmrecv");
            assert!(status.success(), "cargo build -p dcmrecv failed");
            target_dir().join("debug").join("dcmrecv")
        })
        .clone()
}

impl Running {
    /// Sends one C-ECHO with DCMTK's `echoscu` (which gives up after `timeout`) and returns how
    /// long it took, or `None` if it did not succeed in time: is the receiver serving others?
    pub fn echo(&self, timeout: Duration) -> Option<Duration> {
        let secs = timeout.as_secs().max(1).to_string();
        let mut cmd = dcmtk_command("echoscu");
        cmd.args(["-to", &secs, "-ta", &secs, "-td", &secs, "127.0.0.1"])
            .arg(self.port.to_string());
        let start = Instant::now();
        let mut echo = ChildGuard::spawn(cmd);
        let status = echo.wait_timeout(timeout + Duration::from_secs(2))?;
        status.success().then(|| start.elapsed())
    }
}

impl Receiver {
    /// Whether this is our `dcmrecv` (not the real one).
    pub fn is_ours(&self) -> bool {
        self.name == "ours"
    }

    /// Starts the receiver as [`start`](Self::start) does, panicking on failure (ours listens
    /// on 127.0.0.1 only through its default arguments; the real dcmrecv cannot be restricted).
    #[track_caller]
    pub fn start_local(&self, args: &[&str], od: &Path) -> Running {
        self.start(args, od).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Our `dcmrecv` (see [`ours_binary`]).
    pub fn ours() -> Receiver {
        Receiver::ours_at(ours_binary())
    }

    /// Our `dcmrecv` built elsewhere (e.g. a release build), listening on 127.0.0.1 only.
    pub fn ours_at(binary: PathBuf) -> Receiver {
        Receiver {
            name: "ours",
            binary,
            default_args: vec!["-ba".to_string(), "127.0.0.1".to_string()],
        }
    }

    /// The real `/usr/bin/dcmrecv` (panics with an install hint when missing).
    pub fn dcmtk() -> Receiver {
        Receiver {
            name: "dcmrecv",
            binary: dcmtk("dcmrecv"),
            default_args: Vec::new(),
        }
    }

    /// Runs the receiver with exactly `args` (no default arguments) until it exits, for
    /// start-up failures, `--help` and the like; panics if it is still running after 20 s.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let mut cmd = Command::new(&self.binary);
        cmd.args(args);
        run_with_timeout(cmd, Duration::from_secs(20))
    }

    /// Starts the receiver with its default arguments, `args`, then `-od od` and a free port,
    /// and waits until it listens (see [`listen`](Receiver::listen)).
    pub fn start<S: AsRef<OsStr>>(&self, args: &[S], od: &Path) -> Result<Running, String> {
        self.start_with_stdin(args, od, None)
    }

    /// [`start`](Self::start), with `input` written to the receiver's stdin (e.g. the private
    /// key's password for `+ps`).
    pub fn start_with_stdin<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        od: &Path,
        input: Option<&[u8]>,
    ) -> Result<Running, String> {
        std::fs::create_dir_all(od).map_err(|e| format!("create {}: {e}", od.display()))?;
        let mut all: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
        all.extend(["-od".into(), od.as_os_str().to_os_string()]);
        self.listen_with_stdin(&all, input)
    }

    /// Starts the receiver with its default arguments, `args` and a free port (the output
    /// directory is up to `args`), and waits until it listens. `TCP_NODELAY=1` is set so DCMTK's
    /// Nagle default does not distort timings.
    pub fn listen<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Running, String> {
        self.listen_with_stdin(args, None)
    }

    /// [`listen`](Self::listen), with `input` written to the receiver's stdin.
    pub fn listen_with_stdin<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        input: Option<&[u8]>,
    ) -> Result<Running, String> {
        self.listen_with(args, input, &[], None)
    }

    /// [`listen`](Self::listen) with `env` set for the receiver (e.g. the `AWS_*` variables of
    /// an object store), on `port` if given (a restart on the same port) or a free one.
    pub fn listen_with_env<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        env: &[(String, String)],
        port: Option<u16>,
    ) -> Result<Running, String> {
        self.listen_with(args, None, env, port)
    }

    fn listen_with<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        input: Option<&[u8]>,
        env: &[(String, String)],
        fixed_port: Option<u16>,
    ) -> Result<Running, String> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        for _attempt in 0..3 {
            let port = fixed_port.unwrap_or_else(free_port);
            // Through coreutils' `env --default-signal`, which execs the receiver (same PID)
            // with the default action for every signal: a test run under `nohup` (SIGHUP
            // ignored, inherited through exec) would otherwise change what the real dcmrecv
            // does on SIGHUP.
            let mut cmd = Command::new("/usr/bin/env");
            cmd.arg("--default-signal")
                .arg(&self.binary)
                .args(&self.default_args)
                .args(args)
                .arg(port.to_string())
                .env("TCP_NODELAY", "1");
            for (key, value) in env {
                cmd.env(key, value);
            }
            let mut guard = ChildGuard::spawn_with_stdin(cmd, input);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if is_listening(port) {
                    return Ok(Running { port, guard });
                }
                if let Some(status) = guard.wait_timeout(Duration::from_millis(10)) {
                    if fixed_port.is_none() && guard.stderr().contains("Address already in use") {
                        break; // someone took the port meanwhile: try another
                    }
                    return Err(format!(
                        "{} {shown:?} exited with {status} before listening:\n{}",
                        self.name,
                        guard.stderr()
                    ));
                }
            }
        }
        Err(format!("{} {shown:?} never listened", self.name))
    }
}
