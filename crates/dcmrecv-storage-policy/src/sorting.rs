//! storescp's study folders (`-su`, `-ss`, `-sp`): one sub-directory of the output directory per
//! study, named from the Study Instance UID, the time the study's first object arrived, or the
//! patient's name.
//!
//! Unlike storescp, which starts a new folder whenever an object's study differs from the
//! previous object's (so interleaved studies get several timestamp folders), the folder is
//! remembered per Study Instance UID: every object of a study lands in the same folder, whatever
//! association brings it and whatever came in between. At most [`MAX_REMEMBERED_STUDIES`]
//! studies are remembered; past that the memory is cleared and a study that comes back gets a new
//! timestamp folder (`-su` folders do not depend on it).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDateTime;

use crate::naming;

/// The attributes every object's scan captures for sorting and for the receipt ([`Stored`]):
/// Patient's Name (0010,0010), Study Instance UID (0020,000D), Series Instance UID (0020,000E).
///
/// [`Stored`]: crate::Stored
pub(crate) const ALWAYS_CAPTURED: [(u16, u16); 3] =
    [PATIENT_NAME, STUDY_INSTANCE_UID, SERIES_INSTANCE_UID];
/// Patient's Name.
pub(crate) const PATIENT_NAME: (u16, u16) = (0x0010, 0x0010);
/// Study Instance UID.
pub(crate) const STUDY_INSTANCE_UID: (u16, u16) = (0x0020, 0x000D);
/// Series Instance UID.
pub(crate) const SERIES_INSTANCE_UID: (u16, u16) = (0x0020, 0x000E);

/// storescp's ASCII stand-ins for the Latin-1 letters 0xC0–0xFF (`_` for × ÷ Þ þ), as the real
/// `/usr/bin/storescp -sp` 3.6.7 names folders for a Patient's Name of each byte; every other
/// byte that is not an ASCII letter or digit becomes `_`.
const LATIN1_LETTERS: [&str; 64] = [
    "A", "A", "A", "A", "Ae", "A", "A", "C", // 0xC0–0xC7
    "E", "E", "E", "E", "I", "I", "I", "I", // 0xC8–0xCF
    "D", "N", "O", "O", "O", "O", "Oe", "_", // 0xD0–0xD7
    "O", "U", "U", "U", "Ue", "Y", "_", "ss", // 0xD8–0xDF
    "a", "a", "a", "a", "ae", "a", "a", "c", // 0xE0–0xE7
    "e", "e", "e", "e", "i", "i", "i", "i", // 0xE8–0xEF
    "d", "n", "o", "o", "o", "o", "oe", "_", // 0xF0–0xF7
    "o", "u", "u", "u", "ue", "y", "_", "y", // 0xF8–0xFF
];

/// Appends storescp's stand-in for one byte of a Patient's Name.
fn push_latin1_stand_in(byte: u8, out: &mut String) {
    match byte {
        b if b.is_ascii_alphanumeric() => out.push(char::from(b)),
        0xC0..=0xFF => out.push_str(LATIN1_LETTERS[usize::from(byte - 0xC0)]),
        _ => out.push('_'),
    }
}

/// How many studies' timestamp folders (`-ss`, `-sp`) are remembered at most.
pub const MAX_REMEMBERED_STUDIES: usize = 10_000;

/// The study folder scheme (storescp's sorting options).
///
/// ```
/// use dcmrecv_storage_policy::{Sorting, StorageOptions};
///
/// let options = StorageOptions::new("/data/in").sorting(Sorting::StudyUid("ST".into()));
/// assert_eq!(options.get_sorting(), &Sorting::StudyUid("ST".into()));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Sorting {
    /// No study folders (default).
    #[default]
    None,
    /// `-su PREFIX`: `PREFIX_<Study Instance UID>` (just the UID when the prefix is empty).
    StudyUid(String),
    /// `-ss PREFIX`: `PREFIX_YYYYMMDD_HHMMSSmmm`, local time of the study's first object (no
    /// `PREFIX_` when the prefix is empty).
    StudyTime(String),
    /// `-sp`: `<Patient's Name>_YYYYMMDD_HHMMSSmmm`: the name's bytes mapped as storescp maps
    /// them — ASCII letters and digits kept, Latin-1 letters transliterated (`Ä` → `Ae`, `é` →
    /// `e`, `ß` → `ss`), everything else `_` — or `ANONYMOUS` when it is missing or empty. Like
    /// storescp, the bytes are read as Latin-1 whatever the character set.
    PatientName,
}

impl Sorting {
    /// Whether objects go to study folders.
    pub fn is_on(&self) -> bool {
        *self != Sorting::None
    }
}

/// The study folders handed out so far (`-ss`, `-sp`: the time part is the first object's).
#[derive(Debug, Default)]
pub(crate) struct StudyFolders {
    times: Mutex<HashMap<String, NaiveDateTime>>,
}

impl StudyFolders {
    /// The folder name (not yet sanitised) for an object of `study`, or `None` without sorting.
    pub(crate) fn folder(
        &self,
        sorting: &Sorting,
        study: &str,
        patient_name: Option<&[u8]>,
        now: NaiveDateTime,
    ) -> Option<String> {
        match sorting {
            Sorting::None => None,
            Sorting::StudyUid(prefix) if prefix.is_empty() => Some(study.to_string()),
            Sorting::StudyUid(prefix) => Some(format!("{prefix}_{study}")),
            Sorting::StudyTime(prefix) => {
                let time = self.first_time(study, now);
                Some(if prefix.is_empty() {
                    time
                } else {
                    format!("{prefix}_{time}")
                })
            }
            Sorting::PatientName => {
                let mut name = String::new();
                for &byte in patient_name.unwrap_or(&[]) {
                    push_latin1_stand_in(byte, &mut name);
                }
                let name = if name.is_empty() {
                    "ANONYMOUS".to_string()
                } else {
                    name
                };
                Some(format!("{name}_{}", self.first_time(study, now)))
            }
        }
    }

    /// `YYYYMMDD_HHMMSSmmm` of the first object of `study`.
    fn first_time(&self, study: &str, now: NaiveDateTime) -> String {
        let mut times = match self.times.lock() {
            Ok(times) => times,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !times.contains_key(study) && times.len() >= MAX_REMEMBERED_STUDIES {
            times.clear();
        }
        let time = *times.entry(study.to_string()).or_insert(now);
        time.format("%Y%m%d_%H%M%S%3f").to_string()
    }
}

/// The folder as a path component: DCMTK's character mapping ([`naming`]), or `None` when the
/// result is unusable (`.`, `..`, empty, too long).
pub(crate) fn folder_component(folder: &str) -> Option<String> {
    naming::finish_component(folder).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .unwrap()
            .and_hms_milli_opt(20, 45, 1, ms)
            .unwrap()
    }

    #[test]
    fn folder_names_are_storescps() {
        let f = StudyFolders::default();
        let su = Sorting::StudyUid("PFX".into());
        assert_eq!(f.folder(&su, "1.2.3", None, at(0)).unwrap(), "PFX_1.2.3");
        let su = Sorting::StudyUid(String::new());
        assert_eq!(f.folder(&su, "1.2.3", None, at(0)).unwrap(), "1.2.3");
        let ss = Sorting::StudyTime("P".into());
        assert_eq!(
            f.folder(&ss, "1.2.3", None, at(5)).unwrap(),
            "P_20261207_204501005"
        );
        // The same study keeps its folder.
        assert_eq!(
            f.folder(&ss, "1.2.3", None, at(900)).unwrap(),
            "P_20261207_204501005"
        );
        let sp = Sorting::PatientName;
        assert_eq!(
            f.folder(&sp, "9", Some(b"Synthetic^Test"), at(7)).unwrap(),
            "Synthetic_Test_20261207_204501007"
        );
        assert_eq!(
            f.folder(&sp, "9", None, at(8)).unwrap(),
            "ANONYMOUS_20261207_204501007"
        );
        assert_eq!(f.folder(&Sorting::None, "9", None, at(8)), None);
    }

    #[test]
    fn patient_names_are_transliterated_as_storescp_does() {
        // Both as the real storescp 3.6.7 -sp named them ("Müller^José Ñ").
        let f = StudyFolders::default();
        let sp = Sorting::PatientName;
        let latin1 = b"M\xFCller^Jos\xE9 \xD1";
        assert_eq!(
            f.folder(&sp, "1", Some(latin1), at(1)).unwrap(),
            "Mueller_Jose_N_20261207_204501001"
        );
        // UTF-8 is read byte by byte as Latin-1, like storescp.
        let utf8 = "Müller^José Ñ".as_bytes();
        assert_eq!(
            f.folder(&sp, "2", Some(utf8), at(2)).unwrap(),
            "MA_ller_JosA__A__20261207_204501002"
        );
        let mut all = String::new();
        for b in 0xC0..=0xFFu8 {
            push_latin1_stand_in(b, &mut all);
        }
        assert!(all.is_ascii());
        assert_eq!(&all[..12], "AAAAAeAACEEE");
    }

    #[test]
    fn hostile_study_uids_stay_one_component() {
        assert_eq!(folder_component("../escaped").unwrap(), ".._escaped");
        assert_eq!(folder_component("/etc/cron.d").unwrap(), "_etc_cron.d");
        assert_eq!(folder_component(".."), None);
        assert_eq!(folder_component(""), None);
        assert_eq!(folder_component(&"1".repeat(256)), None);
    }
}
