//! Installing the subscriber: DCMTK's verbosity mapped onto a tracing-subscriber `EnvFilter`,
//! DCMTK's line format, `-lc` appenders, JSON lines, and `--arguments`.

use std::fs::OpenOptions;
use std::sync::Mutex;

use dcmrecv_cmdline::Arguments;
use tracing::callsite::Identifier;
use tracing::field::FieldSet;
use tracing::metadata::Kind;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::{LookupSpan, Registry};
use tracing_subscriber::{Layer, fmt};

use crate::level::{FORCED_TARGET, LogLevel};
use crate::log_config::{AppenderConfig, Output};
use crate::options::{LogFormat, LogSettings};
use crate::pattern::{Pattern, PatternFormat};

/// The installed subscriber's properties the rest of start-up needs.
#[derive(Debug, Clone, Copy)]
pub struct Logging {
    info_enabled: bool,
    error_enabled: bool,
}

impl Logging {
    /// Whether INFO events of the application are logged (`+v` requires it).
    pub fn info_enabled(self) -> bool {
        self.info_enabled
    }

    /// DCMTK's quiet mode: when the application's ERROR events are not logged (`-q`, `-ll fatal`,
    /// `-ll off`, a `-lc` file with root level FATAL...), semantic command-line errors are not
    /// printed either; the exit code stays 1.
    pub fn quiet(self) -> bool {
        !self.error_enabled
    }
}

/// One output of the subscriber, behind the global filter.
type BoxedLayer =
    Box<dyn Layer<tracing_subscriber::layer::Layered<EnvFilter, Registry>> + Send + Sync>;

/// Installs the global subscriber (stderr, DCMTK's lines or JSON, or the `-lc` appenders),
/// then logs at WARN what the `-lc` file could not express. Call it once, from `main`.
pub fn init(settings: &LogSettings) -> Logging {
    let mut warnings = Vec::new();
    let directives = filter_directives(settings, &mut warnings);
    let logging = Logging {
        info_enabled: enabled(&directives, settings.app(), Level::INFO),
        error_enabled: enabled(&directives, settings.app(), Level::ERROR),
    };
    let mut layers: Vec<BoxedLayer> = Vec::new();
    match (settings.format(), settings.config_file()) {
        (LogFormat::Json, _) => layers.push(json_layer(std::io::stderr).boxed()),
        (LogFormat::Text, None) => layers.push(text_layer(std::io::stderr).boxed()),
        (LogFormat::Text, Some(file)) => {
            warnings.extend(file.warnings.iter().cloned());
            for appender in &file.appenders {
                match appender_layer(appender) {
                    Ok(layer) => layers.push(layer),
                    Err(warning) => warnings.push(warning),
                }
            }
        }
    }
    let subscriber = tracing_subscriber::registry()
        .with(env_filter(&directives))
        .with(layers);
    // Only fails if a subscriber is already installed, which `main` never does twice.
    let _ = tracing::subscriber::set_global_default(subscriber);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    logging
}

/// A call site that only lends its identity to [`enabled`]'s metadata.
struct Probe;

impl tracing::callsite::Callsite for Probe {
    fn set_interest(&self, _: tracing::subscriber::Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        &PROBE_METADATA
    }
}

static PROBE: Probe = Probe;

static PROBE_METADATA: Metadata<'static> = probe_metadata("probe", Level::TRACE);

const fn probe_metadata(target: &'static str, level: Level) -> Metadata<'static> {
    Metadata::new(
        "probe",
        target,
        level,
        None,
        None,
        None,
        FieldSet::new(&[], Identifier(&PROBE)),
        Kind::EVENT,
    )
}

/// Whether the filter `directives` let events of `target` at `level` through (DCMTK asks its
/// application logger, e.g. `dcmtk.apps.dcmrecv`). The target is the program's name, known
/// only at run time, so this asks a subscriber directly instead of through `tracing::enabled!`.
fn enabled(directives: &str, target: &'static str, level: Level) -> bool {
    let probe = tracing_subscriber::registry().with(env_filter(directives));
    probe.enabled(&probe_metadata(target, level))
}

/// DCMTK's lines: `%P: %m%n`.
fn text_layer<S>(writer: impl for<'w> MakeWriter<'w> + Send + Sync + 'static) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fmt::layer()
        .event_format(PatternFormat::new(Pattern::dcmtk_default()))
        .with_writer(writer)
}

/// JSON lines: per event the timestamp, level, message, fields, target, the current span and
/// the list of spans with their fields. A fatal event has level `ERROR` and target
/// [`FATAL_TARGET`].
fn json_layer<S>(writer: impl for<'w> MakeWriter<'w> + Send + Sync + 'static) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer)
}

/// The global filter: `RUST_LOG` if set (and valid), else the configured level; forced events
/// always pass.
fn filter_directives(settings: &LogSettings, warnings: &mut Vec<String>) -> String {
    let configured = settings.effective_level().directives();
    let chosen = match std::env::var("RUST_LOG") {
        Ok(rust_log) if !rust_log.trim().is_empty() => {
            match EnvFilter::builder().parse(&rust_log) {
                Ok(_) => rust_log,
                Err(e) => {
                    warnings.push(format!(
                        "ignoring RUST_LOG ({e}), using the command line's log level"
                    ));
                    configured.to_owned()
                }
            }
        }
        _ => configured.to_owned(),
    };
    format!("{chosen},{FORCED_TARGET}=trace")
}

fn env_filter(directives: &str) -> EnvFilter {
    // The directives were checked in `filter_directives`; a failure here cannot happen, and the
    // fallback keeps the default level.
    EnvFilter::builder()
        .parse(directives)
        .unwrap_or_else(|_| EnvFilter::new(LogLevel::Warn.directives()))
}

/// One `-lc` appender as a layer with its threshold.
fn appender_layer(appender: &AppenderConfig) -> Result<BoxedLayer, String> {
    let writer = match &appender.output {
        Output::Stdout => BoxMakeWriter::new(std::io::stdout),
        Output::Stderr => BoxMakeWriter::new(std::io::stderr),
        Output::Discard => BoxMakeWriter::new(std::io::sink),
        Output::File { path, append } => {
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .append(*append)
                .truncate(!*append)
                .open(path)
                .map_err(|e| {
                    format!(
                        "--log-config: cannot open log file {} of appender '{}' ({e}), ignored",
                        path.display(),
                        appender.name
                    )
                })?;
            BoxMakeWriter::new(Mutex::new(file))
        }
    };
    let threshold = appender.threshold;
    Ok(fmt::layer()
        .event_format(PatternFormat::new(appender.pattern.clone()))
        .with_writer(writer)
        .with_filter(filter_fn(move |meta| LogLevel::of(meta) <= threshold))
        .boxed())
}

/// Logs `--arguments`' forced INFO lines: `calling '<program>' with N arguments: '<a1>' ... `
/// and an empty line. As in DCMTK, empty arguments are counted but not shown.
pub fn log_arguments(args: &Arguments) {
    let shown: String = args
        .long_form()
        .iter()
        .filter(|a| !a.is_empty())
        .map(|a| format!("'{}' ", a.to_string_lossy()))
        .collect();
    tracing::info!(
        target: FORCED_TARGET,
        "calling '{}' with {} arguments: {shown}",
        args.program().to_string_lossy(),
        args.long_form().len()
    );
    tracing::info!(target: FORCED_TARGET, "");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::FATAL_TARGET;

    /// A writer that collects what the layers write.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn emit_samples() {
        let _span =
            tracing::info_span!("association", peer = "127.0.0.1", calling = "SCU").entered();
        tracing::info!(
            calling = "SCU",
            "Association Received localhost: SCU -> SCP"
        );
        crate::fatal!("cannot specify output directory: Directory does not exist");
        tracing::debug!("====== BEGIN A-ASSOCIATE-RQ ======\nOur Implementation Class UID:");
        tracing::warn!(target: FORCED_TARGET, "");
    }

    #[test]
    fn text_lines_are_dcmtks() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(text_layer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, emit_samples);
        expect_test::expect![[r#"
            I: Association Received localhost: SCU -> SCP
            F: cannot specify output directory: Directory does not exist
            D: ====== BEGIN A-ASSOCIATE-RQ ======
            D: Our Implementation Class UID:
            W: 
        "#]]
        .assert_eq(&buffer.text());
    }

    #[test]
    fn json_lines_have_fields_and_spans() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(json_layer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, emit_samples);
        let text = buffer.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let first = lines[0];
        for part in [
            "\"level\":\"INFO\"",
            "\"message\":\"Association Received localhost: SCU -> SCP\"",
            "\"calling\":\"SCU\"",
            "\"span\":{",
            "\"peer\":\"127.0.0.1\"",
            "\"spans\":[{",
            "\"name\":\"association\"",
        ] {
            assert!(first.contains(part), "{part} not in {first}");
        }
        assert!(
            lines[1].contains("\"target\":\"dcmrecv::fatal\""),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("\"message\":\"====== BEGIN A-ASSOCIATE-RQ ======\\nOur"),
            "{}",
            lines[2]
        );
    }

    const APP_TARGET: &str = "dcmrecv";

    #[test]
    fn levels_map_to_filters() {
        let enabled = |level: LogLevel, target: &'static str, lvl: Level| {
            let directives = format!("{},{FORCED_TARGET}=trace", level.directives());
            super::enabled(&directives, target, lvl)
        };
        assert!(enabled(LogLevel::Fatal, FATAL_TARGET, Level::ERROR));
        assert!(!enabled(LogLevel::Fatal, APP_TARGET, Level::ERROR));
        assert!(enabled(LogLevel::Fatal, FORCED_TARGET, Level::INFO));
        assert!(enabled(LogLevel::Off, FORCED_TARGET, Level::INFO));
        assert!(!enabled(LogLevel::Off, FATAL_TARGET, Level::ERROR));
        assert!(enabled(LogLevel::Warn, APP_TARGET, Level::WARN));
        assert!(!enabled(LogLevel::Warn, APP_TARGET, Level::INFO));
        assert!(enabled(LogLevel::Info, APP_TARGET, Level::INFO));
        assert!(!enabled(LogLevel::Info, APP_TARGET, Level::DEBUG));
        assert!(enabled(LogLevel::Debug, APP_TARGET, Level::DEBUG));
    }
}
