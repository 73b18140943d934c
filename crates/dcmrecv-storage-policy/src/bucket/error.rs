//! What went wrong with a request, in a few words: the text of Error Comments (at most 64
//! bytes with their `cannot store object: ` lead) and of `F:` lines at start-up.

use std::error::Error as _;

use object_store::client::{HttpError, HttpErrorKind};

/// A short description of a store error: `store unreachable`, `access denied
/// (SignatureDoesNotMatch)`, `bucket or key not found (NoSuchBucket)`, `HTTP 503`, ...
pub(crate) fn describe(error: &object_store::Error) -> String {
    let text = error.to_string();
    let code = s3_error_code(&text);
    let with_code = |words: &str| match code {
        Some(code) => format!("{words} ({code})"),
        None => words.to_string(),
    };
    match error {
        object_store::Error::NotFound { .. } => return with_code("bucket or key not found"),
        object_store::Error::PermissionDenied { .. } => return with_code("access denied"),
        object_store::Error::Unauthenticated { .. } => return with_code("credentials refused"),
        object_store::Error::JoinError { .. } => return "upload task failed".to_string(),
        _ => {}
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(e) = source {
        if let Some(http) = e.downcast_ref::<HttpError>() {
            return match http.kind() {
                HttpErrorKind::Connect => "store unreachable".to_string(),
                HttpErrorKind::Timeout => "store timed out".to_string(),
                HttpErrorKind::Interrupted => "connection to the store lost".to_string(),
                _ => "request to the store failed".to_string(),
            };
        }
        source = e.source();
    }
    match http_status(&text) {
        Some(status) => with_code(&format!("HTTP {status}")),
        None => with_code("request failed"),
    }
}

/// The `<Code>` of an S3 error document quoted in an error's text.
fn s3_error_code(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("<Code>")?;
    let (code, _) = rest.split_once("</Code>")?;
    let plausible = !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
    plausible.then_some(code)
}

/// The status in object_store's `... status code: 503 Service Unavailable ...`.
fn http_status(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("status code: ")?;
    let status = rest.get(..3)?;
    status.bytes().all(|b| b.is_ascii_digit()).then_some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: text.to_string().into(),
        }
    }

    #[test]
    fn errors_in_a_few_words() {
        let denied = object_store::Error::PermissionDenied {
            path: "x".into(),
            source: "Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?>\
                     <Error><Code>AccessDenied</Code><Message>Forbidden</Message></Error>"
                .into(),
        };
        assert_eq!(describe(&denied), "access denied (AccessDenied)");
        let missing = object_store::Error::NotFound {
            path: "x".into(),
            source: "<Code>NoSuchBucket</Code>".into(),
        };
        assert_eq!(describe(&missing), "bucket or key not found (NoSuchBucket)");
        assert_eq!(
            describe(&generic(
                "Error performing PUT in 1s - Server returned non-2xx status code: 503 Service Unavailable: "
            )),
            "HTTP 503"
        );
        assert_eq!(describe(&generic("something odd")), "request failed");
        let unreachable = object_store::Error::Generic {
            store: "S3",
            source: Box::new(HttpError::new(
                HttpErrorKind::Connect,
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
            )),
        };
        assert_eq!(describe(&unreachable), "store unreachable");
    }

    #[test]
    fn error_codes_must_look_like_codes() {
        assert_eq!(s3_error_code("<Code>Slow.Down</Code>"), Some("Slow.Down"));
        assert_eq!(s3_error_code("<Code>a b</Code>"), None);
        assert_eq!(s3_error_code("<Code></Code>"), None);
        assert_eq!(http_status("status code: 5x"), None);
    }
}
