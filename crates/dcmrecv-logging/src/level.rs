//! DCMTK's (log4cplus's) log levels on tracing's, and the targets that mark fatal and forced
//! events.

use tracing::{Level, Metadata};

/// The target that marks an `error!` event as fatal (printed as `F:`, shown even with `-q`).
pub const FATAL_TARGET: &str = "dcmrecv::fatal";

/// The target of events printed at any level (DCMTK's forced log lines, e.g. `--arguments`).
pub const FORCED_TARGET: &str = "dcmrecv::forced";

/// Logs a fatal event: an `error!` with target [`FATAL_TARGET`], printed as `F: <message>`.
///
/// ```
/// dcmrecv_logging::fatal!("cannot listen on port {}", 104);
/// ```
#[macro_export]
macro_rules! fatal {
    ($($arg:tt)+) => {
        ::tracing::error!(target: $crate::FATAL_TARGET, $($arg)+)
    };
}

/// A log level in DCMTK's (log4cplus's) terms; ordered from quietest to noisiest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
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
    pub fn from_name(name: &str) -> Option<LogLevel> {
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
    pub fn of(meta: &Metadata<'_>) -> LogLevel {
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
    pub const fn name(self) -> &'static str {
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
    pub const fn letter(self) -> char {
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
    pub(crate) fn directives(self) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_letters_and_order_are_log4cplus_ones() {
        assert_eq!(LogLevel::from_name("Info"), Some(LogLevel::Info));
        assert_eq!(LogLevel::from_name("all"), Some(LogLevel::Trace));
        assert_eq!(LogLevel::from_name("warning"), None);
        assert_eq!(LogLevel::Fatal.name(), "FATAL");
        assert_eq!(LogLevel::Debug.letter(), 'D');
        assert!(LogLevel::Off < LogLevel::Fatal && LogLevel::Debug < LogLevel::Trace);
        assert!(FATAL_TARGET.starts_with("dcmrecv::"));
    }
}
