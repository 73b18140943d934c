//! The fuzz targets, each for a bounded time (`DCMRECV_FUZZ_SECONDS`, default 10; the seed is
//! `DCMRECV_FUZZ_SEED`, default the clock, and is printed). `cargo xtask fuzz` runs the same
//! targets as long as asked.

use std::time::Duration;

use dcmrecv_e2e::fuzz::{self, Budget};
use dcmrecv_e2e::receiver::target_dir;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[expect(
    clippy::print_stderr,
    reason = "the report (inputs, outcomes, seed) is the test's output, read with --nocapture"
)]
fn run_target(name: &str) {
    let seconds = env_u64("DCMRECV_FUZZ_SECONDS").unwrap_or(10);
    let seed = env_u64("DCMRECV_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut target = fuzz::targets()
        .into_iter()
        .find(|t| t.name() == name)
        .expect("a fuzz target of that name");
    let failures_dir = target_dir().join("fuzz").join(name);
    let report = fuzz::fuzz(
        target.as_mut(),
        &Budget {
            duration: Duration::from_secs(seconds),
            seed,
            failures_dir: Some(failures_dir),
            corpus_dir: None,
        },
    );
    eprintln!("{report} (seed {seed})");
    let failures: Vec<String> = report
        .failures
        .iter()
        .map(|f| {
            format!(
                "{} (input saved as {:?}, {} bytes)",
                f.what,
                f.saved,
                f.input.len()
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{name} with DCMRECV_FUZZ_SEED={seed}:\n{}",
        failures.join("\n")
    );
    assert!(report.iterations >= 100, "{report}");
    assert!(report.outcomes >= 4, "the inputs barely differ: {report}");
}

#[test]
fn fuzz_asconfig_parser() {
    run_target("asconfig");
}

#[test]
fn fuzz_dimse_command_decoding() {
    run_target("dimse");
}

#[test]
fn fuzz_data_set_scanner() {
    run_target("scanner");
}

#[test]
fn fuzz_acceptor_with_raw_pdu_streams() {
    run_target("acceptor");
}
