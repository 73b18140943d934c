//! What each request gets: the three paths, and the refusals.

use bytes::Bytes;
use dcmrecv_metrics::Format;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

/// What a request asks for, decided from its head alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /metrics` in this format.
    Metrics(Format),
    /// `GET /healthz`.
    Healthz,
    /// `GET /readyz`.
    Readyz,
    /// Any other path.
    NotFound,
    /// A method other than GET and HEAD.
    MethodNotAllowed,
    /// A request with a body (we never read one).
    BodyNotAccepted,
}

pub(crate) fn route(method: &Method, path: &str, headers: &HeaderMap) -> Route {
    if has_body(headers) {
        return Route::BodyNotAccepted;
    }
    if method != Method::GET && method != Method::HEAD {
        return Route::MethodNotAllowed;
    }
    match path {
        "/metrics" => {
            let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
            Route::Metrics(Format::from_accept(accept))
        }
        "/healthz" => Route::Healthz,
        "/readyz" => Route::Readyz,
        _ => Route::NotFound,
    }
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get_all(header::CONTENT_LENGTH)
            .iter()
            .any(|v| v.as_bytes().iter().any(|&b| b != b'0'))
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The response of every route but `/metrics`, whose body is rendered elsewhere.
pub(crate) fn simple(
    route: Route,
    ready: impl FnOnce() -> Result<(), String>,
) -> Response<Full<Bytes>> {
    match route {
        Route::Healthz => text(StatusCode::OK, "ok\n"),
        Route::Readyz => match ready() {
            Ok(()) => text(StatusCode::OK, "ready\n"),
            Err(reason) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reason}\n"),
            ),
        },
        Route::NotFound => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics, /healthz or /readyz\n",
        ),
        Route::MethodNotAllowed => {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
        Route::BodyNotAccepted => {
            let mut response = text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request bodies are not accepted\n",
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        Route::Metrics(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "metrics not rendered\n"),
    }
}

/// The `/metrics` response for a rendered body (or a failed rendering).
pub(crate) fn metrics(format: Format, body: Option<String>) -> Response<Full<Bytes>> {
    match body {
        Some(body) => {
            let mut response = text(StatusCode::OK, body);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            response
        }
        None => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot render the metrics\n",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::route;
    use expect_test::{Expect, expect};
    use hyper::Method;
    use hyper::header::{HeaderMap, HeaderName, HeaderValue};

    fn check(method: Method, path: &str, headers: &[(&str, &str)], expect: Expect) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        expect.assert_eq(&format!("{:?}", route(&method, path, &map)));
    }

    #[test]
    fn routes() {
        check(Method::GET, "/metrics", &[], expect!["Metrics(Prometheus)"]);
        check(
            Method::GET,
            "/metrics",
            &[("accept", "application/openmetrics-text;version=1.0.0")],
            expect!["Metrics(OpenMetrics)"],
        );
        check(Method::HEAD, "/healthz", &[], expect!["Healthz"]);
        check(Method::GET, "/readyz", &[], expect!["Readyz"]);
        check(Method::GET, "/readyz/", &[], expect!["NotFound"]);
        check(Method::GET, "/", &[], expect!["NotFound"]);
        check(Method::GET, "/../metrics", &[], expect!["NotFound"]);
        check(Method::POST, "/metrics", &[], expect!["MethodNotAllowed"]);
        check(Method::DELETE, "/x", &[], expect!["MethodNotAllowed"]);
        check(
            Method::GET,
            "/metrics",
            &[("content-length", "0")],
            expect!["Metrics(Prometheus)"],
        );
        check(
            Method::GET,
            "/metrics",
            &[("content-length", "4294967295")],
            expect!["BodyNotAccepted"],
        );
        check(
            Method::POST,
            "/healthz",
            &[
                ("transfer-encoding", "chunked"),
                ("content-encoding", "gzip"),
            ],
            expect!["BodyNotAccepted"],
        );
    }
}
