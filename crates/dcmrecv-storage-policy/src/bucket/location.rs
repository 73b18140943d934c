//! The object-store output: its URL, the `AWS_*` settings and the client built from them.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::multipart::MultipartStore;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::naming::is_object_store_url;
use crate::storage::OpenError;

/// S3's smallest part (every part of a multipart upload but the last must be at least this
/// big). Garage accepts smaller parts; AWS refuses to complete such an upload, so the limit is
/// enforced here.
const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// The largest part we allow (S3 allows 5 GiB; memory is `(parts in flight + 1) × part size`
/// per association).
const MAX_PART_SIZE: usize = 1024 * 1024 * 1024;

/// The default part size, and the size up to which an object goes up with a single PUT.
const DEFAULT_PART_SIZE: usize = 6 * 1024 * 1024;

/// The default number of parts of one upload in flight while the next part fills.
const DEFAULT_PARTS_IN_FLIGHT: usize = 1;

/// Schemes that name an object store (`<scheme>://...`). Only `s3` is supported by this build.
const SUPPORTED_SCHEMES: [&str; 1] = ["s3"];

/// A store given in code instead of one built from the URL.
#[derive(Clone)]
struct GivenStore {
    store: Arc<dyn ObjectStore>,
    multipart: Arc<dyn MultipartStore>,
}

/// Where and how to store objects (`dcmrecv -od s3://BUCKET/PREFIX`), for
/// [`StorageOptions::object_store`](crate::StorageOptions::object_store).
///
/// The S3 client is configured like the AWS tools, from the `AWS_*` environment variables:
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), `AWS_REGION`,
/// `AWS_ENDPOINT_URL` (for a store other than AWS, e.g. `http://127.0.0.1:3900` for Garage),
/// `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint, and every other setting `object_store`'s
/// `AmazonS3Builder::from_env` knows. Credentials are required: static keys, or a web identity
/// (`AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`), or container credentials
/// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`); EC2 instance metadata is used
/// only when `AWS_METADATA_ENDPOINT` is set, and anonymous requests only with
/// `AWS_SKIP_SIGNATURE=true`, so that forgotten credentials are a clear error at start-up
/// rather than a timeout.
///
/// ```
/// use std::time::Duration;
/// use dcmrecv_storage_policy::ObjectStoreOutput;
///
/// let output = ObjectStoreOutput::new("s3://dicom/incoming")
///     .env_vars([
///         ("AWS_ACCESS_KEY_ID", "GK31c2..."),
///         ("AWS_SECRET_ACCESS_KEY", "b892c0..."),
///         ("AWS_REGION", "garage"),
///         ("AWS_ENDPOINT_URL", "http://127.0.0.1:3900"),
///         ("AWS_ALLOW_HTTP", "true"),
///     ])
///     .part_size(8 * 1024 * 1024)
///     .parts_in_flight(2)
///     .retries(3, Duration::from_secs(15));
/// assert_eq!(output.url(), "s3://dicom/incoming");
/// ```
#[derive(Clone)]
pub struct ObjectStoreOutput {
    url: String,
    env: Option<Vec<(String, String)>>,
    given: Option<GivenStore>,
    part_size: usize,
    parts_in_flight: usize,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_retries: usize,
    retry_timeout: Duration,
}

impl std::fmt::Debug for ObjectStoreOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment holds secrets: only the names are shown.
        let env: Option<Vec<&str>> = self
            .env
            .as_ref()
            .map(|vars| vars.iter().map(|(k, _)| k.as_str()).collect());
        f.debug_struct("ObjectStoreOutput")
            .field("url", &self.url)
            .field("env", &env)
            .field(
                "given_store",
                &self.given.as_ref().map(|g| g.store.to_string()),
            )
            .field("part_size", &self.part_size)
            .field("parts_in_flight", &self.parts_in_flight)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("retry_timeout", &self.retry_timeout)
            .finish()
    }
}

/// What [`ObjectStoreOutput::resolve`] makes of the output.
pub(crate) struct Resolved {
    pub(crate) url: String,
    pub(crate) bucket_url: String,
    pub(crate) prefix: ObjectPath,
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) multipart: Arc<dyn MultipartStore>,
}

impl ObjectStoreOutput {
    /// The output at `url`, `s3://BUCKET` or `s3://BUCKET/PREFIX` (the prefix's trailing `/` is
    /// optional), configured from the process's `AWS_*` environment variables when the
    /// [`Storage`](crate::Storage) is created. Defaults: 6 MiB parts, one part in flight per
    /// association while the next fills, requests retried at most 3 times within 15 s,
    /// connections given up after 5 s, requests after 60 s.
    pub fn new(url: impl Into<String>) -> ObjectStoreOutput {
        ObjectStoreOutput {
            url: url.into(),
            env: None,
            given: None,
            part_size: DEFAULT_PART_SIZE,
            parts_in_flight: DEFAULT_PARTS_IN_FLIGHT,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
        }
    }

    /// An output into `store` (any `object_store` store that also does multipart uploads,
    /// such as its `InMemory` store for tests), named `url` (`<scheme>://<bucket>/<prefix>`,
    /// which gives the prefix and the URLs in log lines). No environment is read.
    ///
    /// ```
    /// use dcmrecv_storage_policy::{ObjectStoreOutput, Storage, StorageOptions};
    ///
    /// let store = std::sync::Arc::new(object_store::memory::InMemory::new());
    /// let output = ObjectStoreOutput::with_store("memory://test/incoming", store);
    /// let storage = Storage::new(StorageOptions::object_store(output).node_id("n1"))?;
    /// assert_eq!(storage.output_directory().to_str(), Some("memory://test/incoming"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_store<S>(url: impl Into<String>, store: Arc<S>) -> ObjectStoreOutput
    where
        S: ObjectStore + MultipartStore,
    {
        let multipart: Arc<dyn MultipartStore> = store.clone();
        ObjectStoreOutput::with_stores(url, store, multipart)
    }

    /// [`with_store`](Self::with_store) with the multipart uploads going through `multipart`
    /// (a wrapper around the same store that records or delays them, say).
    pub fn with_stores(
        url: impl Into<String>,
        store: Arc<dyn ObjectStore>,
        multipart: Arc<dyn MultipartStore>,
    ) -> ObjectStoreOutput {
        let mut output = ObjectStoreOutput::new(url);
        output.given = Some(GivenStore { store, multipart });
        output
    }

    /// Uses these `AWS_*` variables instead of the process environment.
    pub fn env_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> ObjectStoreOutput
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Sets the part size of multipart uploads, which is also the largest object sent with a
    /// single PUT and the most data set bytes held while waiting for the UIDs: 5 MiB (S3's
    /// minimum) to 1 GiB.
    pub fn part_size(mut self, bytes: usize) -> ObjectStoreOutput {
        self.part_size = bytes;
        self
    }

    /// Sets how many parts of one upload may be in flight while the next one fills (at least
    /// 1). Memory per association is at most `(parts in flight + 1) × part size`.
    pub fn parts_in_flight(mut self, parts: usize) -> ObjectStoreOutput {
        self.parts_in_flight = parts;
        self
    }

    /// Sets how often, and for how long, a failed request (connection error, 5xx, timeout of
    /// an idempotent request) is retried before the store is given up on for that object.
    pub fn retries(mut self, max_retries: usize, retry_timeout: Duration) -> ObjectStoreOutput {
        self.max_retries = max_retries;
        self.retry_timeout = retry_timeout;
        self
    }

    /// Sets the connection timeout and the timeout of one request.
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> ObjectStoreOutput {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn part_size_bytes(&self) -> usize {
        self.part_size
    }

    pub(crate) fn parts_in_flight_count(&self) -> usize {
        self.parts_in_flight.max(1)
    }

    fn config_error(&self, problem: impl Into<String>) -> OpenError {
        OpenError::ObjectStoreConfig {
            url: self.url.clone(),
            problem: problem.into(),
        }
    }

    /// Checks the URL, the part size and the credentials, and builds the client.
    pub(crate) fn resolve(&self) -> Result<Resolved, OpenError> {
        let (scheme, bucket, prefix) = split_url(&self.url).map_err(|p| self.config_error(p))?;
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return Err(self.config_error(format!(
                "the part size must be 5 MiB to 1 GiB, not {} bytes",
                self.part_size
            )));
        }
        let prefix_path = ObjectPath::parse(prefix)
            .ok()
            .filter(|p| p.as_ref() == prefix)
            .ok_or_else(|| self.config_error(format!("unusable key prefix {prefix:?}")))?;
        let bucket_url = format!("{scheme}://{bucket}");
        let url = if prefix.is_empty() {
            bucket_url.clone()
        } else {
            format!("{bucket_url}/{prefix}")
        };
        let (store, multipart) = match &self.given {
            Some(given) => (Arc::clone(&given.store), Arc::clone(&given.multipart)),
            None => {
                if !SUPPORTED_SCHEMES.contains(&scheme) {
                    return Err(self.config_error(format!(
                        "{scheme}:// is not supported (only s3://, for S3-compatible stores)"
                    )));
                }
                let s3 = Arc::new(self.build_s3(bucket)?);
                let multipart: Arc<dyn MultipartStore> = s3.clone();
                (s3 as Arc<dyn ObjectStore>, multipart)
            }
        };
        Ok(Resolved {
            url,
            bucket_url,
            prefix: prefix_path,
            store,
            multipart,
        })
    }

    /// The S3 client from the `AWS_*` variables.
    fn build_s3(&self, bucket: &str) -> Result<object_store::aws::AmazonS3, OpenError> {
        let vars: Vec<(String, String)> = match &self.env {
            Some(vars) => vars.clone(),
            None => std::env::vars()
                .filter(|(k, _)| k.starts_with("AWS_"))
                .collect(),
        };
        check_credentials(&vars).map_err(|p| self.config_error(p))?;
        // Client options first: `with_client_options` replaces them all, `AWS_ALLOW_HTTP`
        // included, so the variables must come after it.
        let mut builder = AmazonS3Builder::new()
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(self.connect_timeout)
                    .with_timeout(self.request_timeout),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: self.max_retries,
                retry_timeout: self.retry_timeout,
            });
        for (key, value) in &vars {
            // As `AmazonS3Builder::from_env`: variables it does not know (AWS_PROFILE, ...)
            // are not its business.
            if let Ok(config_key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(config_key, value);
            }
        }
        builder
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| self.config_error(format!("cannot configure the S3 client: {e}")))
    }
}

/// `scheme://bucket/prefix` → (scheme, bucket, prefix without its trailing `/`).
fn split_url(url: &str) -> Result<(&str, &str, &str), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("not a URL (scheme://bucket/prefix)".to_string());
    };
    if !is_object_store_url(url) {
        return Err(format!("{scheme:?} is not a URL scheme"));
    }
    if rest.contains(['?', '#']) {
        return Err("a query or fragment is not allowed".to_string());
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    check_bucket_name(bucket)?;
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    if prefix.split('/').any(|s| s == "." || s == "..") {
        return Err("the key prefix has a '.' or '..' segment".to_string());
    }
    if !prefix.is_empty() && prefix.split('/').any(str::is_empty) {
        return Err("the key prefix has an empty segment ('//')".to_string());
    }
    Ok((scheme, bucket, prefix))
}

/// S3's bucket naming rules: 3 to 63 characters of lowercase letters, digits, `.` and `-`,
/// starting and ending with a letter or digit.
fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && edge_ok(bucket.bytes().next())
        && edge_ok(bucket.bytes().last());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid bucket name {bucket:?} (3 to 63 lowercase letters, digits, '.' and '-')"
        ))
    }
}

/// Whether the variables name credentials (see [`ObjectStoreOutput`]).
fn check_credentials(vars: &[(String, String)]) -> Result<(), String> {
    let set = |name: &str| vars.iter().any(|(k, v)| k == name && !v.is_empty());
    match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        (true, true) => return Ok(()),
        (true, false) => {
            return Err("AWS_ACCESS_KEY_ID is set but not AWS_SECRET_ACCESS_KEY".into());
        }
        (false, true) => {
            return Err("AWS_SECRET_ACCESS_KEY is set but not AWS_ACCESS_KEY_ID".into());
        }
        (false, false) => {}
    }
    let other = (set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN"))
        || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        || set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        || set("AWS_METADATA_ENDPOINT")
        || vars
            .iter()
            .any(|(k, v)| k == "AWS_SKIP_SIGNATURE" && v.eq_ignore_ascii_case("true"));
    if other {
        Ok(())
    } else {
        Err("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        assert_eq!(split_url("s3://dicom"), Ok(("s3", "dicom", "")));
        assert_eq!(split_url("s3://dicom/"), Ok(("s3", "dicom", "")));
        assert_eq!(split_url("s3://dicom/a/b/"), Ok(("s3", "dicom", "a/b")));
        assert_eq!(split_url("gs://dicom/a"), Ok(("gs", "dicom", "a")));
        for bad in [
            "dicom/a",
            "s3:/dicom",
            "s3://",
            "s3://Dicom",
            "s3://di",
            "s3://-dicom",
            "s3://dicom_x",
            "s3://dicom/a//b",
            "s3://dicom/../b",
            "s3://dicom/a?x=1",
            "s 3://dicom",
        ] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn credentials_must_be_named() {
        assert!(
            check_credentials(&vars(&[
                ("AWS_ACCESS_KEY_ID", "a"),
                ("AWS_SECRET_ACCESS_KEY", "b")
            ]))
            .is_ok()
        );
        assert_eq!(
            check_credentials(&vars(&[("AWS_REGION", "garage")])),
            Err("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into())
        );
        assert!(check_credentials(&vars(&[("AWS_ACCESS_KEY_ID", "a")])).is_err());
        assert!(
            check_credentials(&vars(&[
                ("AWS_ACCESS_KEY_ID", "a"),
                ("AWS_SECRET_ACCESS_KEY", "")
            ]))
            .is_err()
        );
        assert!(
            check_credentials(&vars(&[(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/x"
            )]))
            .is_ok()
        );
        assert!(check_credentials(&vars(&[("AWS_SKIP_SIGNATURE", "TRUE")])).is_ok());
        assert!(check_credentials(&vars(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")])).is_err());
    }

    #[test]
    fn resolving_checks_scheme_part_size_and_credentials() {
        let problem = |output: ObjectStoreOutput| match output.resolve() {
            Err(OpenError::ObjectStoreConfig { problem, .. }) => problem,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("resolved"),
        };
        let keys = [("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")];
        assert_eq!(
            problem(ObjectStoreOutput::new("gs://dicom").env_vars(keys)),
            "gs:// is not supported (only s3://, for S3-compatible stores)"
        );
        assert!(
            problem(
                ObjectStoreOutput::new("s3://dicom")
                    .env_vars(keys)
                    .part_size(1 << 20)
            )
            .starts_with("the part size must be 5 MiB")
        );
        assert_eq!(
            problem(ObjectStoreOutput::new("s3://dicom").env_vars([("AWS_REGION", "x")])),
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        );
        let resolved = ObjectStoreOutput::new("s3://dicom/in/")
            .env_vars(keys)
            .resolve()
            .unwrap();
        assert_eq!(resolved.url, "s3://dicom/in");
        assert_eq!(resolved.prefix.as_ref(), "in");
    }
}
