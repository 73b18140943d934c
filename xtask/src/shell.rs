//! Running commands from the workspace root, echoing them first, without the variables cargo set
//! for xtask (so the cargo commands we start do not rebuild what a plain `cargo` built).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// Runs `program args...` in the workspace root with extra environment variables; an error
/// names the command when it cannot start or exits unsuccessfully.
pub(crate) fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    run_in(&workspace_root(), program, args, env)
}

/// A command for `program args...` in `dir`, without the variables cargo set for xtask.
pub(crate) fn command(dir: &Path, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir);
    dcmrecv_e2e::cargo::clear_inherited(&mut cmd);
    cmd
}

/// Runs `program args...` in `dir` with extra environment variables.
#[expect(clippy::print_stderr, reason = "xtask echoes what it runs")]
pub(crate) fn run_in(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(), String> {
    let shown = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    if dir == workspace_root() {
        eprintln!("$ {shown}");
    } else {
        eprintln!("$ (cd {} && {shown})", dir.display());
    }
    let status = command(dir, program, args)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Our `dcmrecv` for a measurement: `given` if the user passed `--ours PATH`, else a fresh
/// `cargo build --release -p dcmrecv`.
pub(crate) fn ours_release(given: Option<&PathBuf>) -> Result<PathBuf, String> {
    match given {
        Some(path) => Ok(path.clone()),
        None => {
            run(
                "cargo",
                &["build", "--release", "--locked", "-p", "dcmrecv"],
                &[],
            )?;
            Ok(dcmrecv_e2e::receiver::target_dir()
                .join("release")
                .join("dcmrecv"))
        }
    }
}
