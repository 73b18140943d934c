use expect_test::{Expect, expect};
use proptest::prelude::*;

use super::*;
use crate::test_support::*;

/// Everything observable about one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    result: Result<(), String>,
    findings: Findings,
    parsed: u64,
}

fn scan_chunks(ts: &str, validate: bool, chunks: &[&[u8]]) -> Outcome {
    let mut scanner = Scanner::new(Syntax::from_uid(ts), validate, None).unwrap();
    let mut result = Ok(());
    for chunk in chunks {
        if let Err(e) = scanner.feed(chunk) {
            result = Err(e.to_string());
            break;
        }
    }
    if result.is_ok() {
        result = scanner.finish().map_err(|e| e.to_string());
    }
    Outcome {
        result,
        findings: scanner.findings().clone(),
        parsed: scanner.parsed_len(),
    }
}

fn scan(ts: &str, bytes: &[u8]) -> Outcome {
    scan_chunks(ts, true, &[bytes])
}

fn byte_by_byte(ts: &str, validate: bool, bytes: &[u8]) -> Outcome {
    let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
    scan_chunks(ts, validate, &chunks)
}

fn text(captured: &Option<Captured>) -> String {
    match captured {
        None => "absent".to_string(),
        Some(c) => format!(
            "{:?}{}{}{}",
            String::from_utf8_lossy(&c.value),
            if c.vr_matches { "" } else { " wrong-vr" },
            if c.complete { "" } else { " incomplete" },
            if c.truncated { " truncated" } else { "" }
        ),
    }
}

fn check(ts: &str, bytes: &[u8], expect: Expect) {
    let outcome = scan(ts, bytes);
    assert_eq!(
        outcome,
        byte_by_byte(ts, true, bytes),
        "chunking changed the outcome"
    );
    let shown = format!(
        "{} | class {} | instance {} | date {}",
        match &outcome.result {
            Ok(()) => "ok".to_string(),
            Err(e) => e.clone(),
        },
        text(&outcome.findings.sop_class_uid),
        text(&outcome.findings.sop_instance_uid),
        text(&outcome.findings.series_date),
    );
    expect.assert_eq(&shown);
}

fn check_result(ts: &str, bytes: &[u8], expect: Expect) {
    let outcome = scan(ts, bytes);
    assert_eq!(outcome, byte_by_byte(ts, true, bytes));
    expect.assert_eq(&match outcome.result {
        Ok(()) => "ok".to_string(),
        Err(e) => e,
    });
}

#[test]
fn well_formed_samples_in_every_syntax() {
    for (ts, bytes) in well_formed_samples() {
        let outcome = scan(ts, &bytes);
        assert_eq!(outcome.result, Ok(()), "{ts}");
        let f = &outcome.findings;
        assert_eq!(
            f.sop_class_uid.as_ref().and_then(Captured::as_uid),
            Some(CT),
            "{ts}"
        );
        assert_eq!(
            f.sop_instance_uid.as_ref().and_then(Captured::as_uid),
            Some(INSTANCE),
            "{ts}"
        );
        let date = f.series_date.as_ref().unwrap();
        assert!(date.vr_matches && date.complete && !date.truncated, "{ts}");
        assert_eq!(date.value, b"20200115", "{ts}");
        assert_eq!(outcome, byte_by_byte(ts, true, &bytes), "{ts}");
    }
}

#[test]
fn uids_settle_once_the_instance_uid_is_passed() {
    let bytes = encode(&sample_object(Some("20200115")), EXPLICIT);
    let mut scanner = Scanner::new(Syntax::ExplicitLittle, true, None).unwrap();
    let mut settled_at = None;
    for (i, byte) in bytes.iter().enumerate() {
        scanner.feed(std::slice::from_ref(byte)).unwrap();
        if scanner.uids_settled() {
            settled_at = Some(i + 1);
            break;
        }
    }
    let settled_at = settled_at.unwrap();
    // Settled right after the SOP Instance UID value, long before the end of the data set.
    let instance_end = bytes
        .windows(INSTANCE.len())
        .position(|w| w == INSTANCE.as_bytes())
        .unwrap()
        + INSTANCE.len()
        + 1; // the UID is padded to even length
    assert_eq!(settled_at, instance_end);
    assert!(settled_at < bytes.len() / 2);
    assert_eq!(
        scanner
            .findings()
            .sop_instance_uid
            .as_ref()
            .and_then(Captured::as_uid),
        Some(INSTANCE)
    );
}

#[test]
fn uids_settle_when_the_instance_uid_is_missing() {
    let r = RAW_EXPLICIT;
    let bytes = cat(&[
        &r.element(0x0008, 0x0016, "UI", b"1.2\0"),
        &r.element(0x0008, 0x0020, "DA", b"20200115"),
    ]);
    let mut scanner = Scanner::new(Syntax::ExplicitLittle, true, None).unwrap();
    scanner.feed(&bytes[..12]).unwrap();
    assert!(!scanner.uids_settled());
    scanner.feed(&bytes[12..20]).unwrap();
    assert!(
        scanner.uids_settled(),
        "the header of (0008,0020) is past (0008,0018)"
    );
}

#[test]
fn explicit_length_sequences_in_each_encoding() {
    for r in [RAW_IMPLICIT, RAW_EXPLICIT, RAW_BIG] {
        let ts = match (r.explicit, r.big) {
            (false, _) => IMPLICIT,
            (true, false) => EXPLICIT,
            (true, true) => BIG,
        };
        let inner = r.element(0x0008, 0x0100, "SH", b"T-D1");
        let item = cat(&[&r.item(inner.len() as u32), &inner]);
        let empty_item = r.item(0);
        let undefined_item = cat(&[&r.item(UNDEF), &inner, &r.item_end()]);
        let content = cat(&[&item, &empty_item, &undefined_item]);
        let bytes = cat(&[
            &r.element(0x0008, 0x0016, "UI", b"1.2.840.10008.5.1.4.1.1.2\0"),
            &r.element(0x0008, 0x0018, "UI", b"1.2.3.4"),
            &r.element(0x0008, 0x0021, "DA", b"19970430"),
            &r.header(0x0008, 0x2218, "SQ", content.len() as u32),
            &content,
            &r.header(0x0008, 0x2220, "SQ", 0),
            &r.element(0x0010, 0x0010, "PN", b"Test^Synthetic"),
        ]);
        check(
            ts,
            &bytes,
            expect![[
                r#"ok | class "1.2.840.10008.5.1.4.1.1.2\0" | instance "1.2.3.4" | date "19970430""#
            ]],
        );
    }
}

#[test]
fn lenient_where_dcmtk_is_lenient() {
    let r = RAW_EXPLICIT;
    // Odd value lengths.
    check_result(
        EXPLICIT,
        &r.element(0x0010, 0x0010, "PN", b"ABC"),
        expect!["ok"],
    );
    // An unknown VR is read with a 4-byte length, like UN.
    check_result(
        EXPLICIT,
        &r.element(0x0011, 0x0010, "ZZ", b"abcd"),
        expect!["ok"],
    );
    // UN with undefined length holds an implicit VR little endian sequence.
    let implicit = RAW_IMPLICIT;
    let un = cat(&[
        &r.header(0x0011, 0x1010, "UN", UNDEF),
        &implicit.item(UNDEF),
        &implicit.element(0x0011, 0x1011, "", b"xy"),
        &implicit.item_end(),
        &implicit.sequence_end(),
        &r.element(0x0011, 0x1012, "LO", b"after"),
    ]);
    check_result(EXPLICIT, &un, expect!["ok"]);
    // An item delimiter's length field is not checked.
    let odd_delimiter = cat(&[
        &r.header(0x0008, 0x1140, "SQ", UNDEF),
        &r.item(UNDEF),
        &r.marker(0xE00D, 4),
        &r.sequence_end(),
    ]);
    check_result(EXPLICIT, &odd_delimiter, expect!["ok"]);
    // Private sequences with undefined length in implicit VR.
    let i = RAW_IMPLICIT;
    let private = cat(&[
        &i.header(0x0009, 0x1010, "", UNDEF),
        &i.item(UNDEF),
        &i.header(0x0009, 0x1011, "", UNDEF),
        &i.item(8),
        &i.element(0x0009, 0x1012, "", b""),
        &i.sequence_end(),
        &i.item_end(),
        &i.sequence_end(),
    ]);
    check_result(IMPLICIT, &private, expect!["ok"]);
    // Implicit VR, defined-length sequence known from the dictionary.
    let inner = i.element(0x0008, 0x1150, "", b"1.2\0");
    let content = cat(&[&i.item(inner.len() as u32), &inner]);
    let seq = cat(&[
        &i.header(0x0008, 0x1140, "", content.len() as u32),
        &content,
    ]);
    check_result(IMPLICIT, &seq, expect!["ok"]);
    // Bytes after the end of a deflate stream (padding) are ignored.
    let mut deflated = deflate(&r.element(0x0010, 0x0010, "PN", b"AB"));
    deflated.push(0);
    check_result(DEFLATED, &deflated, expect!["ok"]);
}

#[test]
fn malformed_data_sets() {
    let r = RAW_EXPLICIT;
    let name = r.element(0x0010, 0x0010, "PN", b"AB");
    check_result(
        EXPLICIT,
        &name[..name.len() - 1],
        expect!["data set ends inside the value of (0010,0010) at byte 9"],
    );
    check_result(
        EXPLICIT,
        &name[..5],
        expect!["data set ends inside an element header at byte 5"],
    );
    check_result(
        EXPLICIT,
        &r.item(0),
        expect!["unexpected (FFFE,E000) at the top level of the data set at byte 0"],
    );
    check_result(
        EXPLICIT,
        &cat(&[&name, &r.sequence_end()]),
        expect!["unexpected (FFFE,E0DD) at the top level of the data set at byte 10"],
    );
    check_result(
        EXPLICIT,
        &cat(&[&r.header(0x0018, 0x9219, "UT", UNDEF), &r.sequence_end()]),
        expect!["undefined length on (0018,9219) UT at byte 0"],
    );
    // Encapsulated pixel data is only legal in an encapsulated transfer syntax.
    let fragments = cat(&[
        &r.header(0x7FE0, 0x0010, "OB", UNDEF),
        &r.item(0),
        &r.item(2),
        b"\xFF\xD8",
        &r.sequence_end(),
    ]);
    check_result(JPEG, &fragments, expect!["ok"]);
    check_result(
        EXPLICIT,
        &fragments,
        expect!["undefined length on (7FE0,0010) OB at byte 0"],
    );
    let i = RAW_IMPLICIT;
    check_result(
        IMPLICIT,
        &cat(&[
            &i.header(0x7FE0, 0x0010, "", UNDEF),
            &i.item(0),
            &i.sequence_end(),
        ]),
        expect!["undefined length on (7FE0,0010) OW at byte 0"],
    );
    check_result(
        JPEG,
        &cat(&[
            &r.header(0x7FE0, 0x0010, "OB", UNDEF),
            &r.item(UNDEF),
            &r.sequence_end(),
        ]),
        expect!["undefined length on (FFFE,E000) -- at byte 12"],
    );
    // A sequence whose item is longer than the sequence.
    check_result(
        EXPLICIT,
        &cat(&[&r.header(0x0008, 0x1140, "SQ", 8), &r.item(10), &[0u8; 10]]),
        expect!["(FFFE,E000) at byte 12 extends beyond its enclosing item or sequence"],
    );
    // An element longer than its item.
    check_result(
        EXPLICIT,
        &cat(&[
            &r.header(0x0008, 0x1140, "SQ", UNDEF),
            &r.item(10),
            &r.element(0x0008, 0x1150, "UI", b"1.2.3\0"),
            &r.sequence_end(),
        ]),
        expect!["(0008,1150) at byte 20 extends beyond its enclosing item or sequence"],
    );
    // An element header crossing the end of its item.
    check_result(
        EXPLICIT,
        &cat(&[
            &r.header(0x0008, 0x1140, "SQ", UNDEF),
            &r.item(4),
            &r.element(0x0008, 0x1150, "UI", b""),
            &r.sequence_end(),
        ]),
        expect!["(0008,1150) at byte 20 extends beyond its enclosing item or sequence"],
    );
    // Something other than an item in a sequence.
    check_result(
        EXPLICIT,
        &cat(&[&r.header(0x0008, 0x1140, "SQ", UNDEF), &name]),
        expect!["unexpected (0010,0010) in a sequence at byte 12"],
    );
    // A sequence delimiter in a defined-length sequence, an item delimiter in a defined item.
    check_result(
        EXPLICIT,
        &cat(&[&r.header(0x0008, 0x1140, "SQ", 8), &r.sequence_end()]),
        expect!["unexpected (FFFE,E0DD) in a sequence at byte 12"],
    );
    check_result(
        EXPLICIT,
        &cat(&[
            &r.header(0x0008, 0x1140, "SQ", UNDEF),
            &r.item(8),
            &r.item_end(),
            &r.sequence_end(),
        ]),
        expect!["unexpected (FFFE,E00D) in an item at byte 20"],
    );
    // Never closed.
    check_result(
        EXPLICIT,
        &cat(&[
            &r.header(0x0008, 0x1140, "SQ", UNDEF),
            &r.item(UNDEF),
            &name,
        ]),
        expect!["data set ends inside an item of (FFFE,E000) at byte 30"],
    );
    check_result(
        EXPLICIT,
        &cat(&[&r.header(0x0008, 0x1140, "SQ", UNDEF), &r.item(0)]),
        expect!["data set ends inside the sequence (0008,1140) at byte 20"],
    );
    // Hostile nesting depth: 16,384 levels are fine, one more is not.
    let nested = |levels: usize| {
        let mut deep = Vec::new();
        for _ in 0..levels {
            deep.extend(r.header(0x0008, 0x1140, "SQ", UNDEF));
            deep.extend(r.item(UNDEF));
        }
        for _ in 0..levels {
            deep.extend(r.item_end());
            deep.extend(r.sequence_end());
        }
        deep
    };
    check_result(EXPLICIT, &nested(MAX_DEPTH), expect!["ok"]);
    check_result(
        EXPLICIT,
        &nested(MAX_DEPTH + 1),
        expect!["sequences nested deeper than 16384 levels at byte 327692"],
    );
    // Deflate trouble.
    check_result(
        DEFLATED,
        b"\xFF\xFF\xFF\xFF",
        expect!["deflated data set cannot be inflated"],
    );
    let deflated = deflate(&name);
    check_result(
        DEFLATED,
        &deflated[..deflated.len() - 2],
        expect!["deflated data set ends before its end of stream"],
    );
    // A deflated stream whose content is malformed.
    check_result(
        DEFLATED,
        &deflate(&name[..7]),
        expect!["data set ends inside an element header at byte 7"],
    );
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/7 (found by `cargo xtask fuzz`: what
// was inflated before a corrupt spot was parsed only when it came in an earlier chunk, so the
// findings and the parsed length depended on how the bytes were split).
#[test]
fn a_corrupt_deflate_stream_gives_the_same_outcome_whatever_the_chunks() {
    // A fuzzer's input: a deflate stream that inflates to 59 bytes, then is corrupt.
    let corrupt: &[u8] = b"\x22\x13\xc9\x05\xf7\xff\x05\xff\xffSQ\x00\x00SQ\x00\x00\xff\xff\x16U\xd5\x08\x1a1.2.8\xb40";
    for validate in [true, false] {
        let whole = scan_chunks(DEFLATED, validate, &[corrupt]);
        let chunks: Vec<&[u8]> = corrupt.chunks(5).collect();
        assert_eq!(whole, scan_chunks(DEFLATED, validate, &chunks));
        assert_eq!(whole, byte_by_byte(DEFLATED, validate, corrupt));
        assert_eq!(whole.parsed, 59, "{whole:?}");
    }
}

#[test]
fn attribute_capture_rules() {
    let r = RAW_EXPLICIT;
    // Wrong VR in explicit VR: present but unusable.
    let bytes = cat(&[
        &r.element(0x0008, 0x0016, "UN", b"1.2\0"),
        &r.element(0x0008, 0x0018, "LO", b"1.2.3 "),
        &r.element(0x0008, 0x0021, "DT", b"20200115"),
    ]);
    check(
        EXPLICIT,
        &bytes,
        expect![[
            r#"ok | class "1.2\0" wrong-vr | instance "1.2.3 " wrong-vr | date "20200115" wrong-vr"#
        ]],
    );
    // Only the root level counts; the first occurrence wins; long values are cut.
    let nested = r.element(0x0008, 0x0018, "UI", b"9.9.9\0");
    let long_date = vec![b'2'; 300];
    let bytes = cat(&[
        &r.header(0x0008, 0x0006, "SQ", UNDEF),
        &r.item(nested.len() as u32),
        &nested,
        &r.sequence_end(),
        &r.element(0x0008, 0x0018, "UI", b"1.2.3\0"),
        &r.element(0x0008, 0x0018, "UI", b"4.5.6\0"),
        &r.element(0x0008, 0x0021, "DA", &long_date),
    ]);
    let outcome = scan(EXPLICIT, &bytes);
    assert_eq!(outcome.result, Ok(()));
    assert_eq!(text(&outcome.findings.sop_class_uid), "absent");
    assert_eq!(
        outcome
            .findings
            .sop_instance_uid
            .as_ref()
            .and_then(Captured::as_uid),
        Some("1.2.3")
    );
    let date = outcome.findings.series_date.unwrap();
    assert!(date.truncated && date.complete);
    assert_eq!(date.value.len(), CAPTURE_LIMIT);
    // Implicit VR: the dictionary decides, any VR is fine.
    let i = RAW_IMPLICIT;
    check(
        IMPLICIT,
        &cat(&[
            &i.element(0x0008, 0x0016, "", b"1.2.840.10008.5.1.4.1.1.4\0"),
            &i.element(0x0008, 0x0018, "", b""),
            &i.element(0x0008, 0x0021, "", b"2020.01.15"),
        ]),
        expect![[r#"ok | class "1.2.840.10008.5.1.4.1.1.4\0" | instance "" | date "2020.01.15""#]],
    );
}

#[test]
fn uid_usability() {
    let uid = |value: &[u8]| Captured {
        vr_matches: true,
        value: value.to_vec(),
        truncated: false,
        complete: true,
    };
    assert_eq!(uid(b"1.2.3\0").as_uid(), Some("1.2.3"));
    assert_eq!(uid(b"1.2.3 ").as_uid(), Some("1.2.3"));
    assert_eq!(uid(b"").as_uid(), None);
    assert_eq!(uid(b"\0").as_uid(), None);
    assert_eq!(uid(&[b'1'; 64]).as_uid().map(str::len), Some(64));
    assert_eq!(uid(&[b'1'; 65]).as_uid(), None);
    assert_eq!(uid(b"1.2\x013").as_uid(), None);
    assert_eq!(uid(b"1.2.\xC3\xA9").as_uid(), None);
    let mut incomplete = uid(b"1.2.3");
    incomplete.complete = false;
    assert_eq!(incomplete.as_uid(), None);
    let mut wrong_vr = uid(b"1.2.3");
    wrong_vr.vr_matches = false;
    assert_eq!(wrong_vr.as_uid(), None);
}

#[test]
fn not_validating_stops_after_series_date_and_ignores_errors() {
    let r = RAW_EXPLICIT;
    let bytes = cat(&[
        &r.element(0x0008, 0x0021, "DA", b"20200115"),
        &r.element(0x0008, 0x0030, "TM", b"120000"),
        &r.item(0),
        b"garbage that would not parse",
    ]);
    let outcome = scan_chunks(EXPLICIT, false, &[&bytes]);
    assert_eq!(outcome.result, Ok(()));
    assert_eq!(outcome.findings.series_date.unwrap().value, b"20200115");
    // It stopped right after the Series Date value.
    assert_eq!(outcome.parsed, 16);
    assert!(scan(EXPLICIT, &bytes).result.is_err());
    // Malformed before Series Date: nothing found, no error.
    let outcome = scan_chunks(EXPLICIT, false, &[&cat(&[&r.item(0), &bytes])]);
    assert_eq!(outcome.result, Ok(()));
    assert_eq!(outcome.findings.series_date, None);
}

#[test]
fn unknown_syntaxes_are_not_scanned() {
    assert!(Scanner::new(Syntax::Unknown, true, None).is_none());
}

/// Data sets for the chunking property: the well-formed samples and a few malformed ones.
fn chunking_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let mut corpus = well_formed_samples();
    let r = RAW_EXPLICIT;
    let name = r.element(0x0010, 0x0010, "PN", b"AB");
    corpus.push((EXPLICIT, name[..7].to_vec()));
    corpus.push((
        EXPLICIT,
        cat(&[&r.header(0x0008, 0x1140, "SQ", 8), &r.item(10), &[0u8; 10]]),
    ));
    corpus.push((DEFLATED, deflate(&name[..7])));
    let bytes = encode(&sample_object(None), BIG);
    corpus.push((BIG, bytes[..bytes.len() - 3].to_vec()));
    corpus
}

/// Splits `bytes` at the given (unsorted, possibly out-of-range) cut points.
fn split_at_cuts<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(&bytes[start..cut]);
        start = cut;
    }
    chunks.push(&bytes[start..]);
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_chunking_gives_the_same_result(
        which in 0usize..9,
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
        validate in any::<bool>(),
    ) {
        let corpus = chunking_corpus();
        let (ts, bytes) = &corpus[which % corpus.len()];
        let whole = scan_chunks(ts, validate, &[bytes]);
        let chunked = scan_chunks(ts, validate, &split_at_cuts(bytes, &cuts));
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        ts in proptest::sample::select(vec![IMPLICIT, EXPLICIT, BIG, DEFLATED, JPEG]),
        validate in any::<bool>(),
    ) {
        let whole = scan_chunks(ts, validate, &[&bytes]);
        let chunked = scan_chunks(ts, validate, &split_at_cuts(&bytes, &cuts));
        // Deflated too: what was inflated before a corrupt spot is parsed either way.
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn random_bytes_after_a_valid_prefix_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..300),
        which in 0usize..5,
        keep in any::<usize>(),
    ) {
        let samples = well_formed_samples();
        let (ts, bytes) = &samples[which];
        if *ts != DEFLATED {
            let keep = keep % (bytes.len() + 1);
            let data = cat(&[&bytes[..keep], &tail]);
            let whole = scan_chunks(ts, true, &[&data]);
            prop_assert_eq!(whole, byte_by_byte(ts, true, &data));
        }
    }
}
