//! Differential tests: every case is given to our parser and to the real `/usr/bin/dcmrecv`
//! (`-xf <file> <profile>`); both must agree on "listens" versus "exits 66 with these exact
//! `E:`/`F:` lines".

use std::fs;

use crate::support::{predict, run_dcmrecv};

const TS: &str = "[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicit\nTransferSyntax2 = LittleEndianImplicit\n";
const PC: &str =
    "[[PresentationContexts]]\n[P]\nPresentationContext1 = VerificationSOPClass\\Uncompressed\n";
const PROF: &str = "[[Profiles]]\n[Default]\nPresentationContexts = P\n";

fn pcs(n: usize, list: &str) -> String {
    (1..=n)
        .map(|i| format!("PresentationContext{i} = 1.2.3.{i}\\{list}\n"))
        .collect()
}

fn roles(r: &str) -> String {
    format!(
        "{TS}{PC}[[SCPSCURoleSelection]]\n[R]\n{r}[[Profiles]]\n[Default]\nPresentationContexts = P\nSCPSCURoleSelection = R\n"
    )
}

fn extneg(e: &str) -> String {
    format!(
        "{TS}{PC}[[ExtendedNegotiation]]\n[E]\n{e}[[Profiles]]\n[Default]\nPresentationContexts = P\nExtendedNegotiation = E\n"
    )
}

/// `(case name, file contents, profile name)`.
fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let s = |name: &'static str, text: String, profile: &'static str| {
        (name, text.into_bytes(), profile)
    };
    vec![
        s("minimal", format!("{TS}{PC}{PROF}"), "default"),
        s("empty", String::new(), "default"),
        s("no_pcs", TS.to_string(), "default"),
        s("no_profiles", format!("{TS}{PC}"), "default"),
        s("unknown_profile", format!("{TS}{PC}{PROF}"), "nope"),
        s("blank_profile_name", format!("{TS}{PC}{PROF}"), "   "),
        s("empty_profile_name", format!("{TS}{PC}{PROF}"), ""),
        s("spaced_profile_name", format!("{TS}{PC}{PROF}"), " de FAULT "),
        s("dotted_profile_mangled", format!("{TS}{PC}[[Profiles]]\n[my.profile]\nPresentationContexts = P\n"), "my.profile"),
        s("dotted_profile_plain", format!("{TS}{PC}[[Profiles]]\n[my.profile]\nPresentationContexts = P\n"), "myprofile"),
        s("not_scp", format!("{TS}{PC}PresentationContext2 = =VerificationSOPClass\\Uncompressed\n{PROF}"), "default"),
        s("pc128", format!("{TS}[[PresentationContexts]]\n[P]\n{}{PROF}", pcs(128, "Uncompressed")), "default"),
        s("pc129", format!("{TS}[[PresentationContexts]]\n[P]\n{}{PROF}", pcs(129, "Uncompressed")), "default"),
        s("pc129_split", format!("{TS}[[PresentationContexts]]\n[P]\n{}[P]\n{}{PROF}", pcs(100, "Uncompressed"), pcs(29, "Uncompressed")), "default"),
        s("ts_trailing_blank", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicit  \n{PC}{PROF}"), "default"),
        s("ts_hash_after_value", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicit # c\n{PC}{PROF}"), "default"),
        s("ts_lowercase_name", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = littleendianexplicit\n{PC}{PROF}"), "default"),
        s("ts_empty_value", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 =\n{PC}{PROF}"), "default"),
        s("ts_equals_numeric", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = =1.2\n{PC}{PROF}"), "default"),
        s("ts_local_opposite", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = =LocalEndianExplicit\nTransferSyntax2 = OppositeEndianExplicit\n{PC}{PROF}"), "default"),
        s("ts_indented_key", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianImplicit\n  TransferSyntax2 = LittleEndianExplicit\n{PC}{PROF}"), "default"),
        s("ts_gap_garbage", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianImplicit\nTransferSyntax3 = Garbage\nTransferSyntax02 = Garbage\n{PC}{PROF}"), "default"),
        s("ts_duplicate_key_garbage", format!("[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianImplicit\nTransferSyntax1 = Garbage\n{PC}{PROF}"), "default"),
        s("dup_supersection_garbage", format!("{TS}{PC}[[TransferSyntaxes]]\n[X]\nTransferSyntax1 = Garbage\n{PROF}"), "default"),
        s("indented_comment", format!("{TS}[[PresentationContexts]]\n[P]\n  # comment\nPresentationContext1 = VerificationSOPClass\\Uncompressed\n{PROF}"), "default"),
        s("column1_comments_crlf", format!("# c\r\n{TS}\r\n#x\r\n{PC}{PROF}").replace('\n', "\r\n"), "default"),
        s("cr_only", format!("{TS}{PC}{PROF}").replace('\n', "\r"), "default"),
        s("mangled_keywords", "[[ transfer syntaxes ]]\n[un.compressed]\ntransfer syntax 1 = LittleEndianImplicit\n[[presentation-contexts]]\n[p]\npresentationcontext1 = VerificationSOPClass\\ UN COMPRESSED\n[[profiles]]\n[de fault]\npresentationcontexts = p\n".into(), "default"),
        s("nul_bytes", format!("{TS}{PC}{PROF}").replace("TransferSyntax1 ", "Transfer\0Syntax1 "), "default"),
        s("continuation_value", format!("{TS}[[PresentationContexts]]\n[P]\nPresentationContext1 = Verification\n\n   SOPClass\\Uncompressed\n{PROF}"), "default"),
        s("unbalanced_header", format!("{TS}{PC}[[Profiles]\n[Default]\nPresentationContexts = P\n"), "default"),
        s("triple_brackets", format!("{TS}{PC}[[[Profiles]]]\n[Default]\nPresentationContexts = P\n"), "default"),
        s("pc_no_backslash", format!("{TS}[[PresentationContexts]]\n[P]\nPresentationContext1 = VerificationSOPClass\n{PROF}"), "default"),
        s("pc_two_backslashes", format!("{TS}[[PresentationContexts]]\n[P]\nPresentationContext1 = VerificationSOPClass\\Uncompressed\\x\n{PROF}"), "default"),
        s("pc_as_trailing_space", format!("{TS}[[PresentationContexts]]\n[P]\nPresentationContext1 = VerificationSOPClass \\Uncompressed\n{PROF}"), "default"),
        s("pc_empty_as", format!("{TS}[[PresentationContexts]]\n[P]\nPresentationContext1 = \\Uncompressed\n{PROF}"), "default"),
        s("pc_empty_ts", format!("{TS}[[PresentationContexts]]\n[P]\nPresentationContext1 = 1.2\\\n{PROF}"), "default"),
        s("pc_empty_list_name", format!("{TS}[[PresentationContexts]]\n[...]\nPresentationContext1 = 1.2\\Uncompressed\n[[Profiles]]\n[Default]\nPresentationContexts = ...\n"), "default"),
        s("pc_ts_list_named_empty", "[[TransferSyntaxes]]\n[..]\nTransferSyntax1 = 1.2\n[[PresentationContexts]]\n[P]\nPresentationContext1 = 1.2\\\n[[Profiles]]\n[Default]\nPresentationContexts = P\n".into(), "default"),
        s("role_ok", roles("Role1 = VerificationSOPClass\\both\n"), "default"),
        s("role_no_backslash", roles("Role1 = VerificationSOPClass\n"), "default"),
        s("role_bad_key", roles("Role1 = Foo\\ SCP\n"), "default"),
        s("role_bad_as", roles("Role1 = Foo\\scp\n"), "default"),
        s("role_empty_as", roles("Role1 = \\scp\n"), "default"),
        s("role_twice", roles("Role1 = VerificationSOPClass\\SCP\nRole2 = 1.2.840.10008.1.1\\scu\n"), "default"),
        s("role_not_in_pcs", roles("Role1 = 1.2.3\\SCP\n"), "default"),
        s("role_undefined", format!("{TS}{PC}[[Profiles]]\n[Default]\nPresentationContexts = P\nSCPSCURoleSelection = nope\n"), "default"),
        s("extneg_ok", extneg("ExtendedNegotiation1 = VerificationSOPClass\\00fFA0\n"), "default"),
        s("extneg_no_backslash", extneg("ExtendedNegotiation1 = Foo01\n"), "default"),
        s("extneg_odd", extneg("ExtendedNegotiation1 = VerificationSOPClass\\abc\n"), "default"),
        s("extneg_bad_hex", extneg("ExtendedNegotiation1 = Foo\\0g\n"), "default"),
        s("extneg_empty", extneg("ExtendedNegotiation1 = VerificationSOPClass\\\n"), "default"),
        s("extneg_empty_as", extneg("ExtendedNegotiation1 = \\01\n"), "default"),
        s("extneg_1023", extneg(&format!("ExtendedNegotiation1 = VerificationSOPClass\\{}\n", "ab".repeat(1023))), "default"),
        s("extneg_1024", extneg(&format!("ExtendedNegotiation1 = VerificationSOPClass\\{}\n", "ab".repeat(1024))), "default"),
        s("extneg_twice", extneg("ExtendedNegotiation1 = VerificationSOPClass\\01\nExtendedNegotiation2 = =VerificationSOPClass\\02\n"), "default"),
        s("extneg_not_in_pcs", extneg("ExtendedNegotiation1 = 1.2.3\\01\n"), "default"),
        s("extneg_undefined", format!("{TS}{PC}[[Profiles]]\n[Default]\nPresentationContexts = P\nExtendedNegotiation = nope\n"), "default"),
        s("profile_no_pcs_key", format!("{TS}{PC}[[Profiles]]\n[Default]\nFoo = P\n"), "default"),
        s("profile_pcs_undefined", format!("{TS}{PC}[[Profiles]]\n[Default]\nPresentationContexts = nope\n"), "default"),
        s("profile_twice", format!("{TS}{PC}{PROF}[de fault]\nPresentationContexts = P\n"), "default"),
        s("profile_empty_name", format!("{TS}{PC}[[Profiles]]\n[..]\nPresentationContexts = P\n"), "default"),
    ]
}

#[test]
fn our_parser_agrees_with_dcmrecv() {
    let dir = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    for (name, bytes, profile) in cases() {
        let path = dir.path().join(format!("{name}.cfg"));
        fs::write(&path, bytes).unwrap();
        let ours = predict(&path, profile);
        let theirs = run_dcmrecv(&path, profile);
        if ours != theirs {
            disagreements.push(format!(
                "{name}:\n  ours:   {ours:?}\n  dcmrecv: {theirs:?}"
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn missing_file_agrees_with_dcmrecv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.cfg");
    assert_eq!(predict(&path, "default"), run_dcmrecv(&path, "default"));
    // A directory: DCMTK opens it and reads nothing.
    assert_eq!(
        predict(dir.path(), "default"),
        run_dcmrecv(dir.path(), "default")
    );
}
