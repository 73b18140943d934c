//! One option's row in an option table, the trait of the enums naming them, and the
//! [`option_table!`](crate::option_table) macro that declares both from one list.

use std::fmt::Debug;

/// One option: DCMTK's short and long spellings, how many values follow it, and its help text
/// (DCMTK's `OFCommandLine::addOption`).
///
/// An option with no help lines is hidden: it is parsed, but neither `--help` nor the man page
/// shows it.
///
/// ```
/// use dcmrecv_cmdline::OptionSpec;
///
/// const OUTPUT_DIRECTORY: OptionSpec = OptionSpec::new(
///     Some("-od"),
///     "--output-directory",
///     1,
///     &["[d]irectory: string", "write received objects to existing directory d"],
/// );
/// assert_eq!(OUTPUT_DIRECTORY.id(), "output-directory");
/// assert!(OUTPUT_DIRECTORY.is_spelled("-od") && !OUTPUT_DIRECTORY.is_spelled("+od"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    short: Option<&'static str>,
    long: &'static str,
    arity: usize,
    help: &'static [&'static str],
}

impl OptionSpec {
    /// An option row: `short` with its `-` or `+` prefix (`-od`, `+B`; `None` for long-only
    /// options such as `--version`), `long` with its `--` prefix, the number of values that
    /// follow it (consumed unconditionally, as DCMTK does), and the help lines (for an option
    /// with values, the first line describes them).
    pub const fn new(
        short: Option<&'static str>,
        long: &'static str,
        arity: usize,
        help: &'static [&'static str],
    ) -> OptionSpec {
        OptionSpec {
            short,
            long,
            arity,
            help,
        }
    }

    /// The short spelling with its prefix (`-od`, `+B`), if any.
    pub const fn short(&self) -> Option<&'static str> {
        self.short
    }

    /// The long spelling with its `--` prefix; DCMTK names the option by it in every message.
    pub const fn long(&self) -> &'static str {
        self.long
    }

    /// How many values follow the option.
    pub const fn arity(&self) -> usize {
        self.arity
    }

    /// The help lines shown right of the spellings.
    pub const fn help(&self) -> &'static [&'static str] {
        self.help
    }

    /// Whether `--help` and the man page leave the option out (it has no help lines).
    pub const fn is_hidden(&self) -> bool {
        self.help.is_empty()
    }

    /// The long spelling without `--`: the option's identity in the parsed arguments.
    pub fn id(&self) -> &'static str {
        self.long.strip_prefix("--").unwrap_or(self.long)
    }

    /// Whether a command-line token spells this option (short or long, exactly).
    pub fn is_spelled(&self, token: &str) -> bool {
        self.long == token || self.short == Some(token)
    }
}

/// An enum naming the options of one table, as [`option_table!`](crate::option_table) declares
/// it. The query methods of [`Arguments`](crate::Arguments) take any such enum, so a program's
/// own options and those a library contributes (logging, TLS) are asked for alike.
pub trait OptionId: Copy + Eq + Debug + 'static {
    /// This option's row.
    fn spec(self) -> &'static OptionSpec;

    /// Every option of the enum, in table order.
    fn all() -> &'static [Self];

    /// The long spelling, e.g. `--output-directory`.
    fn long(self) -> &'static str {
        self.spec().long()
    }

    /// The option `token` spells, if any.
    fn from_spelling(token: &str) -> Option<Self> {
        Self::all()
            .iter()
            .copied()
            .find(|opt| opt.spec().is_spelled(token))
    }
}

/// Declares an enum of options and its rows in one list: each row is
/// `Variant = short, "--long", arity, ["help line", ...];` with doc comments allowed on the
/// enum and on each row. The enum gets `ALL`, a `const fn spec(self)` (usable in a const
/// [`Layout`](crate::Layout)) and an [`OptionId`] implementation.
///
/// ```
/// dcmrecv_cmdline::option_table! {
///     /// The options of a small tool.
///     pub enum Opt;
///
///     /// `-od DIR`.
///     OutputDirectory = Some("-od"), "--output-directory", 1, [
///         "[d]irectory: string",
///         "write received objects to existing directory d",
///     ];
///     /// `--ignore`.
///     Ignore = None, "--ignore", 0, ["ignore dataset, receive but do not store it"];
/// }
///
/// use dcmrecv_cmdline::OptionId;
/// assert_eq!(Opt::ALL, [Opt::OutputDirectory, Opt::Ignore]);
/// assert_eq!(Opt::from_spelling("-od"), Some(Opt::OutputDirectory));
/// assert_eq!(Opt::Ignore.spec().arity(), 0);
/// ```
#[macro_export]
macro_rules! option_table {
    (
        $(#[$enum_meta:meta])*
        $vis:vis enum $name:ident;
        $(
            $(#[$doc:meta])*
            $variant:ident = $short:expr, $long:literal, $arity:literal, [$($help:literal),* $(,)?];
        )*
    ) => {
        $(#[$enum_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$doc])* $variant,)*
        }

        impl $name {
            /// All options, in table order.
            $vis const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// This option's spellings, number of values and help text.
            $vis const fn spec(self) -> &'static $crate::OptionSpec {
                match self {
                    $($name::$variant => {
                        const SPEC: $crate::OptionSpec =
                            $crate::OptionSpec::new($short, $long, $arity, &[$($help),*]);
                        &SPEC
                    })*
                }
            }
        }

        impl $crate::OptionId for $name {
            fn spec(self) -> &'static $crate::OptionSpec {
                $name::spec(self)
            }

            fn all() -> &'static [$name] {
                $name::ALL
            }
        }
    };
}
