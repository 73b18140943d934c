//! Runs the `dcmrecv-storage-scp` acceptor with a hashing sink, so that tests and measurements
//! can drive the library with real peers in a process of its own (peak RSS, throughput).
//!
//! ```text
//! scp-helper [--port N] [--profile verification|<storescp.cfg profile>] [--max-pdu N]
//!            [--max-associations N] [--dimse-timeout S] [--acse-timeout S] [--verbose-pc]
//!            [--fail-begin] [--slow-finish-ms N]
//! ```
//!
//! Logs go to stderr (tracing, INFO by default, `RUST_LOG` to change). It logs
//! `listening on port <port>` once bound, and `STORED <instance> <ts> <bytes> <fnv1a-hash>` for
//! every object. SIGTERM/SIGINT are not handled: tests stop it by PID.

use std::sync::Arc;
use std::time::Duration;

use dcmrecv_asconfig::Profile;
use dcmrecv_e2e::profiles;
use dcmrecv_storage_scp::{AcceptorOptions, StoreRequest, StoreSink, StoreStatus};
use tracing::info;

struct HashingSink {
    sop_instance_uid: String,
    transfer_syntax_uid: String,
    bytes: u64,
    hash: u64,
    slow_finish: Option<Duration>,
}

impl StoreSink for HashingSink {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreStatus> {
        self.bytes += chunk.len() as u64;
        for &b in chunk {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> StoreStatus {
        if let Some(pause) = self.slow_finish {
            std::thread::sleep(pause);
        }
        info!(
            "STORED {} {} {} {:016x}",
            self.sop_instance_uid, self.transfer_syntax_uid, self.bytes, self.hash
        );
        StoreStatus::success()
    }

    fn abort(self: Box<Self>) {
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
    let sinks = move |request: &StoreRequest| -> Result<Box<dyn StoreSink>, StoreStatus> {
        if fail_begin {
            return Err(StoreStatus::out_of_resources("refused by --fail-begin"));
        }
        Ok(Box::new(HashingSink {
            sop_instance_uid: request.sop_instance_uid.clone(),
            transfer_syntax_uid: request.transfer_syntax_uid.clone(),
            bytes: 0,
            hash: 0xcbf2_9ce4_8422_2325,
            slow_finish: *slow_finish,
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
