//! The adapter between the SCP's sink traits and the storage policy: each C-STORE becomes an
//! incoming instance of [`Storage`], and storage errors become DIMSE statuses. Each stored
//! instance's receipt ([`Published`]) tells the pipeline's observer where it went; with
//! `--fsync` and a pipeline, `instance-stored` is written here, before the response.

use std::sync::Arc;
use std::time::Instant;

use dcmrecv_storage_policy::{IncomingInstance, InstanceMeta, Storage, StoreError};
use dcmrecv_storage_scp::{Receipt, SinkFactory, StoreRequest, StoreSink, StoreStatus};

use crate::pipeline::{Pipeline, Published};

/// Stores every received instance with the storage policy.
pub(crate) struct PolicySinks {
    storage: Storage,
    pipeline: Option<Arc<Pipeline>>,
}

impl PolicySinks {
    /// Sinks writing through `storage`, telling `pipeline` (if any) about each stored object.
    pub(crate) fn new(storage: Storage, pipeline: Option<Arc<Pipeline>>) -> PolicySinks {
        PolicySinks { storage, pipeline }
    }
}

/// The DIMSE status for a storage error: 0xA700 (out of resources) or 0xC000 (cannot
/// understand), with the reason as Error Comment.
fn status(error: &StoreError) -> StoreStatus {
    StoreStatus::new(error.kind().status(), error.reason())
}

impl SinkFactory for PolicySinks {
    fn begin(&self, request: &StoreRequest) -> Result<Box<dyn StoreSink>, StoreStatus> {
        let meta = InstanceMeta::new(
            request.sop_class_uid.as_str(),
            request.sop_instance_uid.as_str(),
            request.transfer_syntax_uid.as_str(),
        )
        .with_calling_ae_title(request.association.calling_ae_title.as_str());
        let announce = self
            .pipeline
            .as_ref()
            .filter(|p| p.announces_in_sink())
            .map(|p| (Arc::clone(p), request.clone(), Instant::now()));
        match self.storage.begin(&meta) {
            Ok(incoming) => Ok(Box::new(PolicySink { incoming, announce })),
            Err(e) => Err(status(&e)),
        }
    }
}

/// One instance being written.
struct PolicySink {
    incoming: IncomingInstance,
    /// With `--fsync`: where to write `instance-stored` before the response.
    announce: Option<(Arc<Pipeline>, StoreRequest, Instant)>,
}

impl StoreSink for PolicySink {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreStatus> {
        self.incoming.write(chunk).map_err(|e| status(&e))
    }

    fn finish(self: Box<Self>) -> StoreStatus {
        self.finish_with_receipt().0
    }

    fn finish_with_receipt(self: Box<Self>) -> (StoreStatus, Option<Receipt>) {
        let PolicySink { incoming, announce } = *self;
        match incoming.finish() {
            Ok(stored) => {
                let mut published = Published::of(&stored);
                if let Some((pipeline, request, began)) = announce {
                    pipeline.announce(&request, &published, stored.dataset_len(), began.elapsed());
                    published.announced = true;
                }
                (StoreStatus::success(), Some(Box::new(published)))
            }
            Err(e) => (status(&e), None),
        }
    }

    fn abort(self: Box<Self>) {
        self.incoming.abort();
    }
}
