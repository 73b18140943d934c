//! `cargo xtask conformance`: differential testing of ours against the real `/usr/bin/dcmrecv`.
//!
//! Both receivers are started side by side with the same options (each on its own 127.0.0.1
//! port and output directory), the same clients send the same files, and we compare what the
//! clients were told (statuses, negotiated contexts) and what ended up on disk (paths, meta
//! headers, bit-preserving bytes, parsed datasets). Differences listed in
//! `xtask/conformance/allowlist.txt` (each with its reason, mirrored in the README) are reported
//! but allowed; any other difference makes the command fail.

mod allowlist;
mod client;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dcmrecv_e2e::compare::{self, Difference, Naming, compare_trees};
use dcmrecv_e2e::corpus::{SynthOptions, pydicom_part10_files, synthesize};
use dcmrecv_e2e::peers::pydicom_test_files;
use dcmrecv_e2e::receiver::Receiver;

use crate::shell::{self, workspace_root};
use client::Client;
use dcmrecv_e2e::receiver::target_dir;

const STORESCP_CFG: &str = "/etc/dcmtk/storescp.cfg";

/// Options of one run.
struct Options {
    full: bool,
    ours: Option<PathBuf>,
}

/// A row of the matrix: receiver options, what to send and with which clients.
struct Scenario {
    id: String,
    args: Vec<String>,
    naming: Naming,
    bit_preserving: bool,
    clients: Vec<Client>,
    files: Vec<PathBuf>,
}

/// The result of one scenario.
struct Row {
    id: String,
    sent: usize,
    stored_ours: usize,
    stored_theirs: usize,
    allowed: Vec<(Difference, String)>,
    unexpected: Vec<Difference>,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn profile_args(profile: &str) -> Vec<String> {
    match profile {
        "none" => Vec::new(),
        "ours" => vec![
            "-xf".into(),
            workspace_root()
                .join("etc/dcmrecv.cfg")
                .display()
                .to_string(),
            "Default".into(),
        ],
        other => args(&["-xf", STORESCP_CFG, other]),
    }
}

/// The reduced corpus for CI: one file per interesting feature.
const REDUCED_PYDICOM: [&str; 10] = [
    "CT_small.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
    "image_dfl.dcm",
    "JPEG2000.dcm",
    "rtplan.dcm",
    "reportsi.dcm",
    "waveform_ecg.dcm",
    "liver_1frame.dcm",
    "SC_rgb_rle.dcm",
];

fn corpus(options: &Options, dir: &Path) -> Vec<PathBuf> {
    let synth = synthesize(
        &dir.join("synthetic"),
        SynthOptions {
            large_mib: if options.full { 64 } else { 0 },
        },
    );
    let mut files = if options.full {
        pydicom_part10_files()
    } else {
        let tf = pydicom_test_files();
        REDUCED_PYDICOM.iter().map(|f| tf.join(f)).collect()
    };
    if options.full {
        files.extend(synth);
    } else {
        files.extend(synth.into_iter().filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            name.starts_with("synth_date_") || name.contains("_r1_") && name.starts_with("synth_s1")
        }));
    }
    files
}

fn scenarios(options: &Options, files: &[PathBuf]) -> Vec<Scenario> {
    let option_sets: Vec<(&str, Vec<String>, Naming, bool)> = {
        let mut v = vec![
            ("default", vec![], Naming::Default, false),
            ("+ssd", args(&["+ssd"]), Naming::Default, false),
            ("+fsu", args(&["+fsu"]), Naming::ShortUnique, false),
            ("+B", args(&["+B"]), Naming::Default, true),
            ("--ignore", args(&["--ignore"]), Naming::Default, false),
            ("-pdu 4096", args(&["-pdu", "4096"]), Naming::Default, false),
        ];
        if options.full {
            v.extend([
                ("+fu", args(&["+fu"]), Naming::UniqueUid, false),
                ("+fst", args(&["+fst"]), Naming::SystemTime, false),
                ("-fe .dcm", args(&["-fe", ".dcm"]), Naming::Default, false),
                (
                    "-pdu 131072",
                    args(&["-pdu", "131072"]),
                    Naming::Default,
                    false,
                ),
                (
                    "+B -fe .dcm",
                    args(&["+B", "-fe", ".dcm"]),
                    Naming::Default,
                    true,
                ),
            ]);
        }
        v
    };
    let clients = if options.full {
        vec![
            Client::Dcmsend,
            Client::Storescu,
            Client::StorescuCfg,
            Client::Pynetdicom,
        ]
    } else {
        vec![Client::Dcmsend, Client::Storescu, Client::Pynetdicom]
    };
    let mut out = Vec::new();
    for (name, extra, naming, bp) in option_sets {
        let mut a = profile_args("Default");
        a.extend(extra);
        out.push(Scenario {
            id: format!("Default {name}"),
            args: a,
            naming,
            bit_preserving: bp,
            clients: clients.clone(),
            files: files.to_vec(),
        });
    }
    if options.full {
        for profile in ["AllDICOM", "ours"] {
            out.push(Scenario {
                id: format!("{profile} default"),
                args: profile_args(profile),
                naming: Naming::Default,
                bit_preserving: false,
                clients: vec![Client::Dcmsend, Client::Pynetdicom],
                files: files.to_vec(),
            });
        }
    }
    out
}

/// Runs one receiver through a scenario for one client; returns the statuses and the output dir.
fn run_one(
    receiver: &Receiver,
    scenario: &Scenario,
    client: Client,
    od: &Path,
) -> Result<Vec<String>, String> {
    let running = receiver.start(&scenario.args, od)?;
    let statuses = scenario
        .files
        .iter()
        .map(|f| client.send(running.port, f))
        .collect();
    drop(running);
    Ok(statuses)
}

fn run_scenario(
    scenario: &Scenario,
    ours: &Receiver,
    theirs: &Receiver,
    work: &Path,
    allowed: &[allowlist::Allowed],
) -> Result<Row, String> {
    let mut row = Row {
        id: scenario.id.clone(),
        sent: 0,
        stored_ours: 0,
        stored_theirs: 0,
        allowed: Vec::new(),
        unexpected: Vec::new(),
    };
    let slug: String = scenario
        .id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    for &client in &scenario.clients {
        let id = format!("{} {}", scenario.id, client.name());
        let od_ours = work.join(format!("{slug}_{}_ours", client.name()));
        let od_theirs = work.join(format!("{slug}_{}_dcmrecv", client.name()));
        for d in [&od_ours, &od_theirs] {
            let _ = std::fs::remove_dir_all(d);
        }
        let s_ours = run_one(ours, scenario, client, &od_ours)?;
        let s_theirs = run_one(theirs, scenario, client, &od_theirs)?;
        let mut diffs = Vec::new();
        for ((file, a), b) in scenario.files.iter().zip(&s_ours).zip(&s_theirs) {
            if a != b {
                diffs.push(Difference {
                    kind: "status",
                    detail: format!(
                        "{}: ours {a:?}, dcmrecv {b:?}",
                        file.file_name()
                            .map(|n| n.to_string_lossy())
                            .unwrap_or_default()
                    ),
                });
            }
        }
        row.sent += s_theirs
            .iter()
            .filter(|s| *s == "Success" || *s == "0000")
            .count();
        row.stored_ours += compare::stored_files(&od_ours).len();
        row.stored_theirs += compare::stored_files(&od_theirs).len();
        compare_trees(
            &od_ours,
            &od_theirs,
            scenario.naming,
            scenario.bit_preserving,
            &mut diffs,
        );
        classify(&id, diffs, allowed, &mut row);
    }
    Ok(row)
}

fn classify(id: &str, diffs: Vec<Difference>, allowed: &[allowlist::Allowed], row: &mut Row) {
    for mut d in diffs {
        d.detail = format!("[{id}] {}", d.detail);
        match allowlist::find(allowed, id, &d) {
            Some(a) => row.allowed.push((d, a.reason.clone())),
            None => row.unexpected.push(d),
        }
    }
}

/// C-ECHO and context negotiation with each profile.
fn negotiation_rows(
    ours: &Receiver,
    theirs: &Receiver,
    work: &Path,
    allowed: &[allowlist::Allowed],
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for profile in ["none", "Default", "AllDICOM", "ours"] {
        let id = format!("negotiation {profile}");
        let a = profile_args(profile);
        let probe = |r: &Receiver| -> Result<(String, String), String> {
            let running = r.start(&a, &work.join(format!("neg_{profile}_{}", r.name)))?;
            let result = (client::echo(running.port), client::negotiate(running.port));
            drop(running);
            Ok(result)
        };
        let (echo_o, neg_o) = probe(ours)?;
        let (echo_t, neg_t) = probe(theirs)?;
        let mut diffs = Vec::new();
        if echo_o != echo_t {
            diffs.push(Difference {
                kind: "echo",
                detail: format!("ours {echo_o:?}, dcmrecv {echo_t:?}"),
            });
        }
        for (lo, lt) in neg_o.lines().zip(neg_t.lines()) {
            if lo != lt {
                diffs.push(Difference {
                    kind: "negotiation",
                    detail: format!("ours `{lo}`, dcmrecv `{lt}`"),
                });
            }
        }
        if neg_o.lines().count() != neg_t.lines().count() {
            diffs.push(Difference {
                kind: "negotiation",
                detail: format!("ours:\n{neg_o}\ndcmrecv:\n{neg_t}"),
            });
        }
        let mut row = Row {
            id: id.clone(),
            sent: 0,
            stored_ours: 0,
            stored_theirs: 0,
            allowed: Vec::new(),
            unexpected: Vec::new(),
        };
        classify(&id, diffs, allowed, &mut row);
        rows.push(row);
    }
    Ok(rows)
}

fn report(rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scenario | successes (dcmrecv) | stored: ours | stored: dcmrecv | allowed differences | unexpected differences |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.id,
            r.sent,
            r.stored_ours,
            r.stored_theirs,
            r.allowed.len(),
            r.unexpected.len()
        );
    }
    let allowed: Vec<_> = rows.iter().flat_map(|r| &r.allowed).collect();
    if !allowed.is_empty() {
        let _ = writeln!(s, "\nAllowed (deliberate) differences:");
        for (d, reason) in allowed {
            let _ = writeln!(s, "- {} {} — {}", d.kind, d.detail, reason);
        }
    }
    let unexpected: Vec<_> = rows.iter().flat_map(|r| &r.unexpected).collect();
    if !unexpected.is_empty() {
        let _ = writeln!(s, "\nUNEXPECTED differences:");
        for d in unexpected {
            let _ = writeln!(s, "- {} {}", d.kind, d.detail);
        }
    }
    s
}

/// Entry point of `cargo xtask conformance [--full] [--ours PATH]`.
#[expect(clippy::print_stdout, reason = "the report is the command's output")]
pub(crate) fn main(argv: &[String]) -> Result<(), String> {
    let mut options = Options {
        full: false,
        ours: None,
    };
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--full" => options.full = true,
            "--ours" => options.ours = it.next().map(PathBuf::from),
            other => return Err(format!("conformance: unknown argument `{other}`")),
        }
    }
    let ours_bin = shell::ours_release(options.ours.as_ref())?;
    let theirs = Receiver::dcmtk();
    let ours = Receiver::ours_at(ours_bin);
    let allow_path = workspace_root().join("xtask/conformance/allowlist.txt");
    let allowed = allowlist::parse(
        &std::fs::read_to_string(&allow_path)
            .map_err(|e| format!("read {}: {e}", allow_path.display()))?,
    )?;
    let work = target_dir().join("conformance");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    let files = corpus(&options, &work);
    let mut rows = negotiation_rows(&ours, &theirs, &work, &allowed)?;
    for scenario in scenarios(&options, &files) {
        rows.push(run_scenario(&scenario, &ours, &theirs, &work, &allowed)?);
    }
    let text = report(&rows);
    println!("{text}");
    let _ = std::fs::write(work.join("report.md"), &text);
    let unexpected: usize = rows.iter().map(|r| r.unexpected.len()).sum();
    if unexpected > 0 {
        return Err(format!(
            "{unexpected} unexpected difference(s) from the real dcmrecv"
        ));
    }
    Ok(())
}
