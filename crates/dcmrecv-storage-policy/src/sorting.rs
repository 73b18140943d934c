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
    /// `-sp`: `<Patient's Name>_YYYYMMDD_HHMMSSmmm`: the name with every byte but ASCII letters
    /// and digits mapped to `_` (storescp also transliterates Latin-1 letters; we do not), or
    /// `ANONYMOUS` when it is missing or empty.
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
        patient_name: Option<&str>,
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
                let name: String = patient_name
                    .unwrap_or("")
                    .trim_end_matches([' ', '\0'])
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() {
                            char::from(b)
                        } else {
                            '_'
                        }
                    })
                    .collect();
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
            f.folder(&sp, "9", Some("Synthetic^Test "), at(7)).unwrap(),
            "Synthetic_Test_20261207_204501007"
        );
        assert_eq!(
            f.folder(&sp, "9", None, at(8)).unwrap(),
            "ANONYMOUS_20261207_204501007"
        );
        assert_eq!(f.folder(&Sorting::None, "9", None, at(8)), None);
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
