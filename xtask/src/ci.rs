//! `cargo xtask ci`: the README's one test command, and what CI runs (`.ci/run` installs the
//! system packages first). It makes the Python venv when missing, names what it cannot install,
//! then runs every job even after one fails — format, clippy, every test binary
//! (`--no-fail-fast`), docs, the packaged crates' own tests, the `.deb` installed and checked,
//! and the reduced conformance run — and fails at the end with the list of failed jobs.

use crate::shell;

/// One job: its name and how to run it.
type Job = (&'static str, fn() -> Result<(), String>);

const JOBS: &[Job] = &[
    ("fmt", || {
        shell::run("cargo", &["fmt", "--all", "--", "--check"], &[])
    }),
    ("clippy", || {
        shell::run(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    }),
    ("test", || {
        shell::run(
            "cargo",
            &[
                "test",
                "--workspace",
                "--all-features",
                "--locked",
                "--no-fail-fast",
            ],
            &[],
        )
    }),
    ("doc", || {
        shell::run(
            "cargo",
            &[
                "doc",
                "--workspace",
                "--no-deps",
                "--all-features",
                "--locked",
            ],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    }),
    // `--allow-dirty` so that a local run with uncommitted changes checks them too.
    ("package", || crate::package::run(true)),
    ("dist", || {
        let deb = crate::dist::build()?;
        crate::dist::check(&deb)
    }),
    // The reduced differential run against the real dcmrecv (a couple of minutes).
    ("conformance", || crate::conformance::main(&[])),
];

/// Runs every job; fails at the end if any failed.
#[expect(clippy::print_stderr, reason = "xtask reports the jobs' results")]
pub(crate) fn run_all() -> Result<(), String> {
    let missing = crate::provision::provision();
    let mut failed = Vec::new();
    for (name, job) in JOBS {
        eprintln!("xtask: ── {name} ──");
        if let Err(e) = job() {
            eprintln!("xtask: {name} failed: {e}");
            failed.push(*name);
        }
    }
    if failed.is_empty() {
        eprintln!("xtask: every job passed");
        return Ok(());
    }
    let mut message = format!("failed jobs: {}", failed.join(", "));
    for line in missing {
        message.push_str("\n  likely cause: ");
        message.push_str(&line);
    }
    Err(message)
}

/// Entry point of `cargo xtask ci`.
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`ci` takes no arguments (got `{extra}`)"));
    }
    run_all()
}
