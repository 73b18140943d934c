//! `--on-duplicate`: what a default-named instance (`<prefix>.<SOP Instance UID>`) does when a
//! file of its name exists. Decided by the publishing system call itself
//! (`renameat2(RENAME_NOREPLACE)`, or `linkat`), so two associations carrying the same instance
//! at the same time cannot both see "no file yet".

use std::fmt;
use std::str::FromStr;

/// What to do with an instance whose file exists already (default names only).
///
/// ```
/// use dcmrecv_storage_policy::OnDuplicate;
///
/// assert_eq!("keep".parse(), Ok(OnDuplicate::Keep));
/// assert_eq!(OnDuplicate::default(), OnDuplicate::Overwrite);
/// assert_eq!(OnDuplicate::Unique.to_string(), "unique");
/// assert!("ignore".parse::<OnDuplicate>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum OnDuplicate {
    /// Replace the file atomically, with DCMTK's `file already exists, overwriting` warning
    /// (DCMTK's behaviour, the default).
    #[default]
    Overwrite,
    /// Keep the existing file untouched and answer success (a re-sent study); the new copy
    /// is discarded, with an info line. [`Stored::kept_existing`](crate::Stored::kept_existing)
    /// says so.
    Keep,
    /// Keep the existing file and refuse the new copy with
    /// [`StoreError::Duplicate`](crate::StoreError::Duplicate) (0xC000, see its docs).
    Reject,
    /// Store the new copy next to the existing file, as `<name>_1<ext>`, `<name>_2<ext>`, ...
    /// (the first free one; SOP Instance UIDs never contain `_`).
    Unique,
}

impl OnDuplicate {
    /// Every policy, in the order of the option's help.
    pub const ALL: [OnDuplicate; 4] = [
        OnDuplicate::Overwrite,
        OnDuplicate::Keep,
        OnDuplicate::Reject,
        OnDuplicate::Unique,
    ];

    /// The option value naming it (`overwrite`, `keep`, `reject`, `unique`).
    pub fn name(self) -> &'static str {
        match self {
            OnDuplicate::Overwrite => "overwrite",
            OnDuplicate::Keep => "keep",
            OnDuplicate::Reject => "reject",
            OnDuplicate::Unique => "unique",
        }
    }
}

impl fmt::Display for OnDuplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OnDuplicate {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        OnDuplicate::ALL
            .into_iter()
            .find(|p| p.name() == text)
            .ok_or(())
    }
}

/// The `n`-th alternative name of `name` (which ends with `extension`, possibly empty):
/// `CT.1.2.3.dcm` → `CT.1.2.3_1.dcm`.
pub(crate) fn alongside(name: &str, extension: &str, n: u32) -> String {
    match name.strip_suffix(extension) {
        Some(stem) if !extension.is_empty() => format!("{stem}_{n}{extension}"),
        _ => format!("{name}_{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::alongside;

    #[test]
    fn alternative_names_keep_the_extension_last() {
        assert_eq!(alongside("CT.1.2.3", "", 1), "CT.1.2.3_1");
        assert_eq!(alongside("CT.1.2.3.dcm", ".dcm", 12), "CT.1.2.3_12.dcm");
        assert_eq!(alongside("CT.1.2.3", ".dcm", 2), "CT.1.2.3_2");
    }
}
