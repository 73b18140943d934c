//! One object on its way into the bucket: bytes fill a part buffer; an object that fits one
//! part goes up with a single PUT at the end, a larger one as a multipart upload whose parts go
//! up as they fill, at most `parts_in_flight` at once per upload.
//!
//! Every part but the last has exactly the part size (some stores, R2 for one, require equal
//! parts; all require at least 5 MiB). The association's thread fills the next part while the
//! runtime sends the previous ones; when the bound is reached it waits for the oldest part,
//! which holds the sender back through TCP. Part buffers that come back from the store are
//! reused, so a long object allocates `parts_in_flight + 1` buffers in all.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Buf, Bytes, BytesMut};
use object_store::multipart::PartId;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartId, ObjectStoreExt, PutPayload};
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, error, warn};

use super::Bucket;
use super::error::describe;
use super::markers;
use crate::incoming::StoreError;

/// Space kept in front of the held bytes for the meta header (preamble, `DICM` and the group:
/// about 300 bytes with 64-character UIDs), so that putting it in front copies nothing.
const HEADER_ROOM: usize = 1024;

/// The most parts S3 allows in one upload.
const MAX_PARTS: usize = 10_000;

/// The first capacity of a part buffer; it grows (by doubling) up to the part size, so a
/// small object does not reserve a whole part.
const FIRST_CAPACITY: usize = 256 * 1024;

/// A request to the store failed.
#[derive(Debug)]
pub(crate) struct UploadError {
    url: String,
    source: object_store::Error,
}

impl UploadError {
    /// The store error as a [`StoreError`], with DCMTK's log line.
    pub(crate) fn into_store_error(self) -> StoreError {
        let problem = describe(&self.source);
        error!("cannot store received object: {}: {problem}", self.url);
        StoreError::Upload {
            url: self.url,
            problem,
            source: Box::new(self.source),
        }
    }
}

/// A part being sent: it gives back its buffer for reuse.
type PartTask = JoinHandle<object_store::Result<(PartId, Bytes)>>;

/// A multipart upload in progress.
struct Multipart {
    key: ObjectPath,
    id: MultipartId,
    marker: ObjectPath,
    /// The marker's PUT, sent along with the first part.
    marker_put: Option<JoinHandle<object_store::Result<()>>>,
    /// The ids of the parts sent, in order.
    done: Vec<PartId>,
    in_flight: VecDeque<PartTask>,
}

/// An object being received into the bucket.
pub(crate) struct ObjectUpload {
    bucket: Arc<Bucket>,
    /// The next part: the header room (while `room` > 0), then the bytes.
    buffer: BytesMut,
    /// Bytes still reserved for the header at the front of `buffer`.
    room: usize,
    /// Buffers of parts sent, for reuse.
    spare: Vec<BytesMut>,
    multipart: Option<Multipart>,
}

impl std::fmt::Debug for ObjectUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectUpload")
            .field("buffered", &self.held_len())
            .field("key", &self.started_key().map(ObjectPath::as_ref))
            .finish_non_exhaustive()
    }
}

impl ObjectUpload {
    /// A new object; nothing is sent yet.
    pub(crate) fn new(bucket: Arc<Bucket>) -> ObjectUpload {
        let mut buffer = BytesMut::with_capacity(FIRST_CAPACITY.min(bucket.part_size));
        buffer.resize(HEADER_ROOM, 0);
        ObjectUpload {
            bucket,
            buffer,
            room: HEADER_ROOM,
            spare: Vec::new(),
            multipart: None,
        }
    }

    /// The bucket.
    pub(crate) fn bucket(&self) -> &Arc<Bucket> {
        &self.bucket
    }

    /// Appends bytes that precede the header (which comes later, with [`prepend`](Self::prepend)).
    pub(crate) fn hold(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// How many bytes are buffered (not counting the header room).
    pub(crate) fn held_len(&self) -> usize {
        self.buffer.len() - self.room
    }

    /// Puts `header` in front of everything buffered.
    pub(crate) fn prepend(&mut self, header: &[u8]) {
        if header.len() <= self.room {
            let start = self.room - header.len();
            self.buffer[start..self.room].copy_from_slice(header);
            self.buffer.advance(start);
        } else {
            let mut joined = BytesMut::with_capacity(header.len() + self.held_len());
            joined.extend_from_slice(header);
            joined.extend_from_slice(&self.buffer[self.room..]);
            self.buffer = joined;
        }
        self.room = 0;
    }

    /// Drops the header room if no header came (there is none to put in front).
    fn close_room(&mut self) {
        if self.room > 0 {
            self.buffer.advance(self.room);
            self.room = 0;
        }
    }

    /// The key, once the multipart upload has started.
    pub(crate) fn started_key(&self) -> Option<&ObjectPath> {
        self.multipart.as_ref().map(|m| &m.key)
    }

    /// Whether appending `incoming` more bytes sends a part, and so needs the key first.
    pub(crate) fn needs_start(&self, incoming: usize) -> bool {
        self.multipart.is_none() && self.held_len() + incoming > self.bucket.part_size
    }

    fn error(&self, key: &ObjectPath, source: object_store::Error) -> UploadError {
        UploadError {
            url: self.bucket.url_of(key),
            source,
        }
    }

    /// Creates the multipart upload for `key` (the first part is about to go up) and sends its
    /// marker.
    pub(crate) fn start(&mut self, key: ObjectPath) -> Result<(), UploadError> {
        let bucket = Arc::clone(&self.bucket);
        let multipart = Arc::clone(&bucket.multipart);
        let id = bucket
            .runtime
            .block_on(async { multipart.create_multipart(&key).await })
            .map_err(|e| self.error(&key, e))?;
        let marker = bucket.markers.next();
        let store = Arc::clone(&bucket.store);
        let (marker_key, body) = (marker.clone(), markers::body(&key, &id));
        let marker_put = bucket
            .runtime
            .spawn(async move { store.put(&marker_key, body).await.map(|_| ()) }.in_current_span());
        debug!(
            "multipart upload started: {} (marker {marker})",
            bucket.url_of(&key)
        );
        self.multipart = Some(Multipart {
            key,
            id,
            marker,
            marker_put: Some(marker_put),
            done: Vec::new(),
            in_flight: VecDeque::new(),
        });
        Ok(())
    }

    /// Appends bytes after the header, sending every part that fills (and more bytes follow).
    /// A part is sent only once the upload has started ([`needs_start`](Self::needs_start)).
    pub(crate) fn append(&mut self, mut chunk: &[u8]) -> Result<(), UploadError> {
        self.close_room();
        let part_size = self.bucket.part_size;
        loop {
            while self.multipart.is_some()
                && (self.buffer.len() > part_size
                    || (self.buffer.len() == part_size && !chunk.is_empty()))
            {
                self.send_part()?;
            }
            if chunk.is_empty() {
                return Ok(());
            }
            let room = part_size.saturating_sub(self.buffer.len()).max(1);
            let (now, rest) = chunk.split_at(room.min(chunk.len()));
            self.buffer.extend_from_slice(now);
            chunk = rest;
        }
    }

    /// Waits for the oldest part in flight.
    fn wait_oldest(&mut self) -> Result<(), UploadError> {
        let Some(multipart) = self.multipart.as_mut() else {
            return Ok(());
        };
        let Some(task) = multipart.in_flight.pop_front() else {
            return Ok(());
        };
        let key = multipart.key.clone();
        match self.bucket.runtime.block_on(task) {
            Ok(Ok((part, bytes))) => {
                multipart.done.push(part);
                if let Ok(mut buffer) = bytes.try_into_mut() {
                    buffer.clear();
                    self.spare.push(buffer);
                }
                Ok(())
            }
            Ok(Err(e)) => Err(self.error(&key, e)),
            Err(e) => Err(self.error(&key, object_store::Error::JoinError { source: e })),
        }
    }

    /// Sends the first part-size bytes of the buffer as the next part (the last part when
    /// `last`: the whole buffer), once fewer than `parts_in_flight` parts are in flight.
    fn send(&mut self, last: bool) -> Result<(), UploadError> {
        while self
            .multipart
            .as_ref()
            .is_some_and(|m| m.in_flight.len() >= self.bucket.parts_in_flight)
        {
            self.wait_oldest()?;
        }
        let part_size = self.bucket.part_size;
        let part = if last {
            std::mem::take(&mut self.buffer).freeze()
        } else {
            let mut next = self
                .spare
                .pop()
                .unwrap_or_else(|| BytesMut::with_capacity(part_size));
            next.extend_from_slice(&self.buffer[part_size..]);
            self.buffer.truncate(part_size);
            std::mem::replace(&mut self.buffer, next).freeze()
        };
        let Some(multipart) = self.multipart.as_mut() else {
            return Ok(());
        };
        let index = multipart.done.len() + multipart.in_flight.len();
        if index >= MAX_PARTS {
            let key = multipart.key.clone();
            return Err(self.error(
                &key,
                object_store::Error::Generic {
                    store: "S3",
                    source: format!("more than {MAX_PARTS} parts").into(),
                },
            ));
        }
        let store = Arc::clone(&self.bucket.multipart);
        let (key, id) = (multipart.key.clone(), multipart.id.clone());
        multipart.in_flight.push_back(
            self.bucket.runtime.spawn(
                async move {
                    let payload = PutPayload::from(part.clone());
                    let id = store.put_part(&key, &id, index, payload).await?;
                    Ok((id, part))
                }
                .in_current_span(),
            ),
        );
        Ok(())
    }

    fn send_part(&mut self) -> Result<(), UploadError> {
        self.send(false)
    }

    /// Sends what is left and returns once the store has confirmed the whole object under its
    /// key: a single PUT to `key`, or (for a started multipart upload, whose key was decided
    /// when it started) the last part, the remaining parts in flight and the completion; then
    /// the marker is deleted.
    pub(crate) fn finish(mut self, key: &ObjectPath) -> Result<ObjectPath, UploadError> {
        self.close_room();
        let bucket = Arc::clone(&self.bucket);
        if self.multipart.is_none() {
            let payload = PutPayload::from(std::mem::take(&mut self.buffer).freeze());
            let store = Arc::clone(&bucket.store);
            bucket
                .runtime
                .block_on(async { store.put(key, payload).await })
                .map_err(|e| self.error(key, e))?;
            return Ok(key.clone());
        }
        if !self.buffer.is_empty() {
            self.send(true)?;
        }
        while self
            .multipart
            .as_ref()
            .is_some_and(|m| !m.in_flight.is_empty())
        {
            self.wait_oldest()?;
        }
        let Some(mut multipart) = self.multipart.take() else {
            return Ok(key.clone());
        };
        let marker_put = multipart.marker_put.take();
        let store = Arc::clone(&bucket.store);
        let parts = Arc::clone(&bucket.multipart);
        let done = std::mem::take(&mut multipart.done);
        let (upload_key, id) = (multipart.key.clone(), multipart.id.clone());
        let completed = bucket.runtime.block_on(async {
            if let Some(put) = marker_put {
                // The marker must exist before the upload can be completed and the marker
                // deleted; a marker that could not be written changes nothing here (it only
                // mattered had the receiver died meanwhile).
                if let Ok(Err(e)) = put.await {
                    warn!("cannot write an upload marker: {}", describe(&e));
                }
            }
            parts.complete_multipart(&upload_key, &id, done).await
        });
        if let Err(e) = completed {
            // Put back, so that dropping `self` aborts the upload.
            self.multipart = Some(multipart);
            return Err(self.error(&upload_key, e));
        }
        let marker = multipart.marker.clone();
        if let Err(e) = bucket
            .runtime
            .block_on(async { store.delete(&marker).await })
        {
            // Harmless: the next start of this node aborts the (completed) upload, which
            // changes nothing, and deletes the marker.
            warn!("cannot delete upload marker {marker}: {}", describe(&e));
        }
        Ok(upload_key)
    }
}

impl Drop for ObjectUpload {
    /// A multipart upload not completed is aborted, in the background: the association goes
    /// on at once, and an abort that does not happen (store down, receiver stopped) is done by
    /// the next start through the marker.
    fn drop(&mut self) {
        let Some(multipart) = self.multipart.take() else {
            return;
        };
        for task in &multipart.in_flight {
            task.abort();
        }
        let store = Arc::clone(&self.bucket.store);
        let parts = Arc::clone(&self.bucket.multipart);
        let url = self.bucket.url_of(&multipart.key);
        let Multipart {
            key,
            id,
            marker,
            marker_put,
            ..
        } = multipart;
        let background = Arc::clone(&self.bucket.background);
        background.fetch_add(1, Ordering::AcqRel);
        self.bucket.runtime.spawn(
            async move {
                if let Some(put) = marker_put {
                    let _ = put.await;
                }
                match parts.abort_multipart(&key, &id).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                        debug!("multipart upload aborted: {url}");
                        if let Err(e) = store.delete(&marker).await {
                            warn!("cannot delete upload marker {marker}: {}", describe(&e));
                        }
                    }
                    Err(e) => warn!(
                        "cannot abort multipart upload {url} (the next start retries): {}",
                        describe(&e)
                    ),
                }
                background.fetch_sub(1, Ordering::AcqRel);
            }
            .in_current_span(),
        );
    }
}
