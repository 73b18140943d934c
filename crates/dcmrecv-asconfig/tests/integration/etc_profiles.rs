//! The profiles we ship in `etc/`: every file parses, the profiles together cover every storage
//! SOP class dicom-dictionary-std knows, the transfer syntax order is the documented one, and the
//! real `dcmrecv` accepts every profile.

use std::collections::BTreeSet;
use std::path::PathBuf;

use dcmrecv_asconfig::{AsconfigFile, Profile, name_for_uid};

use crate::support::{Outcome, run_dcmrecv, shipped_profiles};

const VERIFICATION: &str = "1.2.840.10008.1.1";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// One SOP class from dicom-dictionary-std.
#[derive(Debug)]
struct SopClass {
    uid: String,
    name: String,
}

/// Every storage SOP class dicom-dictionary-std knows: a SOP class whose name contains
/// "Storage", except Storage Commitment and Media Storage Directory Storage (the rule stated in
/// the header of `etc/dcmrecv.cfg`).
///
/// The crate has no iterator over its table, so this reads the registry's `Debug` output, which
/// lists every entry; the sanity checks below fail loudly if that format ever changes.
fn storage_classes() -> Vec<SopClass> {
    let dump = format!("{:?}", dicom_dictionary_std::sop_class::registry());
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for chunk in dump.split("UidDictionaryEntryRef { ").skip(1) {
        let field = |name: &str| {
            let start = chunk.find(&format!("{name}: \""))? + name.len() + 3;
            let len = chunk.get(start..)?.find('"')?;
            chunk.get(start..start + len).map(str::to_string)
        };
        let (Some(uid), Some(name)) = (field("uid"), field("name")) else {
            panic!("unexpected registry dump format: {chunk}");
        };
        if name.contains("Storage")
            && !name.starts_with("Storage Commitment")
            && uid != "1.2.840.10008.1.3.10"
            && seen.insert(uid.clone())
        {
            out.push(SopClass { uid, name });
        }
    }
    assert!(out.len() > 200, "only {} storage classes found", out.len());
    for (uid, name) in [
        ("1.2.840.10008.5.1.4.1.1.2", "CT Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.88.11", "Basic Text SR Storage"),
        (
            "1.2.840.10008.5.1.4.1.1.9.1.1",
            "12-lead ECG Waveform Storage",
        ),
    ] {
        assert!(
            out.iter().any(|c| c.uid == uid && c.name == name),
            "{name} missing"
        );
    }
    out
}

/// Every asconfig file in `etc/` (`*.cfg`; the directory also holds other files we ship).
fn etc_files() -> Vec<PathBuf> {
    let dir = shipped_profiles();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "cfg"))
        .collect();
    files.sort();
    assert!(files.iter().any(|p| p.ends_with("dcmrecv.cfg")));
    files
}

fn scp_profiles(file: &AsconfigFile) -> Vec<Profile> {
    file.profile_names()
        .map(|name| file.scp_profile(name).unwrap())
        .collect()
}

#[test]
fn every_etc_file_parses_and_every_profile_is_an_scp_profile() {
    for path in etc_files() {
        let file = AsconfigFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let profiles = scp_profiles(&file);
        assert!(!profiles.is_empty(), "{}", path.display());
        for profile in profiles {
            let pcs = profile.presentation_contexts();
            assert!(pcs.len() <= 128);
            assert_eq!(pcs[0].abstract_syntax, VERIFICATION, "{}", profile.name());
        }
    }
}

#[test]
fn dcmrecv_cfg_covers_every_storage_class() {
    let file = AsconfigFile::open(shipped_profiles().join("dcmrecv.cfg")).unwrap();
    assert_eq!(
        file.profile_names().collect::<Vec<_>>(),
        ["DEFAULT", "ALLIMAGESANDWAVEFORMS", "ALLOTHEROBJECTS"]
    );
    let classes = storage_classes();
    let known: BTreeSet<&str> = classes.iter().map(|c| c.uid.as_str()).collect();

    let uids = |name: &str| -> BTreeSet<String> {
        file.scp_profile(name)
            .unwrap()
            .presentation_contexts()
            .iter()
            .map(|pc| pc.abstract_syntax.clone())
            .collect()
    };
    let default = uids("Default");
    let images = uids("AllImagesAndWaveforms");
    let others = uids("AllOtherObjects");

    // The two "All" profiles together cover everything, and only storage classes are listed.
    let missing: Vec<&SopClass> = classes
        .iter()
        .filter(|c| !images.contains(&c.uid) && !others.contains(&c.uid))
        .collect();
    assert!(missing.is_empty(), "not covered: {missing:#?}");
    for uid in default.iter().chain(&images).chain(&others) {
        assert!(
            uid == VERIFICATION || known.contains(uid.as_str()),
            "not a storage class: {uid}"
        );
    }
    // They split the classes: nothing is in both.
    assert_eq!(
        images.intersection(&others).collect::<Vec<_>>(),
        [VERIFICATION]
    );
    // Default is the list of classes in current use: no retired or trial ones.
    for c in &classes {
        if default.contains(&c.uid) {
            assert!(
                !c.name.contains("Retired") && !c.name.contains("Trial"),
                "Default lists {}",
                c.name
            );
        }
    }
    assert!(default.len() > 100);
}

#[test]
fn dcmrecv_cfg_transfer_syntax_order() {
    let file = AsconfigFile::open(shipped_profiles().join("dcmrecv.cfg")).unwrap();
    let classes = storage_classes();
    for profile in scp_profiles(&file) {
        for pc in profile.presentation_contexts() {
            let ts = &pc.transfer_syntaxes;
            let name = classes
                .iter()
                .find(|c| c.uid == pc.abstract_syntax)
                .map_or("Verification", |c| c.name.as_str());
            // Uncompressed first, then Deflated and Big Endian, for every class.
            assert_eq!(
                ts[..4],
                [EXPLICIT_LE, IMPLICIT_LE, DEFLATED, EXPLICIT_BE],
                "{name}"
            );
            let image = name.contains("Image Storage");
            if !image
                && !name.contains("Map")
                && !name.contains("Segmentation")
                && !name.contains("Volume")
            {
                assert_eq!(ts.len(), 4, "{name} should not list encapsulated syntaxes");
                continue;
            }
            if image {
                assert!(ts.len() > 20, "{name}");
            }
            if ts.len() == 4 {
                continue;
            }
            // Lossless encapsulated before lossy, lossy before video.
            let pos = |uid: &str| {
                ts.iter()
                    .position(|t| t == uid)
                    .unwrap_or_else(|| panic!("{name}: {uid}"))
            };
            let lossless = [
                "1.2.840.10008.1.2.5",
                "1.2.840.10008.1.2.4.70",
                "1.2.840.10008.1.2.4.80",
                "1.2.840.10008.1.2.4.90",
            ];
            let lossy = [
                "1.2.840.10008.1.2.4.50",
                "1.2.840.10008.1.2.4.81",
                "1.2.840.10008.1.2.4.91",
            ];
            let video = [
                "1.2.840.10008.1.2.4.100",
                "1.2.840.10008.1.2.4.102",
                "1.2.840.10008.1.2.4.107",
            ];
            let last_lossless = lossless.iter().map(|u| pos(u)).max().unwrap();
            let first_lossy = lossy.iter().map(|u| pos(u)).min().unwrap();
            let last_lossy = lossy.iter().map(|u| pos(u)).max().unwrap();
            let first_video = video.iter().map(|u| pos(u)).min().unwrap();
            assert!(4 <= last_lossless && last_lossless < first_lossy, "{name}");
            assert!(last_lossy < first_video, "{name}");
            let unique: BTreeSet<&String> = ts.iter().collect();
            assert_eq!(unique.len(), ts.len(), "{name}: duplicate transfer syntax");
        }
    }
    // Symbolic names were used where DCMTK has them: the file resolves them to the same UIDs.
    assert_eq!(
        name_for_uid("1.2.840.10008.1.2.4.70"),
        Some("JPEGLossless:Non-hierarchical-1stOrderPrediction")
    );
}

#[test]
fn real_dcmrecv_accepts_every_etc_profile() {
    for path in etc_files() {
        let file = AsconfigFile::open(&path).unwrap();
        for name in file.profile_names() {
            assert_eq!(
                run_dcmrecv(&path, name),
                Outcome::Listening,
                "dcmrecv -xf {} {name}",
                path.display()
            );
        }
    }
}
