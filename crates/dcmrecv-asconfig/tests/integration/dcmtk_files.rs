//! Debian's DCMTK sample profiles (`/etc/dcmtk/storescp.cfg`, `storescu.cfg`), checked against the
//! figures the real `dcmrecv` gives for them.

use dcmrecv_asconfig::{AsconfigFile, Error, name_for_uid};

use crate::support::dcmtk_file;

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const VERIFICATION: &str = "1.2.840.10008.1.1";

/// Every UID of every profile is a resolved numeric UID, and the contexts use one of `lists`.
fn assert_resolved(file: &AsconfigFile) {
    for name in file.profile_names() {
        let profile = file.profile(name).unwrap();
        assert_eq!(profile.name(), name);
        for pc in profile.presentation_contexts() {
            for uid in std::iter::once(&pc.abstract_syntax).chain(&pc.transfer_syntaxes) {
                assert!(
                    !uid.is_empty() && uid.bytes().all(|c| c.is_ascii_digit() || c == b'.'),
                    "{name}: {uid:?}"
                );
            }
            assert!(!pc.transfer_syntaxes.is_empty());
        }
    }
}

#[test]
fn storescp_cfg() {
    let file = AsconfigFile::open(dcmtk_file("/etc/dcmtk/storescp.cfg")).unwrap();
    assert_eq!(
        file.profile_names().collect::<Vec<_>>(),
        ["DEFAULT", "ALLDICOM"]
    );
    assert_resolved(&file);

    let default = file.scp_profile("Default").unwrap();
    let pcs = default.presentation_contexts();
    assert_eq!(pcs.len(), 128);
    // PC1: Verification with Uncompressed.
    assert_eq!(pcs[0].abstract_syntax, VERIFICATION);
    assert_eq!(
        pcs[0].transfer_syntaxes,
        [EXPLICIT_LE, EXPLICIT_BE, IMPLICIT_LE]
    );
    // PC2-55: image classes with AnyTransferSyntax (21 entries, Deflated at position 18).
    for pc in &pcs[1..55] {
        assert_eq!(pc.transfer_syntaxes.len(), 21, "{}", pc.abstract_syntax);
        assert_eq!(pc.transfer_syntaxes[0], "1.2.840.10008.1.2.4.91");
        assert_eq!(pc.transfer_syntaxes[17], DEFLATED);
        assert_eq!(
            pc.transfer_syntaxes[18..],
            [EXPLICIT_LE, EXPLICIT_BE, IMPLICIT_LE]
        );
    }
    // PC56-128: non-image classes with UncompressedOrZlib.
    for pc in &pcs[55..] {
        assert_eq!(
            pc.transfer_syntaxes,
            [DEFLATED, EXPLICIT_LE, EXPLICIT_BE, IMPLICIT_LE],
            "{}",
            pc.abstract_syntax
        );
    }
    assert_eq!(
        name_for_uid(&pcs[1].abstract_syntax),
        Some("BreastTomosynthesisImageStorage")
    );
    assert!(default.roles().is_empty());
    assert!(default.extended_negotiation().is_empty());

    let all = file.scp_profile(" all dicom ").unwrap();
    assert_eq!(all.name(), "ALLDICOM");
    assert_eq!(all.presentation_contexts().len(), 128);
    let any = all
        .presentation_contexts()
        .iter()
        .filter(|pc| pc.transfer_syntaxes.len() == 21)
        .count();
    let zlib = all
        .presentation_contexts()
        .iter()
        .filter(|pc| pc.transfer_syntaxes.len() == 4)
        .count();
    assert_eq!(1 + any + zlib, 128);
}

#[test]
fn storescu_cfg() {
    let file = AsconfigFile::open(dcmtk_file("/etc/dcmtk/storescu.cfg")).unwrap();
    assert_eq!(file.profile_names().collect::<Vec<_>>(), ["DEFAULT"]);
    assert_resolved(&file);

    // An SCU profile: 128 contexts, several per image class (one per transfer syntax list).
    let default = file.profile("default").unwrap();
    let pcs = default.presentation_contexts();
    assert_eq!(pcs.len(), 128);
    let count = |ts: &[&str]| pcs.iter().filter(|pc| pc.transfer_syntaxes == ts).count();
    assert_eq!(count(&[EXPLICIT_LE, EXPLICIT_BE, IMPLICIT_LE]), 61);
    assert_eq!(count(&["1.2.840.10008.1.2.4.50"]), 31);
    assert_eq!(count(&["1.2.840.10008.1.2.4.70"]), 31);
    assert_eq!(count(&["1.2.840.10008.1.2.5"]), 2);
    assert_eq!(count(&["1.2.840.10008.1.2.4.100"]), 3);

    // ...which is therefore not a valid SCP profile, as dcmrecv says.
    let err = file.scp_profile("default").unwrap_err();
    assert!(matches!(err, Error::CheckScpProfile { .. }), "{err}");
    assert_eq!(
        err.dcmtk_error_message().unwrap(),
        r#"The association profile named "default" is not a valid SCP association profile"#
    );
}
