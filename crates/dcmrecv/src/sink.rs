//! The adapter between the SCP's sink traits and the storage policy: each C-STORE becomes an
//! incoming instance of [`Storage`], and storage errors become DIMSE statuses.

use dcmrecv_storage_policy::{IncomingInstance, InstanceMeta, Storage, StoreError};
use dcmrecv_storage_scp::{SinkFactory, StoreRequest, StoreSink, StoreStatus};

/// Stores every received instance with the storage policy.
pub(crate) struct PolicySinks {
    storage: Storage,
}

impl PolicySinks {
    /// Sinks writing through `storage`.
    pub(crate) fn new(storage: Storage) -> PolicySinks {
        PolicySinks { storage }
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
        match self.storage.begin(&meta) {
            Ok(incoming) => Ok(Box::new(PolicySink { incoming })),
            Err(e) => Err(status(&e)),
        }
    }
}

/// One instance being written.
struct PolicySink {
    incoming: IncomingInstance,
}

impl StoreSink for PolicySink {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreStatus> {
        self.incoming.write(chunk).map_err(|e| status(&e))
    }

    fn finish(self: Box<Self>) -> StoreStatus {
        match self.incoming.finish() {
            Ok(_) => StoreStatus::success(),
            Err(e) => status(&e),
        }
    }

    fn abort(self: Box<Self>) {
        self.incoming.abort();
    }
}
