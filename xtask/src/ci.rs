//! `cargo xtask ci`: the same jobs CI runs, in order, so "green locally" means "green in CI":
//! format, clippy, every test, docs, and the reduced conformance run.

use crate::shell;

/// Runs every CI job; stops at the first failure.
pub(crate) fn run_all() -> Result<(), String> {
    shell::run("cargo", &["fmt", "--all", "--", "--check"], &[])?;
    shell::run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    shell::run("cargo", &["test", "--workspace", "--locked"], &[])?;
    shell::run(
        "cargo",
        &["doc", "--workspace", "--no-deps", "--locked"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // The reduced differential run against the real dcmrecv (a couple of minutes).
    crate::conformance::main(&[])?;
    Ok(())
}

/// Entry point of `cargo xtask ci`.
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`ci` takes no arguments (got `{extra}`)"));
    }
    run_all()
}
