//! `cargo xtask package`: every published crate packaged as crates.io would receive it (`cargo
//! package --workspace` without the two `publish = false` harnesses; it also builds each one
//! from its `.crate`), then each published crate's own
//! tests run in the unpacked `.crate` (`target/package/<name>-<version>/`), with our other
//! crates taken from their unpacked `.crate`s too. A test that reads a file outside its crate
//! fails here.

use std::path::PathBuf;

use crate::shell;

/// A published member: its name, version and directory.
struct Member {
    name: String,
    version: String,
}

/// The published members (`publish` not `false`) of `crates/`, read from their manifests.
fn published_members() -> Result<Vec<Member>, String> {
    let dir = shell::workspace_root().join("crates");
    let mut members = Vec::new();
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let manifest = entry.map_err(|e| e.to_string())?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.trim_start().strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_owned())
        };
        if field("publish").as_deref() == Some("false") {
            continue;
        }
        match (field("name"), field("version")) {
            (Some(name), Some(version)) => members.push(Member { name, version }),
            _ => return Err(format!("{}: no name or version", manifest.display())),
        }
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(members)
}

/// Where `cargo package` unpacked a member.
fn unpacked(member: &Member) -> PathBuf {
    dcmrecv_e2e::receiver::target_dir()
        .join("package")
        .join(format!("{}-{}", member.name, member.version))
}

/// `--config` arguments that take our other crates from their unpacked `.crate`s (they are not
/// on crates.io, and must not be: the packaged form is what is tested).
fn patches(member: &Member, all: &[Member], _manifest: &str) -> Vec<String> {
    all.iter()
        // Every other member, not only the direct dependencies: a dependency's own
        // dependencies on our crates must come from their `.crate` too (cargo warns about the
        // patches a crate does not use).
        .filter(|other| other.name != member.name)
        .flat_map(|other| {
            [
                "--config".to_owned(),
                format!(
                    "patch.crates-io.{}.path={:?}",
                    other.name,
                    unpacked(other).display().to_string()
                ),
            ]
        })
        .collect()
}

/// Removes cargo's unpacked copies of our own crates from the registry source cache
/// (`$CARGO_HOME/registry/src/*/dcmrecv-*`). `cargo package` verifies each crate against a
/// local registry of the others' new `.crate` files, but it unpacks them into that shared
/// cache and reuses a directory of the same name and version from an earlier run: without
/// this, a crate is verified against a stale copy of its dependencies.
fn forget_unpacked_overlay_crates() {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo")));
    let Some(home) = home else {
        return;
    };
    for sub in ["src", "cache"] {
        let Ok(indexes) = std::fs::read_dir(home.join("registry").join(sub)) else {
            continue;
        };
        for index in indexes.flatten() {
            let Ok(entries) = std::fs::read_dir(index.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("dcmrecv-") {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
    }
}

/// Removes the build fingerprints of our crates from the workspace's debug target directory.
/// `cargo package` verifies in that directory, and cargo treats a registry crate of a given
/// name, version and source as immutable: a `dcmrecv-*` built from the local registry by an
/// earlier run would be reused although the new `.crate` differs. Our path crates lose their
/// fingerprints too and are rebuilt once; third-party crates stay built.
fn forget_overlay_builds() {
    let fingerprints = dcmrecv_e2e::receiver::target_dir()
        .join("debug")
        .join(".fingerprint");
    let Ok(entries) = std::fs::read_dir(&fingerprints) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with("dcmrecv-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Packages every member, then runs the published ones' tests from their `.crate`; all are
/// run before an error lists the failures.
pub(crate) fn run(allow_dirty: bool) -> Result<(), String> {
    // xtask and dcmrecv-e2e are `publish = false`; cargo leaves such packages out of the local
    // registry it verifies the others against, so xtask (which needs the harness) cannot be
    // packaged, and nothing else depends on either.
    let mut args = vec![
        "package",
        "--workspace",
        "--exclude",
        "xtask",
        "--exclude",
        "dcmrecv-e2e",
        "--locked",
    ];
    if allow_dirty {
        args.push("--allow-dirty");
    }
    forget_unpacked_overlay_crates();
    forget_overlay_builds();
    shell::run("cargo", &args, &[])?;
    let members = published_members()?;
    let lock = shell::workspace_root().join("Cargo.lock");
    let target = dcmrecv_e2e::receiver::target_dir().join("package-tests");
    let target = target.to_string_lossy().into_owned();
    let mut failed = Vec::new();
    for member in &members {
        let dir = unpacked(member);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
            .map_err(|e| format!("{}: {e} (did `cargo package` verify it?)", dir.display()))?;
        // The workspace's versions of everything, so the packaged crates build with what the
        // workspace was tested with (a binary's .crate has its own lock file).
        if !dir.join("Cargo.lock").is_file() {
            std::fs::copy(&lock, dir.join("Cargo.lock"))
                .map_err(|e| format!("copy Cargo.lock to {}: {e}", dir.display()))?;
        }
        let patch_args = patches(member, &members, &manifest);
        let mut test_args: Vec<&str> = vec!["test", "--all-features"];
        test_args.extend(patch_args.iter().map(String::as_str));
        // expect-test finds files relative to the outermost directory with a Cargo.toml, which
        // would be the workspace's; CARGO_WORKSPACE_DIR tells it the package is its own root.
        let root = dir.to_string_lossy().into_owned();
        let env = [
            ("CARGO_TARGET_DIR", target.as_str()),
            ("CARGO_WORKSPACE_DIR", root.as_str()),
        ];
        if let Err(e) = shell::run_in(&dir, "cargo", &test_args, &env) {
            failed.push(format!("{}: {e}", member.name));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the tests of these packaged crates failed:\n  {}",
            failed.join("\n  ")
        ))
    }
}

/// Entry point of `cargo xtask package [--allow-dirty]`.
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    match args {
        [] => run(false),
        [flag] if flag == "--allow-dirty" => run(true),
        other => Err(format!(
            "`package` takes only --allow-dirty (got {other:?})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_is_published_and_the_harnesses_are_not() {
        let names: Vec<String> = published_members()
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        for name in [
            "dcmrecv",
            "dcmrecv-cmdline",
            "dcmrecv-tls",
            "dcmrecv-testpeer",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| n == "dcmrecv-e2e" || n == "xtask"));
    }
}
