//! The conformance corpus: pydicom's bundled test files (installed at run time) plus objects
//! synthesised in code (multi-frame, large, deflated, big endian, private SOP class, several
//! studies and series, Series Date edge cases). Nothing here is committed.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::uids;

use crate::objects::{Instance, write_large_object};
use crate::peers::pydicom_test_files;

/// pydicom test files that are Part-10 files (they start with a preamble and `DICM`), sorted by
/// name. Whether a client can send them is for the client to decide, as it is for users.
pub fn pydicom_part10_files() -> Vec<PathBuf> {
    let dir = pydicom_test_files();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "dcm") && is_part10(p))
        .collect();
    files.sort();
    files
}

/// Whether `path` starts with a 128-byte preamble followed by `DICM`.
pub fn is_part10(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 132];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head[128..132] == b"DICM"
}

/// Which synthetic objects to make.
#[derive(Debug, Clone, Copy)]
pub struct SynthOptions {
    /// Include a large multi-frame object of this many MiB (0 = none).
    pub large_mib: u64,
}

/// Writes the synthetic objects into `dir` (created if needed) and returns their paths.
pub fn synthesize(dir: &Path, options: SynthOptions) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let root = "1.2.826.0.1.3680043.10.1145.77";
    let mut out = Vec::new();
    let mut add = |name: &str, inst: &Instance, ts: &str| {
        let path = dir.join(name);
        inst.write(&path, ts);
        out.push(path);
    };
    // Several studies and series, in each native transfer syntax and deflated.
    let syntaxes = [
        ("el", uids::EXPLICIT_VR_LITTLE_ENDIAN),
        ("il", uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ("eb", "1.2.840.10008.1.2.2"), // Explicit VR Big Endian (retired, still sent)
        ("df", uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
    ];
    for study in 1..=2 {
        for series in 1..=2 {
            for (i, (tag, ts)) in syntaxes.iter().enumerate() {
                let mut inst = Instance::ct(&format!("{root}.{study}.{series}.{}", i + 1));
                inst.study_instance_uid = format!("{root}.{study}");
                inst.series_instance_uid = format!("{root}.{study}.{series}");
                inst.series_date = Some(format!("2019{study:02}{series:02}"));
                add(&format!("synth_s{study}_r{series}_{tag}.dcm"), &inst, ts);
            }
        }
    }
    // Series Date edge cases for +ssd.
    let dates = [
        ("dotted", Some("2020.01.15")),
        ("feb31", Some("20200231")),
        ("month13", Some("20201301")),
        ("dashed", Some("2020-01-15")),
        ("twovalues", Some("20200115\\20200116")),
        ("empty", Some("")),
        ("missing", None),
    ];
    for (i, (tag, date)) in dates.iter().enumerate() {
        let mut inst = Instance::ct(&format!("{root}.9.{}", i + 1));
        inst.series_date = date.map(str::to_string);
        add(
            &format!("synth_date_{tag}.dcm"),
            &inst,
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        );
    }
    // A private SOP class (needs a profile that lists it) and an MR.
    let mut private = Instance::ct(&format!("{root}.8.1"));
    private.sop_class_uid = "1.2.826.0.1.3680043.10.1145.99.1".to_string();
    add(
        "synth_private_class.dcm",
        &private,
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
    );
    let mut mr = Instance::ct(&format!("{root}.8.2"));
    mr.sop_class_uid = uids::MR_IMAGE_STORAGE.to_string();
    mr.rows = 64;
    mr.columns = 64;
    add("synth_mr.dcm", &mr, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    // Multi-frame (a few MiB) and, on demand, a large one.
    let mf = dir.join("synth_multiframe_4mib.dcm");
    write_large_object(&mf, &format!("{root}.7.1"), 4 << 20);
    out.push(mf);
    if options.large_mib > 0 {
        let big = dir.join(format!("synth_large_{}mib.dcm", options.large_mib));
        write_large_object(&big, &format!("{root}.7.2"), options.large_mib << 20);
        out.push(big);
    }
    out
}
