//! DIMSE C-STORE statuses (PS3.4 B.2.3, PS3.7 C.4.2.1.5) and their DCMTK display names.

use std::borrow::Cow;
use std::fmt;

/// The status a sink gives to a C-STORE, with an optional error comment.
///
/// The code goes into the C-STORE-RSP's Status (0000,0900). When the status is a failure
/// (neither success nor warning), a non-empty comment is also sent as Error Comment (0000,0902),
/// cut to the 64 characters of its LO value representation. DCMTK never sends an error comment;
/// we do because it is the only way to tell an operator at the sending end *why* an object
/// was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    code: u16,
    comment: Option<String>,
}

impl StoreStatus {
    /// 0x0000 Success.
    pub fn success() -> Self {
        StoreStatus {
            code: 0x0000,
            comment: None,
        }
    }

    /// 0xA700 Refused: Out of Resources (DCMTK's answer when a file cannot be written).
    pub fn out_of_resources(comment: impl Into<String>) -> Self {
        StoreStatus::new(0xA700, comment)
    }

    /// 0xC000 Error: Cannot Understand (DCMTK's answer for an empty data set or an object it
    /// cannot name).
    pub fn cannot_understand(comment: impl Into<String>) -> Self {
        StoreStatus::new(0xC000, comment)
    }

    /// Any status code with a comment; an empty comment means none.
    pub fn new(code: u16, comment: impl Into<String>) -> Self {
        let comment = comment.into();
        StoreStatus {
            code,
            comment: (!comment.is_empty()).then_some(comment),
        }
    }

    /// The status code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The comment, if one was given.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// `true` for 0x0000 Success.
    pub fn is_success(&self) -> bool {
        self.code == 0x0000
    }

    /// `true` for warnings: 0x0001 and 0xBxxx (PS3.4 Table B.2-1).
    pub fn is_warning(&self) -> bool {
        self.code == 0x0001 || (self.code & 0xF000) == 0xB000
    }

    /// `true` for failures: everything that is neither success, warning nor pending
    /// (0xFF00/0xFF01).
    pub fn is_failure(&self) -> bool {
        !self.is_success() && !self.is_warning() && self.code != 0xFF00 && self.code != 0xFF01
    }

    /// The name DCMTK logs for this status in `Sending C-STORE Response (<name>)`
    /// (DCMTK's `DU_cstoreStatusString`), e.g. `Success`, `Refused: OutOfResources`,
    /// `Error: CannotUnderstand`.
    pub fn display_name(&self) -> Cow<'static, str> {
        let name = match self.code {
            0x0000 => "Success",
            0xB000 => "Warning: CoercionOfDataElements",
            0xB007 => "Warning: DataSetDoesNotMatchSOPClass",
            0xB006 => "Warning: ElementsDiscarded",
            0x0122 => "Refused: SOPClassNotSupported",
            code if code & 0xFF00 == 0xA700 => "Refused: OutOfResources",
            code if code & 0xFF00 == 0xA900 => "Error: DataSetDoesNotMatchSOPClass",
            code if code & 0xF000 == 0xC000 => "Error: CannotUnderstand",
            code => return Cow::Owned(format!("Unknown Status: 0x{code:x}")),
        };
        Cow::Borrowed(name)
    }

    /// The Error Comment to send: only for failures, ASCII printable (a LO value may not hold
    /// backslashes or control characters), at most 64 characters.
    pub(crate) fn wire_comment(&self) -> Option<String> {
        if !self.is_failure() {
            return None;
        }
        let text: String = self
            .comment
            .as_deref()?
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '\\' || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .take(64)
            .collect();
        let text = text.trim().to_string();
        (!text.is_empty()).then_some(text)
    }
}

impl fmt::Display for StoreStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_dcmtks() {
        assert_eq!(StoreStatus::success().to_string(), "Success");
        assert_eq!(
            StoreStatus::out_of_resources("disk full").to_string(),
            "Refused: OutOfResources"
        );
        assert_eq!(
            StoreStatus::cannot_understand("").to_string(),
            "Error: CannotUnderstand"
        );
        assert_eq!(
            StoreStatus::new(0xC123, "x").to_string(),
            "Error: CannotUnderstand"
        );
        assert_eq!(
            StoreStatus::new(0xA900, "").to_string(),
            "Error: DataSetDoesNotMatchSOPClass"
        );
        assert_eq!(
            StoreStatus::new(0xB000, "").to_string(),
            "Warning: CoercionOfDataElements"
        );
        assert_eq!(
            StoreStatus::new(0x0211, "").to_string(),
            "Unknown Status: 0x211"
        );
    }

    #[test]
    fn classes() {
        assert!(StoreStatus::success().is_success());
        assert!(!StoreStatus::success().is_failure());
        assert!(StoreStatus::new(0xB007, "").is_warning());
        assert!(!StoreStatus::new(0xB007, "").is_failure());
        assert!(StoreStatus::out_of_resources("").is_failure());
        assert!(!StoreStatus::new(0xFF00, "").is_failure());
    }

    #[test]
    fn wire_comment_only_for_failures_and_sanitised() {
        assert_eq!(StoreStatus::new(0xB000, "coerced").wire_comment(), None);
        assert_eq!(StoreStatus::out_of_resources("").wire_comment(), None);
        assert_eq!(StoreStatus::out_of_resources("").comment(), None);
        let long = "é\\x".to_string() + &"a".repeat(100);
        let c = StoreStatus::cannot_understand(long).wire_comment().unwrap();
        assert_eq!(c.len(), 64);
        assert!(c.starts_with("??x"));
    }
}
