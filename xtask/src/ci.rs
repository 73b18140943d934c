//! `cargo xtask ci`: the same jobs CI runs, in order, so "green locally" means "green in CI".

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
    Ok(())
}

/// Entry point of `cargo xtask ci`.
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`ci` takes no arguments (got `{extra}`)"));
    }
    run_all()
}
