//! A small blocking S3 client for assertions and measurements: the `object_store` crate (the
//! client the product uses) on a current-thread tokio runtime, plus S3's ListMultipartUploads
//! through `curl --aws-sigv4`, which `object_store` does not offer.
//!
//! The client is configured from the same `AWS_*` variables a receiver gets (see
//! [`S3Client::from_env_vars`]), so a test that reads the bucket with it also checks that those
//! variables are enough to reach the store.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};

use crate::process::run_with_timeout;

/// The hint printed when `curl` (used for ListMultipartUploads) is missing.
pub const CURL_HINT: &str =
    "curl is required to list multipart uploads: `sudo apt-get install -y curl`";

/// SHA-256 of the empty body (the payload of a GET).
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct S3Object {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One multipart upload the store has started and neither completed nor aborted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MultipartUpload {
    /// The key the upload would create.
    pub key: String,
    /// The store's id of the upload.
    pub upload_id: String,
}

/// A blocking client for one bucket on one S3 endpoint.
pub struct S3Client {
    runtime: tokio::runtime::Runtime,
    store: AmazonS3,
    endpoint: String,
    region: String,
    bucket: String,
    access_key_id: String,
    secret_access_key: String,
}

impl S3Client {
    /// A client for `bucket` configured from `AWS_*` variables (`AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, ...), read
    /// the way `AmazonS3Builder::from_env` reads the process environment.
    ///
    /// Requests time out after 60 s and are retried at most twice within 10 s, so a test
    /// against a store that is down fails in seconds instead of object_store's default minutes.
    pub fn from_env_vars(vars: &[(String, String)], bucket: &str) -> S3Client {
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
        };
        S3Client::build(vars, bucket, retry)
    }

    /// A client like [`from_env_vars`](Self::from_env_vars) that never retries, to poll a
    /// store that is starting.
    pub(crate) fn probe(vars: &[(String, String)], bucket: &str) -> S3Client {
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 0,
            retry_timeout: Duration::from_secs(5),
        };
        S3Client::build(vars, bucket, retry)
    }

    fn build(vars: &[(String, String)], bucket: &str, retry: RetryConfig) -> S3Client {
        // Client options first: `with_client_options` replaces them all, `AWS_ALLOW_HTTP`
        // included, so the variables below must come after it.
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(Duration::from_secs(60))
                    .with_connect_timeout(Duration::from_secs(5)),
            )
            .with_retry(retry);
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let (endpoint, region) = (get("AWS_ENDPOINT_URL"), get("AWS_REGION"));
        let (access_key_id, secret_access_key) =
            (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"));
        for (key, value) in vars {
            let config_key: AmazonS3ConfigKey = key
                .to_ascii_lowercase()
                .parse()
                .unwrap_or_else(|e| panic!("{key} is not an object_store setting: {e}"));
            builder = builder.with_config(config_key, value);
        }
        let store = builder
            .build()
            .unwrap_or_else(|e| panic!("build the S3 client: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread tokio runtime");
        S3Client {
            runtime,
            store,
            endpoint,
            region,
            bucket: bucket.to_string(),
            access_key_id,
            secret_access_key,
        }
    }

    /// The `object_store` client itself, for async code (run it with [`block_on`](Self::block_on)).
    pub fn store(&self) -> &AmazonS3 {
        &self.store
    }

    /// Runs a future on the client's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The endpoint URL (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Stores `data` under `key` with one PUT.
    pub fn put(&self, key: &str, data: impl Into<Bytes>) -> object_store::Result<()> {
        let payload = PutPayload::from(data.into());
        self.block_on(self.store.put(&ObjectPath::from(key), payload))
            .map(|_| ())
    }

    /// Stores `data` under `key` as a multipart upload of `part_size`-byte parts (the last one
    /// smaller), with at most `parts_in_flight` parts being sent at once.
    pub fn put_multipart(
        &self,
        key: &str,
        data: &Bytes,
        part_size: usize,
        parts_in_flight: usize,
    ) -> object_store::Result<()> {
        self.block_on(put_multipart(
            &self.store,
            key,
            data,
            part_size,
            parts_in_flight,
        ))
    }

    /// The object stored under `key`.
    pub fn get(&self, key: &str) -> object_store::Result<Bytes> {
        self.block_on(async { self.store.get(&ObjectPath::from(key)).await?.bytes().await })
    }

    /// Deletes `key` (deleting a missing key succeeds).
    pub fn delete(&self, key: &str) -> object_store::Result<()> {
        self.block_on(self.store.delete(&ObjectPath::from(key)))
    }

    /// Every object whose key is under `prefix` (`""` for the whole bucket; `object_store`
    /// treats the prefix as whole path segments: `a/b` lists `a/b/...`, not `a/bc`), sorted by
    /// key.
    pub fn list(&self, prefix: &str) -> object_store::Result<Vec<S3Object>> {
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let mut objects: Vec<S3Object> = self.block_on(
            self.store
                .list(prefix.as_ref())
                .map_ok(|meta| S3Object {
                    key: meta.location.to_string(),
                    size: meta.size,
                })
                .try_collect(),
        )?;
        objects.sort();
        Ok(objects)
    }

    /// The multipart uploads in progress in the bucket (S3 `ListMultipartUploads`, sent with
    /// `curl --aws-sigv4`; `object_store` has no call for it). Panics if the request fails.
    pub fn list_multipart_uploads(&self) -> Vec<MultipartUpload> {
        let url = format!(
            "{}/{}?uploads=",
            self.endpoint.trim_end_matches('/'),
            self.bucket
        );
        let mut cmd = Command::new(curl_binary());
        cmd.args([
            "--silent",
            "--show-error",
            "--fail-with-body",
            "--aws-sigv4",
        ])
        .arg(format!("aws:amz:{}:s3", self.region))
        // S3 (and Garage, which insists) wants the payload's hash in a header; curl
        // signs the header and uses its value as the payload hash.
        .arg("--header")
        .arg(format!("x-amz-content-sha256: {EMPTY_SHA256}"))
        .arg("--user")
        .arg(format!("{}:{}", self.access_key_id, self.secret_access_key))
        .arg(&url);
        let out = run_with_timeout(cmd, Duration::from_secs(30));
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "ListMultipartUploads {url} failed ({}): {body}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        parse_list_multipart_uploads(&body)
    }
}

/// The `curl` binary (`/usr/bin/curl`); panics with [`CURL_HINT`] when it is missing.
pub fn curl_binary() -> PathBuf {
    let path = PathBuf::from("/usr/bin/curl");
    assert!(path.is_file(), "{} not found: {CURL_HINT}", path.display());
    path
}

/// Uploads `data` under `key` as a multipart upload of `part_size`-byte parts, at most
/// `parts_in_flight` at once, with `object_store`'s `WriteMultipart`; aborts the upload if a
/// part fails.
pub async fn put_multipart(
    store: &AmazonS3,
    key: &str,
    data: &Bytes,
    part_size: usize,
    parts_in_flight: usize,
) -> object_store::Result<()> {
    let upload = store.put_multipart(&ObjectPath::from(key)).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
    for start in (0..data.len()).step_by(part_size.max(1)) {
        if let Err(e) = writer.wait_for_capacity(parts_in_flight.max(1)).await {
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.put(data.slice(start..(start + part_size).min(data.len())));
    }
    writer.finish().await.map(|_| ())
}

/// The uploads in a `ListMultipartUploadsResult` document: each `<Upload>`'s `<Key>` and
/// `<UploadId>`, with XML's predefined entities decoded.
fn parse_list_multipart_uploads(xml: &str) -> Vec<MultipartUpload> {
    let mut uploads = Vec::new();
    for chunk in xml.split("<Upload>").skip(1) {
        let upload = chunk.split("</Upload>").next().unwrap_or("");
        uploads.push(MultipartUpload {
            key: xml_text(upload, "Key"),
            upload_id: xml_text(upload, "UploadId"),
        });
    }
    uploads.sort();
    uploads
}

/// The decoded text of the first `<tag>` element in `xml` (`""` if there is none).
fn xml_text(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map(|(text, _)| {
            text.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_list_multipart_uploads_result() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Bucket>dicom</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
<Upload><Key>b/x&amp;y.dcm</Key><UploadId>02</UploadId><Initiated>2025-01-01T00:00:00Z</Initiated></Upload>
<Upload><Key>a.dcm</Key><UploadId>01</UploadId></Upload>
<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"#;
        assert_eq!(
            parse_list_multipart_uploads(xml),
            vec![
                MultipartUpload {
                    key: "a.dcm".into(),
                    upload_id: "01".into()
                },
                MultipartUpload {
                    key: "b/x&y.dcm".into(),
                    upload_id: "02".into()
                },
            ]
        );
        assert!(parse_list_multipart_uploads("<ListMultipartUploadsResult/>").is_empty());
    }
}
