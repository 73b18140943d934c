//! Logging set-up: DCMTK's verbosity options mapped onto a tracing-subscriber, DCMTK's line
//! format, `-lc` files, JSON lines.
//!
//! This is the only place that installs a subscriber (style guide §5). The default output is
//! DCMTK's console layout `%P: %m%n` on stderr: one upper-case level letter (`F E W I D T`), a
//! colon, a space and the event's message. No timestamps, targets, fields or spans; those appear
//! only with `--log-format json` (one JSON object per event, with the fields and the spans).
//!
//! Levels (DCMTK → tracing): default WARN; `-v` INFO; `-d` DEBUG; `-ll` any of `fatal`, `error`,
//! `warn`, `info`, `debug`, `trace` (also log4cplus's `off` and `all`); `-q` fatal only.
//! tracing has no FATAL level: a fatal event is an `error!` with target [`FATAL_TARGET`] (use the
//! [`fatal!`] macro), printed as `F:`. Events with target [`FORCED_TARGET`] are printed whatever
//! the level (DCMTK's forced log, used by `--arguments`). `RUST_LOG`, when set, replaces the level
//! the command line chose.

mod log_config;
mod pattern;

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::Mutex;

use snafu::Snafu;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::{LookupSpan, Registry};
use tracing_subscriber::{Layer, fmt};

use crate::cli::{LowArgs, Opt};

pub(crate) use log_config::{AppenderConfig, LogConfigFile, Output};
use pattern::{Pattern, PatternFormat};

/// The target that marks an `error!` event as fatal (printed as `F:`, shown even with `-q`).
pub(crate) const FATAL_TARGET: &str = "dcmrecv::fatal";

/// The target of events printed at any level (DCMTK's forced log lines).
pub(crate) const FORCED_TARGET: &str = "dcmrecv::forced";

/// The target whose INFO level `+v` requires (DCMTK checks its `dcmtk.apps.dcmrecv` logger).
const APP_TARGET: &str = "dcmrecv";

/// Logs a fatal event: an `error!` with target [`FATAL_TARGET`], printed as `F: <message>`.
macro_rules! fatal {
    ($($arg:tt)+) => {
        ::tracing::error!(target: $crate::logging::FATAL_TARGET, $($arg)+)
    };
}
pub(crate) use fatal;

/// A log level in DCMTK's (log4cplus's) terms; ordered from quietest to noisiest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LogLevel {
    /// Nothing at all (`-ll off`).
    Off,
    /// Fatal events only (`-q`).
    Fatal,
    /// Errors and worse.
    Error,
    /// Warnings and worse (the default).
    Warn,
    /// `-v`.
    Info,
    /// `-d`.
    Debug,
    /// Everything (`-ll trace`, `-ll all`).
    Trace,
}

impl LogLevel {
    /// Parses a log4cplus level name, case-insensitively.
    pub(crate) fn from_name(name: &str) -> Option<LogLevel> {
        const NAMES: [(&str, LogLevel); 8] = [
            ("off", LogLevel::Off),
            ("fatal", LogLevel::Fatal),
            ("error", LogLevel::Error),
            ("warn", LogLevel::Warn),
            ("info", LogLevel::Info),
            ("debug", LogLevel::Debug),
            ("trace", LogLevel::Trace),
            ("all", LogLevel::Trace),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, level)| level)
    }

    /// The level of an event: its tracing level, or [`LogLevel::Fatal`] for [`FATAL_TARGET`].
    pub(crate) fn of(meta: &Metadata<'_>) -> LogLevel {
        if meta.target() == FATAL_TARGET {
            return LogLevel::Fatal;
        }
        match *meta.level() {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        }
    }

    /// log4cplus's name (`%p`).
    pub(crate) const fn name(self) -> &'static str {
        match self {
            LogLevel::Off => "OFF",
            LogLevel::Fatal => "FATAL",
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }

    /// DCMTK's one-letter prefix (`%P`).
    pub(crate) const fn letter(self) -> char {
        match self {
            LogLevel::Off => 'O',
            LogLevel::Fatal => 'F',
            LogLevel::Error => 'E',
            LogLevel::Warn => 'W',
            LogLevel::Info => 'I',
            LogLevel::Debug => 'D',
            LogLevel::Trace => 'T',
        }
    }

    /// The `EnvFilter` directives for this level.
    fn directives(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Fatal => "off,dcmrecv::fatal=error",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// The shape of log lines (`--log-format`, not in DCMTK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// DCMTK's lines (default).
    Text,
    /// One JSON object per event.
    Json,
}

/// An error in the logging options (exit code 1). These are printed even with `-q`, as DCMTK
/// checks them before it enters quiet mode; the messages are DCMTK's, word for word.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub(crate) enum Error {
    /// `-ll` together with `-q`, `-v` or `-d`.
    #[snafu(display("--log-level not allowed with --verbose, --debug or --quiet"))]
    LogLevelWithVerbosity,
    /// `-ll` with a value that is not a level.
    #[snafu(display("Invalid log level for --log-level option"))]
    InvalidLogLevel {
        /// The value given.
        value: String,
    },
    /// `-lc` together with `-q`, `-v` or `-d`.
    #[snafu(display("--log-config not allowed with --verbose, --debug or --quiet"))]
    LogConfigWithVerbosity,
    /// `-lc` together with `-ll`.
    #[snafu(display("--log-config not allowed with --log-level"))]
    LogConfigWithLogLevel,
    /// The `-lc` file does not exist (or is not a file).
    #[snafu(display("Specified --log-config file does not exist"))]
    LogConfigMissing {
        /// The file.
        path: String,
    },
    /// The `-lc` file could not be read.
    #[snafu(display("Specified --log-config file cannot be read"))]
    ReadLogConfig {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The `-lc` file has no `key = value` line.
    #[snafu(display("Specified --log-config file does not contain any settings"))]
    LogConfigEmpty {
        /// The file.
        path: String,
    },
    /// The `-lc` file has no `log4cplus.` key.
    #[snafu(display("Specified --log-config file does not contain any valid settings"))]
    LogConfigInvalid {
        /// The file.
        path: String,
    },
    /// The `-lc` file does not set `log4cplus.rootLogger`.
    #[snafu(display("Specified --log-config file does not set up log4cplus.rootLogger"))]
    LogConfigWithoutRoot {
        /// The file.
        path: String,
    },
    /// `--log-format` with a value other than `text` or `json` (not in DCMTK).
    #[snafu(display("Invalid value for option --log-format ({value})"))]
    InvalidLogFormat {
        /// The value given.
        value: String,
    },
    /// `--log-format json` together with `-lc`, whose appenders have their own layouts (not in
    /// DCMTK).
    #[snafu(display("--log-format json not allowed with --log-config"))]
    JsonWithLogConfig,
}

/// The validated logging options.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogSettings {
    /// The level chosen by `-q`/`-v`/`-d`/`-ll` (WARN by default; the root level of a `-lc`
    /// file is in [`LogSettings::config_file`]).
    pub(crate) level: LogLevel,
    /// `--log-format`.
    pub(crate) format: LogFormat,
    /// `-lc`, loaded.
    pub(crate) config_file: Option<LogConfigFile>,
}

impl LogSettings {
    /// Evaluates the logging options in DCMTK's order (`OFLog::configureFromCommandLine`).
    pub(crate) fn from_args(args: &LowArgs) -> Result<LogSettings, Error> {
        let mut level = None;
        let mut block = args.block();
        for (opt, lvl) in [
            (Opt::Quiet, LogLevel::Fatal),
            (Opt::Verbose, LogLevel::Info),
            (Opt::Debug, LogLevel::Debug),
        ] {
            // Only the rightmost member of the block counts, `-q` included.
            if block.find(opt).is_some() {
                level = Some(lvl);
            }
        }
        if let Some(occurrence) = args.last(Opt::LogLevel) {
            if level.is_some() {
                return Err(Error::LogLevelWithVerbosity);
            }
            let value = occurrence.text(0);
            level = Some(
                LogLevel::from_name(&value).ok_or_else(|| Error::InvalidLogLevel {
                    value: value.into_owned(),
                })?,
            );
        }
        let format = match args.last(Opt::LogFormat) {
            None => LogFormat::Text,
            Some(occurrence) => match occurrence.text(0).as_ref() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(Error::InvalidLogFormat {
                        value: other.to_owned(),
                    });
                }
            },
        };
        let config_file = match args.last(Opt::LogConfig) {
            None => None,
            Some(occurrence) => {
                if args.has(Opt::LogLevel) {
                    return Err(Error::LogConfigWithLogLevel);
                }
                if level.is_some() {
                    return Err(Error::LogConfigWithVerbosity);
                }
                if format == LogFormat::Json {
                    return Err(Error::JsonWithLogConfig);
                }
                let path = PathBuf::from(occurrence.value(0));
                Some(log_config::load(&path, &log_config::Variables::current())?)
            }
        };
        Ok(LogSettings {
            level: level.unwrap_or(LogLevel::Warn),
            format,
            config_file,
        })
    }

    /// The level in force before `RUST_LOG`: the `-lc` root level, or the command line's.
    fn effective_level(&self) -> LogLevel {
        self.config_file
            .as_ref()
            .map_or(self.level, |file| file.root_level)
    }
}

/// The installed subscriber's properties the rest of start-up needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Logging {
    info_enabled: bool,
    error_enabled: bool,
}

impl Logging {
    /// Whether INFO events of the application are logged (`+v` requires it).
    pub(crate) fn info_enabled(self) -> bool {
        self.info_enabled
    }

    /// DCMTK's quiet mode: when the application's ERROR events are not logged (`-q`, `-ll fatal`,
    /// `-ll off`, a `-lc` file with root level FATAL...), semantic command-line errors are not
    /// printed either; the exit code stays 1.
    pub(crate) fn quiet(self) -> bool {
        !self.error_enabled
    }
}

/// One output of the subscriber, behind the global filter.
type BoxedLayer =
    Box<dyn Layer<tracing_subscriber::layer::Layered<EnvFilter, Registry>> + Send + Sync>;

/// Installs the global subscriber, then logs at WARN what the `-lc` file could not express.
pub(crate) fn init(settings: &LogSettings) -> Logging {
    let mut warnings = Vec::new();
    let directives = filter_directives(settings, &mut warnings);
    let (info_enabled, error_enabled) = {
        let probe = tracing_subscriber::registry().with(env_filter(&directives));
        tracing::subscriber::with_default(probe, || {
            (
                tracing::enabled!(target: APP_TARGET, Level::INFO),
                tracing::enabled!(target: APP_TARGET, Level::ERROR),
            )
        })
    };
    let mut layers: Vec<BoxedLayer> = Vec::new();
    match (settings.format, &settings.config_file) {
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
    Logging {
        info_enabled,
        error_enabled,
    }
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
pub(crate) fn log_arguments(args: &LowArgs) {
    let shown: String = args
        .long_form
        .iter()
        .filter(|a| !a.is_empty())
        .map(|a| format!("'{}' ", a.to_string_lossy()))
        .collect();
    tracing::info!(
        target: FORCED_TARGET,
        "calling '{}' with {} arguments: {shown}",
        args.program.to_string_lossy(),
        args.long_form.len()
    );
    tracing::info!(target: FORCED_TARGET, "");
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::cli::{Parsed, parse};

    fn settings(args: &[&str]) -> Result<LogSettings, String> {
        let mut all = vec![OsString::from("dcmrecv")];
        all.extend(args.iter().map(OsString::from));
        all.push(OsString::from("104"));
        match parse(all) {
            Ok(Parsed::Run(low)) => LogSettings::from_args(&low).map_err(|e| e.to_string()),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn level(args: &[&str]) -> LogLevel {
        settings(args).unwrap().level
    }

    #[test]
    fn verbosity_is_rightmost_wins() {
        assert_eq!(level(&[]), LogLevel::Warn);
        assert_eq!(level(&["-v"]), LogLevel::Info);
        assert_eq!(level(&["-d"]), LogLevel::Debug);
        assert_eq!(level(&["-q"]), LogLevel::Fatal);
        assert_eq!(level(&["-q", "-v"]), LogLevel::Info);
        assert_eq!(level(&["-v", "-q"]), LogLevel::Fatal);
        assert_eq!(level(&["-q", "-v", "-d"]), LogLevel::Debug);
        assert_eq!(level(&["-ll", "TRACE"]), LogLevel::Trace);
        assert_eq!(level(&["-ll", "Info"]), LogLevel::Info);
        assert_eq!(level(&["-ll", "off"]), LogLevel::Off);
        assert_eq!(level(&["-ll", "all"]), LogLevel::Trace);
        assert_eq!(level(&["-ll", "info", "-ll", "debug"]), LogLevel::Debug);
    }

    #[test]
    fn conflicts_follow_dcmtk() {
        let conflict = "--log-level not allowed with --verbose, --debug or --quiet";
        assert_eq!(settings(&["-v", "-ll", "debug"]).unwrap_err(), conflict);
        assert_eq!(settings(&["-ll", "debug", "-v"]).unwrap_err(), conflict);
        assert_eq!(settings(&["-q", "-ll", "foo"]).unwrap_err(), conflict);
        assert_eq!(
            settings(&["-ll", "warning"]).unwrap_err(),
            "Invalid log level for --log-level option"
        );
        assert_eq!(
            settings(&["-ll", " info"]).unwrap_err(),
            "Invalid log level for --log-level option"
        );
        assert_eq!(
            settings(&["-ll", "foo", "-lc", "x"]).unwrap_err(),
            "Invalid log level for --log-level option"
        );
        assert_eq!(
            settings(&["-lc", "x", "-ll", "info"]).unwrap_err(),
            "--log-config not allowed with --log-level"
        );
        assert_eq!(
            settings(&["-v", "-lc", "x"]).unwrap_err(),
            "--log-config not allowed with --verbose, --debug or --quiet"
        );
        assert_eq!(
            settings(&["-lc", "/nonexistent.cfg"]).unwrap_err(),
            "Specified --log-config file does not exist"
        );
    }

    #[test]
    fn log_format_is_ours() {
        assert_eq!(settings(&[]).unwrap().format, LogFormat::Text);
        assert_eq!(
            settings(&["--log-format", "json"]).unwrap().format,
            LogFormat::Json
        );
        assert_eq!(
            settings(&["--log-format", "json", "--log-format", "text"])
                .unwrap()
                .format,
            LogFormat::Text
        );
        assert_eq!(
            settings(&["--log-format", "xml"]).unwrap_err(),
            "Invalid value for option --log-format (xml)"
        );
    }

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
        fatal!("cannot specify output directory: Directory does not exist");
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

    #[test]
    fn levels_map_to_filters() {
        let enabled = |level: LogLevel, target: &'static str, lvl: Level| {
            let filter = env_filter(&format!("{},{FORCED_TARGET}=trace", level.directives()));
            let probe = tracing_subscriber::registry().with(filter);
            tracing::subscriber::with_default(probe, || match (target, lvl) {
                (FATAL_TARGET, Level::ERROR) => {
                    tracing::enabled!(target: FATAL_TARGET, Level::ERROR)
                }
                (FORCED_TARGET, Level::INFO) => {
                    tracing::enabled!(target: FORCED_TARGET, Level::INFO)
                }
                (_, Level::ERROR) => tracing::enabled!(target: APP_TARGET, Level::ERROR),
                (_, Level::WARN) => tracing::enabled!(target: APP_TARGET, Level::WARN),
                (_, Level::INFO) => tracing::enabled!(target: APP_TARGET, Level::INFO),
                _ => tracing::enabled!(target: APP_TARGET, Level::DEBUG),
            })
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
