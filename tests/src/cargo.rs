//! Running cargo from a test or from xtask without the variables cargo set for *our* process.
//!
//! `cargo run` and `cargo test` give the program they start `CARGO_MANIFEST_DIR`,
//! `CARGO_PKG_*` and friends. A cargo started from there inherits them, and build scripts that
//! watch them (ring's does) see a changed environment: ring, rustls and everything above them
//! would be rebuilt, and rebuilt again by the next plain `cargo` command.

use std::ffi::OsStr;
use std::process::Command;

/// Whether `name` is a variable cargo sets for the program it runs (and not a setting of the
/// user's such as `CARGO_HOME`, `CARGO_TARGET_DIR` or `CARGO_TERM_COLOR`).
pub fn is_set_by_cargo_for_us(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_BIN_EXE_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "CARGO_TARGET_TMPDIR"
        )
}

/// Removes from `cmd` every variable cargo set for this process.
pub fn clear_inherited(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if is_set_by_cargo_for_us(&name) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A `cargo` command (the cargo that started us, if any) with a clean environment.
pub fn command() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    clear_inherited(&mut cmd);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_cargo_sets_for_a_program_is_cleared() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_BIN_EXE_dcmrecv",
        ] {
            assert!(is_set_by_cargo_for_us(OsStr::new(name)), "{name}");
        }
        for name in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO",
            "CARGO_TERM_COLOR",
            "PATH",
        ] {
            assert!(!is_set_by_cargo_for_us(OsStr::new(name)), "{name}");
        }
    }
}
