//! File names and sub-directories, exactly as DCMTK 3.6.7's `DcmStorageSCP` builds them, plus the
//! safety policy for values that end up in a path.
//!
//! Everything here is pure: the caller supplies clocks and random seeds, so every rule is tested
//! with fixed inputs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Prefix for an unknown SOP class with `+fd`, `+fu`, `+fst`.
pub(crate) const UNKNOWN_PREFIX: &str = "UNKNOWN";
/// Prefix for an unknown SOP class with `+fsu`.
pub(crate) const SHORT_UNKNOWN_PREFIX: &str = "XX";
/// How many names a generated scheme (`+fu`, `+fsu`, `+fst`) tries before giving up (DCMTK's
/// `OFFilenameCreator` `MAX_TRY` for `+fsu`).
pub(crate) const GENERATED_NAME_ATTEMPTS: u32 = 1024;
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

/// `-<node id>`, put right after the unique part of `+fsu` and `+fst` names when a node identity
/// is set (see [`check_node_id`]); nothing otherwise.
fn node_suffix(node: Option<&str>) -> String {
    node.map(|node| format!("-{node}")).unwrap_or_default()
}

/// `<prefix>_<start time, 8 hex><random, 8 hex>[-<node id>]<ext>` (`+fsu`).
pub(crate) fn short_unique_name(
    prefix: &str,
    start: u32,
    random: u32,
    node: Option<&str>,
    extension: &str,
) -> String {
    let node = node_suffix(node);
    format!("{prefix}_{start:08x}{random:08x}{node}{extension}")
}

/// `<YYYYMMDDhhmmss>.<microseconds, 6 digits>[-<node id>].<prefix><ext>` (`+fst`).
pub(crate) fn system_time_name(
    now: NaiveDateTime,
    node: Option<&str>,
    prefix: &str,
    extension: &str,
) -> String {
    // Leap seconds show up as nanoseconds >= 1e9 in chrono; DCMTK never prints more than 6 digits.
    let micros = (now.nanosecond() / 1_000).min(999_999);
    let node = node_suffix(node);
    format!(
        "{}.{micros:06}{node}.{prefix}{extension}",
        now.format("%Y%m%d%H%M%S")
    )
}

/// Whether `output` names an object store rather than a directory: it starts with
/// `<scheme>://`, the scheme made of ASCII letters, digits, `+`, `-` and `.` (`s3://dicom/x`;
/// also `gs://` and `az://`, which the object-store backend refuses with a clear error).
///
/// ```
/// use dcmrecv_storage_policy::is_object_store_url;
///
/// assert!(is_object_store_url("s3://dicom/incoming"));
/// assert!(is_object_store_url("gs://dicom"));
/// assert!(!is_object_store_url("/srv/dicom"));
/// assert!(!is_object_store_url("./s3:/x"));
/// ```
pub fn is_object_store_url(output: &str) -> bool {
    output.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    })
}

/// Longest node identity (`--node-id`).
pub(crate) const MAX_NODE_ID: usize = 64;

/// This host's default node identity for a receiver listening on `port`:
/// [`default_node_id`] of the host name (`uname -n`).
pub fn local_node_id(port: u16) -> String {
    #[cfg(unix)]
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    #[cfg(not(unix))]
    let host = std::env::var("COMPUTERNAME").unwrap_or_default();
    default_node_id(&host, port)
}

/// Checks a node identity ([`StorageOptions::node_id`](crate::StorageOptions::node_id)): 1 to
/// 64 bytes of `[A-Za-z0-9._-]`, not `.` or `..`. It becomes part of `+fsu` and `+fst` names
/// and a path segment of the object store's upload markers.
///
/// ```
/// use dcmrecv_storage_policy::check_node_id;
///
/// assert_eq!(check_node_id("gw1-11112"), Ok(()));
/// assert!(check_node_id("gw1/11112").is_err());
/// ```
pub fn check_node_id(node: &str) -> Result<(), &'static str> {
    if node.is_empty() || node.len() > MAX_NODE_ID {
        return Err("a node id has 1 to 64 characters");
    }
    if !node
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("a node id has only letters, digits, '.', '_' and '-'");
    }
    if node == "." || node == ".." {
        return Err("a node id is not '.' or '..'");
    }
    Ok(())
}

/// The default node identity of a receiver: `<host name>-<port>`, so that receivers on
/// different hosts, and on different ports of one host, differ. Bytes of the host name outside
/// `[A-Za-z0-9.-]` become `-`, and the host name is cut so that the whole fits 64 bytes; an
/// empty host name gives `dcmrecv-<port>`.
///
/// ```
/// use dcmrecv_storage_policy::default_node_id;
///
/// assert_eq!(default_node_id("pacs-gw1.example.org", 11112), "pacs-gw1.example.org-11112");
/// assert_eq!(default_node_id("", 104), "dcmrecv-104");
/// assert_eq!(default_node_id("my host", 104), "my-host-104");
/// ```
pub fn default_node_id(host_name: &str, port: u16) -> String {
    let suffix = format!("-{port}");
    let mut host: String = host_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-') {
                char::from(b)
            } else {
                '-'
            }
        })
        .collect();
    host.truncate(MAX_NODE_ID - suffix.len());
    if host.is_empty() || host == "." || host == ".." {
        host = "dcmrecv".to_string();
    }
    format!("{host}{suffix}")
}

/// The `attempt`-th `+fst` candidate: the time of the store plus `attempt` microseconds. When a
/// name is taken (another association stored in the same microsecond), the next microsecond's
/// name is tried: the name keeps DCMTK's shape and still reads as (almost) the time of the
/// store, and names still sort in the order of storing.
pub(crate) fn system_time_candidate(now: NaiveDateTime, attempt: u32) -> NaiveDateTime {
    now.checked_add_signed(chrono::TimeDelta::microseconds(i64::from(attempt)))
        .unwrap_or(now)
}

/// The 8 pseudo-random hex digits of `+fsu` names: one sequence per [`Storage`](crate::Storage)
/// (that is, per process), seeded once at random and shared by every association.
///
/// DCMTK re-seeds its generator with the current second for every object, so the n-th object
/// of a second walks past the n-1 names already taken that second and gives up after 1024
/// (`Could not generate filename`): at 1000 objects a second it refuses objects. Here the n-th
/// value is a keyed bijection of n, so the sequence repeats no value in 2^32 draws, and a
/// name is taken only by another process that started in the same second (its sequence has
/// another key), which costs one more draw.
#[derive(Debug)]
pub(crate) struct ShortUniqueSequence {
    next: AtomicU32,
    key: u32,
}

impl ShortUniqueSequence {
    /// A sequence starting at `start`, keyed with `key` (both random in practice).
    pub(crate) fn new(start: u32, key: u32) -> ShortUniqueSequence {
        ShortUniqueSequence {
            next: AtomicU32::new(start),
            key,
        }
    }

    /// The next value; distinct from the previous 2^32 - 1 values of this sequence.
    pub(crate) fn next_value(&self) -> u32 {
        permute(self.next.fetch_add(1, Ordering::Relaxed)) ^ self.key
    }
}

/// A bijection on `u32` that scatters consecutive inputs (MurmurHash3's finaliser: each step,
/// an xor-shift or a multiplication by an odd number, is invertible).
fn permute(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x85eb_ca6b);
    x ^= x >> 13;
    x = x.wrapping_mul(0xc2b2_ae35);
    x ^= x >> 16;
    x
}

/// Why a value cannot be used in a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Empty,
    TooLong,
    Nul,
    DotComponent,
}

impl Refusal {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Refusal::Empty => "is empty",
            Refusal::TooLong => "is too long",
            Refusal::Nul => "contains a NUL byte",
            Refusal::DotComponent => "is '.' or '..'",
        }
    }
}

/// Checks a SOP Instance UID that will become part of a `+fd` file name: 1 to 64 bytes, no NUL
/// (DCMTK cuts the name at a NUL, so two different instances could share a file; we refuse).
/// Every other byte is allowed here; [`finish_component`] maps the unsafe ones.
pub(crate) fn check_instance_uid(uid: &str) -> Result<(), Refusal> {
    if uid.is_empty() {
        Err(Refusal::Empty)
    } else if uid.len() > MAX_UID {
        Err(Refusal::TooLong)
    } else if uid.contains('\0') {
        Err(Refusal::Nul)
    } else {
        Ok(())
    }
}

/// Checks an extension given in the options: no NUL (it may be empty; other bytes are mapped
/// by [`finish_component`], as DCMTK maps them).
pub(crate) fn check_extension(extension: &str) -> Result<(), Refusal> {
    if extension.contains('\0') {
        Err(Refusal::Nul)
    } else {
        Ok(())
    }
}

/// Whether Debian's DCMTK 3.6.7 keeps a byte of a generated file name: `[A-Za-z0-9 .:@_-]`.
/// Measured byte by byte against the real `dcmrecv` (every printable ASCII character, tab,
/// 0x01, 0x7F and a two-byte UTF-8 character) for SOP Instance UIDs and `-fe` extensions with
/// every naming scheme; every other byte becomes `_`.
fn is_kept(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b' ' | b'.' | b':' | b'@' | b'_' | b'-')
}

/// Turns a generated name into a safe single path component.
///
/// Like Debian's DCMTK (its CVE-2022-2119/2120 fix), every byte outside `[A-Za-z0-9 .:@_-]`
/// becomes `_`, one `_` per byte (so `/`, `\`, `$`, `;`, `*`, control characters and non-ASCII
/// never reach a file name). Then the component is refused if it is empty, `.` or `..`, or
/// longer than 255 bytes.
pub(crate) fn finish_component(name: &str) -> Result<String, Refusal> {
    let component: String = name
        .bytes()
        .map(|b| if is_kept(b) { char::from(b) } else { '_' })
        .collect();
    if component.is_empty() {
        Err(Refusal::Empty)
    } else if component == "." || component == ".." {
        Err(Refusal::DotComponent)
    } else if component.len() > MAX_COMPONENT {
        Err(Refusal::TooLong)
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
            short_unique_name("CT", 0x6b09_1955, 0x2dd7_36c4, None, ""),
            expect!["CT_6b0919552dd736c4"],
        );
        check_name(
            short_unique_name("XX", 0x0000_0001, 0x0000_00ab, None, ".dcm"),
            expect!["XX_00000001000000ab.dcm"],
        );
        let now = NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_micro_opt(5, 47, 2, 821_628)
            .unwrap();
        check_name(
            system_time_name(now, None, "CT", ""),
            expect!["20261127054702.821628.CT"],
        );
        let now = now.with_nanosecond(5_000).unwrap();
        check_name(
            system_time_name(now, None, "UNKNOWN", ".xyz"),
            expect!["20261127054702.000005.UNKNOWN.xyz"],
        );
    }

    #[test]
    fn node_ids_follow_the_unique_part() {
        check_name(
            short_unique_name("CT", 0x6b09_1955, 0x2dd7_36c4, Some("gw1-11112"), ".dcm"),
            expect!["CT_6b0919552dd736c4-gw1-11112.dcm"],
        );
        let now = NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_micro_opt(5, 47, 2, 821_628)
            .unwrap();
        check_name(
            system_time_name(now, Some("gw1-11112"), "CT", ".dcm"),
            expect!["20261127054702.821628-gw1-11112.CT.dcm"],
        );
        assert_eq!(check_node_id("gw1.example-11112_a"), Ok(()));
        assert!(check_node_id("").is_err());
        assert!(check_node_id("..").is_err());
        assert!(check_node_id("a/b").is_err());
        assert!(check_node_id("a b").is_err());
        assert!(check_node_id(&"n".repeat(65)).is_err());
        assert_eq!(check_node_id(&"n".repeat(64)), Ok(()));
        let long = default_node_id(&"h".repeat(100), 65535);
        assert_eq!(long.len(), 64);
        assert!(long.ends_with("h-65535"));
        assert_eq!(check_node_id(&long), Ok(()));
        assert_eq!(default_node_id("..", 1), "dcmrecv-1");
        assert_eq!(default_node_id("höst", 1), "h--st-1");
    }

    #[test]
    fn slashes_become_underscores() {
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
    fn unsafe_bytes_become_underscores_as_in_debians_dcmtk() {
        // The measured table: every printable ASCII character outside [A-Za-z0-9 .:@_-].
        let mut name = String::new();
        for c in (0x20u8..=0x7e).map(char::from) {
            name.push(c);
        }
        check_name(
            name,
            expect![
                " ____________-._0123456789:_____@ABCDEFGHIJKLMNOPQRSTUVWXYZ______abcdefghijklmnopqrstuvwxyz____"
            ],
        );
        check_name(
            default_name("CT", "$(reboot);*\\x`|&", ".d c m"),
            expect!["CT.__reboot____x___.d c m"],
        );
        // Control characters, DEL and non-ASCII bytes too, one `_` per byte.
        check_name(
            default_name("CT", "1.2\n3\t4\u{1}\u{7f}", ""),
            expect!["CT.1.2_3_4__"],
        );
        check_name(default_name("CT", "1.2.é", ""), expect!["CT.1.2.__"]);
        check_name(default_name("CT", "abc def", ""), expect!["CT.abc def"]);
        check_name(default_name("CT", "a\\b", ""), expect!["CT.a_b"]);
    }

    #[test]
    fn unusable_components_are_refused() {
        check_name(String::new(), expect!["refused: is empty"]);
        check_name(".".to_string(), expect!["refused: is '.' or '..'"]);
        check_name("..".to_string(), expect!["refused: is '.' or '..'"]);
        check_name("x".repeat(256), expect!["refused: is too long"]);
        check_name(
            "x".repeat(255),
            expect![
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            ],
        );
        // Three bytes of UTF-8 are three `_`: the length limit counts bytes.
        check_name(
            "€".repeat(85),
            expect![[
                "_______________________________________________________________________________________________________________________________________________________________________________________________________________________________________________________________"
            ]],
        );
        check_name("€".repeat(86), expect!["refused: is too long"]);
    }

    #[test]
    fn instance_uid_checks() {
        assert_eq!(check_instance_uid("1.2.3"), Ok(()));
        assert_eq!(check_instance_uid("1.2.3/4"), Ok(()));
        assert_eq!(check_instance_uid("abc def"), Ok(()));
        assert_eq!(check_instance_uid("1.2\t3"), Ok(()));
        assert_eq!(check_instance_uid(&"1".repeat(64)), Ok(()));
        assert_eq!(check_instance_uid(&"1".repeat(65)), Err(Refusal::TooLong));
        assert_eq!(check_instance_uid(""), Err(Refusal::Empty));
        assert_eq!(check_instance_uid("1.2\0"), Err(Refusal::Nul));
        assert_eq!(check_extension(""), Ok(()));
        assert_eq!(check_extension(".dcm"), Ok(()));
        assert_eq!(check_extension("/x.dcm"), Ok(()));
        assert_eq!(check_extension(".d\ncm"), Ok(()));
        assert_eq!(check_extension(".d\0cm"), Err(Refusal::Nul));
    }

    #[test]
    fn short_unique_values_do_not_repeat() {
        // Consecutive draws are a bijection of a counter: no value twice, whatever the start
        // and key (checked over 2^20 draws across the wrap of the counter).
        for (start, key) in [(0, 0), (u32::MAX - 1000, 0x1234_5678), (7, u32::MAX)] {
            let sequence = ShortUniqueSequence::new(start, key);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..(1 << 20) {
                assert!(seen.insert(sequence.next_value()));
            }
        }
        // They look random (not a counter), and the key changes them.
        let a = ShortUniqueSequence::new(0, 0);
        let b = ShortUniqueSequence::new(0, 1);
        let (a0, a1) = (a.next_value(), a.next_value());
        assert!(a1.abs_diff(a0) > 1 << 16, "{a0:08x} {a1:08x}");
        assert_ne!(b.next_value(), a0);
    }

    #[test]
    fn system_time_candidates_step_by_a_microsecond() {
        let now = NaiveDate::from_ymd_opt(2026, 12, 31)
            .unwrap()
            .and_hms_micro_opt(23, 59, 59, 999_998)
            .unwrap();
        let names: Vec<String> = (0..3)
            .map(|k| system_time_name(system_time_candidate(now, k), None, "CT", ""))
            .collect();
        assert_eq!(
            names,
            [
                "20261231235959.999998.CT",
                "20261231235959.999999.CT",
                "20270101000000.000000.CT"
            ]
        );
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
