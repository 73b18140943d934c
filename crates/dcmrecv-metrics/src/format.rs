//! The two text exposition formats and how a scrape chooses between them.

/// An exposition format for [`Metrics::encode`](crate::Metrics::encode).
///
/// ```
/// use dcmrecv_metrics::Format;
///
/// // What Prometheus 2.x and 3.x send:
/// let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(Format::from_accept(Some(accept)), Format::OpenMetrics);
/// // curl, a browser, an old scraper:
/// assert_eq!(Format::from_accept(Some("*/*")), Format::Prometheus);
/// assert_eq!(Format::from_accept(None).content_type(), "text/plain; version=0.0.4; charset=utf-8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (ends with `# EOF`).
    OpenMetrics,
    /// The Prometheus text format 0.0.4, which every scraper understands.
    Prometheus,
}

impl Format {
    /// OpenMetrics when the `Accept` header names it, otherwise the Prometheus text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        }
    }
}
