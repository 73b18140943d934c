//! `cargo xtask fuzz`: the fuzz targets of the e2e harness (`dcmrecv_e2e::fuzz`: the asconfig
//! parser, DIMSE command decoding, the data set scanner, the acceptor fed raw PDU streams), each
//! for as long as asked, on stable Rust.
//!
//! The corpus of each target lives in `target/fuzz/<target>/corpus/` and grows from run to run;
//! failing inputs are saved as `target/fuzz/<target>/failure-<hash>.bin` and can be run again
//! with `--replay FILE --target NAME`. Nothing there is committed.
//!
//! For speed, run it in release mode: `cargo run --release -p xtask -- fuzz --seconds 600`.
//! (Debug builds keep overflow checks, which catch more.)

use std::path::PathBuf;
use std::time::Duration;

use dcmrecv_e2e::fuzz::{self, Budget};
use dcmrecv_e2e::receiver::target_dir;

const USAGE: &str =
    "usage: cargo xtask fuzz [--seconds N] [--target NAME]... [--seed S] [--replay FILE]
targets: asconfig, dimse, scanner, acceptor (default: all; N seconds each, default 60)";

#[expect(clippy::print_stderr, reason = "xtask reports on stderr")]
pub(crate) fn main(argv: &[String]) -> Result<(), String> {
    let mut seconds = 60u64;
    let mut names: Vec<String> = Vec::new();
    let mut seed = None;
    let mut replay = None;
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("fuzz: {arg} needs {what}\n{USAGE}"))
        };
        match arg.as_str() {
            "--seconds" => {
                seconds = value("a number")?
                    .parse()
                    .map_err(|e| format!("fuzz: --seconds: {e}"))?;
            }
            "--target" => names.push(value("a target name")?),
            "--seed" => {
                seed = Some(
                    value("a number")?
                        .parse::<u64>()
                        .map_err(|e| format!("fuzz: --seed: {e}"))?,
                );
            }
            "--replay" => replay = Some(PathBuf::from(value("a file")?)),
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("fuzz: unknown argument `{other}`\n{USAGE}")),
        }
    }
    let mut targets = fuzz::targets();
    if !names.is_empty() {
        for name in &names {
            if !targets.iter().any(|t| t.name() == name) {
                return Err(format!("fuzz: no target named `{name}`\n{USAGE}"));
            }
        }
        targets.retain(|t| names.iter().any(|n| n == t.name()));
    }

    if let Some(file) = replay {
        let input = std::fs::read(&file).map_err(|e| format!("read {}: {e}", file.display()))?;
        let [target] = targets.as_mut_slice() else {
            return Err("fuzz: --replay needs exactly one --target".to_string());
        };
        let result = fuzz::run_once(target.as_mut(), &input);
        eprintln!("{}: {} -> {result:?}", target.name(), file.display());
        return result.map(|_| ());
    }

    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    eprintln!(
        "fuzzing {} target(s), {seconds} s each, seed {seed}",
        targets.len()
    );
    let mut failed = Vec::new();
    for target in &mut targets {
        let dir = target_dir().join("fuzz").join(target.name());
        let report = fuzz::fuzz(
            target.as_mut(),
            &Budget {
                duration: Duration::from_secs(seconds),
                seed,
                failures_dir: Some(dir.clone()),
                corpus_dir: Some(dir.join("corpus")),
            },
        );
        eprintln!("{report}");
        for failure in &report.failures {
            eprintln!(
                "  FAILURE: {}\n    input: {:?} ({} bytes)",
                failure.what,
                failure.saved,
                failure.input.len()
            );
        }
        if !report.failures.is_empty() {
            failed.push(report.target);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "failures in {failed:?} (seed {seed}); replay one with `cargo xtask fuzz --target NAME --replay FILE`"
        ))
    }
}
