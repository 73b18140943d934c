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

use super::Error;
use super::options::Opt;

/// One occurrence of an option on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Occurrence {
    /// Which option.
    pub(crate) opt: Opt,
    /// Where it stood, in clap's index space (only the order matters).
    pub(crate) position: usize,
    /// Its values (as many as the option's arity).
    pub(crate) values: Vec<OsString>,
}

impl Occurrence {
    /// The `index`-th value, verbatim (empty if absent, which clap prevents).
    pub(crate) fn value(&self, index: usize) -> &OsStr {
        self.values
            .get(index)
            .map_or(OsStr::new(""), OsString::as_os_str)
    }

    /// The `index`-th value as text (lossy for non-UTF-8 bytes).
    pub(crate) fn text(&self, index: usize) -> Cow<'_, str> {
        self.value(index).to_string_lossy()
    }
}

/// The parsed command line: every occurrence in order, the parameters, and what `--arguments`
/// prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LowArgs {
    /// The program name (`argv[0]`), as `--arguments` shows it.
    pub(crate) program: OsString,
    /// The expanded arguments with options in their long form.
    pub(crate) long_form: Vec<OsString>,
    /// Every option occurrence, in command-line order.
    occurrences: Vec<Occurrence>,
    /// The parameters, in command-line order.
    pub(crate) params: Vec<OsString>,
}

/// The clap command: one argument per option, named after its long spelling, each occurrence
/// appended so that positions survive.
fn command() -> Command {
    let mut cmd = Command::new("dcmrecv")
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true);
    for &opt in Opt::ALL {
        let arity = opt.spec().arity;
        let arg = Arg::new(opt.id())
            .long(opt.id())
            .action(ArgAction::Append)
            .value_parser(clap::builder::OsStringValueParser::new());
        let arg = if arity == 0 {
            // A flag: record each occurrence (and its index) with a placeholder value.
            arg.num_args(0).default_missing_value("")
        } else {
            arg.num_args(arity).allow_hyphen_values(true)
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

impl LowArgs {
    /// Lets clap parse the lexer's token stream.
    pub(crate) fn parse(
        program: OsString,
        long_form: Vec<OsString>,
        clap_args: Vec<OsString>,
    ) -> Result<LowArgs, Error> {
        let matches = command()
            .try_get_matches_from(clap_args)
            .map_err(from_clap)?;
        let mut occurrences = Vec::new();
        let mut params = Vec::new();
        for &opt in Opt::ALL {
            for occurrence in occurrences_of(&matches, opt) {
                if opt == Opt::Port {
                    params.push(occurrence);
                } else {
                    occurrences.push(occurrence);
                }
            }
        }
        occurrences.sort_by_key(|o| o.position);
        params.sort_by_key(|o| o.position);
        Ok(LowArgs {
            program,
            long_form,
            occurrences,
            params: params
                .into_iter()
                .map(|o| o.value(0).to_os_string())
                .collect(),
        })
    }

    /// The rightmost occurrence of `opt` (DCMTK's `findOption` outside a block).
    pub(crate) fn last(&self, opt: Opt) -> Option<&Occurrence> {
        self.occurrences.iter().rev().find(|o| o.opt == opt)
    }

    /// Whether `opt` occurs at all.
    pub(crate) fn has(&self, opt: Opt) -> bool {
        self.last(opt).is_some()
    }

    /// Every occurrence of `opt`, left to right (for the options that accumulate).
    pub(crate) fn all(&self, opt: Opt) -> impl Iterator<Item = &Occurrence> {
        self.occurrences.iter().filter(move |o| o.opt == opt)
    }

    /// Starts a DCMTK option block (`beginOptionBlock`).
    pub(crate) fn block(&self) -> Block<'_> {
        Block {
            occurrences: &self.occurrences,
            stop: None,
        }
    }
}

/// A DCMTK option block: each [`Block::find`] searches from the right and stops at the position
/// of the member found before it. Evaluating the members in a fixed order therefore makes the
/// rightmost member win, while the side effects of a member found earlier (DCMTK's conflict
/// checks) still happen.
pub(crate) struct Block<'a> {
    occurrences: &'a [Occurrence],
    stop: Option<usize>,
}

impl<'a> Block<'a> {
    /// DCMTK's `findOption` inside a block.
    pub(crate) fn find(&mut self, opt: Opt) -> Option<&'a Occurrence> {
        let stop = self.stop;
        let found = self
            .occurrences
            .iter()
            .rev()
            .take_while(|o| stop.is_none_or(|stop| o.position > stop))
            .find(|o| o.opt == opt)?;
        self.stop = Some(found.position);
        Some(found)
    }
}

/// Every occurrence of `opt` that clap recorded, with its position.
fn occurrences_of(matches: &ArgMatches, opt: Opt) -> Vec<Occurrence> {
    let (Some(indices), Some(raw)) = (
        matches.indices_of(opt.id()),
        matches.get_raw_occurrences(opt.id()),
    ) else {
        return Vec::new();
    };
    let indices: Vec<usize> = indices.collect();
    let arity = opt.spec().arity;
    // clap reports one index per value (one per occurrence for flags); an occurrence's position
    // is the index of its first value.
    let positions = indices
        .chunks(arity.max(1))
        .filter_map(|c| c.first().copied());
    positions
        .zip(raw)
        .map(|(position, values)| Occurrence {
            opt,
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
fn from_clap(err: clap::Error) -> Error {
    let missing_value = matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues
    );
    let option = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => {
            arg.split_whitespace().next().and_then(Opt::from_spelling)
        }
        _ => None,
    };
    match option {
        Some(opt) if missing_value => Error::MissingValue { option: opt.long() },
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
    use crate::cli::{Parsed, parse};

    fn low(args: &[&str]) -> LowArgs {
        let mut all = vec![OsString::from("dcmrecv")];
        all.extend(args.iter().map(OsString::from));
        match parse(all) {
            Ok(Parsed::Run(low)) => low,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn found(low: &LowArgs, members: &[Opt]) -> Vec<Opt> {
        let mut block = low.block();
        members
            .iter()
            .filter_map(|&m| block.find(m).map(|o| o.opt))
            .collect()
    }

    #[test]
    fn occurrences_keep_command_line_order_and_values() {
        let low = low(&["-v", "-od", "a", "104", "-xf", "f", "p", "-od", "-v"]);
        let od: Vec<_> = low.all(Opt::OutputDirectory).map(|o| o.text(0)).collect();
        assert_eq!(od, ["a", "-v"]);
        assert_eq!(low.last(Opt::ConfigFile).unwrap().values, ["f", "p"]);
        assert_eq!(low.params, ["104"]);
        assert!(low.has(Opt::Verbose));
        assert!(!low.has(Opt::Debug));
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
    }
}
