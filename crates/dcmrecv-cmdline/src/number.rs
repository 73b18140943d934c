//! DCMTK's lenient integer parsing (`sscanf` with `%lu`), and its range checks.
//!
//! Leading white space and one `+` or `-` are accepted and only the leading decimal digits count:
//! `011188` → 11188, `11188abc` → 11188, `1e3` → 1, `0x2B67` → 0. Values beyond `u64::MAX`
//! saturate. The parameter (`port`) path wraps a leading minus as C does (`-5` is a huge number,
//! reported as overflow); option values refuse a leading minus outright
//! (`Invalid value for option --dimse-timeout (-3)`).

use snafu::Snafu;

/// An option value or parameter that is not acceptable (DCMTK's exit code 1), with DCMTK's
/// messages (`OFConsoleApplication::checkValue` and `checkParam`), word for word.
#[derive(Debug, Clone, PartialEq, Eq, Snafu)]
#[non_exhaustive]
pub enum ValueError {
    /// An option value that is not acceptable at all (not a number, negative, not an
    /// address...).
    #[snafu(display("Invalid value for option {option}{}", in_parentheses(value)))]
    InvalidValue {
        /// The option's long spelling.
        option: &'static str,
        /// The value given.
        value: String,
    },
    /// A number below the option's minimum.
    #[snafu(display("Invalid value for option {option} (underflow: {value})"))]
    ValueUnderflow {
        /// The option's long spelling.
        option: &'static str,
        /// The value given.
        value: String,
    },
    /// A number above the option's maximum.
    #[snafu(display("Invalid value for option {option} (overflow: {value})"))]
    ValueOverflow {
        /// The option's long spelling.
        option: &'static str,
        /// The value given.
        value: String,
    },
    /// A parameter that is not a number.
    #[snafu(display("Invalid parameter value {value}"))]
    InvalidParameter {
        /// The parameter given.
        value: String,
    },
    /// A parameter below its minimum.
    #[snafu(display("Invalid parameter value {value} (underflow)"))]
    ParameterUnderflow {
        /// The parameter given.
        value: String,
    },
    /// A parameter above its maximum.
    #[snafu(display("Invalid parameter value {value} (overflow)"))]
    ParameterOverflow {
        /// The parameter given.
        value: String,
    },
}

fn in_parentheses(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(" ({value})")
    }
}

/// Why a number was refused; [`Refusal::for_option`] and [`Refusal::for_parameter`] turn it
/// into DCMTK's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a number at all (or, for option values, negative).
    Invalid,
    /// Below the minimum.
    Underflow,
    /// Above the maximum.
    Overflow,
}

/// Parses like glibc's `strtoul` in base 10: `None` when no digit follows the optional white
/// space and sign.
pub(crate) fn scan_unsigned(text: &str) -> Option<u64> {
    let rest = text.trim_start_matches([' ', '\t', '\n', '\u{b}', '\u{c}', '\r']);
    let (negative, rest) = match rest.as_bytes().first() {
        Some(b'-') => (true, rest.get(1..).unwrap_or_default()),
        Some(b'+') => (false, rest.get(1..).unwrap_or_default()),
        _ => (false, rest),
    };
    let digits: Vec<u64> = rest
        .bytes()
        .take_while(u8::is_ascii_digit)
        .map(|d| u64::from(d - b'0'))
        .collect();
    if digits.is_empty() {
        return None;
    }
    let magnitude = digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10).and_then(|v| v.checked_add(d))
    });
    // `strtoul` saturates on overflow (with either sign) and negates in unsigned arithmetic.
    Some(match magnitude {
        None => u64::MAX,
        Some(m) if negative => m.wrapping_neg(),
        Some(m) => m,
    })
}

/// An option value (`-pdu 5000`): DCMTK's unsigned option parser, which refuses a leading minus,
/// then the range check.
pub(crate) fn option_value(text: &str, min: u64, max: Option<u64>) -> Result<u64, Refusal> {
    let negative = text
        .trim_start_matches([' ', '\t', '\n', '\u{b}', '\u{c}', '\r'])
        .starts_with('-');
    if negative {
        return Err(Refusal::Invalid);
    }
    let value = scan_unsigned(text).ok_or(Refusal::Invalid)?;
    check_range(value, min, max)
}

/// A parameter (`port`): DCMTK's unsigned parameter parser (a minus wraps), then the range.
pub(crate) fn parameter_value(text: &str, min: u64, max: u64) -> Result<u64, Refusal> {
    let value = scan_unsigned(text).ok_or(Refusal::Invalid)?;
    check_range(value, min, Some(max))
}

impl Refusal {
    /// DCMTK's message for an option's value.
    pub(crate) fn for_option(self, option: &'static str, value: String) -> ValueError {
        match self {
            Refusal::Invalid => ValueError::InvalidValue { option, value },
            Refusal::Underflow => ValueError::ValueUnderflow { option, value },
            Refusal::Overflow => ValueError::ValueOverflow { option, value },
        }
    }

    /// DCMTK's message for a parameter.
    pub(crate) fn for_parameter(self, value: String) -> ValueError {
        match self {
            Refusal::Invalid => ValueError::InvalidParameter { value },
            Refusal::Underflow => ValueError::ParameterUnderflow { value },
            Refusal::Overflow => ValueError::ParameterOverflow { value },
        }
    }
}

fn check_range(value: u64, min: u64, max: Option<u64>) -> Result<u64, Refusal> {
    if value < min {
        Err(Refusal::Underflow)
    } else if max.is_some_and(|max| value > max) {
        Err(Refusal::Overflow)
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanning_is_lenient_like_sscanf() {
        assert_eq!(scan_unsigned("011188"), Some(11188));
        assert_eq!(scan_unsigned("+11188"), Some(11188));
        assert_eq!(scan_unsigned(" \t11188"), Some(11188));
        assert_eq!(scan_unsigned("11188abc"), Some(11188));
        assert_eq!(scan_unsigned("1e3"), Some(1));
        assert_eq!(scan_unsigned("1.5"), Some(1));
        assert_eq!(scan_unsigned("0x2B67"), Some(0));
        assert_eq!(scan_unsigned("-0"), Some(0));
        assert_eq!(scan_unsigned("-5"), Some(u64::MAX - 4));
        assert_eq!(scan_unsigned("99999999999999999999"), Some(u64::MAX));
        assert_eq!(scan_unsigned("-99999999999999999999"), Some(u64::MAX));
        assert_eq!(scan_unsigned("abc"), None);
        assert_eq!(scan_unsigned(""), None);
        assert_eq!(scan_unsigned("+"), None);
        assert_eq!(scan_unsigned("- 3"), None);
        assert_eq!(scan_unsigned("++3"), None);
    }

    fn port_value(text: &str) -> Result<u64, Refusal> {
        parameter_value(text, 1, 65535)
    }

    #[test]
    fn ports_follow_dcmtk() {
        assert_eq!(port_value("11112"), Ok(11112));
        assert_eq!(port_value("+5"), Ok(5));
        assert_eq!(port_value("65535"), Ok(65535));
        assert_eq!(port_value("0"), Err(Refusal::Underflow));
        assert_eq!(port_value("0x10"), Err(Refusal::Underflow));
        assert_eq!(port_value("-0"), Err(Refusal::Underflow));
        assert_eq!(port_value("65536"), Err(Refusal::Overflow));
        assert_eq!(port_value("-5"), Err(Refusal::Overflow));
        assert_eq!(port_value("-5x"), Err(Refusal::Overflow));
        assert_eq!(port_value("-"), Err(Refusal::Invalid));
        assert_eq!(port_value(""), Err(Refusal::Invalid));
    }

    #[test]
    fn option_values_refuse_a_minus() {
        assert_eq!(option_value("-3", 1, None), Err(Refusal::Invalid));
        assert_eq!(option_value(" -3", 1, None), Err(Refusal::Invalid));
        assert_eq!(option_value("-0", 1, None), Err(Refusal::Invalid));
        assert_eq!(option_value("1-2", 1, None), Ok(1));
        assert_eq!(option_value("00", 1, None), Err(Refusal::Underflow));
        assert_eq!(
            option_value("4095", 4096, Some(131072)),
            Err(Refusal::Underflow)
        );
        assert_eq!(
            option_value("131073", 4096, Some(131072)),
            Err(Refusal::Overflow)
        );
        assert_eq!(option_value("5000x", 4096, Some(131072)), Ok(5000));
        assert_eq!(option_value("99999999999999999999", 1, None), Ok(u64::MAX));
    }
}
