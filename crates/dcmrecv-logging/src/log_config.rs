//! `-lc`/`--log-config`: DCMTK's log4cplus property files (e.g. `/etc/dcmtk/logger.cfg`), for
//! what maps onto our subscriber.
//!
//! Understood: `log4cplus.rootLogger = LEVEL, appender...`; appenders of type `ConsoleAppender`
//! (`logToStderr`, default stdout as in log4cplus), `FileAppender` (`File`, `Append`, default
//! truncate as in log4cplus), the rolling file appenders (written as plain files: no rotation)
//! and `NullAppender`; per appender `Threshold`, `ImmediateFlush` (we always flush) and a
//! `SimpleLayout` or `PatternLayout` with its `ConversionPattern` (see [`Pattern`]). Values may
//! use `${name}`: another property, then DCMTK's `appname`, `date`, `time`, `pid` and `hostname`,
//! then the environment; unknown names stay as written. Everything else (per-logger levels,
//! additivity, filters, other appender types...) is listed in [`LogConfigFile::warnings`], which
//! the subscriber logs at WARN once it is installed.
//!
//! The file is rejected, with DCMTK's messages, if it does not exist, cannot be read, has no
//! `key = value` line, has no `log4cplus.` key, or does not set `log4cplus.rootLogger`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::level::LogLevel;
use crate::options::Error;
use crate::pattern::Pattern;

/// A loaded `-lc` file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogConfigFile {
    /// The file, as given.
    pub(crate) path: PathBuf,
    /// The root logger's level.
    pub(crate) root_level: LogLevel,
    /// The root logger's appenders that we can honour.
    pub(crate) appenders: Vec<AppenderConfig>,
    /// What was ignored, and why; logged at WARN once logging is set up.
    pub(crate) warnings: Vec<String>,
}

/// One appender.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AppenderConfig {
    /// Its name in the file.
    pub(crate) name: String,
    /// Where its lines go.
    pub(crate) output: Output,
    /// Events below this level are not written (log4cplus's `Threshold`).
    pub(crate) threshold: LogLevel,
    /// Its layout.
    pub(crate) pattern: Pattern,
}

/// Where an appender writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    /// Standard output (log4cplus's `ConsoleAppender` default).
    Stdout,
    /// Standard error (`logToStderr = true`).
    Stderr,
    /// A file, appended to or truncated when logging starts.
    File {
        /// The file, relative to the working directory unless absolute.
        path: PathBuf,
        /// `Append = true`.
        append: bool,
    },
    /// Nowhere (`NullAppender`).
    Discard,
}

/// The values DCMTK predefines for `${...}` in a log configuration.
#[derive(Debug, Clone)]
pub(crate) struct Variables {
    /// `${appname}`: the program's name (`dcmrecv`).
    pub(crate) appname: String,
    /// `${date}`: `YYYYMMDD` when the file was read.
    pub(crate) date: String,
    /// `${time}`: `HHMMSS` when the file was read.
    pub(crate) time: String,
    /// `${pid}`.
    pub(crate) pid: String,
    /// `${hostname}`.
    pub(crate) hostname: String,
    /// The environment, consulted last.
    pub(crate) env: fn(&str) -> Option<String>,
}

impl Variables {
    /// The values for this process, now.
    pub(crate) fn current(appname: &str) -> Variables {
        let now = chrono::Local::now();
        Variables {
            appname: appname.into(),
            date: now.format("%Y%m%d").to_string(),
            time: now.format("%H%M%S").to_string(),
            pid: std::process::id().to_string(),
            hostname: dns_lookup::get_hostname().unwrap_or_else(|_| "localhost".into()),
            env: |name| std::env::var(name).ok(),
        }
    }
}

/// Reads and interprets a `-lc` file.
pub(crate) fn load(path: &Path, vars: &Variables) -> Result<LogConfigFile, Error> {
    let shown = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        _ => return Err(Error::LogConfigMissing { path: shown }),
    }
    let bytes = std::fs::read(path).map_err(|source| Error::ReadLogConfig {
        path: shown,
        source,
    })?;
    interpret(path, &String::from_utf8_lossy(&bytes), vars)
}

/// log4cplus's property-file syntax: `key = value` lines, `#` comments; the last value of a key
/// wins.
fn properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

/// Interprets the text of a `-lc` file (split from [`load`] for tests).
fn interpret(path: &Path, text: &str, vars: &Variables) -> Result<LogConfigFile, Error> {
    let shown = path.display().to_string();
    let props = properties(text);
    if props.is_empty() {
        return Err(Error::LogConfigEmpty { path: shown });
    }
    if !props.keys().any(|k| k.starts_with("log4cplus.")) {
        return Err(Error::LogConfigInvalid { path: shown });
    }
    let Some(root) = props.get("log4cplus.rootLogger") else {
        return Err(Error::LogConfigWithoutRoot { path: shown });
    };
    let expander = Expander {
        props: &props,
        vars,
    };
    let mut warnings = Vec::new();

    let root = expander.expand(root);
    let mut root_items = root.split(',').map(str::trim);
    let level_name = root_items.next().unwrap_or_default();
    let root_level = LogLevel::from_name(level_name).unwrap_or_else(|| {
        warnings.push(format!(
            "--log-config: invalid level '{level_name}' in log4cplus.rootLogger, using WARN"
        ));
        LogLevel::Warn
    });
    let names: Vec<&str> = root_items.filter(|n| !n.is_empty()).collect();
    let appenders = names
        .iter()
        .filter_map(|name| appender(name, &expander, vars, &mut warnings))
        .collect();

    // Everything under log4cplus. that is neither the root logger nor a property of one of its
    // appenders is not honoured.
    let mut per_logger = Vec::new();
    for key in props.keys() {
        let Some(rest) = key.strip_prefix("log4cplus.") else {
            continue;
        };
        if rest == "rootLogger" {
            continue;
        }
        if rest.starts_with("logger.") || rest.starts_with("additivity.") {
            per_logger.push(key.as_str());
            continue;
        }
        let appender = rest
            .strip_prefix("appender.")
            .map(|a| a.split('.').next().unwrap_or(a));
        match appender {
            // Appenders the root logger names were handled above; others could only serve the
            // per-logger settings, which are reported.
            Some(_) => {}
            None => warnings.push(format!("--log-config: ignoring unsupported setting {key}")),
        }
    }
    if !per_logger.is_empty() {
        warnings.push(format!(
            "--log-config: per-logger settings are not supported, ignoring {}",
            per_logger.join(", ")
        ));
    }
    Ok(LogConfigFile {
        path: path.to_owned(),
        root_level,
        appenders,
        warnings,
    })
}

/// Builds one appender named by the root logger.
fn appender(
    name: &str,
    expander: &Expander<'_>,
    vars: &Variables,
    warnings: &mut Vec<String>,
) -> Option<AppenderConfig> {
    let prefix = format!("log4cplus.appender.{name}");
    let Some(kind) = expander.get(&prefix) else {
        warnings.push(format!(
            "--log-config: appender '{name}' of log4cplus.rootLogger is not defined, ignored"
        ));
        return None;
    };
    let prop = |key: &str| expander.get(&format!("{prefix}.{key}"));
    let flag = |key: &str| prop(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let kind = kind.trim_start_matches("log4cplus::");
    let mut known: Vec<&str> = vec![
        "Threshold",
        "ImmediateFlush",
        "layout",
        "layout.ConversionPattern",
    ];
    let output = match kind {
        "ConsoleAppender" => {
            known.push("logToStderr");
            if flag("logToStderr") {
                Output::Stderr
            } else {
                Output::Stdout
            }
        }
        "FileAppender"
        | "RollingFileAppender"
        | "DailyRollingFileAppender"
        | "TimeBasedRollingFileAppender" => {
            known.extend(["File", "Append"]);
            if kind != "FileAppender" {
                known.extend([
                    "MaxFileSize",
                    "MaxBackupIndex",
                    "Schedule",
                    "DatePattern",
                    "FilenamePattern",
                    "MaxHistory",
                    "CleanHistoryOnStart",
                    "RollOnClose",
                ]);
                warnings.push(format!(
                    "--log-config: appender '{name}': log file rotation is not supported, writing one file"
                ));
            }
            let Some(file) = prop("File") else {
                warnings.push(format!(
                    "--log-config: appender '{name}' has no File, ignored"
                ));
                return None;
            };
            Output::File {
                path: PathBuf::from(file),
                append: flag("Append"),
            }
        }
        "NullAppender" => Output::Discard,
        other => {
            warnings.push(format!(
                "--log-config: appender '{name}' of type {other} is not supported, ignored"
            ));
            return None;
        }
    };
    let sub_prefix = format!("{prefix}.");
    for key in expander.props.keys() {
        if let Some(sub) = key.strip_prefix(&sub_prefix) {
            if !known.contains(&sub) {
                warnings.push(format!("--log-config: ignoring unsupported setting {key}"));
            }
        }
    }
    let threshold = match prop("Threshold") {
        None => LogLevel::Trace,
        Some(level) => LogLevel::from_name(&level).unwrap_or_else(|| {
            warnings.push(format!(
                "--log-config: appender '{name}': invalid Threshold '{level}', ignored"
            ));
            LogLevel::Trace
        }),
    };
    let pattern = match prop("layout")
        .as_deref()
        .map(|l| l.trim_start_matches("log4cplus::"))
    {
        None | Some("SimpleLayout") => Pattern::simple(),
        Some("PatternLayout") => Pattern::parse(
            &prop("layout.ConversionPattern").unwrap_or_else(|| "%m%n".into()),
            vars.hostname.clone(),
            warnings,
        ),
        Some(other) => {
            warnings.push(format!(
                "--log-config: appender '{name}': layout {other} is not supported, using SimpleLayout"
            ));
            Pattern::simple()
        }
    };
    Some(AppenderConfig {
        name: name.to_owned(),
        output,
        threshold,
        pattern,
    })
}

/// `${...}` expansion.
struct Expander<'a> {
    props: &'a BTreeMap<String, String>,
    vars: &'a Variables,
}

impl Expander<'_> {
    /// A property's value, expanded.
    fn get(&self, key: &str) -> Option<String> {
        self.props.get(key).map(|v| self.expand(v))
    }

    fn expand(&self, value: &str) -> String {
        self.expand_at_depth(value, 0)
    }

    fn expand_at_depth(&self, value: &str, depth: usize) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            let (before, after) = rest.split_at(start);
            out.push_str(before);
            let Some(end) = after.find('}') else {
                out.push_str(after);
                return out;
            };
            let name = after.get(2..end).unwrap_or_default();
            match self.lookup(name, depth) {
                Some(v) => out.push_str(&v),
                None => out.push_str(after.get(..=end).unwrap_or_default()),
            }
            rest = after.get(end + 1..).unwrap_or_default();
        }
        out.push_str(rest);
        out
    }

    fn lookup(&self, name: &str, depth: usize) -> Option<String> {
        // A bound on nesting keeps `a = ${a}` from recursing forever.
        if let Some(v) = self.props.get(name).filter(|_| depth < 8) {
            return Some(self.expand_at_depth(v, depth + 1));
        }
        let vars = self.vars;
        match name {
            "appname" => Some(vars.appname.clone()),
            "date" => Some(vars.date.clone()),
            "time" => Some(vars.time.clone()),
            "pid" => Some(vars.pid.clone()),
            "hostname" => Some(vars.hostname.clone()),
            _ => (vars.env)(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Variables {
        Variables {
            appname: "dcmrecv".into(),
            date: "20240131".into(),
            time: "235959".into(),
            pid: "4242".into(),
            hostname: "host".into(),
            env: |name| (name == "LOGDIR").then(|| "/var/log".to_owned()),
        }
    }

    fn interpreted(text: &str) -> Result<LogConfigFile, String> {
        interpret(Path::new("x.cfg"), text, &vars()).map_err(|e| e.to_string())
    }

    /// DCMTK's `/etc/dcmtk/logger.cfg` (dcmtk 3.6.7), kept as a test fixture.
    const DCMTK_LOGGER_CFG: &str = include_str!("../tests/data/logger.cfg");

    #[test]
    fn dcmtk_logger_cfg_maps() {
        let file = interpreted(DCMTK_LOGGER_CFG).unwrap();
        assert_eq!(file.root_level, LogLevel::Debug);
        let [console, logfile] = file.appenders.as_slice() else {
            panic!("{:?}", file.appenders);
        };
        assert_eq!(console.name, "console");
        assert_eq!(console.output, Output::Stderr);
        assert_eq!(console.threshold, LogLevel::Info);
        assert_eq!(logfile.name, "logfile");
        assert_eq!(
            logfile.output,
            Output::File {
                path: "dcmrecv.log".into(),
                append: true
            }
        );
        assert_eq!(logfile.threshold, LogLevel::Trace);
        assert_eq!(
            file.warnings,
            [
                "--log-config: per-logger settings are not supported, ignoring log4cplus.logger.dcmtk.apps.movescu.progress, log4cplus.logger.dcmtk.apps.storescp.progress, log4cplus.logger.dcmtk.apps.storescu.progress, log4cplus.logger.dcmtk.dcmnet.responses, log4cplus.logger.dcmtk.dcmqrdb.progress"
            ]
        );
    }

    #[test]
    fn errors_follow_dcmtk() {
        assert_eq!(
            interpreted("# only a comment\n"),
            Err("Specified --log-config file does not contain any settings".into())
        );
        assert_eq!(
            interpreted("log4cplus.rootLogger\n"),
            Err("Specified --log-config file does not contain any settings".into())
        );
        assert_eq!(
            interpreted("foo.bar = 1\n"),
            Err("Specified --log-config file does not contain any valid settings".into())
        );
        assert_eq!(
            interpreted("log4cplus.appender.c = log4cplus::ConsoleAppender\n"),
            Err("Specified --log-config file does not set up log4cplus.rootLogger".into())
        );
        let missing = load(Path::new("/nonexistent/logger.cfg"), &vars()).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "Specified --log-config file does not exist"
        );
        let dir = load(Path::new("/"), &vars()).unwrap_err();
        assert_eq!(
            dir.to_string(),
            "Specified --log-config file does not exist"
        );
    }

    #[test]
    fn variables_expand() {
        let file = interpreted(
            "dir = ${LOGDIR}/dcm\n\
             log4cplus.rootLogger = INFO, f\n\
             log4cplus.appender.f = log4cplus::FileAppender\n\
             log4cplus.appender.f.File = ${dir}/${appname}-${date}-${time}-${pid}-${hostname}-${nosuch}.log\n",
        )
        .unwrap();
        assert_eq!(
            file.appenders[0].output,
            Output::File {
                path: "/var/log/dcm/dcmrecv-20240131-235959-4242-host-${nosuch}.log".into(),
                append: false
            }
        );
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    }

    #[test]
    fn what_does_not_map_is_reported() {
        let file = interpreted(
            "log4cplus.rootLogger = verbose, a, b, c, d, e\n\
             log4cplus.appender.a = log4cplus::RollingFileAppender\n\
             log4cplus.appender.a.File = a.log\n\
             log4cplus.appender.a.MaxFileSize = 5MB\n\
             log4cplus.appender.b = log4cplus::SysLogAppender\n\
             log4cplus.appender.c = log4cplus::ConsoleAppender\n\
             log4cplus.appender.c.layout = log4cplus::TTCCLayout\n\
             log4cplus.appender.c.filters.1 = log4cplus::spi::DenyAllFilter\n\
             log4cplus.appender.c.Threshold = LOUD\n\
             log4cplus.appender.d = log4cplus::FileAppender\n\
             log4cplus.appender.e = log4cplus::NullAppender\n\
             log4cplus.configDebug = true\n",
        )
        .unwrap();
        assert_eq!(file.root_level, LogLevel::Warn);
        let names: Vec<_> = file.appenders.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "e"]);
        assert_eq!(file.appenders[1].output, Output::Stdout);
        assert_eq!(file.appenders[2].output, Output::Discard);
        expect_test::expect![[r#"
            --log-config: invalid level 'verbose' in log4cplus.rootLogger, using WARN
            --log-config: appender 'a': log file rotation is not supported, writing one file
            --log-config: appender 'b' of type SysLogAppender is not supported, ignored
            --log-config: ignoring unsupported setting log4cplus.appender.c.filters.1
            --log-config: appender 'c': invalid Threshold 'LOUD', ignored
            --log-config: appender 'c': layout TTCCLayout is not supported, using SimpleLayout
            --log-config: appender 'd' has no File, ignored
            --log-config: ignoring unsupported setting log4cplus.configDebug"#]]
        .assert_eq(&file.warnings.join("\n"));
    }
}
