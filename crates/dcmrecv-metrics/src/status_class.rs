//! The DIMSE status classes `dcmrecv_objects_total{status}` counts by (PS3.4 B.2.3, PS3.7 C).

/// The class of a C-STORE's outcome: the `status` label of `dcmrecv_objects_total`.
///
/// The set is fixed, so the label's cardinality is bounded whatever status codes a sink
/// answers with. Classes follow PS3.4 Annex B.2.3 (Storage Service Class statuses) and the
/// general DIMSE statuses of PS3.7 Annex C:
///
/// | Class | Label value | Status codes |
/// |---|---|---|
/// | [`Success`](Self::Success) | `success` | 0000 |
/// | [`Warning`](Self::Warning) | `warning` | 0001, 0107, 0116, Bxxx (coercion, elements discarded, data set does not match the SOP class) |
/// | [`OutOfResources`](Self::OutOfResources) | `out_of_resources` | A7xx (Refused: Out of Resources) |
/// | [`DatasetMismatch`](Self::DatasetMismatch) | `dataset_mismatch` | A9xx (Error: Data Set Does Not Match SOP Class) |
/// | [`CannotUnderstand`](Self::CannotUnderstand) | `cannot_understand` | Cxxx (Error: Cannot Understand) |
/// | [`SopClassNotSupported`](Self::SopClassNotSupported) | `sop_class_not_supported` | 0122 (Refused: SOP Class Not Supported) |
/// | [`NotAuthorized`](Self::NotAuthorized) | `not_authorized` | 0124 (Refused: Not Authorized) |
/// | [`Duplicate`](Self::Duplicate) | `duplicate` | 0111 (Duplicate SOP Instance) |
/// | [`Failure`](Self::Failure) | `failure` | any other code (0110 Processing Failure, 0211, 0212, ...) |
/// | [`Aborted`](Self::Aborted) | `aborted` | none: the association ended before the object was answered |
///
/// ```
/// use dcmrecv_metrics::StatusClass;
///
/// assert_eq!(StatusClass::of(0x0000), StatusClass::Success);
/// assert_eq!(StatusClass::of(0xA700), StatusClass::OutOfResources);
/// assert_eq!(StatusClass::of(0xC123), StatusClass::CannotUnderstand);
/// assert_eq!(StatusClass::of(0xB007).label(), "warning");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// 0000 Success.
    Success,
    /// 0001, 0107, 0116 and Bxxx: stored, with a warning.
    Warning,
    /// A7xx Refused: Out of Resources.
    OutOfResources,
    /// A9xx Error: Data Set Does Not Match SOP Class.
    DatasetMismatch,
    /// Cxxx Error: Cannot Understand.
    CannotUnderstand,
    /// 0122 Refused: SOP Class Not Supported.
    SopClassNotSupported,
    /// 0124 Refused: Not Authorized.
    NotAuthorized,
    /// 0111 Duplicate SOP Instance.
    Duplicate,
    /// Any other failure code.
    Failure,
    /// No response: the association was aborted or lost while the object was arriving.
    Aborted,
}

impl StatusClass {
    /// Every class, in the order the metrics list them.
    pub const ALL: [StatusClass; 10] = [
        StatusClass::Success,
        StatusClass::Warning,
        StatusClass::OutOfResources,
        StatusClass::DatasetMismatch,
        StatusClass::CannotUnderstand,
        StatusClass::SopClassNotSupported,
        StatusClass::NotAuthorized,
        StatusClass::Duplicate,
        StatusClass::Failure,
        StatusClass::Aborted,
    ];

    /// Whether a response of this class refused the object (a failure status: neither
    /// success, warning, nor no response at all).
    ///
    /// ```
    /// use dcmrecv_metrics::StatusClass;
    ///
    /// assert!(StatusClass::OutOfResources.is_refusal());
    /// assert!(!StatusClass::Warning.is_refusal());
    /// assert!(!StatusClass::Aborted.is_refusal());
    /// ```
    pub fn is_refusal(self) -> bool {
        !matches!(
            self,
            StatusClass::Success | StatusClass::Warning | StatusClass::Aborted
        )
    }

    /// The class of a C-STORE-RSP status code (never [`Aborted`](Self::Aborted), which has no
    /// code).
    ///
    /// ```
    /// use dcmrecv_metrics::StatusClass;
    /// assert_eq!(StatusClass::of(0x0110), StatusClass::Failure);
    /// ```
    pub fn of(code: u16) -> StatusClass {
        match code {
            0x0000 => StatusClass::Success,
            0x0001 | 0x0107 | 0x0116 | 0xB000..=0xBFFF => StatusClass::Warning,
            0xA700..=0xA7FF => StatusClass::OutOfResources,
            0xA900..=0xA9FF => StatusClass::DatasetMismatch,
            0xC000..=0xCFFF => StatusClass::CannotUnderstand,
            0x0122 => StatusClass::SopClassNotSupported,
            0x0124 => StatusClass::NotAuthorized,
            0x0111 => StatusClass::Duplicate,
            _ => StatusClass::Failure,
        }
    }

    /// The label value.
    ///
    /// ```
    /// use dcmrecv_metrics::StatusClass;
    /// assert_eq!(StatusClass::Aborted.label(), "aborted");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            StatusClass::Success => "success",
            StatusClass::Warning => "warning",
            StatusClass::OutOfResources => "out_of_resources",
            StatusClass::DatasetMismatch => "dataset_mismatch",
            StatusClass::CannotUnderstand => "cannot_understand",
            StatusClass::SopClassNotSupported => "sop_class_not_supported",
            StatusClass::NotAuthorized => "not_authorized",
            StatusClass::Duplicate => "duplicate",
            StatusClass::Failure => "failure",
            StatusClass::Aborted => "aborted",
        }
    }

    /// The position in [`ALL`](Self::ALL), used to index pre-created series.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::StatusClass;

    #[test]
    fn every_code_has_exactly_the_documented_class() {
        let check = |code: u16, class: StatusClass| {
            assert_eq!(StatusClass::of(code), class, "status {code:04X}");
        };
        check(0x0000, StatusClass::Success);
        for code in [0x0001, 0x0107, 0x0116, 0xB000, 0xB006, 0xB007, 0xBFFF] {
            check(code, StatusClass::Warning);
        }
        for code in [0xA700, 0xA7FF] {
            check(code, StatusClass::OutOfResources);
        }
        for code in [0xA900, 0xA9FF] {
            check(code, StatusClass::DatasetMismatch);
        }
        for code in [0xC000, 0xCFFF] {
            check(code, StatusClass::CannotUnderstand);
        }
        check(0x0122, StatusClass::SopClassNotSupported);
        check(0x0124, StatusClass::NotAuthorized);
        check(0x0111, StatusClass::Duplicate);
        for code in [
            0x0110, 0x0211, 0x0212, 0xA800, 0xAA00, 0xFE00, 0xFF00, 0xD000,
        ] {
            check(code, StatusClass::Failure);
        }
    }

    #[test]
    fn indexes_follow_all_and_labels_are_distinct() {
        for (i, class) in StatusClass::ALL.iter().enumerate() {
            assert_eq!(class.index(), i);
        }
        let mut labels: Vec<_> = StatusClass::ALL.iter().map(|c| c.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), StatusClass::ALL.len());
    }
}
