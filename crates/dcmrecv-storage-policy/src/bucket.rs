//! The object-store backend (feature `object-store`): instances become objects in an
//! S3-compatible bucket, below a key prefix, with the same names the file backend gives files
//! below an output directory.
//!
//! - **One bucket, one runtime**: [`Bucket`] holds the `object_store` client and a small
//!   multi-thread tokio runtime (two workers) made for it. The SCP's association threads stay
//!   synchronous: they block on the store's futures, while each association's part uploads run
//!   as tasks on the runtime (`upload.rs`).
//! - **Streaming with flat memory**: an object up to one part (8 MiB by default) is sent with a
//!   single PUT once complete; a larger one as a multipart upload of equal parts, with at most
//!   [`ObjectStoreOutput::parts_in_flight`] parts being sent per association while the next one
//!   fills. Memory per association is at most `(parts in flight + 1) × part size`.
//! - **Nothing partial under a final key**: a single PUT is atomic, and a multipart upload
//!   shows nothing under its key until it is completed; every failure (store errors, a peer
//!   abort, a malformed data set) aborts it.
//! - **Uploads of a killed receiver** (`markers.rs`): S3 has no locks to tell a live upload
//!   from a dead one, so each multipart upload in flight is recorded in a small marker object
//!   `<prefix>/.dcmrecv-uploads/<node id>/<start id>/<n>` (its key and upload id), deleted when
//!   the upload completes or is aborted. At start-up, a receiver aborts the uploads recorded by
//!   earlier starts of its own node id, and never touches those of other node ids.
//! - **Start-up checks** (`location.rs`): the URL, the credentials, then a probe object written
//!   and deleted under the prefix, so an unreachable store, a missing bucket or refused writes
//!   stop the program at start-up.

mod error;
mod location;
mod markers;
mod upload;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use object_store::multipart::MultipartStore;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

pub use location::ObjectStoreOutput;
pub(crate) use upload::ObjectUpload;

use crate::incoming::StoreError;
use crate::placement::Placement;
use crate::storage::OpenError;
use crate::sweep::{Leftover, SweepError};
use markers::Markers;

/// An open bucket: the client, the runtime it runs on, and this start's markers.
pub(crate) struct Bucket {
    /// `s3://bucket/prefix` (no trailing `/`), as printed in log lines.
    url: String,
    /// `s3://bucket`: object URLs are this, `/`, the key.
    bucket_url: String,
    /// The key prefix (possibly empty).
    prefix: ObjectPath,
    store: Arc<dyn ObjectStore>,
    multipart: Arc<dyn MultipartStore>,
    /// Dropped last (after every upload, which holds the bucket).
    runtime: tokio::runtime::Runtime,
    part_size: usize,
    parts_in_flight: usize,
    markers: Markers,
    /// Aborts running in the background; a bucket being dropped waits for them a little.
    background: Arc<AtomicUsize>,
}

/// How long a bucket being dropped (the receiver stopping) waits for aborts in progress;
/// what does not finish is done by the next start, through the markers.
const BACKGROUND_GRACE: Duration = Duration::from_secs(5);

impl Drop for Bucket {
    fn drop(&mut self) {
        let deadline = Instant::now() + BACKGROUND_GRACE;
        while self.background.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("url", &self.url)
            .field("store", &self.store)
            .field("part_size", &self.part_size)
            .field("parts_in_flight", &self.parts_in_flight)
            .field("markers", &self.markers)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// Checks `output`, builds the client and the runtime, and writes and deletes a probe
    /// object under the prefix.
    pub(crate) fn open(output: &ObjectStoreOutput, node_id: &str) -> Result<Bucket, OpenError> {
        let resolved = output.resolve()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dcmrecv-object-store")
            .enable_all()
            .build()
            .map_err(|e| OpenError::ObjectStoreUnusable {
                url: resolved.url.clone(),
                problem: "cannot start the object store runtime".to_string(),
                source: Box::new(e),
            })?;
        let markers = Markers::new(&resolved.prefix, node_id);
        let bucket = Bucket {
            url: resolved.url,
            bucket_url: resolved.bucket_url,
            prefix: resolved.prefix,
            store: resolved.store,
            multipart: resolved.multipart,
            runtime,
            part_size: output.part_size_bytes(),
            parts_in_flight: output.parts_in_flight_count(),
            markers,
            background: Arc::new(AtomicUsize::new(0)),
        };
        bucket.probe()?;
        Ok(bucket)
    }

    /// Writes and deletes `<prefix>/.dcmrecv-uploads/<node id>/<start id>/probe`: what
    /// storing needs (PUT) and what cleaning up needs (DELETE).
    fn probe(&self) -> Result<(), OpenError> {
        let probe = self.markers.probe();
        let store = Arc::clone(&self.store);
        self.runtime
            .block_on(async move {
                store
                    .put(&probe, PutPayload::from_static(b"dcmrecv write probe\n"))
                    .await?;
                store.delete(&probe).await
            })
            .map_err(|e| OpenError::ObjectStoreUnusable {
                url: self.url.clone(),
                problem: error::describe(&e),
                source: Box::new(e),
            })
    }

    /// `s3://bucket/prefix`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The URL of the object under `key`.
    pub(crate) fn url_of(&self, key: &ObjectPath) -> String {
        format!("{}/{key}", self.bucket_url)
    }

    /// The part size of multipart uploads.
    pub(crate) fn part_size(&self) -> usize {
        self.part_size
    }

    /// The key of a placement: the prefix, the sub-directory's components, the name, joined
    /// with `/`. Placements hold only characters keys keep as they are (`[A-Za-z0-9 .:@_-]`),
    /// so the key below the prefix is the relative path a file would have.
    pub(crate) fn key(&self, placement: &Placement) -> Result<ObjectPath, StoreError> {
        let mut key = self.prefix.as_ref().to_string();
        for part in placement.subdirectory.iter() {
            push_segment(&mut key, &part.to_string_lossy());
        }
        push_segment(&mut key, &placement.name);
        ObjectPath::parse(&key).map_err(|_| StoreError::UnsafeName {
            value: key,
            problem: "cannot be an object key",
        })
    }

    /// Aborts the multipart uploads recorded by earlier starts of this node id.
    pub(crate) fn sweep(&self) -> Result<Vec<Leftover>, SweepError> {
        markers::sweep(self)
    }
}

/// Appends `/segment` to `key` (no `/` in front of the first segment).
fn push_segment(key: &mut String, segment: &str) {
    if !key.is_empty() {
        key.push('/');
    }
    key.push_str(segment);
}
