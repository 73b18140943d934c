//! Project automation for dcmrecv-rs, run as `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks (format, lints, tests, docs, packages, the .deb, conformance),
//!   after making the Python venv the e2e tests need.
//! - `bench`: side-by-side benchmarks against the real dcmrecv.
//! - `conformance`: differential testing against the real `/usr/bin/dcmrecv`.
//! - `fuzz`: the fuzz targets for as long as asked (`fuzz.rs`).
//! - `load`: many associations at once against both receivers (`load.rs`).
//! - `loadgen`: the fast load generator against a running receiver; `null-scp`, its
//!   discarding SCP (`loadgen.rs`).
//! - `provision`: the e2e venv, and the system packages that are missing (`provision.rs`).
//! - `package`: `cargo package` and each packaged crate's tests (`package.rs`).
//! - `dist`: the Debian package, and with `--check` its installation test (`dist.rs`).
//! - `tidy` checks live in `tidy.rs` as `#[test]`s, so `cargo test` runs them.

mod bench;
mod ci;
mod conformance;
mod dist;
mod fuzz;
mod load;
mod loadgen;
mod package;
mod provision;
mod shell;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci            the one test command: makes the e2e venv if missing, then cargo fmt --check,
                clippy -D warnings, every test (--no-fail-fast), docs with -D warnings,
                package (below), dist --check (below, as root) and the reduced conformance
                run; every job runs, the failed ones are listed at the end
  provision     what ci does first: make the e2e venv (target/e2e-venv, pydicom 3.0.2,
                pynetdicom 3.0.4) unless DCMRECV_E2E_VENV names one; name what is missing
  package       cargo package of every published crate, then each one's tests from its
                unpacked .crate (--allow-dirty for uncommitted changes)
  dist          the .deb (cargo-deb, installed when missing): /usr/bin/dcmrecv-rs, its man
                page, /etc/dcmrecv-rs/; --check installs it, runs --version and a C-ECHO,
                and purges it (needs root)
  bench         ours vs the real dcmrecv: throughput, CPU, peak RSS (--quick for a short run,
                --runs N, --files N, --large-mib N, --huge-mib N, --ours PATH), then the
                capacity section with our load generator (--capacity: only that;
                --classic: without it; --sizes 2k,64k,512k,200m --assocs 1,4,16,64
                --receivers ours,dcmrecv,... --async-window N --threads T --max-objects N
                --case-mib N --max-case-mib N --consumer-objects N --consumer-size S
                --no-extras), then the object-store section into a three-node Garage
                (--object-store: only that); `cargo xtask bench --help` for details
  conformance   differential run against the real /usr/bin/dcmrecv (reduced matrix;
                --full for the whole matrix, --ours PATH to test another binary)
  fuzz          the fuzz targets (asconfig, dimse, scanner, acceptor) for --seconds N each
                (default 60); --target NAME, --seed S, --replay FILE; corpus and failing
                inputs under target/fuzz/
  load          16 associations x 300 objects at once against the real dcmrecv and ours,
                every data set checked (--full: 128 KiB objects; --ours PATH)
  loadgen       our in-memory C-STORE generator against a running receiver: --port P
                --size 2k|64k|512k|200m --assocs N --objects M [--async-window N]
                [--threads T] (see `cargo xtask loadgen --help`)
  null-scp      a discarding Storage SCP (--port P [--window N] [--fail-every K])
";

#[expect(clippy::print_stderr, reason = "xtask is a command-line tool")]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::main(&args[1..]),
        Some("bench") => bench::main(&args[1..]),
        Some("conformance") => conformance::main(&args[1..]),
        Some("fuzz") => fuzz::main(&args[1..]),
        Some("load") => load::main(&args[1..]),
        Some("loadgen") => loadgen::main(&args[1..]),
        Some("null-scp") => loadgen::null_scp(&args[1..]),
        Some("package") => package::main(&args[1..]),
        Some("provision") => {
            let missing = provision::provision();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("{} prerequisite(s) missing", missing.len()))
            }
        }
        Some("dist") => dist::main(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            eprint!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
