//! The option table as data: groups, sub-groups and option rows in the order `--help` shows
//! them, and the parameters. The lexer, clap, the help text and the man page all read it.

use crate::spec::OptionSpec;

/// One line of an option table's layout.
///
/// A program's table is a `const` slice of these; a library that contributes options (DCMTK's
/// `OFLog::addOptions`, `DcmTLSOptions::addTLSCommandlineOptions`) exports its own slice, which
/// the program splices in with [`Layout::Include`].
///
/// ```
/// use dcmrecv_cmdline::{Layout, OptionSpec};
///
/// const VERBOSE: OptionSpec = OptionSpec::new(Some("-v"), "--verbose", 0, &["verbose mode"]);
/// const LOGGING: &[Layout] = &[Layout::Option(&VERBOSE)];
/// const TABLE: &[Layout] = &[Layout::Group("general options:"), Layout::Include(LOGGING)];
/// assert_eq!(dcmrecv_cmdline::layout::options(TABLE).count(), 1);
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Layout {
    /// A top-level group heading (`general options:`).
    Group(&'static str),
    /// A sub-group heading (`application entity title:`); options below it are indented more.
    Subgroup(&'static str),
    /// An option's row (a hidden one is parsed but not shown).
    Option(&'static OptionSpec),
    /// Another layout, spliced in at this place.
    Include(&'static [Layout]),
}

/// A positional parameter (DCMTK's `OFCommandLine::addParam`); each one must be given exactly
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    name: &'static str,
    help: &'static [&'static str],
}

impl Parameter {
    /// A parameter named `name` (`port`), with its help lines.
    pub const fn new(name: &'static str, help: &'static [&'static str]) -> Parameter {
        Parameter { name, help }
    }

    /// The parameter's name, as usage lines and messages show it.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Its help lines.
    pub const fn help(&self) -> &'static [&'static str] {
        self.help
    }
}

/// The layout with every [`Layout::Include`] spliced in, in order.
pub fn flatten(layout: &'static [Layout]) -> Vec<&'static Layout> {
    let mut out = Vec::new();
    for line in layout {
        match line {
            Layout::Include(inner) => out.extend(flatten(inner)),
            other => out.push(other),
        }
    }
    out
}

/// Every option row of the layout (hidden ones included), in order.
pub fn options(layout: &'static [Layout]) -> impl Iterator<Item = &'static OptionSpec> {
    flatten(layout).into_iter().filter_map(|line| match line {
        Layout::Option(spec) => Some(*spec),
        _ => None,
    })
}

/// Checks that a table is well formed: every spelling has its prefix and is unique. A program
/// calls this from a test, so a bad row fails the build's tests rather than a user's command.
pub fn check(layout: &'static [Layout]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for spec in options(layout) {
        let long = spec.long();
        if !long.starts_with("--") || long.len() <= 3 {
            return Err(format!(
                "{long}: a long spelling is `--` and two or more characters"
            ));
        }
        if !seen.insert(long) {
            return Err(format!("{long} is in the table twice"));
        }
        if let Some(short) = spec.short() {
            let prefixed = short.starts_with('-') || short.starts_with('+');
            if !prefixed || short.starts_with("--") || short.len() < 2 {
                return Err(format!("{short}: a short spelling is `-x` or `+x`"));
            }
            if !seen.insert(short) {
                return Err(format!("{short} is in the table twice"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: OptionSpec = OptionSpec::new(Some("-a"), "--all", 0, &["all"]);
    const B: OptionSpec = OptionSpec::new(Some("+a"), "--back", 1, &[]);
    const INNER: &[Layout] = &[Layout::Subgroup("inner:"), Layout::Option(&B)];

    #[test]
    fn includes_are_spliced_in_place() {
        const TABLE: &[Layout] = &[
            Layout::Group("g:"),
            Layout::Include(INNER),
            Layout::Option(&A),
        ];
        let longs: Vec<_> = options(TABLE).map(OptionSpec::long).collect();
        assert_eq!(longs, ["--back", "--all"]);
        assert_eq!(flatten(TABLE).len(), 4);
        assert_eq!(check(TABLE), Ok(()));
    }

    #[test]
    fn bad_tables_are_refused() {
        const TWICE: &[Layout] = &[Layout::Option(&A), Layout::Option(&A)];
        assert_eq!(check(TWICE), Err("--all is in the table twice".into()));
        const SHORT: OptionSpec = OptionSpec::new(Some("x"), "--x-ray", 0, &[]);
        assert_eq!(
            check(&[Layout::Option(&SHORT)]),
            Err("x: a short spelling is `-x` or `+x`".into())
        );
        const LONG: OptionSpec = OptionSpec::new(None, "-long", 0, &[]);
        assert!(check(&[Layout::Option(&LONG)]).is_err());
    }
}
