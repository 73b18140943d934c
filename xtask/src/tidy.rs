//! Tidy checks: the architecture invariants of `ARCHITECTURE.md`, checked by reading the
//! manifests (rust-analyzer's `xtask/src/tidy.rs` idea). They run with `cargo test`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::shell::workspace_root;

/// One member's manifest, reduced to what the checks need.
#[derive(Debug)]
struct Manifest {
    name: String,
    publish: bool,
    /// Dependency name → section it appears in (`dependencies`, `dev-dependencies`, ...).
    deps: BTreeMap<String, String>,
    lints_workspace: bool,
}

/// Parses the few TOML shapes our manifests use: `[section]` headers and `key = ...` lines.
fn parse_manifest(text: &str) -> Manifest {
    let mut section = String::new();
    let mut manifest = Manifest {
        name: String::new(),
        publish: true,
        deps: BTreeMap::new(),
        lints_workspace: false,
    };
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            section = header.trim_end_matches(']').trim_matches('[').to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        match section.as_str() {
            "package" if key == "name" => manifest.name = value.trim_matches('"').to_string(),
            "package" if key == "publish" => manifest.publish = value != "false",
            "lints" if key == "workspace" => manifest.lints_workspace = value == "true",
            s if s.ends_with("dependencies") => {
                let dep = key.split('.').next().unwrap_or(key).to_string();
                manifest.deps.insert(dep, s.to_string());
            }
            _ => {}
        }
    }
    manifest
}

fn member_manifests() -> Vec<(PathBuf, Manifest)> {
    let root = workspace_root();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("read crates/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.push(root.join("xtask"));
    dirs.push(root.join("tests"));
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let text = std::fs::read_to_string(dir.join("Cargo.toml")).expect("read manifest");
            (dir, parse_manifest(&text))
        })
        .collect()
}

fn manifest(name: &str) -> Manifest {
    member_manifests()
        .into_iter()
        .map(|(_, m)| m)
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no workspace member named {name}"))
}

/// Normal (non-dev) dependencies that match any of `forbidden` (exact names, or prefixes ending
/// in `*`).
fn forbidden_deps(m: &Manifest, forbidden: &[&str]) -> Vec<String> {
    m.deps
        .iter()
        .filter(|(_, section)| section.as_str() == "dependencies")
        .map(|(dep, _)| dep)
        .filter(|dep| {
            forbidden.iter().any(|f| match f.strip_suffix('*') {
                Some(prefix) => dep.starts_with(prefix),
                None => dep.as_str() == *f,
            })
        })
        .cloned()
        .collect()
}

fn check_invariant(crate_name: &str, forbidden: &[&str], why: &str) {
    let bad = forbidden_deps(&manifest(crate_name), forbidden);
    assert!(
        bad.is_empty(),
        "architecture invariant broken: {crate_name} depends on {bad:?}; {why} (see ARCHITECTURE.md)"
    );
}

const LIBRARIES: [&str; 5] = [
    "dcmrecv-asconfig",
    "dcmrecv-storage-scp",
    "dcmrecv-storage-policy",
    "dcmrecv-events",
    "dcmrecv-hooks",
];

#[test]
fn asconfig_knows_nothing_dicom_or_network() {
    check_invariant(
        "dcmrecv-asconfig",
        &["dicom-*", "dcmrecv-*", "socket2", "tokio", "rustls"],
        "the profile parser must stay free of DICOM libraries and networking",
    );
}

#[test]
fn storage_policy_knows_nothing_about_networking() {
    check_invariant(
        "dcmrecv-storage-policy",
        &[
            "dicom-ul",
            "dcmrecv-*",
            "socket2",
            "tokio",
            "rustls",
            "dns-lookup",
        ],
        "the storage policy maps instances to files and must not know the network or the SCP",
    );
}

#[test]
fn scp_knows_nothing_about_file_layout() {
    check_invariant(
        "dcmrecv-storage-scp",
        &["dcmrecv-storage-policy", "dcmrecv"],
        "the SCP hands instances to a sink it defines; the binary plugs the policy in",
    );
}

#[test]
fn events_know_nothing_about_dicom_the_network_or_our_other_crates() {
    check_invariant(
        "dcmrecv-events",
        &[
            "dicom-*",
            "dcmrecv-*",
            "socket2",
            "tokio",
            "rustls",
            "dns-lookup",
        ],
        "the event model is plain data that any receiver can produce",
    );
}

#[test]
fn hooks_know_only_the_event_model() {
    let bad: Vec<String> = forbidden_deps(
        &manifest("dcmrecv-hooks"),
        &[
            "dicom-*",
            "dcmrecv-*",
            "socket2",
            "tokio",
            "rustls",
            "dns-lookup",
        ],
    )
    .into_iter()
    .filter(|dep| dep != "dcmrecv-events")
    .collect();
    assert!(
        bad.is_empty(),
        "architecture invariant broken: dcmrecv-hooks depends on {bad:?}; hooks are driven by events only (see ARCHITECTURE.md)"
    );
}

#[test]
fn no_library_code_starts_a_shell() {
    // Nothing from the network may reach a shell: no crate's non-test code names one.
    let root = workspace_root();
    let mut offenders = Vec::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                if !path.ends_with("tests") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                let code: String = code
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                if ["\"/bin/sh\"", "Command::new(\"sh\")", "\"sh\", \"-c\""]
                    .iter()
                    .any(|needle| code.contains(needle))
                {
                    offenders.push(path);
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "these files start a shell; hooks run programs directly (see ARCHITECTURE.md): {offenders:?}"
    );
}

#[test]
fn only_the_binary_knows_the_command_line_and_the_subscriber() {
    for lib in LIBRARIES {
        check_invariant(
            lib,
            &["clap", "tracing-subscriber", "signal-hook"],
            "only the dcmrecv binary parses arguments, installs a subscriber and handles signals",
        );
    }
}

#[test]
fn nothing_depends_on_xtask_and_only_xtask_uses_the_e2e_harness() {
    for (dir, m) in member_manifests() {
        let forbidden: &[&str] = if m.name == "xtask" {
            &["xtask"]
        } else {
            &["xtask", "dcmrecv-e2e"]
        };
        let bad = forbidden_deps(&m, forbidden);
        assert!(
            bad.is_empty(),
            "{} depends on {bad:?}; xtask is a leaf, and only xtask reuses the e2e harness",
            dir.display()
        );
    }
}

#[test]
fn every_member_uses_the_workspace_lints_and_unpublished_ones_are_marked() {
    for (dir, m) in member_manifests() {
        assert!(
            m.lints_workspace,
            "{}: add `[lints] workspace = true`",
            dir.display()
        );
        let must_be_unpublished = Path::new(&dir).ends_with("xtask") || dir.ends_with("tests");
        if must_be_unpublished {
            assert!(!m.publish, "{}: set `publish = false`", dir.display());
        }
    }
}

#[test]
fn architecture_md_states_every_invariant() {
    let text = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md exists");
    let count = text.matches("**Architecture Invariant:**").count();
    assert!(
        count >= 5,
        "ARCHITECTURE.md should state the dependency invariants as `**Architecture Invariant:**` lines (found {count})"
    );
}

#[test]
fn the_manifest_parser_sees_dependencies() {
    let m = parse_manifest(
        "[package]\nname = \"x\"\npublish = false\n[dependencies]\nfoo.workspace = true\nbar = \"1\"\n[dev-dependencies]\nbaz = \"1\"\n[lints]\nworkspace = true\n",
    );
    assert_eq!(m.name, "x");
    assert!(!m.publish);
    assert!(m.lints_workspace);
    assert_eq!(forbidden_deps(&m, &["foo", "ba*"]), vec!["bar", "foo"]);
}
