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
    /// The `[package]` keys present (`license.workspace = true` counts as `license`).
    package_keys: Vec<String>,
    /// Dependency name → section it appears in (`dependencies`, `dev-dependencies`, ...).
    deps: BTreeMap<String, String>,
    /// Normal dependency name → its specification as written (`{ workspace = true, ... }`).
    dep_specs: BTreeMap<String, String>,
    lints_workspace: bool,
}

/// Parses the few TOML shapes our manifests use: `[section]` headers and `key = ...` lines.
fn parse_manifest(text: &str) -> Manifest {
    let mut section = String::new();
    let mut manifest = Manifest {
        dep_specs: BTreeMap::new(),
        name: String::new(),
        publish: true,
        package_keys: Vec::new(),
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
        if section == "package" {
            manifest
                .package_keys
                .push(key.split('.').next().unwrap_or(key).to_string());
        }
        match section.as_str() {
            "package" if key == "name" => manifest.name = value.trim_matches('"').to_string(),
            "package" if key == "publish" => manifest.publish = value != "false",
            "lints" if key == "workspace" => manifest.lints_workspace = value == "true",
            s if s.ends_with("dependencies") => {
                let dep = key.split('.').next().unwrap_or(key).to_string();
                if s == "dependencies" {
                    manifest.dep_specs.insert(dep.clone(), value.to_string());
                }
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

/// Every published library.
const LIBRARIES: [&str; 13] = [
    "dcmrecv-asconfig",
    "dcmrecv-cli",
    "dcmrecv-cmdline",
    "dcmrecv-logging",
    "dcmrecv-storage-policy",
    "dcmrecv-storage-scp",
    "dcmrecv-testpeer",
    "dcmrecv-tls",
    "dcmrecv-metrics",
    "dcmrecv-metrics-http",
    "dcmrecv-systemd",
    "dcmrecv-events",
    "dcmrecv-hooks",
];

/// Every published crate: the libraries and the binary.
fn published() -> impl Iterator<Item = &'static str> {
    LIBRARIES.into_iter().chain(["dcmrecv"])
}

/// Members (other than xtask and the e2e harness) that have `dep` in `[dependencies]`.
fn normal_dependents(dep: &str) -> Vec<String> {
    member_manifests()
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| m.name != "xtask" && m.name != "dcmrecv-e2e")
        .filter(|m| !forbidden_deps(m, &[dep]).is_empty())
        .map(|m| m.name)
        .collect()
}

/// Asserts that only `allowed` crates depend on `dep` (as a normal dependency).
fn only(dep: &str, allowed: &[&str], why: &str) {
    let mut bad = normal_dependents(dep);
    bad.retain(|name| !allowed.contains(&name.as_str()));
    assert!(
        bad.is_empty(),
        "architecture invariant broken: {bad:?} depend on {dep}; only {allowed:?} may: {why} \
         (see ARCHITECTURE.md)"
    );
}

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
            "rustls",
            "dns-lookup",
            "hyper*",
            "reqwest",
            "mio",
        ],
        "the storage policy maps instances to files (or objects) and must not know DICOM \
         networking or the SCP, nor open sockets of its own",
    );
    // Its one network client, object_store (the object-store backend's storage I/O), and the
    // runtime it needs are optional (feature `object-store`), so users who only write files
    // build neither; and tokio brings no sockets of our own (no `net` feature).
    let m = manifest("dcmrecv-storage-policy");
    for dep in ["object_store", "tokio"] {
        let spec = m.dep_specs.get(dep).map(String::as_str).unwrap_or("");
        assert!(
            spec.is_empty() || spec.contains("optional = true"),
            "dcmrecv-storage-policy: `{dep}` must stay an optional dependency (feature object-store): {spec}"
        );
    }
    let tokio = m.dep_specs.get("tokio").map(String::as_str).unwrap_or("");
    assert!(
        !tokio.contains("\"net\"") && !tokio.contains("\"full\""),
        "dcmrecv-storage-policy: tokio without sockets of our own (no `net`): {tokio}"
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
fn one_crate_each_owns_the_command_line_the_subscriber_and_tls() {
    only(
        "clap",
        &["dcmrecv-cmdline"],
        "DCMTK's command-line conventions live in one engine, which programs feed a table",
    );
    only(
        "tracing-subscriber",
        &["dcmrecv-logging"],
        "libraries only emit events; the DCMTK logging layer is the one subscriber",
    );
    only(
        "rustls",
        &["dcmrecv-storage-scp", "dcmrecv-tls", "dcmrecv-testpeer"],
        "the acceptor runs the handshake, the TLS crate builds its configuration, the test \
         client speaks TLS (an optional feature)",
    );
    only(
        "pkcs8",
        &["dcmrecv-tls"],
        "key files are read by the TLS layer only",
    );
    for dep in ["signal-hook", "rpassword"] {
        only(
            dep,
            &["dcmrecv"],
            "signals and the terminal belong to the program, not to embeddable libraries",
        );
    }
}

#[test]
fn the_dcmtk_conventions_crates_know_nothing_dicom() {
    check_invariant(
        "dcmrecv-cmdline",
        &["dicom-*", "dcmrecv-*", "tracing-subscriber", "rustls"],
        "the command-line engine is reusable by any DCMTK-style tool",
    );
    for lib in ["dcmrecv-logging", "dcmrecv-tls"] {
        let m = manifest(lib);
        let bad: Vec<String> = forbidden_deps(&m, &["dicom-*", "dcmrecv-*"])
            .into_iter()
            .filter(|dep| dep != "dcmrecv-cmdline")
            .collect();
        assert!(
            bad.is_empty(),
            "architecture invariant broken: {lib} depends on {bad:?}; it may use only \
             dcmrecv-cmdline of ours, and no DICOM crate (see ARCHITECTURE.md)"
        );
    }
    check_invariant(
        "dcmrecv-testpeer",
        &["dcmrecv-*"],
        "the test client tests our crates from outside",
    );
    let dependents = normal_dependents("dcmrecv-testpeer");
    assert!(
        dependents.is_empty(),
        "{dependents:?} depend on dcmrecv-testpeer outside [dev-dependencies]"
    );
}

#[test]
fn the_command_line_crate_starts_nothing() {
    check_invariant(
        "dcmrecv-cli",
        &[
            "dcmrecv-storage-scp",
            "dcmrecv-asconfig",
            "dicom-*",
            "socket2",
            "tokio",
            "rustls",
        ],
        "dcmrecv-cli turns the command line into plain values; the binary loads, binds and serves",
    );
}

#[test]
fn published_crates_have_complete_metadata_and_readme_doctests() {
    let root = workspace_root();
    for (dir, m) in member_manifests() {
        if !published().any(|name| name == m.name) {
            continue;
        }
        for key in [
            "description",
            "readme",
            "keywords",
            "categories",
            "documentation",
            "repository",
            "license",
            "rust-version",
        ] {
            assert!(
                m.package_keys.iter().any(|k| k == key),
                "{}: [package] needs `{key}` for crates.io",
                dir.display()
            );
        }
        if m.name == "dcmrecv" {
            // The binary's readme is the workspace README, whose code blocks the e2e crate
            // compiles.
            let lib = std::fs::read_to_string(root.join("tests/src/lib.rs")).expect("e2e lib.rs");
            assert!(lib.contains("include_str!(\"../../README.md\")"));
            continue;
        }
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).expect("lib.rs");
        assert!(
            dir.join("README.md").is_file() && lib.contains("include_str!(\"../README.md\")"),
            "{}: a README.md whose code blocks are doctests (`#[cfg(doctest)]`)",
            dir.display()
        );
    }
}

#[test]
fn shipped_files_have_one_source_reached_through_symlinks() {
    let root = workspace_root();
    let etc = root.join("etc").canonicalize().expect("etc/");
    for link in [
        "crates/dcmrecv/etc",
        "crates/dcmrecv-asconfig/tests/data/etc",
    ] {
        let path = root.join(link);
        let meta = std::fs::symlink_metadata(&path).expect(link);
        assert!(
            meta.file_type().is_symlink() && path.canonicalize().ok() == Some(etc.clone()),
            "{link} must be a symbolic link to etc/ (cargo package copies what it points to), \
             not a copy that can drift"
        );
    }
    let logger = root.join("crates/dcmrecv/tests/cli/data/logger.cfg");
    assert!(
        std::fs::symlink_metadata(&logger)
            .expect("logger.cfg")
            .file_type()
            .is_symlink(),
        "the CLI tests' logger.cfg links to dcmrecv-logging's copy of DCMTK's file"
    );
}

#[test]
fn the_binary_stays_thin() {
    let mut lines = 0;
    let mut stack = vec![workspace_root().join("crates/dcmrecv/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                lines += std::fs::read_to_string(&path)
                    .expect("read")
                    .lines()
                    .count();
            }
        }
    }
    assert!(
        lines <= 1500,
        "crates/dcmrecv/src has {lines} lines (at most 1500): generic DCMTK conventions belong \
         in dcmrecv-cmdline, dcmrecv-logging or dcmrecv-tls (see ARCHITECTURE.md)"
    );
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
        count >= 9,
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

#[test]
fn metrics_do_no_io_and_know_nothing_dicom() {
    check_invariant(
        "dcmrecv-metrics",
        &[
            "dicom-*",
            "dcmrecv-*",
            "tokio",
            "hyper*",
            "socket2",
            "rustls",
        ],
        "the metrics are counters and an encoder; serving them is dcmrecv-metrics-http's job",
    );
}

#[test]
fn the_metrics_endpoint_knows_only_the_metrics() {
    check_invariant(
        "dcmrecv-metrics-http",
        &[
            "dicom-*",
            "dcmrecv-asconfig",
            "dcmrecv-storage-*",
            "dcmrecv-systemd",
            "dcmrecv",
        ],
        "the HTTP endpoint serves dcmrecv-metrics and a readiness state, nothing of the receive path",
    );
}

#[test]
fn systemd_integration_stands_alone() {
    check_invariant(
        "dcmrecv-systemd",
        &["dicom-*", "dcmrecv-*", "tokio", "hyper*"],
        "the notify protocol and socket activation need none of our crates; the binary wires them",
    );
}

#[test]
fn the_receive_path_knows_nothing_about_metrics_or_systemd() {
    for lib in ["dcmrecv-storage-scp", "dcmrecv-storage-policy"] {
        check_invariant(
            lib,
            &[
                "dcmrecv-metrics",
                "dcmrecv-metrics-http",
                "dcmrecv-systemd",
                "prometheus-client",
                "sd-notify",
            ],
            "the acceptor reports through traits it defines; the binary adapts them to metrics and systemd",
        );
    }
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
