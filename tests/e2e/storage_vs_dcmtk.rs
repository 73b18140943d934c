//! What ours stores next to what the real dcmrecv stores, for the same files sent with the same
//! client (`/usr/bin/dcmsend`) and the same options: file names (`+fd`), the `+ssd`
//! layout with its Series Date edge cases, `+B` files byte for byte, normal-mode meta headers
//! and data sets; and the two places where ours deliberately differs: normal mode keeps the
//! received bytes (DCMTK re-encodes sequences with undefined length), and `+B` works together
//! with `+ssd` (DCMTK refuses the combination).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dcmrecv_e2e::clients::dcmsend;
use dcmrecv_e2e::compare::{
    Difference, Naming, compare_datasets, compare_files, compare_trees, read_meta, stored_files,
    value_text,
};
use dcmrecv_e2e::corpus::{SynthOptions, pydicom_part10_files, synthesize};
use dcmrecv_e2e::peers::pydicom_file;
use dcmrecv_e2e::receiver::Receiver;
use dicom_object::OpenFileOptions;
use tempfile::TempDir;

const STORESCP_DEFAULT: [&str; 3] = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"];

/// Where each receiver stored the files of one run.
struct Run {
    _work: TempDir,
    ours: PathBuf,
    theirs: PathBuf,
}

/// Starts `receiver` with `args` and output directory `od`, sends `files` with one dcmsend
/// call, and stops it.
fn receive(receiver: &Receiver, args: &[&str], files: &[PathBuf], od: &Path) {
    let running = receiver.start(args, od).expect("start receiver");
    // --no-halt: go on after a file dcmsend cannot read or send.
    dcmsend(running.port, &["-nh"], files);
    // dcmsend returns after the last release; the real dcmrecv has written everything by then.
    drop(running);
}

/// Sends `files` to the real dcmrecv with `+B`: its files hold the data set bytes as they
/// went over the wire. Returns the output directory (inside the returned `TempDir`).
fn dcmtk_bit_preserving(files: &[PathBuf]) -> (TempDir, PathBuf) {
    let work = tempfile::tempdir().expect("tempdir");
    let od = work.path().join("bp");
    receive(
        &Receiver::dcmtk(),
        &[&["+B"], &STORESCP_DEFAULT[..]].concat(),
        files,
        &od,
    );
    (work, od)
}

/// Sends `files` to ours with `ours_args` and to the real dcmrecv with `their_args`.
fn run_both(ours_args: &[&str], their_args: &[&str], files: &[PathBuf]) -> Run {
    let work = tempfile::tempdir().expect("tempdir");
    let ours = work.path().join("ours");
    let theirs = work.path().join("dcmrecv");
    receive(&Receiver::ours(), ours_args, files, &ours);
    receive(&Receiver::dcmtk(), their_args, files, &theirs);
    Run {
        _work: work,
        ours,
        theirs,
    }
}

/// pydicom's Part-10 files and the synthesised corpus (without the large object).
fn corpus(dir: &Path) -> Vec<PathBuf> {
    let mut files = pydicom_part10_files();
    files.extend(synthesize(dir, SynthOptions { large_mib: 0 }));
    files
}

/// The differences the storage policy makes on purpose (its README, "Where it differs from
/// DCMTK"): normal mode keeps the group lengths that were sent (DCMTK recalculates them), and
/// an instance UID the receiver must generate (for a data set without one) is a `2.25.` UUID
/// UID instead of one under OFFIS's root.
fn deliberate(d: &Difference) -> bool {
    d.kind == "group-length"
        || (d.kind == "meta" && d.detail.starts_with("(0002,0003) ours Some(\"2.25."))
}

#[track_caller]
fn assert_no_differences(diffs: &[Difference]) {
    let shown: Vec<String> = diffs
        .iter()
        .filter(|d| !deliberate(d))
        .map(|d| format!("{}: {}", d.kind, d.detail))
        .collect();
    assert!(
        shown.is_empty(),
        "{} differences:\n{}",
        shown.len(),
        shown.join("\n")
    );
}

#[test]
fn default_names_meta_headers_and_data_sets_are_dcmtks() {
    let synth = tempfile::tempdir().expect("tempdir");
    let files = corpus(synth.path());
    let run = run_both(&STORESCP_DEFAULT, &STORESCP_DEFAULT, &files);
    let mut diffs = Vec::new();
    compare_trees(&run.ours, &run.theirs, Naming::Default, false, &mut diffs);
    assert_no_differences(&diffs);
    // The deliberate differences do occur in this corpus (so the filter is exercised).
    for d in &diffs {
        eprintln!("deliberate difference: {}: {}", d.kind, d.detail);
    }
    let kinds: BTreeSet<&str> = diffs.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, BTreeSet::from(["group-length", "meta"]), "{diffs:?}");
    let stored = stored_files(&run.theirs);
    assert_eq!(stored_files(&run.ours), stored);
    // Most of the corpus is storable with this profile.
    assert!(stored.len() >= 60, "only {} files stored", stored.len());
    for name in [
        "CT.1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
        "RP.1.2.777.777.77.7.7777.7777.20030903150023",
        "SCw.1.2.826.0.1.3680043.10.1145.77.7.1",
    ] {
        assert!(stored.iter().any(|s| s == name), "{name} not in {stored:?}");
    }
}

#[test]
fn series_date_layout_is_dcmtks() {
    let synth = tempfile::tempdir().expect("tempdir");
    let mut files = synthesize(synth.path(), SynthOptions { large_mib: 0 });
    files.extend(["CT_small.dcm", "MR_small.dcm", "rtplan.dcm"].map(pydicom_file));
    let args = [&["+ssd"], &STORESCP_DEFAULT[..]].concat();
    let run = run_both(&args, &args, &files);
    let mut diffs = Vec::new();
    compare_trees(&run.ours, &run.theirs, Naming::Default, false, &mut diffs);
    assert_no_differences(&diffs);
    let dirs = |root: &Path| -> BTreeSet<String> {
        stored_files(root)
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d.to_string()))
            .collect()
    };
    let layout = dirs(&run.theirs);
    assert_eq!(dirs(&run.ours), layout);
    // The Series Date edge cases (synthesised as CT.<root>.9.<n>): dotted and multi-valued
    // dates count, 31 February counts, month 13 / dashes / empty / missing go to undef/<today>.
    let undef: Vec<&String> = layout.iter().filter(|d| d.starts_with("undef/")).collect();
    assert_eq!(undef.len(), 1, "{layout:?}");
    let root = "1.2.826.0.1.3680043.10.1145.77.9";
    for (n, dir) in [
        (1, "data/2020/01/15"),
        (2, "data/2020/02/31"),
        (3, undef[0].as_str()),
        (4, undef[0].as_str()),
        (5, "data/2020/01/15"),
        (6, undef[0].as_str()),
        (7, undef[0].as_str()),
    ] {
        let path = format!("{dir}/CT.{root}.{n}");
        assert!(run.theirs.join(&path).is_file(), "dcmrecv: no {path}");
        assert!(run.ours.join(&path).is_file(), "ours: no {path}");
    }
}

#[test]
fn bit_preserving_files_are_dcmtks_byte_for_byte() {
    let synth = tempfile::tempdir().expect("tempdir");
    let files = corpus(synth.path());
    let args = [&["+B"], &STORESCP_DEFAULT[..]].concat();
    let run = run_both(&args, &args, &files);
    let mut diffs = Vec::new();
    compare_trees(&run.ours, &run.theirs, Naming::Default, true, &mut diffs);
    assert_no_differences(&diffs);
    let stored = stored_files(&run.ours);
    assert!(stored.len() >= 60, "only {} files stored", stored.len());
    // The meta header comes from the command and the association, as DCMTK's: (0002,0016) is
    // the calling AE title.
    let bytes = std::fs::read(run.ours.join(&stored[0])).expect("read");
    let (meta, _) = read_meta(&bytes).expect("meta");
    assert_eq!(value_text(&meta[&0x0016]), "DCMSEND");
}

/// The number of undefined-length sequences and items in a data set, counted by their
/// delimitation items (Explicit or Implicit VR Little Endian: FFFE,E0DD and FFFE,E00D with a
/// zero length).
fn delimiters(data_set: &[u8]) -> usize {
    data_set
        .windows(8)
        .filter(|w| {
            *w == [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0] || *w == [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]
        })
        .count()
}

fn data_set(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let (_, offset) = read_meta(&bytes).expect("a Part-10 file");
    bytes[offset..].to_vec()
}

#[test]
fn normal_mode_keeps_the_received_bytes_where_dcmtk_re_encodes_sequences() {
    // rtplan.dcm has sequences and items of explicit length.
    let files = vec![pydicom_file("rtplan.dcm")];
    let name = "RP.1.2.777.777.77.7.7777.7777.20030903150023";
    let normal = run_both(&STORESCP_DEFAULT, &STORESCP_DEFAULT, &files);
    // What went over the wire: DCMTK's own +B file holds the received bytes verbatim.
    let (_work, bp) = dcmtk_bit_preserving(&files);
    let received = data_set(&bp.join(name));
    let ours = data_set(&normal.ours.join(name));
    let theirs = data_set(&normal.theirs.join(name));
    assert_eq!(
        delimiters(&received),
        0,
        "rtplan.dcm is sent with explicit lengths"
    );
    assert!(ours == received, "ours stores the received bytes");
    assert!(
        delimiters(&theirs) > 10,
        "DCMTK writes undefined lengths ({} delimiters)",
        delimiters(&theirs)
    );
    assert!(theirs.len() > ours.len());
    // Both are the same elements, and the meta headers agree.
    let open = |p: PathBuf| OpenFileOptions::new().open_file(p).expect("parse");
    let mut diffs = Vec::new();
    compare_datasets(
        &open(normal.ours.join(name)),
        &open(normal.theirs.join(name)),
        "",
        &mut diffs,
    );
    compare_files(
        &normal.ours.join(name),
        &normal.theirs.join(name),
        false,
        &mut diffs,
    );
    assert_no_differences(&diffs);
}

#[test]
fn bit_preserving_with_series_date_subdirectories_works_where_dcmtk_refuses() {
    // DCMTK refuses the combination on the command line.
    let refused = Receiver::dcmtk().run(&["+B", "+ssd", "11112"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("error: --bit-preserving not allowed with --series-date-subdir"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Ours: DCMTK's +ssd layout with DCMTK's +B contents.
    let synth = tempfile::tempdir().expect("tempdir");
    let mut files = synthesize(synth.path(), SynthOptions { large_mib: 0 });
    files.extend(["CT_small.dcm", "rtplan.dcm"].map(pydicom_file));
    let layout = run_both(
        &[&["+B", "+ssd"], &STORESCP_DEFAULT[..]].concat(),
        &[&["+ssd"], &STORESCP_DEFAULT[..]].concat(),
        &files,
    );
    let ours = stored_files(&layout.ours);
    assert_eq!(ours, stored_files(&layout.theirs));
    assert!(ours.iter().any(|p| p.starts_with("data/2020/01/15/")));

    let (_work, flat) = dcmtk_bit_preserving(&files);
    let mut diffs = Vec::new();
    for rel in &ours {
        let name = rel.rsplit_once('/').map_or(rel.as_str(), |(_, n)| n);
        compare_files(&layout.ours.join(rel), &flat.join(name), true, &mut diffs);
    }
    assert_no_differences(&diffs);
}
