//! Starting an endpoint on 127.0.0.1:0 and talking to it with curl.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use dcmrecv_metrics::{Metrics, MetricsOptions};
use dcmrecv_metrics_http::{Endpoint, EndpointOptions, Readiness};

const CURL: &str = "/usr/bin/curl";

/// The tests of this binary run one at a time: the flood test measures the whole process's
/// memory and threads, which other tests' endpoints would disturb.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An endpoint with short timeouts, so that the tests that wait for them stay short.
pub(crate) fn start(metrics: &Metrics, readiness: &Readiness) -> Endpoint {
    start_with(metrics, readiness, |o| o)
}

pub(crate) fn start_with(
    metrics: &Metrics,
    readiness: &Readiness,
    adjust: impl FnOnce(EndpointOptions) -> EndpointOptions,
) -> Endpoint {
    let options = EndpointOptions::new("127.0.0.1:0".parse().expect("an address"))
        .header_read_timeout(Duration::from_secs(2))
        .connection_timeout(Duration::from_secs(10));
    Endpoint::start(adjust(options), metrics.clone(), readiness.clone())
        .expect("start the endpoint")
}

pub(crate) fn metrics() -> Metrics {
    Metrics::new(MetricsOptions::new())
}

/// One curl run: the status, the response headers (lower-cased names) and the body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs curl on `http://<addr><path>` with extra arguments.
pub(crate) fn curl(addr: SocketAddr, path: &str, args: &[&str]) -> Reply {
    assert!(
        Path::new(CURL).exists(),
        "{CURL} is missing: install Debian's curl (apt-get install curl)"
    );
    let output = Command::new(CURL)
        .args(["-sS", "-i", "--max-time", "10"])
        .args(args)
        .arg(format!("http://{addr}{path}"))
        .output()
        .expect("run curl");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("utf-8 reply");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// This process's resident set size in KiB, and its thread count.
pub(crate) fn rss_kib_and_threads() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("Threads:"))
}
