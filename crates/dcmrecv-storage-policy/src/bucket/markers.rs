//! Upload markers: how a restarted receiver finds the multipart uploads its killed predecessor
//! left, without ever touching the uploads of a live receiver.
//!
//! S3 has no locks (the file backend's `flock`), and a multipart upload in progress is
//! invisible to listings of objects. So each multipart upload in flight is recorded in a marker
//! object
//!
//! ```text
//! <prefix>/.dcmrecv-uploads/<node id>/<start id>/<n>     body: "key=<key>\nupload-id=<id>\n"
//! ```
//!
//! written right after the upload is created (while its first part goes up) and deleted once
//! the upload is completed or aborted. The start id is random per start. At start-up, a
//! receiver lists the markers of its own node id, and for every start other than its own
//! aborts the recorded upload (an upload that was in fact completed is not affected: S3 answers
//! `NoSuchUpload`) and deletes the marker. Uploads of other node ids are never aborted, so
//! receivers sharing a bucket leave each other alone as long as their node ids differ (the
//! default, `<host>-<port>`, differs between live receivers).
//!
//! What this does not cover: a receiver killed between creating an upload and writing its
//! marker (one round trip) leaves an upload nobody records; and a node id that never starts
//! again leaves its markers. For both, an S3 lifecycle rule (`AbortIncompleteMultipartUpload`)
//! is the safety net (see the README).

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use tracing::{debug, warn};

use super::Bucket;
use super::error::describe;
use crate::sweep::{Leftover, SweepError};

/// The marker area below the prefix.
pub(crate) const MARKER_DIRECTORY: &str = ".dcmrecv-uploads";

/// The name of the probe object of a start (written and deleted at start-up).
const PROBE: &str = "probe";

/// This start's markers.
#[derive(Debug)]
pub(crate) struct Markers {
    /// `<prefix>/.dcmrecv-uploads/<node id>`.
    node_root: ObjectPath,
    start_id: String,
    counter: AtomicU64,
}

impl Markers {
    /// The markers of a new start of `node_id` under `prefix`.
    pub(crate) fn new(prefix: &ObjectPath, node_id: &str) -> Markers {
        let node_root = prefix.clone().join(MARKER_DIRECTORY).join(node_id);
        let random = uuid::Uuid::new_v4().as_u128() as u64;
        Markers {
            node_root,
            start_id: format!("{random:016x}"),
            counter: AtomicU64::new(0),
        }
    }

    /// The key of this start's next marker.
    pub(crate) fn next(&self) -> ObjectPath {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.node_root
            .clone()
            .join(self.start_id.as_str())
            .join(n.to_string())
    }

    /// The key of this start's probe object.
    pub(crate) fn probe(&self) -> ObjectPath {
        self.node_root
            .clone()
            .join(self.start_id.as_str())
            .join(PROBE)
    }
}

/// A marker's body.
pub(crate) fn body(key: &ObjectPath, upload_id: &str) -> PutPayload {
    PutPayload::from(format!("key={key}\nupload-id={upload_id}\n"))
}

/// The key and upload id recorded in a marker's body.
fn parse(body: &str) -> Option<(String, String)> {
    let mut key = None;
    let mut id = None;
    for line in body.lines() {
        if let Some(value) = line.strip_prefix("key=") {
            key = Some(value.to_string());
        } else if let Some(value) = line.strip_prefix("upload-id=") {
            id = Some(value.to_string());
        }
    }
    Some((
        key.filter(|k| !k.is_empty())?,
        id.filter(|i| !i.is_empty())?,
    ))
}

/// Aborts the uploads recorded by earlier starts of this node, deletes their markers and
/// probes, and returns the aborted uploads.
pub(crate) fn sweep(bucket: &Bucket) -> Result<Vec<Leftover>, SweepError> {
    let root = bucket.markers.node_root.clone();
    let own = bucket.markers.start_id.clone();
    let store = std::sync::Arc::clone(&bucket.store);
    let multipart = std::sync::Arc::clone(&bucket.multipart);
    let root_url = bucket.url_of(&root);
    let bucket_url = bucket.bucket_url.clone();
    bucket.runtime.block_on(async move {
        let listed: Vec<_> =
            store
                .list(Some(&root))
                .try_collect()
                .await
                .map_err(|e| SweepError::ListMarkers {
                    url: root_url.clone(),
                    source: Box::new(e),
                })?;
        let mut aborted = Vec::new();
        for meta in listed {
            let marker = meta.location;
            // <root>/<start id>/<name>
            let parts: Vec<String> = marker
                .prefix_match(&root)
                .map(|rest| rest.map(|p| p.as_ref().to_string()).collect())
                .unwrap_or_default();
            let [start, name] = parts.as_slice() else {
                continue;
            };
            if *start == own {
                continue;
            }
            if name != PROBE {
                let recorded = match store.get(&marker).await {
                    Ok(got) => got.bytes().await.ok(),
                    Err(e) => {
                        warn!("cannot read upload marker {marker}: {}", describe(&e));
                        continue;
                    }
                };
                let recorded = recorded
                    .as_deref()
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .and_then(parse);
                if let Some((key, upload_id)) = recorded {
                    let Ok(path) = ObjectPath::parse(&key) else {
                        warn!("ignoring upload marker {marker} with an unusable key");
                        continue;
                    };
                    match multipart.abort_multipart(&path, &upload_id).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                            let url = format!("{bucket_url}/{key}");
                            warn!(
                                "aborted multipart upload left by an interrupted transfer: {url}"
                            );
                            aborted.push(Leftover::MultipartUpload { url, upload_id });
                        }
                        Err(e) => {
                            warn!(
                                "cannot abort multipart upload left by an interrupted transfer: \
                                 {bucket_url}/{key}: {}",
                                describe(&e)
                            );
                            continue;
                        }
                    }
                } else {
                    warn!("ignoring unreadable upload marker {marker}");
                }
            }
            match store.delete(&marker).await {
                Ok(()) => debug!("deleted upload marker {marker}"),
                Err(e) => warn!("cannot delete upload marker {marker}: {}", describe(&e)),
            }
        }
        aborted.sort();
        Ok(aborted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_keys_and_bodies() {
        let markers = Markers::new(&ObjectPath::from("in/coming"), "gw1-11112");
        let first = markers.next();
        let second = markers.next();
        let start = &markers.start_id;
        assert_eq!(
            first.as_ref(),
            format!("in/coming/.dcmrecv-uploads/gw1-11112/{start}/0")
        );
        assert!(second.as_ref().ends_with("/1"));
        assert!(
            markers
                .probe()
                .as_ref()
                .ends_with(&format!("{start}/probe"))
        );
        let root = Markers::new(&ObjectPath::from(""), "n");
        assert!(root.next().as_ref().starts_with(".dcmrecv-uploads/n/"));

        let key = ObjectPath::from("in/data/2020/01/15/CT.1.2.3");
        let body = body(&key, "abc-123");
        let text = String::from_utf8(body.iter().flat_map(|b| b.to_vec()).collect()).unwrap();
        assert_eq!(
            parse(&text),
            Some(("in/data/2020/01/15/CT.1.2.3".into(), "abc-123".into()))
        );
        assert_eq!(parse("key=x\n"), None);
        assert_eq!(parse("upload-id=\nkey=x\n"), None);
    }
}
