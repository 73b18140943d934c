//! "Rightmost wins", seen through the hidden `--print-config` switch.

use crate::config;

fn field<'a>(config: &'a str, name: &str) -> &'a str {
    config
        .lines()
        .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {name} in {config}"))
        .trim_end_matches(',')
}

/// DCMTK's block evaluation, as measured. DCMTK refuses the first three with
/// `--bit-preserving not allowed with --series-date-subdir`; we deliberately accept `+B` with
/// `+ssd` (temporary file, named when complete), and the rightmost storage option wins.
#[test]
fn storage_and_subdirectory_blocks() {
    let table = [
        ("+B +ssd", "BitPreserving", "SeriesDate"),
        ("+B +ssd --ignore", "Ignore", "SeriesDate"),
        ("+ssd --ignore +B", "BitPreserving", "SeriesDate"),
        ("+B -B +ssd", "Normal", "SeriesDate"),
        ("+B +ssd -s", "BitPreserving", "None"),
        ("--ignore +ssd", "Ignore", "SeriesDate"),
        ("", "Normal", "None"),
    ];
    for (line, mode, subdirs) in table {
        let mut args: Vec<&str> = line.split_whitespace().collect();
        args.push("11112");
        let c = config(&args);
        assert_eq!(field(&c, "storage_mode"), mode, "{line}");
        assert_eq!(field(&c, "subdirectories"), subdirs, "{line}");
    }
}

#[test]
fn ae_title_block() {
    let c = config(&["-aet", "FOO", "-uca", "11112"]);
    assert_eq!(field(&c, "ae_title"), "UseCalled");
    let c = config(&["-uca", "-aet", "FOO", "11112"]);
    assert!(
        c.contains("ae_title: Fixed(\n        \"FOO\",\n    ),"),
        "{c}"
    );
}

#[test]
fn other_blocks_and_single_valued_options() {
    let c = config(&["+fu", "+fst", "+fsu", "11112"]);
    assert_eq!(field(&c, "naming"), "ShortUnique");
    let c = config(&[
        "-pdu", "8192", "-pdu", "4096", "-ta", "5", "-ta", "7", "11112",
    ]);
    assert_eq!(field(&c, "max_pdu"), "4096");
    assert_eq!(field(&c, "acse_timeout"), "7s");
    let c = config(&["-od", "a", "-od", "b//", "11112"]);
    assert_eq!(field(&c, "given"), "\"b//\"");
    assert_eq!(field(&c, "normalised"), "\"b\"");
    let c = config(&["-fs", "+fs", "11112"]);
    assert_eq!(field(&c, "fsync"), "true");
    let c = config(&["-v", "-d", "11112"]);
    assert_eq!(field(&c, "level"), "Debug");
}

#[test]
fn accept_all_and_config_file_are_one_block() {
    let c = config(&["-xf", "a.cfg", "Default", "+xa", "11112"]);
    assert_eq!(field(&c, "profile"), "AcceptAll");
    let c = config(&["+xa", "-xf", "a.cfg", "Default", "11112"]);
    assert!(
        c.contains("profile: File {\n        path: \"a.cfg\",\n        name: \"Default\",\n    },"),
        "{c}"
    );
    let c = config(&["11112"]);
    assert_eq!(field(&c, "profile"), "VerificationOnly");
}
