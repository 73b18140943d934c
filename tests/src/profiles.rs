//! Negotiation profiles for tests.
//!
//! **Stop-gap.** [`storescp_cfg`] reads a profile of DCMTK's `/etc/dcmtk/storescp.cfg` with a
//! minimal reader that handles exactly what that well-formed file uses, until the real parser
//! (`dcmrecv_asconfig::AsconfigFile::open(path)?.scp_profile(name)?`) lands; then replace the
//! body of [`storescp_cfg`] with that call and delete the rest of this module. Symbolic SOP
//! class names are resolved through pydicom's UID dictionary (DICOM keywords, matched without
//! regard to case), plus DCMTK's own spellings for the few retired and draft classes pydicom
//! does not know; transfer syntax names come from the spec's Appendix B.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use dcmrecv_asconfig::{PresentationContext, Profile};

use crate::peers::python_output;

/// DCMTK's sample SCP configuration, installed by Debian's `dcmtk` package.
pub const STORESCP_CFG: &str = "/etc/dcmtk/storescp.cfg";

/// DCMTK transfer syntax names (spec Appendix B) used by `storescp.cfg`.
const TRANSFER_SYNTAXES: &[(&str, &str)] = &[
    ("LittleEndianImplicit", "1.2.840.10008.1.2"),
    ("LittleEndianExplicit", "1.2.840.10008.1.2.1"),
    ("LocalEndianExplicit", "1.2.840.10008.1.2.1"),
    ("BigEndianExplicit", "1.2.840.10008.1.2.2"),
    ("OppositeEndianExplicit", "1.2.840.10008.1.2.2"),
    ("DeflatedLittleEndianExplicit", "1.2.840.10008.1.2.1.99"),
    ("JPEGBaseline", "1.2.840.10008.1.2.4.50"),
    ("JPEGExtended:Process2+4", "1.2.840.10008.1.2.4.51"),
    (
        "JPEGLossless:Non-hierarchical-1stOrderPrediction",
        "1.2.840.10008.1.2.4.70",
    ),
    ("JPEGLSLossless", "1.2.840.10008.1.2.4.80"),
    ("JPEGLSLossy", "1.2.840.10008.1.2.4.81"),
    ("RLELossless", "1.2.840.10008.1.2.5"),
    ("JPEG2000LosslessOnly", "1.2.840.10008.1.2.4.90"),
    ("JPEG2000", "1.2.840.10008.1.2.4.91"),
    ("MPEG2MainProfile@MainLevel", "1.2.840.10008.1.2.4.100"),
    ("MPEG2MainProfile@HighLevel", "1.2.840.10008.1.2.4.101"),
    ("MPEG4HighProfile/Level4.1", "1.2.840.10008.1.2.4.102"),
    (
        "MPEG4BDcompatibleHighProfile/Level4.1",
        "1.2.840.10008.1.2.4.103",
    ),
    (
        "MPEG4HighProfile/Level4.2For2DVideo",
        "1.2.840.10008.1.2.4.104",
    ),
    (
        "MPEG4HighProfile/Level4.2For3DVideo",
        "1.2.840.10008.1.2.4.105",
    ),
    ("MPEG4StereoHighProfile/Level4.2", "1.2.840.10008.1.2.4.106"),
    ("HEVCMainProfile/Level5.1", "1.2.840.10008.1.2.4.107"),
    ("HEVCMain10Profile/Level5.1", "1.2.840.10008.1.2.4.108"),
];

/// DCMTK names pydicom's dictionary does not resolve (spec Appendix C).
const DCMTK_ONLY_NAMES: &[(&str, &str)] = &[
    ("VerificationSOPClass", "1.2.840.10008.1.1"),
    (
        "ImplantationPlanSRDocumentStorage",
        "1.2.840.10008.5.1.4.1.1.88.70",
    ),
    ("RETIRED_VLImageStorage", "1.2.840.10008.5.1.4.1.1.77.1"),
    (
        "RETIRED_VLMultiframeImageStorage",
        "1.2.840.10008.5.1.4.1.1.77.2",
    ),
    (
        "DRAFT_RTBeamsDeliveryInstructionStorage",
        "1.2.840.10008.5.1.4.34.1",
    ),
    ("DRAFT_SRAudioStorage", "1.2.840.10008.5.1.4.1.1.88.2"),
    (
        "DRAFT_SRComprehensiveStorage",
        "1.2.840.10008.5.1.4.1.1.88.4",
    ),
    ("DRAFT_SRDetailStorage", "1.2.840.10008.5.1.4.1.1.88.3"),
    ("DRAFT_SRTextStorage", "1.2.840.10008.5.1.4.1.1.88.1"),
    ("DRAFT_WaveformStorage", "1.2.840.10008.5.1.4.1.1.9.1"),
];

/// pydicom's UID keywords, lower-cased, to UIDs.
fn pydicom_keywords() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        python_output(
            "from pydicom.uid import UID_dictionary\n\
             for uid, v in UID_dictionary.items():\n    print(v[4].lower() + '\\t' + uid)",
        )
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    })
}

/// Resolves a DCMTK abstract syntax value: a numeric UID, or a DCMTK symbolic name.
fn resolve_sop_class(name: &str) -> Option<String> {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(name.to_string());
    }
    if let Some((_, uid)) = DCMTK_ONLY_NAMES.iter().find(|(n, _)| *n == name) {
        return Some(uid.to_string());
    }
    let table = pydicom_keywords();
    let mut candidates = vec![name.to_string(), name.replace("SOPClass", "")];
    if let Some(rest) = name.strip_prefix("RETIRED_") {
        candidates.push(format!("{rest}Retired"));
        candidates.push(rest.to_string());
    }
    candidates
        .iter()
        .find_map(|c| table.get(&c.to_lowercase()).cloned())
}

/// DCMTK keyword mangling (spec §2.1): upper-case, keep only `A-Z 0-9 - _`.
fn mangle(key: &str) -> String {
    key.to_uppercase()
        .chars()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-' || *c == '_')
        .collect()
}

/// The profile `profile` (case- and blank-insensitive, as in dcmrecv) of
/// `/etc/dcmtk/storescp.cfg`. Panics with an install hint when the file is missing and with
/// the offending entry when a name cannot be resolved.
pub fn storescp_cfg(profile: &str) -> Profile {
    let path = Path::new(STORESCP_CFG);
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; {}",
            path.display(),
            crate::peers::DCMTK_HINT
        )
    });
    // supersection -> section -> key -> value (first occurrence of a key wins).
    let mut tree: HashMap<String, HashMap<String, HashMap<String, String>>> = HashMap::new();
    let (mut supersection, mut section) = (String::new(), String::new());
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|s| s.strip_suffix("]]"))
        {
            supersection = mangle(name);
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = mangle(name);
            continue;
        }
        if let Some((key, value)) = trimmed.split_once('=') {
            tree.entry(supersection.clone())
                .or_default()
                .entry(section.clone())
                .or_default()
                .entry(mangle(key))
                .or_insert_with(|| value.trim().to_string());
        }
    }
    let numbered = |section: &HashMap<String, String>, prefix: &str| -> Vec<String> {
        (1..)
            .map_while(|n| section.get(&format!("{prefix}{n}")).cloned())
            .collect()
    };
    let profiles = &tree["PROFILES"];
    let wanted = mangle(profile);
    let profile_section = profiles
        .get(&wanted)
        .unwrap_or_else(|| panic!("no profile {profile} in {STORESCP_CFG}"));
    let pc_list = &tree["PRESENTATIONCONTEXTS"][&mangle(&profile_section["PRESENTATIONCONTEXTS"])];
    let mut out = Profile::new(wanted.clone());
    for entry in numbered(pc_list, "PRESENTATIONCONTEXT") {
        let (abstract_syntax, ts_list) = entry
            .split_once('\\')
            .unwrap_or_else(|| panic!("bad presentation context entry {entry}"));
        let abstract_syntax = resolve_sop_class(abstract_syntax)
            .unwrap_or_else(|| panic!("cannot resolve abstract syntax {abstract_syntax}"));
        let ts_section = &tree["TRANSFERSYNTAXES"][&mangle(ts_list)];
        let transfer_syntaxes = numbered(ts_section, "TRANSFERSYNTAX")
            .iter()
            .map(|name| {
                TRANSFER_SYNTAXES
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, uid)| uid.to_string())
                    .unwrap_or_else(|| panic!("unknown transfer syntax {name}"))
            })
            .collect();
        out = out.with_presentation_context(PresentationContext {
            abstract_syntax,
            transfer_syntaxes,
        });
    }
    out
}
