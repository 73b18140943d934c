//! Property tests: the parser never panics, whatever the bytes.

use dcmrecv_asconfig::AsconfigFile;
use proptest::prelude::*;

/// A valid file using every supersection, to mutate.
const VALID: &str = "# comment\n[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicit\nTransferSyntax2 = =LittleEndianImplicit\n[Any]\nTransferSyntax1 = JPEGBaseline\nTransferSyntax2 = 1.2.840.10008.1.2.1.99\n[[PresentationContexts]]\n[P]\nPresentationContext1 = VerificationSOPClass\\Uncompressed\nPresentationContext2 = CTImageStorage\\Any\n[[SCPSCURoleSelection]]\n[R]\nRole1 = CTImageStorage\\BOTH\n[[ExtendedNegotiation]]\n[E]\nExtendedNegotiation1 = CTImageStorage\\0102\n[[Profiles]]\n[Default]\nPresentationContexts = P\nSCPSCURoleSelection = R\nExtendedNegotiation = E\n";

/// Exercises the whole public surface on one input.
fn exercise(bytes: &[u8]) {
    match AsconfigFile::parse(bytes, "fuzz.cfg") {
        Ok(file) => {
            let names: Vec<String> = file.profile_names().map(str::to_string).collect();
            for name in names
                .iter()
                .map(String::as_str)
                .chain(["", " ", "default", "x.y"])
            {
                for result in [file.profile(name), file.scp_profile(name)] {
                    match result {
                        Ok(p) => {
                            for pc in p.presentation_contexts() {
                                let _ = p.transfer_syntaxes_for(&pc.abstract_syntax);
                            }
                        }
                        Err(e) => {
                            let _ = (e.to_string(), e.dcmtk_reason(), e.dcmtk_error_message());
                        }
                    }
                }
            }
        }
        Err(e) => {
            let _ = (
                e.to_string(),
                e.dcmtk_reason(),
                e.dcmtk_error_message(),
                e.line(),
                e.key(),
                e.value(),
            );
        }
    }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to the grammar, plus anything.
    let byte = prop_oneof![
        prop::sample::select(b"[]=\\#\n\r\t 0.\0aZ".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len();
    match *edit {
        Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Edit::Delete(i) if len > 0 => {
            bytes.remove(i % len);
        }
        Edit::Replace(i, b) if len > 0 => bytes[i % len] = b,
        Edit::Duplicate(i, n) if len > 0 => {
            let start = i % len;
            let end = (start + n).min(len);
            let piece = bytes[start..end].to_vec();
            bytes.splice(start..start, piece);
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn random_grammar_bytes_never_panic(bytes in prop::collection::vec(prop::sample::select(b"[]=\\#\n\r\t 01.aZPROFILES".to_vec()), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_valid_file_never_panics(edits in prop::collection::vec(edit(), 1..12)) {
        let mut bytes = VALID.as_bytes().to_vec();
        for e in &edits {
            apply(&mut bytes, e);
        }
        exercise(&bytes);
    }
}

#[test]
fn the_valid_seed_is_valid() {
    let file = AsconfigFile::parse(VALID.as_bytes(), "seed.cfg").unwrap();
    let profile = file.scp_profile("Default").unwrap();
    assert_eq!(profile.presentation_contexts().len(), 2);
    assert_eq!(profile.roles().len(), 1);
    assert_eq!(
        profile.extended_negotiation_for("1.2.840.10008.5.1.4.1.1.2"),
        Some(&[1u8, 2][..])
    );
}
