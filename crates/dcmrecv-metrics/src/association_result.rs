//! The outcome of an association request: the `result` label of `dcmrecv_associations_total`.

/// Why an association request was answered with A-ASSOCIATE-RJ (PS3.8 9.3.4, Table 9-21).
///
/// Each reason is one value of the `result` label, so the label set stays bounded.
///
/// ```
/// use dcmrecv_metrics::RejectReason;
/// assert_eq!(RejectReason::CalledAeTitle.label(), "rejected_called_ae");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Called AE title not recognised (rejected-permanent, service-user, reason 7), including a
    /// blank called AE title.
    CalledAeTitle,
    /// Calling AE title not recognised (service-user, reason 3): an AE allow-list said no, or
    /// the title was blank.
    CallingAeTitle,
    /// Application context name not supported (service-user, reason 2).
    ApplicationContext,
    /// Protocol version not supported (service-provider ACSE, reason 2).
    ProtocolVersion,
    /// No presentation context was acceptable (DCMTK answers service-user, reason 1).
    NoPresentationContext,
    /// The receiver's association limit was reached (rejected-transient, service-provider
    /// presentation, local limit exceeded).
    TooManyAssociations,
    /// The calling AE title's own association limit was reached (rejected-transient, local
    /// limit exceeded).
    TooManyAssociationsForAe,
    /// Any other reason (no reason given).
    Other,
}

impl RejectReason {
    /// Every reason, in label order.
    pub const ALL: [RejectReason; 8] = [
        RejectReason::CalledAeTitle,
        RejectReason::CallingAeTitle,
        RejectReason::ApplicationContext,
        RejectReason::ProtocolVersion,
        RejectReason::NoPresentationContext,
        RejectReason::TooManyAssociations,
        RejectReason::TooManyAssociationsForAe,
        RejectReason::Other,
    ];

    /// The `result` label value.
    ///
    /// ```
    /// use dcmrecv_metrics::RejectReason;
    /// assert_eq!(RejectReason::TooManyAssociations.label(), "rejected_limit");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            RejectReason::CalledAeTitle => "rejected_called_ae",
            RejectReason::CallingAeTitle => "rejected_calling_ae",
            RejectReason::ApplicationContext => "rejected_application_context",
            RejectReason::ProtocolVersion => "rejected_protocol_version",
            RejectReason::NoPresentationContext => "rejected_no_presentation_context",
            RejectReason::TooManyAssociations => "rejected_limit",
            RejectReason::TooManyAssociationsForAe => "rejected_limit_per_ae",
            RejectReason::Other => "rejected_other",
        }
    }
}

/// One value of the `result` label: accepted, one rejection reason, or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AssociationResult {
    /// A-ASSOCIATE-AC sent.
    Accepted,
    /// A-ASSOCIATE-RJ sent.
    Rejected(RejectReason),
    /// The connection ended (closed, reset, timed out, TLS handshake failed, malformed PDU)
    /// before its association request was answered.
    Failed,
}

impl AssociationResult {
    /// Accepted, every rejection reason, failed.
    pub(crate) const COUNT: usize = RejectReason::ALL.len() + 2;

    /// Every result, in index order.
    pub(crate) fn all() -> impl Iterator<Item = AssociationResult> {
        std::iter::once(AssociationResult::Accepted)
            .chain(
                RejectReason::ALL
                    .into_iter()
                    .map(AssociationResult::Rejected),
            )
            .chain(std::iter::once(AssociationResult::Failed))
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            AssociationResult::Accepted => "accepted",
            AssociationResult::Rejected(reason) => reason.label(),
            AssociationResult::Failed => "failed",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            AssociationResult::Accepted => 0,
            AssociationResult::Rejected(reason) => 1 + reason as usize,
            AssociationResult::Failed => Self::COUNT - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AssociationResult, RejectReason};

    #[test]
    fn indexes_are_dense_and_labels_distinct() {
        let all: Vec<_> = AssociationResult::all().collect();
        assert_eq!(all.len(), AssociationResult::COUNT);
        for (i, result) in all.iter().enumerate() {
            assert_eq!(result.index(), i, "{result:?}");
        }
        let mut labels: Vec<_> = all.iter().map(|r| r.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), AssociationResult::COUNT);
        assert_eq!(RejectReason::ALL.len() + 2, AssociationResult::COUNT);
    }
}
