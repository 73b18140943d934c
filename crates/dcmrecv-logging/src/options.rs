//! The logging options: DCMTK's (`OFLog::addOptions`: `-q`, `-v`, `-d`, `-ll`, `-lc`) and
//! `--log-format` (ours), their rows for a program's option table, and their evaluation in
//! DCMTK's order.

use std::path::PathBuf;

use dcmrecv_cmdline::{Arguments, Layout};
use snafu::Snafu;

use crate::level::LogLevel;
use crate::log_config::{self, LogConfigFile};

dcmrecv_cmdline::option_table! {
    /// The logging options.
    pub enum LogOpt;

    /// `-q`: fatal messages only; command-line semantic errors are not printed.
    Quiet = Some("-q"), "--quiet", 0, ["quiet mode, print no warnings and errors"];
    /// `-v`: log level INFO.
    Verbose = Some("-v"), "--verbose", 0, ["verbose mode, print processing details"];
    /// `-d`: log level DEBUG.
    Debug = Some("-d"), "--debug", 0, ["debug mode, print debug information"];
    /// `-ll LEVEL`.
    LogLevel = Some("-ll"), "--log-level", 1, [
        "[l]evel: string constant",
        "(fatal, error, warn, info, debug, trace)",
        "use level l for the logger",
    ];
    /// `-lc FILE`: a log4cplus-style logger configuration.
    LogConfig = Some("-lc"), "--log-config", 1, [
        "[f]ilename: string",
        "use config file f for the logger",
    ];
    /// `--log-format FORMAT` (not in DCMTK).
    LogFormat = None, "--log-format", 1, [
        "[f]ormat: string (text, json; default: text)",
        "text: DCMTK's lines; json: one JSON object",
        "per event, with fields and spans",
    ];
}

/// DCMTK's logging rows, in DCMTK's order, for a program's "general options" group.
/// `--log-format` (not in DCMTK) is left for the program to place with its extensions:
/// `Layout::Option(LogOpt::LogFormat.spec())`.
pub const HELP_LAYOUT: &[Layout] = &[
    Layout::Option(LogOpt::Quiet.spec()),
    Layout::Option(LogOpt::Verbose.spec()),
    Layout::Option(LogOpt::Debug.spec()),
    Layout::Option(LogOpt::LogLevel.spec()),
    Layout::Option(LogOpt::LogConfig.spec()),
];

/// The shape of log lines (`--log-format`, not in DCMTK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// DCMTK's lines (default).
    Text,
    /// One JSON object per event.
    Json,
}

/// An error in the logging options (exit code 1). These are printed even with `-q`, as DCMTK
/// checks them before it enters quiet mode; the messages are DCMTK's, word for word.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum Error {
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
///
/// ```
/// use dcmrecv_logging::{LogFormat, LogLevel, LogSettings};
///
/// const TOOL: dcmrecv_cmdline::CommandLine =
///     dcmrecv_cmdline::CommandLine::new("tool", "tool 1.0", "A tool")
///         .layout(dcmrecv_logging::HELP_LAYOUT);
/// let args = TOOL.parse(["tool", "-v", "-d"].map(Into::into))?.unwrap();
/// let settings = LogSettings::from_args(&args, "tool")?;
/// assert_eq!(settings.level(), LogLevel::Debug); // rightmost wins
/// assert_eq!(settings.format(), LogFormat::Text);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// The program's name: `${appname}` in `-lc` files, and the target whose levels `-q`/`+v`
    /// checks look at.
    app: &'static str,
    /// The level chosen by `-q`/`-v`/`-d`/`-ll` (WARN by default; the root level of a `-lc`
    /// file is in `config_file`).
    level: LogLevel,
    /// `--log-format`.
    format: LogFormat,
    /// `-lc`, loaded.
    config_file: Option<LogConfigFile>,
}

impl LogSettings {
    /// Evaluates the logging options in DCMTK's order (`OFLog::configureFromCommandLine`) for
    /// the program `app` (`dcmrecv`): the tracing target of its events and `${appname}`.
    pub fn from_args(args: &Arguments, app: &'static str) -> Result<LogSettings, Error> {
        let mut level = None;
        let mut block = args.block();
        for (opt, lvl) in [
            (LogOpt::Quiet, LogLevel::Fatal),
            (LogOpt::Verbose, LogLevel::Info),
            (LogOpt::Debug, LogLevel::Debug),
        ] {
            // Only the rightmost member of the block counts, `-q` included.
            if block.find(opt).is_some() {
                level = Some(lvl);
            }
        }
        if let Some(occurrence) = args.last(LogOpt::LogLevel) {
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
        let format = match args.last(LogOpt::LogFormat) {
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
        let config_file = match args.last(LogOpt::LogConfig) {
            None => None,
            Some(occurrence) => {
                if args.has(LogOpt::LogLevel) {
                    return Err(Error::LogConfigWithLogLevel);
                }
                if level.is_some() {
                    return Err(Error::LogConfigWithVerbosity);
                }
                if format == LogFormat::Json {
                    return Err(Error::JsonWithLogConfig);
                }
                let path = PathBuf::from(occurrence.value(0));
                Some(log_config::load(
                    &path,
                    &log_config::Variables::current(app),
                )?)
            }
        };
        Ok(LogSettings {
            app,
            level: level.unwrap_or(LogLevel::Warn),
            format,
            config_file,
        })
    }

    /// The level chosen by `-q`/`-v`/`-d`/`-ll` (WARN by default).
    pub fn level(&self) -> LogLevel {
        self.level
    }

    /// `--log-format`.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// The program's name.
    pub fn app(&self) -> &'static str {
        self.app
    }

    /// The loaded `-lc` file.
    pub(crate) fn config_file(&self) -> Option<&LogConfigFile> {
        self.config_file.as_ref()
    }

    /// The level in force before `RUST_LOG`: the `-lc` root level, or the command line's.
    pub(crate) fn effective_level(&self) -> LogLevel {
        self.config_file
            .as_ref()
            .map_or(self.level, |file| file.root_level)
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use dcmrecv_cmdline::CommandLine;

    use super::*;

    const ALL: &[Layout] = &[
        Layout::Include(HELP_LAYOUT),
        Layout::Option(LogOpt::LogFormat.spec()),
    ];
    const TOOL: CommandLine = CommandLine::new("dcmrecv", "test", "test").layout(ALL);

    fn settings(args: &[&str]) -> Result<LogSettings, String> {
        let all = std::iter::once("dcmrecv")
            .chain(args.iter().copied())
            .chain(["104"]);
        let low = TOOL.parse(all.map(OsString::from)).unwrap().unwrap();
        LogSettings::from_args(&low, "dcmrecv").map_err(|e| e.to_string())
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

    #[test]
    fn the_table_is_well_formed() {
        assert_eq!(dcmrecv_cmdline::layout::check(ALL), Ok(()));
        assert_eq!(
            dcmrecv_cmdline::layout::options(ALL).count(),
            LogOpt::ALL.len()
        );
    }
}
