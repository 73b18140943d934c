//! The raw upload rate to an S3 store with the `object_store` client alone: the "physical
//! limit" that the object-storage rows of `cargo xtask bench` are compared with.
//!
//! Objects no larger than one part go up with a single PUT; larger ones as multipart uploads of
//! fixed-size parts with a bounded number of parts in flight, the way a receiver streams them.
//! `streams` objects are sent at once (like that many associations). Every object has content
//! of its own (a fast pseudo-random fill), because Garage deduplicates identical blocks and
//! would otherwise store less than was sent. The content is made while uploading, part by part,
//! so memory stays at about `streams × parts_in_flight × part_size`.

use std::time::{Duration, Instant};

pub use bytes::Bytes;
use futures_util::future::try_join_all;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};

use crate::s3::S3Client;

/// What to upload.
#[derive(Debug, Clone, Copy)]
pub struct UploadPlan {
    /// How many objects.
    pub objects: usize,
    /// The size of each, in bytes.
    pub object_size: usize,
    /// How many objects are uploaded at once.
    pub streams: usize,
    /// Objects larger than this go up in parts of this size (S3's minimum is 5 MiB).
    pub part_size: usize,
    /// How many parts of one object are in flight at once.
    pub parts_in_flight: usize,
}

impl UploadPlan {
    /// `objects` objects of `object_size` bytes, one at a time, in 8 MiB parts with at most 4
    /// in flight.
    pub fn new(objects: usize, object_size: usize) -> UploadPlan {
        UploadPlan {
            objects,
            object_size,
            streams: 1,
            part_size: 8 * 1024 * 1024,
            parts_in_flight: 4,
        }
    }

    /// The same plan with parts of `part_size` bytes, at most `parts_in_flight` at once.
    pub fn parts(self, part_size: usize, parts_in_flight: usize) -> UploadPlan {
        UploadPlan {
            part_size,
            parts_in_flight,
            ..self
        }
    }

    /// The same plan with `streams` objects uploaded at once.
    pub fn streams(self, streams: usize) -> UploadPlan {
        UploadPlan { streams, ..self }
    }

    /// The total number of bytes.
    pub fn bytes(&self) -> u64 {
        (self.objects as u64) * (self.object_size as u64)
    }
}

/// The result of [`measure`].
#[derive(Debug, Clone, Copy)]
pub struct UploadRate {
    /// How many objects were stored.
    pub objects: usize,
    /// How many bytes.
    pub bytes: u64,
    /// How long it took, from the first request to the last acknowledgement.
    pub elapsed: Duration,
}

impl UploadRate {
    /// Megabytes (10^6 bytes) per second.
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }

    /// Objects per second.
    pub fn objects_per_s(&self) -> f64 {
        self.objects as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for UploadRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} objects, {:.1} MB in {:.2} s: {:.1} MB/s, {:.1} objects/s",
            self.objects,
            self.bytes as f64 / 1e6,
            self.elapsed.as_secs_f64(),
            self.mb_per_s(),
            self.objects_per_s()
        )
    }
}

/// The key of object `index` under `prefix`.
pub fn object_key(prefix: &str, index: usize) -> String {
    format!("{}/{index:06}.bin", prefix.trim_end_matches('/'))
}

/// Uploads `plan` under `prefix` (keys from [`object_key`]) through `client` and returns the
/// rate. The objects stay in the bucket.
pub fn measure(
    client: &S3Client,
    prefix: &str,
    plan: UploadPlan,
) -> object_store::Result<UploadRate> {
    measure_with(client, prefix, plan, &content)
}

/// [`measure`] with the objects' bytes from `content(object index, offset, len)` (for example
/// slices of the very object a receiver stores, so that the limit is measured on the same
/// bytes: Garage deduplicates identical blocks, which makes repeated content cheaper).
pub fn measure_with(
    client: &S3Client,
    prefix: &str,
    plan: UploadPlan,
    content: &(dyn Fn(u64, u64, usize) -> Bytes + Sync),
) -> object_store::Result<UploadRate> {
    let streams = plan.streams.clamp(1, plan.objects.max(1));
    let started = Instant::now();
    client.block_on(try_join_all((0..streams).map(|stream| async move {
        for index in (stream..plan.objects).step_by(streams) {
            upload_one(
                client,
                &object_key(prefix, index),
                index as u64,
                plan,
                content,
            )
            .await?;
        }
        Ok::<(), object_store::Error>(())
    })))?;
    Ok(UploadRate {
        objects: plan.objects,
        bytes: plan.bytes(),
        elapsed: started.elapsed(),
    })
}

/// Uploads one object: a single PUT up to one part, else a multipart upload.
async fn upload_one(
    client: &S3Client,
    key: &str,
    seed: u64,
    plan: UploadPlan,
    content: &(dyn Fn(u64, u64, usize) -> Bytes + Sync),
) -> object_store::Result<()> {
    let store = client.store();
    let path = ObjectPath::from(key);
    let part_size = plan.part_size.max(1);
    if plan.object_size <= part_size {
        let data = content(seed, 0, plan.object_size);
        return store.put(&path, PutPayload::from(data)).await.map(|_| ());
    }
    let mut writer =
        WriteMultipart::new_with_chunk_size(store.put_multipart(&path).await?, part_size);
    let mut offset = 0;
    while offset < plan.object_size {
        let len = part_size.min(plan.object_size - offset);
        if let Err(e) = writer.wait_for_capacity(plan.parts_in_flight.max(1)).await {
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.put(content(seed, offset as u64, len));
        offset += len;
    }
    writer.finish().await.map(|_| ())
}

/// `len` bytes of object `seed`'s content starting at `offset` (a multiple of 8): a splitmix64
/// sequence, different for every object and every 8-byte position.
pub fn content(seed: u64, offset: u64, len: usize) -> Bytes {
    let mut out = Vec::with_capacity(len + 8);
    let mut index = offset / 8;
    while out.len() < len {
        let mut z = ((seed << 40) ^ index).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        index += 1;
    }
    out.truncate(len);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_the_same_sequence_whatever_the_chunking() {
        let whole = content(7, 0, 64);
        let mut parts = content(7, 0, 24).to_vec();
        parts.extend_from_slice(&content(7, 24, 40));
        assert_eq!(whole.to_vec(), parts);
        assert_ne!(content(8, 0, 64), whole);
        assert_eq!(content(1, 0, 13).len(), 13);
    }
}
