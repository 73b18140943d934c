//! File names and sub-directories, exactly as DCMTK 3.6.7's `DcmStorageSCP` builds them, plus the
//! safety policy for values that end up in a path.
//!
//! Everything here is pure: the caller supplies clocks and random seeds, so every rule is tested
//! with fixed inputs.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Prefix for an unknown SOP class with `+fd`, `+fu`, `+fst`.
pub(crate) const UNKNOWN_PREFIX: &str = "UNKNOWN";
/// Prefix for an unknown SOP class with `+fsu`.
pub(crate) const SHORT_UNKNOWN_PREFIX: &str = "XX";
/// How many names `+fsu` tries before giving up (DCMTK's `OFFilenameCreator` `MAX_TRY`).
pub(crate) const SHORT_UNIQUE_ATTEMPTS: u32 = 1024;
/// Longest file name component we create (the usual `NAME_MAX`).
const MAX_COMPONENT: usize = 255;
/// Longest UID DICOM allows (and DCMTK's DIMSE layer accepts in a command).
const MAX_UID: usize = 64;

/// `<prefix>.<SOP Instance UID><ext>` (`+fd`).
pub(crate) fn default_name(prefix: &str, instance_uid: &str, extension: &str) -> String {
    format!("{prefix}.{instance_uid}{extension}")
}

/// `<prefix>.X.<new UID><ext>` (`+fu`).
pub(crate) fn unique_uid_name(prefix: &str, new_uid: &str, extension: &str) -> String {
    format!("{prefix}.X.{new_uid}{extension}")
}

/// `<prefix>_<start time, 8 hex><random, 8 hex><ext>` (`+fsu`).
pub(crate) fn short_unique_name(prefix: &str, start: u32, random: u32, extension: &str) -> String {
    format!("{prefix}_{start:08x}{random:08x}{extension}")
}

/// `<YYYYMMDDhhmmss>.<microseconds, 6 digits>.<prefix><ext>` (`+fst`).
pub(crate) fn system_time_name(now: NaiveDateTime, prefix: &str, extension: &str) -> String {
    // Leap seconds show up as nanoseconds >= 1e9 in chrono; DCMTK never prints more than 6 digits.
    let micros = (now.nanosecond() / 1_000).min(999_999);
    format!(
        "{}.{micros:06}.{prefix}{extension}",
        now.format("%Y%m%d%H%M%S")
    )
}

/// DCMTK's pseudo-random sequence for `+fsu` names (`OFStandard::rand_r` inside
/// `OFFilenameCreator::makeFilename`), seeded with the Unix time of the store. Reproducing it
/// gives the very names `dcmrecv` would have chosen in the same second.
#[derive(Debug, Clone)]
pub(crate) struct ShortUniqueRandom {
    seed: u32,
}

impl ShortUniqueRandom {
    pub(crate) fn new(seed: u32) -> ShortUniqueRandom {
        ShortUniqueRandom { seed }
    }

    fn rand_r(&mut self) -> u32 {
        let value = self.seed.wrapping_mul(1_103_515_245).wrapping_add(12_345) & 0x7FFF_FFFF;
        self.seed = value;
        value
    }

    /// The next 32-bit name part: two draws, upper half first.
    pub(crate) fn next_value(&mut self) -> u32 {
        let high = self.rand_r() & 0xFFFF;
        let low = self.rand_r() & 0xFFFF;
        (high << 16) | low
    }
}

/// Why a value cannot be used in a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Empty,
    TooLong,
    NotPrintableAscii,
    DotComponent,
}

impl Refusal {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Refusal::Empty => "is empty",
            Refusal::TooLong => "is too long",
            Refusal::NotPrintableAscii => "contains a byte that is not printable ASCII",
            Refusal::DotComponent => "is '.' or '..'",
        }
    }
}

/// Checks a SOP Instance UID that will become part of a `+fd` file name: 1 to 64 bytes of
/// printable ASCII (spaces allowed, as DCMTK keeps them; `/` is allowed here and replaced later).
pub(crate) fn check_instance_uid(uid: &str) -> Result<(), Refusal> {
    if uid.is_empty() {
        Err(Refusal::Empty)
    } else if uid.len() > MAX_UID {
        Err(Refusal::TooLong)
    } else if !uid.bytes().all(is_printable_ascii) {
        Err(Refusal::NotPrintableAscii)
    } else {
        Ok(())
    }
}

/// Checks an extension given in the options: printable ASCII (it may be empty).
pub(crate) fn check_extension(extension: &str) -> Result<(), Refusal> {
    if extension.bytes().all(is_printable_ascii) {
        Ok(())
    } else {
        Err(Refusal::NotPrintableAscii)
    }
}

fn is_printable_ascii(byte: u8) -> bool {
    (0x20..=0x7E).contains(&byte)
}

/// Turns a generated name into a safe single path component.
///
/// Like Debian's DCMTK (the CVE-2022-2119/2120 fix), every `/` becomes `_`. Then the component
/// is refused if it is empty, `.` or `..`, longer than 255 bytes, or holds a byte outside
/// printable ASCII (NUL, control characters, non-ASCII). Spaces and backslashes are kept.
pub(crate) fn finish_component(name: &str) -> Result<String, Refusal> {
    let component = name.replace('/', "_");
    if component.is_empty() {
        Err(Refusal::Empty)
    } else if component == "." || component == ".." {
        Err(Refusal::DotComponent)
    } else if component.len() > MAX_COMPONENT {
        Err(Refusal::TooLong)
    } else if !component.bytes().all(is_printable_ascii) {
        Err(Refusal::NotPrintableAscii)
    } else {
        Ok(component)
    }
}

/// A valid Series Date by DCMTK's loose rules: the first value (before any `\`), trailing spaces
/// removed, is `YYYYMMDD` or the legacy `YYYY.MM.DD`, with month 01–12 and day 01–31 (no
/// per-month check) and any four-digit year. Returns `(year, month, day)` as text.
pub(crate) fn parse_series_date(value: &[u8]) -> Option<(&str, &str, &str)> {
    let first = value.split(|b| *b == b'\\').next()?;
    let end = first.iter().rposition(|b| *b != b' ').map_or(0, |i| i + 1);
    let text = std::str::from_utf8(first.get(..end)?).ok()?;
    let (year, month, day) = match text.len() {
        8 => (text.get(0..4)?, text.get(4..6)?, text.get(6..8)?),
        10 if text.get(4..5)? == "." && text.get(7..8)? == "." => {
            (text.get(0..4)?, text.get(5..7)?, text.get(8..10)?)
        }
        _ => return None,
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year) && digits(month) && digits(day)) {
        return None;
    }
    let month_ok = matches!(month.parse::<u8>(), Ok(1..=12));
    let day_ok = matches!(day.parse::<u8>(), Ok(1..=31));
    (month_ok && day_ok).then_some((year, month, day))
}

/// The `+ssd` sub-directory (relative to the output directory) for a Series Date value, or for
/// none: `data/YYYY/MM/DD` or `undef/<today YYYYMMDD>`.
pub(crate) fn series_date_subdirectory(series_date: Option<&[u8]>, today: NaiveDate) -> PathBuf {
    match series_date.and_then(parse_series_date) {
        Some((year, month, day)) => Path::new("data").join(year).join(month).join(day),
        None => Path::new("undef").join(format!(
            "{:04}{:02}{:02}",
            today.year(),
            today.month(),
            today.day()
        )),
    }
}

/// The output directory as DCMTK prints it (`OFStandard::normalizeDirName`): trailing
/// separators removed (a lone `/` stays), and `.` when empty. `sub/` → `sub`, `/a/b//` →
/// `/a/b`, `` → `.`, `./sub` stays `./sub`.
///
/// ```
/// use std::path::Path;
/// use dcmrecv_storage_policy::normalize_output_directory;
///
/// assert_eq!(normalize_output_directory(Path::new("/a/b//")), Path::new("/a/b"));
/// assert_eq!(normalize_output_directory(Path::new("")), Path::new("."));
/// ```
pub fn normalize_output_directory(dir: &Path) -> PathBuf {
    #[cfg(unix)]
    {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let mut bytes = dir.as_os_str().as_bytes();
        while bytes.len() > 1 && bytes.ends_with(b"/") {
            bytes = bytes.get(..bytes.len() - 1).unwrap_or(bytes);
        }
        if bytes.is_empty() {
            PathBuf::from(".")
        } else {
            PathBuf::from(OsStr::from_bytes(bytes))
        }
    }
    #[cfg(not(unix))]
    {
        let text = dir.to_string_lossy();
        let trimmed = text.trim_end_matches(['/', '\\']);
        if trimmed.is_empty() && !text.is_empty() {
            PathBuf::from(&text[..1])
        } else if trimmed.is_empty() {
            PathBuf::from(".")
        } else {
            PathBuf::from(trimmed)
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn check_ssd(value: Option<&str>, expect: Expect) {
        let dir = series_date_subdirectory(value.map(str::as_bytes), date(2026, 11, 27));
        expect.assert_eq(&dir.display().to_string());
    }

    #[test]
    fn series_date_subdirectories_as_observed_with_dcmtk() {
        // The table of spec section 4.2 (today = 2026-11-27).
        check_ssd(Some("20200115"), expect!["data/2020/01/15"]);
        check_ssd(Some("2020.01.15"), expect!["data/2020/01/15"]);
        check_ssd(Some("20200115 "), expect!["data/2020/01/15"]);
        check_ssd(Some("20200115\\20200116"), expect!["data/2020/01/15"]);
        check_ssd(Some("20200231"), expect!["data/2020/02/31"]);
        check_ssd(Some("00000101"), expect!["data/0000/01/01"]);
        check_ssd(Some("20201301"), expect!["undef/20261127"]);
        check_ssd(Some("2020-01-15"), expect!["undef/20261127"]);
        check_ssd(Some("202001"), expect!["undef/20261127"]);
        check_ssd(Some(""), expect!["undef/20261127"]);
        check_ssd(None, expect!["undef/20261127"]);
    }

    #[test]
    fn series_date_edges() {
        check_ssd(Some("20200100"), expect!["undef/20261127"]);
        check_ssd(Some("20200132"), expect!["undef/20261127"]);
        check_ssd(Some("20200001"), expect!["undef/20261127"]);
        check_ssd(Some("99991231"), expect!["data/9999/12/31"]);
        check_ssd(Some(" 20200115"), expect!["undef/20261127"]);
        check_ssd(Some("2020011 "), expect!["undef/20261127"]);
        check_ssd(Some("20200115\0"), expect!["undef/20261127"]);
        check_ssd(Some("2020.0115."), expect!["undef/20261127"]);
        check_ssd(Some("2020/01/15"), expect!["undef/20261127"]);
        check_ssd(Some("../../etc"), expect!["undef/20261127"]);
        check_ssd(Some("2020.1.015"), expect!["undef/20261127"]);
        check_ssd(Some("+2020115"), expect!["undef/20261127"]);
        check_ssd(Some("\\20200115"), expect!["undef/20261127"]);
        check_ssd(Some("20200115\\garbage"), expect!["data/2020/01/15"]);
        check_ssd(Some("2020011５"), expect!["undef/20261127"]);
        check_ssd(Some("20200115          "), expect!["data/2020/01/15"]);
        // Today is printed with four-digit years and two-digit months and days.
        let dir = series_date_subdirectory(None, date(987, 1, 2));
        assert_eq!(dir, Path::new("undef/09870102"));
    }

    fn check_name(name: String, expect: Expect) {
        let shown = match finish_component(&name) {
            Ok(component) => component,
            Err(refusal) => format!("refused: {}", refusal.text()),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn file_name_schemes() {
        check_name(
            default_name("CT", "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322", ""),
            expect!["CT.1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"],
        );
        check_name(
            default_name("UNKNOWN", "1.2.3.4.888", ""),
            expect!["UNKNOWN.1.2.3.4.888"],
        );
        check_name(
            default_name("CT", "1.2.3.4.5.1", ".dcm"),
            expect!["CT.1.2.3.4.5.1.dcm"],
        );
        check_name(
            unique_uid_name("CT", "2.25.1234", ""),
            expect!["CT.X.2.25.1234"],
        );
        check_name(
            short_unique_name("CT", 0x6b09_1955, 0x2dd7_36c4, ""),
            expect!["CT_6b0919552dd736c4"],
        );
        check_name(
            short_unique_name("XX", 0x0000_0001, 0x0000_00ab, ".dcm"),
            expect!["XX_00000001000000ab.dcm"],
        );
        let now = NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_micro_opt(5, 47, 2, 821_628)
            .unwrap();
        check_name(
            system_time_name(now, "CT", ""),
            expect!["20261127054702.821628.CT"],
        );
        let now = now.with_nanosecond(5_000).unwrap();
        check_name(
            system_time_name(now, "UNKNOWN", ".xyz"),
            expect!["20261127054702.000005.UNKNOWN.xyz"],
        );
    }

    #[test]
    fn debian_replaces_slashes_in_the_file_name() {
        check_name(default_name("CT", "1.2.3/4", ""), expect!["CT.1.2.3_4"]);
        check_name(
            default_name("CT", "1.2.3.4.5.1", "/x.dcm"),
            expect!["CT.1.2.3.4.5.1_x.dcm"],
        );
        check_name(
            default_name("CT", "../../etc/passwd", ""),
            expect!["CT..._.._etc_passwd"],
        );
        check_name(default_name("CT", "/", ""), expect!["CT._"]);
    }

    #[test]
    fn hostile_components_are_refused() {
        check_name(
            default_name("CT", "1.2\0.3", ""),
            expect!["refused: contains a byte that is not printable ASCII"],
        );
        check_name(
            default_name("CT", "1.2\n3", ""),
            expect!["refused: contains a byte that is not printable ASCII"],
        );
        check_name(
            default_name("CT", "1.2.é", ""),
            expect!["refused: contains a byte that is not printable ASCII"],
        );
        check_name(
            default_name("CT", "1.2\u{7f}", ""),
            expect!["refused: contains a byte that is not printable ASCII"],
        );
        check_name(String::new(), expect!["refused: is empty"]);
        check_name(".".to_string(), expect!["refused: is '.' or '..'"]);
        check_name("..".to_string(), expect!["refused: is '.' or '..'"]);
        check_name("x".repeat(256), expect!["refused: is too long"]);
        check_name(
            "x".repeat(255),
            expect![[
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            ]],
        );
        // Spaces and backslashes are ordinary characters in a POSIX file name.
        check_name(default_name("CT", "abc def", ""), expect!["CT.abc def"]);
        check_name(default_name("CT", "a\\b", ""), expect![[r#"CT.a\b"#]]);
    }

    #[test]
    fn instance_uid_checks() {
        assert_eq!(check_instance_uid("1.2.3"), Ok(()));
        assert_eq!(check_instance_uid("1.2.3/4"), Ok(()));
        assert_eq!(check_instance_uid("abc def"), Ok(()));
        assert_eq!(check_instance_uid(&"1".repeat(64)), Ok(()));
        assert_eq!(check_instance_uid(&"1".repeat(65)), Err(Refusal::TooLong));
        assert_eq!(check_instance_uid(""), Err(Refusal::Empty));
        assert_eq!(check_instance_uid("1.2\0"), Err(Refusal::NotPrintableAscii));
        assert_eq!(
            check_instance_uid("1.2\t3"),
            Err(Refusal::NotPrintableAscii)
        );
        assert_eq!(check_extension(""), Ok(()));
        assert_eq!(check_extension(".dcm"), Ok(()));
        assert_eq!(check_extension("/x.dcm"), Ok(()));
        assert_eq!(check_extension(".d\ncm"), Err(Refusal::NotPrintableAscii));
    }

    #[test]
    fn short_unique_random_matches_dcmtk() {
        // Observed with the real dcmrecv 3.6.7 +fsu: started at 0x6b092f2d, the store happened at
        // Unix time 1795764014 and produced CT_6b092f2d4acf1c5c; a second CT in the same second
        // collided and got CT_6b092f2d4b65103a; an MR in the same second got the first value.
        let mut random = ShortUniqueRandom::new(1_795_764_014);
        assert_eq!(format!("{:08x}", random.next_value()), "4acf1c5c");
        assert_eq!(format!("{:08x}", random.next_value()), "4b65103a");
        // The spec's example CT_6b0919552dd736c4 (server started at 0x6b091955) is reproduced by
        // a store within the first minute.
        let found = (0x6b09_1955u32..0x6b09_1955 + 60)
            .any(|seed| ShortUniqueRandom::new(seed).next_value() == 0x2dd7_36c4);
        assert!(found);
    }

    fn check_od(input: &str, expect: Expect) {
        let dir = normalize_output_directory(Path::new(input));
        expect.assert_eq(&dir.join("CT.1").display().to_string());
    }

    #[test]
    fn output_directory_spellings() {
        check_od("", expect!["./CT.1"]);
        check_od(".", expect!["./CT.1"]);
        check_od("./", expect!["./CT.1"]);
        check_od("sub/", expect!["sub/CT.1"]);
        check_od("sub", expect!["sub/CT.1"]);
        check_od("./sub", expect!["./sub/CT.1"]);
        check_od("/a/b//", expect!["/a/b/CT.1"]);
        check_od("/", expect!["/CT.1"]);
        check_od("//", expect!["/CT.1"]);
        check_od("a//b", expect!["a//b/CT.1"]);
        check_od("/srv/with space/", expect!["/srv/with space/CT.1"]);
    }
}
