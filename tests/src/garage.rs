//! A real Garage cluster on 127.0.0.1 for the object-storage tests: three nodes with
//! replication factor 3 (so any one node may die), one bucket and one key made with Garage's own
//! CLI, every node stopped by its PID.
//!
//! Each node has its own configuration file, metadata and data directories in one temporary
//! directory, and its own free ports for RPC, S3 and the admin API; all share one random
//! `rpc_secret`. Start-up polls (listening sockets, then an S3 listing through every node)
//! instead of sleeping; [`GarageCluster::startup_time`] says how long it took.
//!
//! Garage is not a Rust dependency of the project: it is a program the tests run, found through
//! `$DCMRECV_GARAGE` or [`GARAGE_DEFAULT`], where `.ci/run` installs it (see [`GARAGE_INSTALL`]).
//! When it is missing the test fails with that install command.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::process::{ChildGuard, free_ports, run_with_timeout};
use crate::receiver::is_listening;
use crate::s3::S3Client;

/// Where `.ci/run` installs Garage.
pub const GARAGE_DEFAULT: &str = "/root/.cache/dcmrecv-rs-tools/garage/bin/garage";

/// The command that installs Garage there (about 15 minutes on a 2-core machine).
pub const GARAGE_INSTALL: &str =
    "cargo install --locked garage --version '~2.5' --root /root/.cache/dcmrecv-rs-tools/garage";

/// The S3 region every node serves.
pub const REGION: &str = "garage";

/// The bucket the cluster is created with.
pub const BUCKET: &str = "dicom";

/// The name of the access key the cluster is created with.
const KEY_NAME: &str = "dcmrecv-e2e";

/// How long the cluster (or a restarted node) may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one Garage CLI command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(30);

/// The Garage binary: `$DCMRECV_GARAGE`, else [`GARAGE_DEFAULT`]. Panics with the install
/// command when it is missing.
pub fn garage_binary() -> PathBuf {
    let path = std::env::var_os("DCMRECV_GARAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(GARAGE_DEFAULT));
    assert!(
        path.is_file(),
        "{} not found: Garage (the S3-compatible store of the object-storage tests) is required; \
         install it with `{GARAGE_INSTALL}` (about 15 minutes; `.ci/run` does it once), or set \
         DCMRECV_GARAGE to a garage 2.5 binary",
        path.display()
    );
    path
}

/// One Garage node: its configuration, ports and (while it runs) process.
struct Node {
    config: PathBuf,
    rpc_port: u16,
    s3_port: u16,
    admin_port: u16,
    process: Option<ChildGuard>,
    /// The logs of earlier runs of this node (before a kill), so nothing is lost on restart.
    earlier_logs: String,
}

/// A running Garage cluster with one bucket ([`BUCKET`]) and one key that may read, write and
/// own it. Every node is stopped by its PID when this is dropped.
///
/// Nodes are numbered from 0.
pub struct GarageCluster {
    binary: PathBuf,
    nodes: Vec<Node>,
    access_key_id: String,
    secret_access_key: String,
    /// `<node id>@<address>` of every node, for reconnecting them after a restart.
    node_ids: Vec<String>,
    startup: Duration,
    dir: tempfile::TempDir,
}

impl GarageCluster {
    /// Starts three nodes with replication factor 3 and waits until each serves S3.
    #[track_caller]
    pub fn start() -> GarageCluster {
        GarageCluster::start_nodes(3)
    }

    /// Starts `count` nodes with replication factor `count` (1 for a single node), connects
    /// them, assigns and applies the layout, creates the bucket and the key, and waits until
    /// every node answers an S3 listing of the bucket.
    #[track_caller]
    pub fn start_nodes(count: usize) -> GarageCluster {
        assert!(count > 0, "a Garage cluster needs at least one node");
        let binary = garage_binary();
        let started = Instant::now();
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = random_hex(32);
        let ports = free_ports(3 * count);
        let mut nodes: Vec<Node> = (0..count)
            .map(|i| {
                let node = Node {
                    config: dir.path().join(format!("node{i}.toml")),
                    rpc_port: ports[3 * i],
                    s3_port: ports[3 * i + 1],
                    admin_port: ports[3 * i + 2],
                    process: None,
                    earlier_logs: String::new(),
                };
                let root = dir.path().join(format!("node{i}"));
                std::fs::write(&node.config, node_config(&node, &root, count, &secret))
                    .unwrap_or_else(|e| panic!("write {}: {e}", node.config.display()));
                node
            })
            .collect();
        for node in &mut nodes {
            node.process = Some(spawn_server(&binary, &node.config));
        }
        let mut cluster = GarageCluster {
            binary,
            nodes,
            access_key_id: String::new(),
            secret_access_key: String::new(),
            node_ids: Vec::new(),
            startup: Duration::ZERO,
            dir,
        };
        for i in 0..count {
            cluster.wait_for_rpc(i);
        }
        cluster.set_up();
        for i in 0..count {
            cluster.wait_for_s3(i);
        }
        cluster.startup = started.elapsed();
        tracing::info!(nodes = count, startup = ?cluster.startup, "garage cluster ready");
        cluster
    }

    /// Connects the nodes, lays out the cluster, and creates the bucket and the key, all with
    /// Garage's CLI run against node 0. Commands that do not depend on each other run at once
    /// (each waits for RPC round trips, not for CPU).
    fn set_up(&mut self) {
        let id_commands: Vec<(usize, Vec<&str>)> = (0..self.nodes.len())
            .map(|i| (i, vec!["node", "id", "-q"]))
            .collect();
        let ids: Vec<String> = self
            .cli_at_once(&id_commands)
            .iter()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .collect();
        let connects: Vec<(usize, Vec<&str>)> = ids[1..]
            .iter()
            .map(|id| (0, vec!["node", "connect", id.as_str()]))
            .collect();
        self.cli_at_once(&connects);
        self.node_ids = ids.clone();
        let mut assign = vec!["layout", "assign", "-z", "dc1", "-c", "1G"];
        // `node id -q` prints `<id>@<address>`; the layout wants the id.
        assign.extend(ids.iter().map(|id| id.split('@').next().unwrap_or(id)));
        self.cli(0, &assign);
        self.cli(0, &["layout", "apply", "--version", "1"]);
        let created = self.cli_at_once(&[
            (0, vec!["bucket", "create", BUCKET]),
            (0, vec!["key", "create", KEY_NAME]),
        ]);
        let key = String::from_utf8_lossy(&created[1].stdout);
        self.access_key_id = field(&key, "Key ID:");
        self.secret_access_key = field(&key, "Secret key:");
        self.cli(
            0,
            &[
                "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", KEY_NAME,
            ],
        );
    }

    /// Runs several [`cli`](Self::cli) commands at once and returns their outputs in order.
    #[track_caller]
    fn cli_at_once(&self, commands: &[(usize, Vec<&str>)]) -> Vec<Output> {
        std::thread::scope(|scope| {
            let running: Vec<_> = commands
                .iter()
                .map(|(node, args)| scope.spawn(move || self.cli(*node, args)))
                .collect();
            running
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }

    /// Runs `garage -c <node's config> <args>` and returns its output; panics if it fails.
    #[track_caller]
    pub fn cli(&self, node: usize, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("-c").arg(&self.nodes[node].config).args(args);
        let out = run_with_timeout(cmd, CLI_TIMEOUT);
        assert!(
            out.status.success(),
            "garage -c node{node}.toml {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// How many nodes the cluster has.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// How long [`start`](Self::start) took, from the first process spawned to every node
    /// serving S3.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The S3 endpoint URL of `node` (`http://127.0.0.1:PORT`).
    pub fn s3_endpoint(&self, node: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[node].s3_port)
    }

    /// The S3 endpoint URLs of every node, in node order.
    pub fn s3_endpoints(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.s3_endpoint(i)).collect()
    }

    /// The port of `node`'s admin API (`/health`, `/metrics`; no admin token is set).
    pub fn admin_port(&self, node: usize) -> u16 {
        self.nodes[node].admin_port
    }

    /// The region every node serves ([`REGION`]).
    pub fn region(&self) -> &'static str {
        REGION
    }

    /// The bucket ([`BUCKET`]).
    pub fn bucket(&self) -> &'static str {
        BUCKET
    }

    /// The access key id of the key that may read, write and own the bucket.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret of that key.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The environment a receiver (or any AWS-style client) needs to reach the bucket through
    /// `node`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`
    /// and `AWS_ALLOW_HTTP=true`.
    pub fn env_vars(&self, node: usize) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_ENDPOINT_URL", self.s3_endpoint(node)),
            ("AWS_ALLOW_HTTP", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Sets [`env_vars`](Self::env_vars) on `cmd`.
    pub fn apply_env(&self, cmd: &mut Command, node: usize) {
        for (key, value) in self.env_vars(node) {
            cmd.env(key, value);
        }
    }

    /// A blocking S3 client for the bucket through `node`, configured from
    /// [`env_vars`](Self::env_vars).
    pub fn client(&self, node: usize) -> S3Client {
        S3Client::from_env_vars(&self.env_vars(node), BUCKET)
    }

    /// The PID of `node`, if it is running.
    pub fn pid(&self, node: usize) -> Option<u32> {
        self.nodes[node].process.as_ref().map(ChildGuard::pid)
    }

    /// Whether `node` is running.
    pub fn is_running(&self, node: usize) -> bool {
        self.pid(node).is_some()
    }

    /// What `node` logged, over all its runs.
    pub fn log(&self, node: usize) -> String {
        let n = &self.nodes[node];
        let current = n
            .process
            .as_ref()
            .map(ChildGuard::stderr)
            .unwrap_or_default();
        format!("{}{current}", n.earlier_logs)
    }

    /// Kills `node` with SIGKILL (`kill -9` by PID) and waits until it has exited. Its
    /// configuration and directories stay for [`restart`](Self::restart).
    #[track_caller]
    pub fn kill(&mut self, node: usize) {
        let n = &mut self.nodes[node];
        let mut process = n
            .process
            .take()
            .unwrap_or_else(|| panic!("garage node {node} is not running"));
        process.signal("KILL");
        assert!(
            process.wait_timeout(Duration::from_secs(10)).is_some(),
            "garage node {node} (pid {}) survived SIGKILL",
            process.pid()
        );
        n.earlier_logs.push_str(&process.stderr());
    }

    /// Starts `node` again with the same configuration and directories, and waits until it
    /// serves S3 again.
    #[track_caller]
    pub fn restart(&mut self, node: usize) {
        assert!(
            !self.is_running(node),
            "garage node {node} is still running"
        );
        let process = spawn_server(&self.binary, &self.nodes[node].config);
        self.nodes[node].process = Some(process);
        self.wait_for_rpc(node);
        self.wait_for_s3(node);
    }

    /// Starts every stopped node again with its configuration and directories, all at once (a
    /// node alone cannot serve S3 without a quorum), and waits until each serves S3.
    #[track_caller]
    pub fn restart_all(&mut self) {
        let stopped: Vec<usize> = (0..self.nodes.len())
            .filter(|&node| !self.is_running(node))
            .collect();
        for &node in &stopped {
            let process = spawn_server(&self.binary, &self.nodes[node].config);
            self.nodes[node].process = Some(process);
        }
        for &node in &stopped {
            self.wait_for_rpc(node);
        }
        // Nodes that all restarted find each other only slowly on their own: connect them
        // as at set-up.
        let ids = self.node_ids.clone();
        let connects: Vec<(usize, Vec<&str>)> = ids
            .iter()
            .skip(1)
            .map(|id| (0, vec!["node", "connect", id.as_str()]))
            .collect();
        self.cli_at_once(&connects);
        for &node in &stopped {
            self.wait_for_s3(node);
        }
    }

    /// Stops every node (SIGKILL by PID) and waits for each to exit.
    pub fn stop_all(&mut self) {
        for node in 0..self.nodes.len() {
            if self.is_running(node) {
                self.kill(node);
            }
        }
    }

    /// The temporary directory holding every node's configuration and data.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Waits until `node` listens for RPC (it has read its configuration and key pair).
    #[track_caller]
    fn wait_for_rpc(&mut self, node: usize) {
        let port = self.nodes[node].rpc_port;
        let deadline = Instant::now() + READY_TIMEOUT;
        while !is_listening(port) {
            let process = self.nodes[node].process.as_mut().expect("a running node");
            if let Some(status) = process.wait_timeout(Duration::from_millis(10)) {
                panic!(
                    "garage node {node} exited with {status} before listening:\n{}",
                    process.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "garage node {node} did not listen on RPC port {port} within {READY_TIMEOUT:?}:\n{}",
                self.log(node)
            );
        }
    }

    /// Waits until `node` answers an S3 listing of the bucket (its S3 API is up, and it can
    /// read the bucket and key tables from a quorum).
    #[track_caller]
    fn wait_for_s3(&self, node: usize) {
        let client = S3Client::probe(&self.env_vars(node), BUCKET);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let error = match client.list("") {
                Ok(_) => return,
                Err(e) => e,
            };
            assert!(
                Instant::now() < deadline,
                "garage node {node} did not serve S3 within {READY_TIMEOUT:?} ({error}):\n{}",
                self.log(node)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        // Each node's guard kills it by PID; dropping them here (before the temporary
        // directory goes) keeps a node from writing into a directory being removed.
        for node in &mut self.nodes {
            node.process = None;
        }
    }
}

/// `garage -c <config> server`, logging at `info` to the guard's stderr file.
fn spawn_server(binary: &Path, config: &Path) -> ChildGuard {
    let mut cmd = Command::new(binary);
    cmd.arg("-c")
        .arg(config)
        .arg("server")
        .env("RUST_LOG", "garage=info")
        .env("NO_COLOR", "1");
    ChildGuard::spawn(cmd)
}

/// The configuration file of one node.
fn node_config(node: &Node, root: &Path, replication_factor: usize, secret: &str) -> String {
    let root = root.display();
    format!(
        r#"# Garage node of the dcmrecv-rs e2e tests (one of a cluster on 127.0.0.1).
metadata_dir = "{root}/meta"
data_dir = "{root}/data"
db_engine = "lmdb"
replication_factor = {replication_factor}
# No fsync: the tests kill nodes with SIGKILL, not the machine; the page cache survives that.
metadata_fsync = false
data_fsync = false
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
        rpc = node.rpc_port,
        s3 = node.s3_port,
        admin = node.admin_port,
    )
}

/// The value after `label` on the line of `text` that starts with it (`Key ID:  GK...`).
#[track_caller]
fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| panic!("no `{label}` in garage's output:\n{text}"))
}

/// `bytes` random bytes from `/dev/urandom`, in hexadecimal.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_of_garage_key_output() {
        let out = "==== ACCESS KEY INFORMATION ====\nKey ID:              GK31c2\n\
                   Key name:            dcmrecv-e2e\nSecret key:          b892c0\n";
        assert_eq!(field(out, "Key ID:"), "GK31c2");
        assert_eq!(field(out, "Secret key:"), "b892c0");
    }

    #[test]
    fn random_hex_has_two_digits_per_byte() {
        let hex = random_hex(32);
        assert_eq!(hex.len(), 64);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
