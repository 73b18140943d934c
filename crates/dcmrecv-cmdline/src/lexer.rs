//! The pre-pass that turns DCMTK's spellings into clap-friendly tokens.
//!
//! DCMTK's rules, which clap cannot express directly:
//! - an argument is an option if it has at least two characters, starts with `-` or `+`, and its
//!   second character is not a digit (`-5`, `+5`, `-` and `+` are parameters; `--5`, `-.5` and
//!   `--` are options);
//! - `-x` and `+x` are different options, and short options have several letters (`-od`, `+ssd`);
//! - an option's values are taken from the following arguments unconditionally, even if they look
//!   like options (`-xf f.cfg 11112` swallows the port).
//!
//! The lexer resolves each option to its [`OptionSpec`] (an unknown option is an error right
//! here, as in DCMTK) and emits it as `--<long>` followed by its values; parameters are kept
//! apart. clap then parses the options; every clap argument allows values starting with a
//! hyphen, so nothing the user wrote is re-interpreted.

use std::ffi::OsString;

use crate::error::Error;
use crate::spec::OptionSpec;

/// One argument of the expanded command line, as DCMTK reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// An option with the values that followed it (fewer than its arity only at the very end of
    /// the command line; clap reports those as missing values).
    Option {
        /// Which option.
        spec: &'static OptionSpec,
        /// Its values, verbatim.
        values: Vec<OsString>,
    },
    /// A parameter, verbatim.
    Param(OsString),
}

/// Whether DCMTK reads `arg` as an option rather than a parameter.
fn looks_like_option(arg: &[u8]) -> bool {
    match arg {
        [b'-' | b'+', second, ..] => !second.is_ascii_digit(),
        _ => false,
    }
}

/// Splits the expanded arguments (program name excluded) into options of `table` and
/// parameters.
pub(crate) fn lex(args: Vec<OsString>, table: &[&'static OptionSpec]) -> Result<Vec<Token>, Error> {
    let mut tokens = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if !looks_like_option(arg.as_encoded_bytes()) {
            tokens.push(Token::Param(arg));
            continue;
        }
        let spec = arg
            .to_str()
            .and_then(|token| table.iter().copied().find(|spec| spec.is_spelled(token)))
            .ok_or_else(|| Error::UnknownOption {
                option: arg.to_string_lossy().into_owned(),
            })?;
        let values = args.by_ref().take(spec.arity()).collect();
        tokens.push(Token::Option { spec, values });
    }
    Ok(tokens)
}

/// The token stream handed to clap: the options in their long form with their values.
pub(crate) fn clap_args(tokens: &[Token]) -> Vec<OsString> {
    flatten(tokens.iter().filter(|t| matches!(t, Token::Option { .. })))
}

/// The expanded command line with every option in its long form, as `--arguments` prints it.
pub(crate) fn long_form(tokens: &[Token]) -> Vec<OsString> {
    flatten(tokens.iter())
}

fn flatten<'a>(tokens: impl Iterator<Item = &'a Token>) -> Vec<OsString> {
    let mut out = Vec::new();
    for token in tokens {
        match token {
            Token::Option { spec, values } => {
                out.push(OsString::from(spec.long()));
                out.extend(values.iter().cloned());
            }
            Token::Param(value) => out.push(value.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_table::{LAYOUT, Opt};

    fn lexed(args: &[&str]) -> Result<Vec<Token>, String> {
        let table: Vec<_> = crate::layout::options(LAYOUT).collect();
        lex(args.iter().map(OsString::from).collect(), &table).map_err(|e| e.to_string())
    }

    fn opt(opt: Opt, values: &[&str]) -> Token {
        Token::Option {
            spec: opt.spec(),
            values: values.iter().map(OsString::from).collect(),
        }
    }

    fn param(value: &str) -> Token {
        Token::Param(OsString::from(value))
    }

    #[test]
    fn dcmtk_tells_options_from_parameters() {
        assert_eq!(
            lexed(&["-5", "+5", "-", "+", "-5x", ""]),
            Ok(["-5", "+5", "-", "+", "-5x", ""].map(param).to_vec())
        );
        assert_eq!(lexed(&["--5"]), Err("Unknown option --5".into()));
        assert_eq!(lexed(&["-.5"]), Err("Unknown option -.5".into()));
        assert_eq!(lexed(&["--"]), Err("Unknown option --".into()));
        assert_eq!(lexed(&["-od=x"]), Err("Unknown option -od=x".into()));
        assert_eq!(lexed(&["+x", "104"]), Err("Unknown option +x".into()));
    }

    #[test]
    fn values_are_consumed_unconditionally() {
        assert_eq!(
            lexed(&["-xf", "f.cfg", "11112"]),
            Ok(vec![opt(Opt::ConfigFile, &["f.cfg", "11112"])])
        );
        assert_eq!(
            lexed(&["-od", "--foo", "-aet", "-v", "104"]),
            Ok(vec![
                opt(Opt::OutputDirectory, &["--foo"]),
                opt(Opt::AeTitle, &["-v"]),
                param("104"),
            ])
        );
        assert_eq!(lexed(&["-od"]), Ok(vec![opt(Opt::OutputDirectory, &[])]));
    }

    #[test]
    fn plus_and_minus_spellings_differ() {
        assert_eq!(
            lexed(&["+B", "-B", "+v", "-v", "--ignore"]),
            Ok(vec![
                opt(Opt::BitPreserving, &[]),
                opt(Opt::Normal, &[]),
                opt(Opt::VerbosePc, &[]),
                opt(Opt::Verbose, &[]),
                opt(Opt::Ignore, &[]),
            ])
        );
    }

    #[test]
    fn clap_sees_long_options_only() {
        let tokens = lexed(&["-od", "-x", "104", "+B"]).unwrap();
        assert_eq!(
            clap_args(&tokens),
            ["--output-directory", "-x", "--bit-preserving"].map(OsString::from)
        );
        assert_eq!(
            long_form(&tokens),
            ["--output-directory", "-x", "104", "--bit-preserving"].map(OsString::from)
        );
    }
}
