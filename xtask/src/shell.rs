//! Running commands from the workspace root, echoing them first.

use std::path::PathBuf;
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
#[expect(clippy::print_stderr, reason = "xtask echoes what it runs")]
pub(crate) fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let shown = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("$ {shown}");
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
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
