//! clap, and what it parsed: every option occurrence with its position ("low-level arguments",
//! as in ripgrep's `lowargs.rs`).
//!
//! DCMTK's semantics are positional (the rightmost occurrence wins, and inside an "option block"
//! a search stops at the member found before it), so the parsed form keeps every occurrence in
//! command-line order; [`Block`] reproduces DCMTK's block evaluation on top of it.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::error::Error;
use crate::lexer::{self, Token};
use crate::number::{self, ValueError};
use crate::spec::{OptionId, OptionSpec};

/// One occurrence of an option on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    spec: &'static OptionSpec,
    position: usize,
    values: Vec<OsString>,
}

impl Occurrence {
    /// The option's row.
    pub fn spec(&self) -> &'static OptionSpec {
        self.spec
    }

    /// The option's long spelling; DCMTK names the option by it in messages.
    pub fn long(&self) -> &'static str {
        self.spec.long()
    }

    /// Whether this is an occurrence of `opt`.
    pub fn is(&self, opt: impl OptionId) -> bool {
        opt.spec().long() == self.spec.long()
    }

    /// The option as a member of the enum `O`, if it is one.
    pub fn id<O: OptionId>(&self) -> Option<O> {
        O::all().iter().copied().find(|&opt| self.is(opt))
    }

    /// Its values (as many as the option's arity).
    pub fn values(&self) -> &[OsString] {
        &self.values
    }

    /// The `index`-th value, verbatim (empty if absent, which clap prevents).
    pub fn value(&self, index: usize) -> &OsStr {
        self.values
            .get(index)
            .map_or(OsStr::new(""), OsString::as_os_str)
    }

    /// The `index`-th value as text (lossy for non-UTF-8 bytes).
    pub fn text(&self, index: usize) -> Cow<'_, str> {
        self.value(index).to_string_lossy()
    }

    /// The first value as an integer in `min..=max`, parsed as DCMTK parses unsigned option
    /// values (`OFCommandLine::getValueAndCheckMinMax`), with DCMTK's messages.
    pub fn number(&self, min: u64, max: Option<u64>) -> Result<u64, ValueError> {
        let value = self.text(0).into_owned();
        let option = self.long();
        number::option_value(&value, min, max).map_err(|refusal| refusal.for_option(option, value))
    }

    /// DCMTK's `Invalid value for option <long> (<value>)` for the first value, for checks of
    /// the caller's own (an address, an AE title...).
    pub fn invalid(&self) -> ValueError {
        ValueError::InvalidValue {
            option: self.long(),
            value: self.text(0).into_owned(),
        }
    }
}

/// The parsed command line: every option occurrence in order, the parameters, and what
/// `--arguments` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arguments {
    program: OsString,
    long_form: Vec<OsString>,
    occurrences: Vec<Occurrence>,
    params: Vec<OsString>,
}

/// The clap command: one argument per option, named after its long spelling, each occurrence
/// appended so that positions survive.
fn command(name: &'static str, table: &[&'static OptionSpec]) -> Command {
    let mut cmd = Command::new(name)
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true);
    for spec in table {
        let arg = Arg::new(spec.id())
            .long(spec.id())
            .action(ArgAction::Append)
            .value_parser(clap::builder::OsStringValueParser::new());
        let arg = if spec.arity() == 0 {
            // A flag: record each occurrence (and its index) with a placeholder value.
            arg.num_args(0).default_missing_value("")
        } else {
            arg.num_args(spec.arity()).allow_hyphen_values(true)
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

impl Arguments {
    /// Lets clap parse the lexer's options; the parameters are taken from the tokens.
    pub(crate) fn parse(
        name: &'static str,
        program: OsString,
        tokens: &[Token],
        table: &[&'static OptionSpec],
    ) -> Result<Arguments, Error> {
        let matches = command(name, table)
            .try_get_matches_from(lexer::clap_args(tokens))
            .map_err(|e| from_clap(e, table))?;
        let mut occurrences: Vec<Occurrence> = table
            .iter()
            .flat_map(|spec| occurrences_of(&matches, spec))
            .collect();
        occurrences.sort_by_key(|o| o.position);
        let params = tokens
            .iter()
            .filter_map(|token| match token {
                Token::Param(value) => Some(value.clone()),
                Token::Option { .. } => None,
            })
            .collect();
        Ok(Arguments {
            program,
            long_form: lexer::long_form(tokens),
            occurrences,
            params,
        })
    }

    /// The program name (`argv[0]`), as `--arguments` shows it.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The expanded arguments with every option in its long form (`--arguments`).
    pub fn long_form(&self) -> &[OsString] {
        &self.long_form
    }

    /// The parameters, in command-line order.
    pub fn parameters(&self) -> &[OsString] {
        &self.params
    }

    /// Parameter `index` as an integer in `min..=max`, parsed as DCMTK parses unsigned
    /// parameters (`OFCommandLine::getParamAndCheckMinMax`: a leading minus wraps around as in
    /// C), with DCMTK's messages. A missing parameter reads as the empty string.
    pub fn parameter_number(&self, index: usize, min: u64, max: u64) -> Result<u64, ValueError> {
        let value = self
            .params
            .get(index)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        number::parameter_value(&value, min, max).map_err(|refusal| refusal.for_parameter(value))
    }

    /// The rightmost occurrence of `opt` (DCMTK's `findOption` outside a block).
    pub fn last(&self, opt: impl OptionId) -> Option<&Occurrence> {
        self.occurrences.iter().rev().find(|o| o.is(opt))
    }

    /// Whether `opt` occurs at all.
    pub fn has(&self, opt: impl OptionId) -> bool {
        self.last(opt).is_some()
    }

    /// Every occurrence of `opt`, left to right (for the options that accumulate).
    pub fn all(&self, opt: impl OptionId) -> impl Iterator<Item = &Occurrence> {
        self.occurrences.iter().filter(move |o| o.is(opt))
    }

    /// Starts a DCMTK option block (`beginOptionBlock`).
    pub fn block(&self) -> Block<'_> {
        Block {
            occurrences: &self.occurrences,
            stop: None,
        }
    }

    /// The effective member of a block whose members have no side effects: the rightmost one
    /// (DCMTK's "rightmost wins").
    pub fn winner<O: OptionId>(&self, members: &[O]) -> Option<&Occurrence> {
        let mut block = self.block();
        members.iter().fold(None, |won, &m| block.find(m).or(won))
    }
}

/// A DCMTK option block: each [`Block::find`] searches from the right and stops at the position
/// of the member found before it. Evaluating the members in a fixed order therefore makes the
/// rightmost member win, while the side effects of a member found earlier (DCMTK's conflict
/// checks) still happen.
#[derive(Debug)]
pub struct Block<'a> {
    occurrences: &'a [Occurrence],
    stop: Option<usize>,
}

impl<'a> Block<'a> {
    /// DCMTK's `findOption` inside a block.
    pub fn find(&mut self, opt: impl OptionId) -> Option<&'a Occurrence> {
        let stop = self.stop;
        let found = self
            .occurrences
            .iter()
            .rev()
            .take_while(|o| stop.is_none_or(|stop| o.position > stop))
            .find(|o| o.is(opt))?;
        self.stop = Some(found.position);
        Some(found)
    }
}

/// Every occurrence of `spec` that clap recorded, with its position.
fn occurrences_of(matches: &ArgMatches, spec: &'static OptionSpec) -> Vec<Occurrence> {
    let (Some(indices), Some(raw)) = (
        matches.indices_of(spec.id()),
        matches.get_raw_occurrences(spec.id()),
    ) else {
        return Vec::new();
    };
    let indices: Vec<usize> = indices.collect();
    let arity = spec.arity();
    // clap reports one index per value (one per occurrence for flags); an occurrence's position
    // is the index of its first value.
    let positions = indices
        .chunks(arity.max(1))
        .filter_map(|c| c.first().copied());
    positions
        .zip(raw)
        .map(|(position, values)| Occurrence {
            spec,
            position,
            values: if arity == 0 {
                Vec::new()
            } else {
                values.map(OsStr::to_os_string).collect()
            },
        })
        .collect()
}

/// Maps clap's errors to DCMTK's messages. Unknown options never reach clap (the lexer reports
/// them), so the errors left are missing values at the end of the command line.
fn from_clap(err: clap::Error, table: &[&'static OptionSpec]) -> Error {
    let missing_value = matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues
    );
    let spec = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg
            .split_whitespace()
            .next()
            .and_then(|token| table.iter().find(|spec| spec.is_spelled(token))),
        _ => None,
    };
    match spec {
        Some(spec) if missing_value => Error::MissingValue {
            option: spec.long(),
        },
        _ => Error::ClapRejected {
            message: err
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_table::{Opt, TOOL};

    fn low(args: &[&str]) -> Arguments {
        let all = std::iter::once("dcmrecv").chain(args.iter().copied());
        TOOL.parse(all.map(OsString::from)).unwrap().unwrap()
    }

    fn found(low: &Arguments, members: &[Opt]) -> Vec<Opt> {
        let mut block = low.block();
        members
            .iter()
            .filter_map(|&m| block.find(m).and_then(Occurrence::id))
            .collect()
    }

    #[test]
    fn occurrences_keep_command_line_order_and_values() {
        let low = low(&["-v", "-od", "a", "104", "-xf", "f", "p", "-od", "-v"]);
        let od: Vec<_> = low.all(Opt::OutputDirectory).map(|o| o.text(0)).collect();
        assert_eq!(od, ["a", "-v"]);
        assert_eq!(low.last(Opt::ConfigFile).unwrap().values(), ["f", "p"]);
        assert_eq!(low.parameters(), ["104"]);
        assert!(low.has(Opt::Verbose));
        assert!(!low.has(Opt::VerbosePc));
        assert_eq!(low.program(), "dcmrecv");
        assert_eq!(
            low.long_form(),
            [
                "--verbose",
                "--output-directory",
                "a",
                "104",
                "--config-file",
                "f",
                "p",
                "--output-directory",
                "-v"
            ]
        );
    }

    #[test]
    fn blocks_stop_at_the_member_found_before() {
        let members = [Opt::Normal, Opt::BitPreserving, Opt::Ignore];
        // Each search stops at the previous find, so later members count only to its right.
        let l = low(&["+B", "+ssd", "--ignore", "104"]);
        assert_eq!(found(&l, &members), [Opt::BitPreserving, Opt::Ignore]);
        let l = low(&["+B", "-B", "104"]);
        assert_eq!(found(&l, &members), [Opt::Normal]);
        let l = low(&["-B", "+B", "104"]);
        assert_eq!(found(&l, &members), [Opt::Normal, Opt::BitPreserving]);
        let l = low(&["--ignore", "+B", "-B", "104"]);
        assert_eq!(found(&l, &members), [Opt::Normal]);
        let l = low(&["--ignore", "+B", "-B", "--ignore", "104"]);
        assert_eq!(
            l.winner(&members).and_then(Occurrence::id),
            Some(Opt::Ignore)
        );
        assert_eq!(l.winner(&[Opt::Verbose]), None);
    }

    #[test]
    fn numbers_carry_dcmtks_messages() {
        let l = low(&["-pdu", "4095", "x", "-aet", "A"]);
        let pdu = l.last(Opt::MaxPdu).unwrap();
        assert_eq!(
            pdu.number(4096, Some(131_072)).unwrap_err().to_string(),
            "Invalid value for option --max-pdu (underflow: 4095)"
        );
        assert_eq!(pdu.number(1, None), Ok(4095));
        assert_eq!(
            l.last(Opt::AeTitle).unwrap().invalid().to_string(),
            "Invalid value for option --aetitle (A)"
        );
        assert_eq!(
            l.parameter_number(0, 1, 65535).unwrap_err().to_string(),
            "Invalid parameter value x"
        );
        assert_eq!(
            l.parameter_number(1, 1, 65535).unwrap_err().to_string(),
            "Invalid parameter value "
        );
        assert_eq!(
            low(&["-5"])
                .parameter_number(0, 1, 65535)
                .unwrap_err()
                .to_string(),
            "Invalid parameter value -5 (overflow)"
        );
    }
}
