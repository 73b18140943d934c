//! A program's command line: its name, header, parameters and option table, and the parse
//! that follows DCMTK's first steps (`@file` expansion, the DCMTK lexer, clap).

use std::ffi::OsString;

use crate::arguments::Arguments;
use crate::error::Error;
use crate::layout::{self, Layout, Parameter};
use crate::man::ManPage;
use crate::spec::OptionSpec;
use crate::{command_file, help, lexer, man};

/// Everything a DCMTK-style program's command line is made of, as `const` data.
///
/// ```
/// use dcmrecv_cmdline::{CommandLine, Layout, Parameter};
///
/// dcmrecv_cmdline::option_table! {
///     /// The tool's options.
///     enum Opt;
///     /// `-v`.
///     Verbose = Some("-v"), "--verbose", 0, ["verbose mode, print processing details"];
///     /// `-od DIR`.
///     OutputDirectory = Some("-od"), "--output-directory", 1, [
///         "[d]irectory: string",
///         "write received objects to existing directory d",
///     ];
/// }
///
/// const TOOL: CommandLine = CommandLine::new("mytool", "mytool 1.0", "A DCMTK-style tool")
///     .parameters(&[Parameter::new("port", &["tcp/ip port number to listen on"])])
///     .layout(&[
///         Layout::Group("general options:"),
///         Layout::Option(Opt::Verbose.spec()),
///         Layout::Option(Opt::OutputDirectory.spec()),
///     ]);
///
/// let args = TOOL
///     .parse(["mytool", "-od", "in", "-v", "104"].map(Into::into))?
///     .expect("arguments were given");
/// TOOL.check_parameters(&args)?;
/// assert_eq!(args.last(Opt::OutputDirectory).unwrap().text(0), "in");
/// assert!(args.has(Opt::Verbose));
/// assert_eq!(args.parameter_number(0, 1, 65535)?, 104);
///
/// let err = TOOL.parse(["mytool", "+od"].map(Into::into)).unwrap_err();
/// assert_eq!(err.to_string(), "Unknown option +od");
/// assert!(TOOL.help_text().contains("usage: mytool [options] port"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CommandLine {
    program: &'static str,
    header: &'static str,
    description: &'static str,
    parameters: &'static [Parameter],
    layout: &'static [Layout],
}

impl CommandLine {
    /// A command line for `program` (the name its usage line shows), whose texts start with
    /// `header` (DCMTK: `$dcmtk: dcmrecv v3.6.7 2022-04-22 $`) and describe it as
    /// `description`; no parameters and no options yet.
    pub const fn new(
        program: &'static str,
        header: &'static str,
        description: &'static str,
    ) -> CommandLine {
        CommandLine {
            program,
            header,
            description,
            parameters: &[],
            layout: &[],
        }
    }

    /// The positional parameters, each required exactly once.
    pub const fn parameters(self, parameters: &'static [Parameter]) -> CommandLine {
        CommandLine { parameters, ..self }
    }

    /// The option table.
    pub const fn layout(self, layout: &'static [Layout]) -> CommandLine {
        CommandLine { layout, ..self }
    }

    /// The program name of the usage line.
    pub const fn program(&self) -> &'static str {
        self.program
    }

    /// The first line of every text the program prints.
    pub const fn header(&self) -> &'static str {
        self.header
    }

    /// The one-line description.
    pub const fn description(&self) -> &'static str {
        self.description
    }

    /// DCMTK's title line, `<program>: <description>`.
    pub fn title(&self) -> String {
        format!("{}: {}", self.program, self.description)
    }

    /// The usage line without `usage: `: `<program> [options] <parameter>...`.
    pub fn usage(&self) -> String {
        let mut usage = format!("{} [options]", self.program);
        for param in self.parameters {
            usage.push(' ');
            usage.push_str(param.name());
        }
        usage
    }

    /// The parameters.
    pub const fn parameter_list(&self) -> &'static [Parameter] {
        self.parameters
    }

    /// The option table.
    pub const fn layout_lines(&self) -> &'static [Layout] {
        self.layout
    }

    /// Every option of the table, hidden ones included, in table order.
    pub fn options(&self) -> impl Iterator<Item = &'static OptionSpec> {
        layout::options(self.layout)
    }

    /// Parses the process arguments, `argv[0]` first: expands `@file` arguments, lexes DCMTK's
    /// spellings and lets clap check the options. `None` means the command line was empty after
    /// expansion (DCMTK prints the usage then). The parameter count is checked separately, by
    /// [`CommandLine::check_parameters`], because options like `--help` win over it.
    pub fn parse(
        &self,
        args: impl IntoIterator<Item = OsString>,
    ) -> Result<Option<Arguments>, Error> {
        let mut args = args.into_iter();
        let program = args.next().unwrap_or_else(|| OsString::from(self.program));
        // DCMTK looks at the command line after `@file` expansion: an empty command file alone
        // also prints the usage.
        let args = command_file::expand(args.collect())?;
        if args.is_empty() {
            return Ok(None);
        }
        let table: Vec<&'static OptionSpec> = self.options().collect();
        let tokens = lexer::lex(args, &table)?;
        Arguments::parse(self.program, program, &tokens, &table).map(Some)
    }

    /// DCMTK's parameter check: `Missing parameter <name>` or `Too many parameters`.
    pub fn check_parameters(&self, args: &Arguments) -> Result<(), Error> {
        let given = args.parameters().len();
        match self.parameters.get(given) {
            Some(missing) => Err(Error::MissingParameter {
                name: missing.name(),
            }),
            None if given > self.parameters.len() => Err(Error::TooManyParameters),
            None => Ok(()),
        }
    }

    /// The help text, laid out as DCMTK's `--help` (also printed for an empty command line).
    pub fn help_text(&self) -> String {
        help::help_text(self)
    }

    /// A command-line error as DCMTK prints it on stderr: the header, the title, then
    /// `error: <message>`.
    pub fn error_text(&self, message: &str) -> String {
        help::error_text(self, message)
    }

    /// The manual page (roff, `man -l`) from the same table as [`CommandLine::help_text`].
    pub fn man_page(&self, page: &ManPage) -> String {
        man::render(self, page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_table::{Opt, TOOL};

    fn parsed(args: &[&str]) -> Result<String, String> {
        let all = std::iter::once("dcmrecv").chain(args.iter().copied());
        let args = match TOOL.parse(all.map(OsString::from)) {
            Ok(None) => return Ok("Usage".into()),
            Ok(Some(args)) => args,
            Err(e) => return Err(e.to_string()),
        };
        // Exclusive options win over the parameter count (`dcmrecv 1 2 -h` prints the help).
        for (opt, name) in [(Opt::Help, "Help"), (Opt::Version, "Version")] {
            if args.has(opt) {
                return Ok(name.into());
            }
        }
        TOOL.check_parameters(&args).map_err(|e| e.to_string())?;
        Ok("run".into())
    }

    #[test]
    fn syntax_errors_use_dcmtk_messages() {
        assert_eq!(
            parsed(&["--foo", "11112"]),
            Err("Unknown option --foo".into())
        );
        assert_eq!(parsed(&["--"]), Err("Unknown option --".into()));
        assert_eq!(
            parsed(&["-od"]),
            Err("Missing value for option --output-directory".into())
        );
        assert_eq!(
            parsed(&["-xf", "a"]),
            Err("Missing value for option --config-file".into())
        );
        assert_eq!(
            parsed(&["+tls", "a"]),
            Err("Missing value for option --enable-tls".into())
        );
        assert_eq!(
            parsed(&["-xf", "f.cfg", "11112"]),
            Err("Missing parameter port".into())
        );
        assert_eq!(parsed(&["-v"]), Err("Missing parameter port".into()));
        assert_eq!(parsed(&["1", "2"]), Err("Too many parameters".into()));
        assert_eq!(parsed(&["@", "0"]), Err("Too many parameters".into()));
        assert_eq!(
            parsed(&["1", "2", "--foo"]),
            Err("Unknown option --foo".into())
        );
        assert_eq!(
            parsed(&["1", "2", "-od"]),
            Err("Missing value for option --output-directory".into())
        );
        assert_eq!(
            parsed(&["--print-config", "1"]),
            Ok("run".into()),
            "hidden options parse"
        );
    }

    #[test]
    fn exclusive_options_win_over_parameters_but_not_over_syntax() {
        assert_eq!(parsed(&[]), Ok("Usage".into()));
        assert_eq!(parsed(&["1", "2", "-h"]), Ok("Help".into()));
        assert_eq!(parsed(&["--version", "1", "2"]), Ok("Version".into()));
        assert_eq!(parsed(&["--version", "-h"]), Ok("Help".into()));
        assert_eq!(parsed(&["-h", "--foo"]), Err("Unknown option --foo".into()));
        assert_eq!(
            parsed(&["--version", "--foo"]),
            Err("Unknown option --foo".into())
        );
        assert_eq!(
            parsed(&["-h", "-od"]),
            Err("Missing value for option --output-directory".into())
        );
        assert_eq!(parsed(&["104"]), Ok("run".into()));
    }

    #[test]
    fn an_empty_command_file_prints_the_usage() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, " \n").unwrap();
        assert_eq!(
            parsed(&[&format!("@{}", empty.display())]),
            Ok("Usage".into())
        );
        assert_eq!(layout::check(TOOL.layout_lines()), Ok(()));
    }
}
