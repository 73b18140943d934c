//! log4cplus's `PatternLayout`, for the default text output (`%P: %m%n`) and for `-lc` files.
//!
//! Supported conversions: `%m` message, `%n` newline, `%p` level name, `%P` level letter, `%c`
//! (the event's target; `%c{n}` its last n `::` components), `%i` process id, `%h`/`%H` host
//! name, `%F`/`%b`/`%L`/`%l` source file, base name, line and `file:line`, `%M` module path
//! (Rust has no function names at run time), `%t`/`%T` thread name, `%r` milliseconds since
//! start, `%D{fmt}`/`%d{fmt}` local/UTC time with strftime plus log4cplus's `%q` (milliseconds)
//! and `%Q` (milliseconds with fraction), and `%%`. Each may carry `-` (left-align), a minimum
//! width and `.max` (keeps the last max characters, as log4cplus does). Anything else (`%x`, `%X`,
//! ...) is reported in `warnings` and prints nothing.
//!
//! A message with several lines is written once per line, so that every line gets the prefix
//! (DCMTK does this for its multi-line dumps).

use std::fmt::{self, Write as _};
use std::time::Instant;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Local, Timelike, Utc};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::level::LogLevel;

/// A parsed conversion pattern.
#[derive(Clone, PartialEq)]
pub(crate) struct Pattern {
    /// The pattern as written, for `Debug`.
    source: String,
    parts: Vec<Part>,
    /// The host name, resolved once, for `%h`/`%H`.
    hostname: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Conversion {
        conversion: Conversion,
        padding: Padding,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Padding {
    left_align: bool,
    min: usize,
    max: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Conversion {
    Message,
    Newline,
    LevelName,
    LevelLetter,
    Logger { components: Option<usize> },
    Pid,
    Hostname,
    File,
    Basename,
    Line,
    FileLine,
    Module,
    Thread,
    Relative,
    Date { utc: bool, pieces: Vec<DatePiece> },
}

#[derive(Debug, Clone, PartialEq)]
enum DatePiece {
    Strftime(String),
    Millis,
    MillisFraction,
}

/// What one event contributes to a formatted line.
struct Record<'a> {
    level: LogLevel,
    target: &'a str,
    module: Option<&'a str>,
    file: Option<&'a str>,
    line: Option<u32>,
    message: &'a str,
}

impl Pattern {
    /// DCMTK's console layout: `%P: %m%n`.
    pub(crate) fn dcmtk_default() -> Pattern {
        Pattern::parse("%P: %m%n", String::new(), &mut Vec::new())
    }

    /// log4cplus's `SimpleLayout`: `%p - %m%n`.
    pub(crate) fn simple() -> Pattern {
        Pattern::parse("%p - %m%n", String::new(), &mut Vec::new())
    }

    /// Parses a `ConversionPattern`; unsupported conversions are described in `warnings`.
    pub(crate) fn parse(text: &str, hostname: String, warnings: &mut Vec<String>) -> Pattern {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let mut padding = Padding::default();
            if chars.next_if_eq(&'-').is_some() {
                padding.left_align = true;
            }
            padding.min = take_number(&mut chars).unwrap_or(0);
            if chars.next_if_eq(&'.').is_some() {
                padding.max = take_number(&mut chars);
            }
            let Some(letter) = chars.next() else {
                literal.push('%');
                break;
            };
            let option =
                if matches!(letter, 'c' | 'd' | 'D' | 'X' | 'E') && chars.peek() == Some(&'{') {
                    chars.next();
                    Some(chars.by_ref().take_while(|&c| c != '}').collect::<String>())
                } else {
                    None
                };
            let conversion = match letter {
                '%' => {
                    literal.push('%');
                    continue;
                }
                'm' => Conversion::Message,
                'n' => Conversion::Newline,
                'p' => Conversion::LevelName,
                'P' => Conversion::LevelLetter,
                'c' => Conversion::Logger {
                    components: option.as_deref().and_then(|o| o.trim().parse().ok()),
                },
                'i' => Conversion::Pid,
                'h' | 'H' => Conversion::Hostname,
                'F' => Conversion::File,
                'b' => Conversion::Basename,
                'L' => Conversion::Line,
                'l' => Conversion::FileLine,
                'M' => Conversion::Module,
                't' | 'T' => Conversion::Thread,
                'r' => Conversion::Relative,
                'd' | 'D' => match date_pieces(option.as_deref().unwrap_or("%Y-%m-%d %H:%M:%S")) {
                    Some(pieces) => Conversion::Date {
                        utc: letter == 'd',
                        pieces,
                    },
                    None => {
                        warnings.push(format!(
                            "unsupported date format in conversion pattern '{text}', left out"
                        ));
                        continue;
                    }
                },
                other => {
                    warnings.push(format!(
                        "unsupported conversion %{other} in conversion pattern '{text}', left out"
                    ));
                    continue;
                }
            };
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Conversion {
                conversion,
                padding,
            });
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Pattern {
            source: text.to_owned(),
            parts,
            hostname,
        }
    }

    /// Writes one formatted line for `record`.
    fn write(
        &self,
        out: &mut impl fmt::Write,
        record: &Record<'_>,
        now: Option<Now>,
    ) -> fmt::Result {
        let mut field = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.write_str(text)?,
                Part::Conversion {
                    conversion,
                    padding,
                } => {
                    field.clear();
                    self.convert(&mut field, conversion, record, now)?;
                    padding.write(out, &field)?;
                }
            }
        }
        Ok(())
    }

    fn convert(
        &self,
        out: &mut String,
        conversion: &Conversion,
        record: &Record<'_>,
        now: Option<Now>,
    ) -> fmt::Result {
        match conversion {
            Conversion::Message => out.push_str(record.message),
            Conversion::Newline => out.push('\n'),
            Conversion::LevelName => out.push_str(record.level.name()),
            Conversion::LevelLetter => out.push(record.level.letter()),
            Conversion::Logger { components } => {
                let target = match components {
                    Some(n) => {
                        let parts: Vec<&str> = record.target.split("::").collect();
                        parts
                            .get(parts.len().saturating_sub(*n)..)
                            .unwrap_or_default()
                            .join("::")
                    }
                    None => record.target.to_owned(),
                };
                out.push_str(&target);
            }
            Conversion::Pid => write!(out, "{}", std::process::id())?,
            Conversion::Hostname => out.push_str(&self.hostname),
            Conversion::File => out.push_str(record.file.unwrap_or_default()),
            Conversion::Basename => {
                let file = record.file.unwrap_or_default();
                out.push_str(file.rsplit(['/', '\\']).next().unwrap_or(file));
            }
            Conversion::Line => {
                if let Some(line) = record.line {
                    write!(out, "{line}")?;
                }
            }
            Conversion::FileLine => {
                write!(out, "{}:", record.file.unwrap_or_default())?;
                if let Some(line) = record.line {
                    write!(out, "{line}")?;
                }
            }
            Conversion::Module => out.push_str(record.module.unwrap_or_default()),
            Conversion::Thread => {
                let thread = std::thread::current();
                match thread.name() {
                    Some(name) => out.push_str(name),
                    None => write!(out, "{:?}", thread.id())?,
                }
            }
            Conversion::Relative => {
                if let Some(now) = now {
                    write!(out, "{}", now.since_start.as_millis())?;
                }
            }
            Conversion::Date { utc, pieces } => {
                if let Some(now) = now {
                    if *utc {
                        write_date(out, &now.utc, pieces)?;
                    } else {
                        write_date(out, &now.local, pieces)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether formatting needs the clock.
    fn uses_time(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                Part::Conversion {
                    conversion: Conversion::Date { .. } | Conversion::Relative,
                    ..
                }
            )
        })
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.source).finish()
    }
}

impl Padding {
    fn write(&self, out: &mut impl fmt::Write, field: &str) -> fmt::Result {
        let len = field.chars().count();
        let field = match self.max {
            // log4cplus keeps the end of a field that is too long.
            Some(max) if len > max => {
                let skip = field
                    .char_indices()
                    .nth(len - max)
                    .map_or(field.len(), |(i, _)| i);
                field.get(skip..).unwrap_or_default()
            }
            _ => field,
        };
        let pad = self.min.saturating_sub(field.chars().count());
        if self.left_align {
            out.write_str(field)?;
        }
        for _ in 0..pad {
            out.write_char(' ')?;
        }
        if !self.left_align {
            out.write_str(field)?;
        }
        Ok(())
    }
}

fn take_number(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut digits = String::new();
    while let Some(d) = chars.next_if(char::is_ascii_digit) {
        digits.push(d);
    }
    digits.parse().ok()
}

/// Splits a date format into strftime runs and log4cplus's `%q`/`%Q`; `None` if chrono cannot
/// format it (so formatting can never fail later).
fn date_pieces(format: &str) -> Option<Vec<DatePiece>> {
    let mut pieces = Vec::new();
    let mut run = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            run.push(c);
            continue;
        }
        match chars.next() {
            Some(q @ ('q' | 'Q')) => {
                if !run.is_empty() {
                    pieces.push(DatePiece::Strftime(std::mem::take(&mut run)));
                }
                pieces.push(if q == 'q' {
                    DatePiece::Millis
                } else {
                    DatePiece::MillisFraction
                });
            }
            Some(other) => {
                run.push('%');
                run.push(other);
            }
            None => run.push('%'),
        }
    }
    if !run.is_empty() {
        pieces.push(DatePiece::Strftime(run));
    }
    let valid = pieces.iter().all(|p| match p {
        DatePiece::Strftime(s) => StrftimeItems::new(s).all(|item| !matches!(item, Item::Error)),
        _ => true,
    });
    valid.then_some(pieces)
}

fn write_date<Tz>(out: &mut String, time: &DateTime<Tz>, pieces: &[DatePiece]) -> fmt::Result
where
    Tz: chrono::TimeZone,
    Tz::Offset: fmt::Display,
{
    let nanos = time.nanosecond() % 1_000_000_000;
    for piece in pieces {
        match piece {
            DatePiece::Strftime(format) => write!(out, "{}", time.format(format))?,
            DatePiece::Millis => write!(out, "{:03}", nanos / 1_000_000)?,
            DatePiece::MillisFraction => {
                write!(out, "{:03}.{:03}", nanos / 1_000_000, nanos / 1_000 % 1_000)?;
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Now {
    local: DateTime<Local>,
    utc: DateTime<Utc>,
    since_start: std::time::Duration,
}

/// A tracing-subscriber event formatter that applies a [`Pattern`]. Only the event's message is
/// printed (no fields, no spans): that is what DCMTK's lines contain.
#[derive(Debug, Clone)]
pub(crate) struct PatternFormat {
    pattern: Pattern,
    start: Instant,
}

impl PatternFormat {
    pub(crate) fn new(pattern: Pattern) -> PatternFormat {
        PatternFormat {
            pattern,
            start: Instant::now(),
        }
    }
}

impl<S, N> FormatEvent<S, N> for PatternFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut message = MessageVisitor::default();
        event.record(&mut message);
        let meta = event.metadata();
        let now = self.pattern.uses_time().then(|| {
            let utc = Utc::now();
            Now {
                local: utc.with_timezone(&Local),
                utc,
                since_start: self.start.elapsed(),
            }
        });
        for line in message.0.split('\n') {
            let record = Record {
                level: LogLevel::of(meta),
                target: meta.target(),
                module: meta.module_path(),
                file: meta.file(),
                line: meta.line(),
                message: line,
            };
            self.pattern.write(&mut writer, &record, now)?;
        }
        Ok(())
    }
}

/// Collects an event's `message` field.
#[derive(Default)]
struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(pattern: &str, level: LogLevel, message: &str, expect: Expect) {
        let mut warnings = Vec::new();
        let pattern = Pattern::parse(pattern, "host".into(), &mut warnings);
        let record = Record {
            level,
            target: "dcmrecv_storage_scp::association",
            module: Some("dcmrecv_storage_scp::association"),
            file: Some("crates/x/src/association.rs"),
            line: Some(42),
            message,
        };
        let now = Now {
            local: DateTime::from_timestamp(1_700_000_000, 123_456_789)
                .unwrap()
                .with_timezone(&Local),
            utc: DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap(),
            since_start: std::time::Duration::from_millis(1500),
        };
        let mut out = String::new();
        pattern.write(&mut out, &record, Some(now)).unwrap();
        if !warnings.is_empty() {
            out.push_str(&format!("warnings: {warnings:?}"));
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn dcmtk_patterns() {
        check(
            "%P: %m%n",
            LogLevel::Info,
            "Association Received",
            expect![[r#"
            I: Association Received
        "#]],
        );
        check(
            "%P: %m%n",
            LogLevel::Fatal,
            "x",
            expect![[r#"
            F: x
        "#]],
        );
        check(
            "%p - %m%n",
            LogLevel::Warn,
            "w",
            expect![[r#"
            WARN - w
        "#]],
        );
        check(
            "[%p|%5p|%-5p|%P|%c|%c{1}|%h|%%]",
            LogLevel::Info,
            "",
            expect!["[INFO| INFO|INFO |I|dcmrecv_storage_scp::association|association|host|%]"],
        );
        check(
            "%d{%Y-%m-%d %H:%M:%S.%q} %5p: %m%n",
            LogLevel::Debug,
            "d",
            expect![[r#"
            2023-11-14 22:13:20.123 DEBUG: d
        "#]],
        );
        check(
            "%d %d{%Q} %r",
            LogLevel::Info,
            "",
            expect!["2023-11-14 22:13:20 123.456 1500"],
        );
        check(
            "%b:%L %l %.5m|%-4.2m|",
            LogLevel::Error,
            "abcdefgh",
            expect!["association.rs:42 crates/x/src/association.rs:42 defgh|gh  |"],
        );
    }

    #[test]
    fn unsupported_conversions_are_reported_and_left_out() {
        check(
            "%x %X{k} %m %d{%Ez}",
            LogLevel::Info,
            "m",
            expect![[
                r#"  m warnings: ["unsupported conversion %x in conversion pattern '%x %X{k} %m %d{%Ez}', left out", "unsupported conversion %X in conversion pattern '%x %X{k} %m %d{%Ez}', left out", "unsupported date format in conversion pattern '%x %X{k} %m %d{%Ez}', left out"]"#
            ]],
        );
        check("100%", LogLevel::Info, "", expect!["100%"]);
    }
}
