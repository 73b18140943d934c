//! The label sets of the labelled metrics. `calling_ae` is present only with per-AE series.

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

use crate::association_result::AssociationResult;
use crate::status_class::StatusClass;

/// `{status, calling_ae?}` of `dcmrecv_objects_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ObjectLabels {
    pub(crate) status: StatusClass,
    pub(crate) calling_ae: Option<Arc<str>>,
}

/// `{result, calling_ae?}` of `dcmrecv_associations_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AssociationLabels {
    pub(crate) result: AssociationResult,
    pub(crate) calling_ae: Option<Arc<str>>,
}

/// `{calling_ae?}` of `dcmrecv_received_bytes_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AeLabels {
    pub(crate) calling_ae: Option<Arc<str>>,
}

fn encode_ae(ae: Option<&Arc<str>>, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
    match ae {
        Some(ae) => ("calling_ae", &**ae).encode(encoder.encode_label()),
        None => Ok(()),
    }
}

impl EncodeLabelSet for ObjectLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        ("status", self.status.label()).encode(encoder.encode_label())?;
        encode_ae(self.calling_ae.as_ref(), encoder)
    }
}

impl EncodeLabelSet for AssociationLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        ("result", self.result.label()).encode(encoder.encode_label())?;
        encode_ae(self.calling_ae.as_ref(), encoder)
    }
}

impl EncodeLabelSet for AeLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        encode_ae(self.calling_ae.as_ref(), encoder)
    }
}
