//! Runs the `dcmrecv-storage-scp` acceptor with a hashing sink, so that tests and measurements
//! can drive the library with real peers in a process of its own (peak RSS, throughput).
//!
//! ```text
//! scp-helper [--port N] [--profile verification|<storescp.cfg profile>] [--max-pdu N]
//!            [--max-associations N] [--dimse-timeout S] [--acse-timeout S] [--verbose-pc]
//!            [--fail-begin] [--slow-finish-ms N] [--no-quickack] [--sink hash|count|file DIR]
//! ```
//!
//! Logs go to stderr (tracing, INFO by default, `RUST_LOG` to change). It logs
//! `listening on port <port>` once bound, and `STORED <instance> <ts> <bytes> <fnv1a-hash>` for
//! every object. SIGTERM/SIGINT are not handled: tests stop it by PID.
//!
//! Sinks: `hash` (default) computes FNV-1a over every byte; `count` only counts bytes (to
//! measure the SCP itself); `file DIR` writes each data set to `DIR/<SOP instance UID>` through
//! a temporary file and a rename (no meta header: a stand-in for a real storage policy).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dcmrecv_asconfig::Profile;
use dcmrecv_e2e::profiles;
use dcmrecv_storage_scp::{AcceptorOptions, StoreRequest, StoreSink, StoreStatus};
use tracing::info;

#[derive(Clone)]
enum SinkKind {
    Hash,
    Count,
    File(PathBuf),
}

struct HashingSink {
    sop_instance_uid: String,
    transfer_syntax_uid: String,
    bytes: u64,
    hash: u64,
    slow_finish: Option<Duration>,
    kind: SinkKind,
    file: Option<(PathBuf, BufWriter<File>)>,
}

impl StoreSink for HashingSink {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreStatus> {
        self.bytes += chunk.len() as u64;
        match &self.kind {
            SinkKind::Hash => {
                for &b in chunk {
                    self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
            }
            SinkKind::Count => {}
            SinkKind::File(_) => {
                if let Some((_, w)) = self.file.as_mut() {
                    w.write_all(chunk)
                        .map_err(|e| StoreStatus::out_of_resources(e.to_string()))?;
                }
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> StoreStatus {
        if let Some(pause) = self.slow_finish {
            std::thread::sleep(pause);
        }
        if let (SinkKind::File(dir), Some((tmp, w))) = (&self.kind, self.file.take()) {
            let done = w
                .into_inner()
                .map_err(|e| e.into_error())
                .and_then(|_| std::fs::rename(&tmp, dir.join(&self.sop_instance_uid)));
            if let Err(e) = done {
                return StoreStatus::out_of_resources(e.to_string());
            }
        }
        info!(
            "STORED {} {} {} {:016x}",
            self.sop_instance_uid, self.transfer_syntax_uid, self.bytes, self.hash
        );
        StoreStatus::success()
    }

    fn abort(mut self: Box<Self>) {
        if let Some((tmp, w)) = self.file.take() {
            drop(w);
            let _ = std::fs::remove_file(tmp);
        }
        info!("ABORTED {}", self.sop_instance_uid);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();

    let mut options = AcceptorOptions::new().host_lookup(false);
    let mut port = 0u16;
    let mut fail_begin = false;
    let mut slow_finish = None;
    let mut kind = SinkKind::Hash;
    let mut args = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| -> u64 {
        v.and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what} needs a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = number(args.next(), "--port") as u16,
            "--profile" => {
                let name = args.next().expect("--profile needs a name");
                let profile = if name.eq_ignore_ascii_case("verification") {
                    Profile::verification_only()
                } else {
                    profiles::storescp_cfg(&name)
                };
                options = options.profile(profile);
            }
            "--max-pdu" => options = options.max_pdu(number(args.next(), "--max-pdu") as u32),
            "--max-associations" => {
                options =
                    options.max_associations(number(args.next(), "--max-associations") as usize)
            }
            "--dimse-timeout" => {
                options = options.dimse_timeout(Some(Duration::from_secs(number(
                    args.next(),
                    "--dimse-timeout",
                ))))
            }
            "--acse-timeout" => {
                options =
                    options.acse_timeout(Duration::from_secs(number(args.next(), "--acse-timeout")))
            }
            "--verbose-pc" => options = options.verbose_pc(true),
            "--fail-begin" => fail_begin = true,
            "--no-quickack" => options = options.tcp_quickack(false),
            "--sink" => {
                kind = match args.next().as_deref() {
                    Some("hash") => SinkKind::Hash,
                    Some("count") => SinkKind::Count,
                    Some("file") => SinkKind::File(PathBuf::from(
                        args.next().expect("--sink file needs a directory"),
                    )),
                    other => panic!("unknown sink {other:?}"),
                }
            }
            "--slow-finish-ms" => {
                slow_finish = Some(Duration::from_millis(number(
                    args.next(),
                    "--slow-finish-ms",
                )))
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let slow_finish = Arc::new(slow_finish);
    let counter = AtomicU64::new(0);
    let sinks = move |request: &StoreRequest| -> Result<Box<dyn StoreSink>, StoreStatus> {
        if fail_begin {
            return Err(StoreStatus::out_of_resources("refused by --fail-begin"));
        }
        let file = match &kind {
            SinkKind::File(dir) => {
                let tmp = dir.join(format!(".tmp.{}", counter.fetch_add(1, Ordering::Relaxed)));
                let f =
                    File::create(&tmp).map_err(|e| StoreStatus::out_of_resources(e.to_string()))?;
                Some((tmp, BufWriter::with_capacity(256 * 1024, f)))
            }
            _ => None,
        };
        Ok(Box::new(HashingSink {
            sop_instance_uid: request.sop_instance_uid.clone(),
            transfer_syntax_uid: request.transfer_syntax_uid.clone(),
            bytes: 0,
            hash: 0xcbf2_9ce4_8422_2325,
            slow_finish: *slow_finish,
            kind: kind.clone(),
            file,
        }))
    };
    let acceptor = options
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)), sinks)
        .unwrap_or_else(|e| panic!("{}", snafu_report(&e)));
    info!("listening on port {}", acceptor.local_addr().port());
    acceptor.serve();
}

fn snafu_report(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
