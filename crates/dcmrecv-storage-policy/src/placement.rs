//! Where an instance goes, relative to the output location: the `+ssd` sub-directory and the
//! file name. This is the one naming code path of both backends: the file backend joins the
//! placement to the output directory, the object-store backend to the key prefix, so every
//! naming option gives the same relative name in both.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime};
use tracing::{error, warn};

use crate::incoming::{InstanceMeta, StoreError};
use crate::naming::{self, SHORT_UNKNOWN_PREFIX, UNKNOWN_PREFIX};
use crate::options::{Mode, Naming, Subdirectories};
use crate::output_template::OutputTemplate;
use crate::prefix::modality_prefix;
use crate::scanner::{Captured, Findings};
use crate::sorting;
use crate::storage::Shared;
use crate::uid::new_uid;

/// How a generated name scheme (`+fu`, `+fsu`, `+fst`) makes its candidates; each tried in
/// turn until one is free (the file backend), or the first one used (the object-store backend,
/// where uniqueness comes from how the names are built).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Generated {
    /// `+fu`: a new UID each time.
    UniqueUid,
    /// `+fsu`: the next value of the process's sequence each time.
    ShortUnique,
    /// `+fst`: the time of the store, then one microsecond later each time.
    SystemTime(NaiveDateTime),
}

/// The decided place of one instance.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    /// The sub-directory below the output location (empty without `+ssd`), e.g.
    /// `data/2020/01/15`; made of digits and the words `data` and `undef` only.
    pub(crate) subdirectory: PathBuf,
    /// The first candidate name, a safe path component.
    pub(crate) name: String,
    /// For generated names, how to make the next candidates.
    pub(crate) generated: Option<Generated>,
    /// The SOP class prefix (`CT`), `None` for a class not in the table.
    pub(crate) prefix: Option<&'static str>,
}

/// Logs DCMTK's line for a name that cannot be made.
pub(crate) fn log_name_error(detail: &str) {
    error!("cannot generate directory or file name for received object: {detail}");
}

/// Turns a generated name into a path component, or refuses it with DCMTK's log line.
pub(crate) fn component(name: String) -> Result<String, StoreError> {
    naming::finish_component(&name).map_err(|problem| {
        log_name_error(&format!("Invalid file name (name {})", problem.text()));
        StoreError::UnsafeName {
            value: name,
            problem: problem.text(),
        }
    })
}

/// A strictly increasing clock for `+fst` names: within one process no two names get the same
/// microsecond, even when several associations store in the same one (the object-store
/// backend cannot ask the store whether a name is taken; see the crate docs).
#[derive(Debug, Default)]
pub(crate) struct SystemTimeNames {
    /// The last microsecond handed out, as microseconds since 1970 of the local wall time.
    last: AtomicI64,
}

impl SystemTimeNames {
    /// `now`, or one microsecond after the last time handed out if that is not earlier.
    pub(crate) fn next(&self, now: NaiveDateTime) -> NaiveDateTime {
        let wanted = now.and_utc().timestamp_micros();
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = wanted.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    return DateTime::from_timestamp_micros(next).map_or(now, |t| t.naive_utc());
                }
                Err(current) => last = current,
            }
        }
    }
}

/// Decides where an instance goes from the command, the association and what the scanner found
/// (`findings`; `None` when the data set could not be scanned), as DCMTK's `DcmStorageSCP`
/// does: the SOP class of the command (else, in normal mode, of the data set) picks the prefix;
/// `+ssd` takes the data set's Series Date; `+fd` names the file after the command's SOP
/// Instance UID (else the data set's).
pub(crate) fn decide(
    shared: &Shared,
    meta: &InstanceMeta,
    findings: Option<&Findings>,
) -> Result<Placement, StoreError> {
    let options = &shared.options;
    let normal = options.mode == Mode::Normal;

    // The SOP class for the prefix: the command's, else (normal mode) the data set's.
    let class = Some(meta.sop_class_uid())
        .filter(|c| !c.is_empty())
        .or_else(|| {
            findings
                .filter(|_| normal)
                .and_then(|f| f.sop_class_uid.as_ref())
                .and_then(Captured::as_uid)
        });
    let prefix = class.and_then(modality_prefix);

    if let Some(template) = &options.template {
        if let Some(placement) = from_template(template, meta, findings, prefix) {
            return Ok(placement);
        }
    }
    let sort_folder = sort_folder(shared, findings)?;
    let subdirectory = match options.subdirectories {
        Subdirectories::None => PathBuf::new(),
        Subdirectories::SeriesDate => {
            let date = findings
                .and_then(|f| f.series_date.as_ref())
                .filter(|c| c.vr_matches && c.complete)
                .map(|c| c.value.as_slice());
            let today = chrono::Local::now().date_naive();
            naming::series_date_subdirectory(date, today)
        }
    };

    // The name: fixed for default names; for the generated schemes, the first candidate
    // (checked before anything is created; the file backend decides the one used when
    // publishing).
    let generated = match options.naming {
        Naming::Default => None,
        Naming::UniqueUid => Some(Generated::UniqueUid),
        Naming::ShortUnique => Some(Generated::ShortUnique),
        Naming::SystemTime => Some(Generated::SystemTime(
            shared
                .system_time_names
                .next(chrono::Local::now().naive_local()),
        )),
    };
    let name = match generated {
        None => {
            if class.is_none() {
                log_name_error("Invalid SOP Class UID");
                return Err(StoreError::MissingSopClass);
            }
            let instance = Some(meta.sop_instance_uid())
                .filter(|i| !i.is_empty())
                .or_else(|| {
                    findings
                        .filter(|_| normal)
                        .and_then(|f| f.sop_instance_uid.as_ref())
                        .and_then(Captured::as_uid)
                })
                .unwrap_or_default();
            if let Err(problem) = naming::check_instance_uid(instance) {
                log_name_error(&format!(
                    "Invalid SOP Instance UID (value {})",
                    problem.text()
                ));
                return Err(StoreError::UnsafeName {
                    value: instance.to_string(),
                    problem: problem.text(),
                });
            }
            naming::default_name(
                prefix.unwrap_or(UNKNOWN_PREFIX),
                instance,
                &options.extension,
            )
        }
        Some(scheme) => candidate(shared, scheme, prefix, 0),
    };
    let subdirectory = match sort_folder {
        Some(folder) => PathBuf::from(folder).join(subdirectory),
        None => subdirectory,
    };
    Ok(Placement {
        subdirectory,
        name: component(name)?,
        generated,
        prefix,
    })
}

/// The study folder of `-su`/`-ss`/`-sp` (`None` without sorting).
fn sort_folder(shared: &Shared, findings: Option<&Findings>) -> Result<Option<String>, StoreError> {
    let sorting = &shared.options.sorting;
    if !sorting.is_on() {
        return Ok(None);
    }
    let study = findings
        .and_then(|f| f.extra(sorting::STUDY_INSTANCE_UID))
        .and_then(Captured::as_text);
    let Some(study) = study else {
        log_name_error("Invalid Study Instance UID (missing)");
        return Err(StoreError::MissingStudyUid);
    };
    let patient = findings
        .and_then(|f| f.extra(sorting::PATIENT_NAME))
        .and_then(Captured::first_value);
    let folder =
        shared
            .study_folders
            .folder(sorting, &study, patient, chrono::Local::now().naive_local());
    match folder {
        None => Ok(None),
        Some(folder) => match sorting::folder_component(&folder) {
            Some(component) => Ok(Some(component)),
            None => {
                log_name_error(&format!("Invalid study folder name (value {folder:?})"));
                Err(StoreError::UnsafeName {
                    value: folder,
                    problem: "is not a usable folder name",
                })
            }
        },
    }
}

/// The placement from `--output-template`, or `None` (with a warning) when it cannot be used
/// for this object: the caller then uses DCMTK's default layout (the documented fallback).
fn from_template(
    template: &OutputTemplate,
    meta: &InstanceMeta,
    findings: Option<&Findings>,
    prefix: Option<&'static str>,
) -> Option<Placement> {
    let value = |tag: (u16, u16)| -> Option<String> {
        // The command's UIDs are the ones the file is named by elsewhere.
        match tag {
            crate::scanner::SOP_INSTANCE_UID if !meta.sop_instance_uid().is_empty() => {
                Some(meta.sop_instance_uid().to_string())
            }
            crate::scanner::SOP_CLASS_UID if !meta.sop_class_uid().is_empty() => {
                Some(meta.sop_class_uid().to_string())
            }
            crate::scanner::SOP_INSTANCE_UID => findings
                .and_then(|f| f.sop_instance_uid.as_ref())
                .and_then(Captured::as_text),
            crate::scanner::SOP_CLASS_UID => findings
                .and_then(|f| f.sop_class_uid.as_ref())
                .and_then(Captured::as_text),
            crate::scanner::SERIES_DATE => findings
                .and_then(|f| f.series_date.as_ref())
                .and_then(Captured::as_text),
            tag => findings.and_then(|f| f.extra_text(tag)),
        }
    };
    match template.evaluate(&value, prefix.unwrap_or(UNKNOWN_PREFIX)) {
        Ok(path) => {
            let name = path.file_name()?.to_str()?.to_string();
            let subdirectory = path.parent().map(PathBuf::from).unwrap_or_default();
            Some(Placement {
                subdirectory,
                name,
                generated: None,
                prefix,
            })
        }
        Err(why) => {
            warn!(
                sop_instance_uid = meta.sop_instance_uid(),
                "--output-template cannot name this object ({why}); storing it under its default name in the output directory"
            );
            None
        }
    }
}

/// The `attempt`-th candidate name of a generated scheme (not yet a path component).
pub(crate) fn candidate(
    shared: &Shared,
    scheme: Generated,
    prefix: Option<&str>,
    attempt: u32,
) -> String {
    let extension = shared.options.extension.as_str();
    let node = shared.options.node_id.as_deref();
    match scheme {
        Generated::UniqueUid => {
            naming::unique_uid_name(prefix.unwrap_or(UNKNOWN_PREFIX), &new_uid(), extension)
        }
        Generated::ShortUnique => naming::short_unique_name(
            prefix.unwrap_or(SHORT_UNKNOWN_PREFIX),
            shared.start_time,
            shared.short_unique.next_value(),
            node,
            extension,
        ),
        Generated::SystemTime(now) => naming::system_time_name(
            naming::system_time_candidate(now, attempt),
            node,
            prefix.unwrap_or(UNKNOWN_PREFIX),
            extension,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_time_names_never_repeat_a_microsecond() {
        let names = SystemTimeNames::default();
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_micro_opt(5, 47, 2, 821_628)
            .unwrap();
        let a = names.next(now);
        let b = names.next(now);
        let c = names.next(now - chrono::TimeDelta::seconds(1));
        assert_eq!(a, now);
        assert_eq!(b, now + chrono::TimeDelta::microseconds(1));
        assert_eq!(c, now + chrono::TimeDelta::microseconds(2));
        let later = now + chrono::TimeDelta::seconds(1);
        assert_eq!(names.next(later), later);
    }
}
