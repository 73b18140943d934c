//! Command templates: a storescp-style command string (`-xcr "cmd #p #f"`) split into words
//! once, at start-up, with its placeholders kept as slots inside each word.
//!
//! # Quoting rules
//!
//! The command string is split like a POSIX shell splits words, and nothing else a shell does
//! happens (the [`shlex`] crate does the splitting):
//!
//! - spaces, tabs and newlines separate words;
//! - `'...'` keeps everything inside literally;
//! - `"..."` keeps everything inside, except that `\"`, `\\`, `` \` `` and `\$` stand for the
//!   character and a backslash before a newline removes both;
//! - outside quotes, `\x` stands for `x`;
//! - `#` at the start of a word begins a comment that runs to the end of the line — as in sh,
//!   and so as in storescp, where the shell sees the command;
//! - an unterminated quote or a trailing backslash is an error.
//!
//! There is no expansion of variables, commands, `~` or globs, and no operators. Because a
//! command written for storescp's `/bin/sh -c` would silently mean something else, the
//! characters a shell would act on are refused, with a message, when they appear unquoted:
//! `;`, `|`, `&`, `<`, `>`, `(`, `)`, a newline between words, and `$` or `` ` `` outside single
//! quotes. To use a shell, write one, and pass the values as its positional arguments:
//! `sh -c 'gzip -k "$1" && mv "$1.gz" /archive' hook #p/#f`. A placeholder inside the script
//! of a `sh -c` (or bash, dash, zsh, ksh, mksh, ash) is refused, since the shell would parse
//! the value.
//!
//! # Placeholders
//!
//! storescp 3.6.7's, wherever they appear in a word (inside quotes too): `#p` the directory of
//! the file (end of study: the study's directory), `#f` the file name (reception only), `#a`
//! the calling AE title, `#c` the called AE title, `#r` the remote host. A value is substituted
//! into its word after splitting, so it is always part of exactly one argument, whatever it
//! holds, and is never scanned again. Any other `#x` is literal text. Placeholders may not
//! appear in the program name.

use std::fmt;

use snafu::{Snafu, ensure};

/// Errors in a hook command string, found at start-up.
#[non_exhaustive]
#[derive(Debug, Snafu, PartialEq, Eq)]
pub enum Error {
    /// The string has no words (or only a comment).
    #[snafu(display("the command is empty"))]
    Empty,
    /// A quote is not closed, or the string ends with a backslash.
    #[snafu(display("unbalanced quotes or a trailing backslash in {command:?}"))]
    Unbalanced {
        /// The command string.
        command: String,
    },
    /// A character a shell would act on appears unquoted.
    #[snafu(display(
        "{character:?} at byte {offset} of {command:?} needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"
    ))]
    ShellSyntax {
        /// The command string.
        command: String,
        /// The character.
        character: char,
        /// Its byte offset.
        offset: usize,
    },
    /// The program name contains a placeholder.
    #[snafu(display("the program name {program:?} must not contain a placeholder"))]
    PlaceholderInProgram {
        /// The program word as written.
        program: String,
    },
    /// A placeholder is inside the script of a shell's `-c`.
    #[snafu(display(
        "placeholder inside the script of {shell} -c would be parsed by the shell; pass it as an argument instead: {shell} -c '... \"$1\" ...' hook #p"
    ))]
    PlaceholderInShellScript {
        /// The shell.
        shell: String,
    },
    /// The command contains a character reserved for placeholders (U+E000).
    #[snafu(display("the command contains U+E000, which is reserved"))]
    ReservedCharacter,
}

/// A value a hook command can refer to. Its token is storescp's (`#p`, `#f`, `#a`, `#c`, `#r`).
///
/// ```
/// use dcmrecv_hooks::Placeholder;
///
/// assert_eq!(Placeholder::FileName.token(), "#f");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `#p`: the directory of the stored file; for end of study, the study's directory.
    Path,
    /// `#f`: the stored file's name (reception hooks only, as in storescp).
    FileName,
    /// `#a`: the calling AE title.
    CallingAe,
    /// `#c`: the called AE title.
    CalledAe,
    /// `#r`: the remote host (name, or IP address when host lookup is off).
    RemoteHost,
}

impl Placeholder {
    /// All of them, in storescp's substitution order.
    pub const ALL: [Placeholder; 5] = [
        Placeholder::Path,
        Placeholder::FileName,
        Placeholder::CallingAe,
        Placeholder::CalledAe,
        Placeholder::RemoteHost,
    ];

    /// The token written in a command string.
    pub fn token(self) -> &'static str {
        match self {
            Placeholder::Path => "#p",
            Placeholder::FileName => "#f",
            Placeholder::CallingAe => "#a",
            Placeholder::CalledAe => "#c",
            Placeholder::RemoteHost => "#r",
        }
    }

    fn letter(self) -> char {
        match self {
            Placeholder::Path => 'p',
            Placeholder::FileName => 'f',
            Placeholder::CallingAe => 'a',
            Placeholder::CalledAe => 'c',
            Placeholder::RemoteHost => 'r',
        }
    }
}

/// Which hook a template is for; it decides the placeholders it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookKind {
    /// Per stored object (`--exec-on-reception`): `#p #f #a #c #r`.
    Reception,
    /// Per completed study (`--exec-on-eostudy`): `#p #a #c #r`; `#f` is literal text, as in
    /// storescp.
    EndOfStudy,
}

impl HookKind {
    /// `"reception"` or `"end-of-study"`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Reception => "reception",
            HookKind::EndOfStudy => "end-of-study",
        }
    }

    fn knows(self, p: Placeholder) -> bool {
        !(self == HookKind::EndOfStudy && p == Placeholder::FileName)
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values placeholders stand for. `None` leaves the placeholder's own text (`#p`), as
/// storescp does when it has no value (with `--ignore`).
///
/// ```
/// use dcmrecv_hooks::Values;
///
/// let values = Values {
///     path: Some("out".into()),
///     file_name: Some("CT.1.2.3".into()),
///     ..Values::default()
/// };
/// assert_eq!(values.calling_ae, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// `#p`.
    pub path: Option<String>,
    /// `#f`.
    pub file_name: Option<String>,
    /// `#a`.
    pub calling_ae: Option<String>,
    /// `#c`.
    pub called_ae: Option<String>,
    /// `#r`.
    pub remote_host: Option<String>,
}

impl Values {
    fn get(&self, p: Placeholder) -> Option<&str> {
        match p {
            Placeholder::Path => self.path.as_deref(),
            Placeholder::FileName => self.file_name.as_deref(),
            Placeholder::CallingAe => self.calling_ae.as_deref(),
            Placeholder::CalledAe => self.called_ae.as_deref(),
            Placeholder::RemoteHost => self.remote_host.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Slot(Placeholder),
}

/// A hook command, split into words once; [`expand`](Self::expand) fills in the values.
///
/// ```
/// use dcmrecv_hooks::{CommandTemplate, HookKind, Values};
///
/// let template = CommandTemplate::parse("/usr/local/bin/ingest --dir=#p '#f' #a", HookKind::Reception)?;
/// let argv = template.expand(&Values {
///     path: Some("/data/in".into()),
///     file_name: Some("CT.1.2;$(reboot)".into()),
///     calling_ae: Some("MODALITY 1".into()),
///     ..Values::default()
/// });
/// assert_eq!(argv, ["/usr/local/bin/ingest", "--dir=/data/in", "CT.1.2;$(reboot)", "MODALITY 1"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    kind: HookKind,
    source: String,
    words: Vec<Vec<Segment>>,
}

/// Stands in for `#` of a known placeholder while the string is split, so the splitter does
/// not take `#p` for a comment.
const SLOT: char = '\u{E000}';

/// Shells whose `-c` script would parse a substituted value.
const SHELLS: [&str; 7] = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"];

impl CommandTemplate {
    /// Splits `command` into words (see the module docs for the rules) and finds the
    /// placeholders `kind` knows.
    pub fn parse(command: &str, kind: HookKind) -> Result<CommandTemplate, Error> {
        ensure!(!command.contains(SLOT), ReservedCharacterSnafu);
        check_shell_syntax(command, kind)?;
        let mut marked = String::with_capacity(command.len());
        let mut rest = command;
        while let Some(at) = rest.find('#') {
            marked.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            match Placeholder::ALL
                .into_iter()
                .find(|p| kind.knows(*p) && after.starts_with(p.letter()))
            {
                // Known placeholder: a slot, which the splitter takes for ordinary text.
                Some(p) => {
                    marked.push(SLOT);
                    marked.push(p.letter());
                    rest = &after[1..];
                }
                None => {
                    marked.push('#');
                    rest = after;
                }
            }
        }
        marked.push_str(rest);
        let words = shlex::split(&marked).ok_or_else(|| Error::Unbalanced {
            command: command.to_string(),
        })?;
        ensure!(!words.is_empty(), EmptySnafu);
        let words: Vec<Vec<Segment>> = words.iter().map(|w| segments(w)).collect();
        let template = CommandTemplate {
            kind,
            source: command.to_string(),
            words,
        };
        template.check_program()?;
        Ok(template)
    }

    /// The hook kind it was parsed for.
    pub fn kind(&self) -> HookKind {
        self.kind
    }

    /// The command string as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The placeholders it uses, each once, in order of first use.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut used = Vec::new();
        for seg in self.words.iter().flatten() {
            if let Segment::Slot(p) = seg
                && !used.contains(p)
            {
                used.push(*p);
            }
        }
        used
    }

    /// The argument vector with `values` substituted: element 0 is the program.
    pub fn expand(&self, values: &Values) -> Vec<String> {
        self.words
            .iter()
            .map(|word| {
                let mut arg = String::new();
                for seg in word {
                    match seg {
                        Segment::Text(t) => arg.push_str(t),
                        Segment::Slot(p) => arg.push_str(values.get(*p).unwrap_or(p.token())),
                    }
                }
                arg
            })
            .collect()
    }

    fn check_program(&self) -> Result<(), Error> {
        let program = &self.words[0];
        if program.iter().any(|s| matches!(s, Segment::Slot(_))) {
            return PlaceholderInProgramSnafu {
                program: self.expand(&Values::default()).swap_remove(0),
            }
            .fail();
        }
        let name = self.expand(&Values::default()).swap_remove(0);
        let base = name.rsplit('/').next().unwrap_or(&name);
        if !SHELLS.contains(&base) {
            return Ok(());
        }
        // The script is the word after the first option word holding `c` (`-c`, `-ec`, `-xc`).
        let script = self
            .words
            .iter()
            .skip(1)
            .position(|w| match w.as_slice() {
                [Segment::Text(t)] => {
                    t.starts_with('-') && !t.starts_with("--") && t[1..].contains('c')
                }
                _ => false,
            })
            .and_then(|i| self.words.get(i + 2));
        if script.is_some_and(|w| w.iter().any(|s| matches!(s, Segment::Slot(_)))) {
            return PlaceholderInShellScriptSnafu {
                shell: base.to_string(),
            }
            .fail();
        }
        Ok(())
    }
}

/// Whether `after_hash` begins with the letter of a placeholder `kind` knows.
fn starts_placeholder(after_hash: &str, kind: HookKind) -> bool {
    Placeholder::ALL
        .into_iter()
        .any(|p| kind.knows(p) && after_hash.starts_with(p.letter()))
}

/// Cuts a split word at its slots.
fn segments(word: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c == SLOT
            && let Some(p) = chars
                .peek()
                .and_then(|l| Placeholder::ALL.into_iter().find(|p| p.letter() == *l))
        {
            chars.next();
            if !text.is_empty() {
                out.push(Segment::Text(std::mem::take(&mut text)));
            }
            out.push(Segment::Slot(p));
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() || out.is_empty() {
        out.push(Segment::Text(text));
    }
    out
}

/// Refuses what a shell would act on (see the module docs).
fn check_shell_syntax(command: &str, kind: HookKind) -> Result<(), Error> {
    #[derive(PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut quote = Quote::None;
    let mut escaped = false;
    let mut comment = false;
    let mut word_start = true;
    for (offset, c) in command.char_indices() {
        let fail = |character| {
            ShellSyntaxSnafu {
                command,
                character,
                offset,
            }
            .fail()
        };
        if comment {
            if c == '\n' {
                comment = false;
                word_start = true;
            }
            continue;
        }
        if escaped {
            escaped = false;
            word_start = false;
            continue;
        }
        match quote {
            Quote::Single => {
                if c == '\'' {
                    quote = Quote::None;
                }
            }
            Quote::Double => match c {
                '\\' => escaped = true,
                '"' => quote = Quote::None,
                '$' | '`' => return fail(c),
                _ => {}
            },
            Quote::None => {
                match c {
                    '\\' => escaped = true,
                    '\'' => quote = Quote::Single,
                    '"' => quote = Quote::Double,
                    '#' if word_start && !starts_placeholder(&command[offset + 1..], kind) => {
                        comment = true;
                        continue;
                    }
                    ';' | '|' | '&' | '<' | '>' | '(' | ')' | '$' | '`' => return fail(c),
                    '\n' if !command[offset..].trim().is_empty()
                        && !command[..offset].trim().is_empty() =>
                    {
                        return fail(c);
                    }
                    _ => {}
                }
                word_start = matches!(c, ' ' | '\t' | '\n');
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::{CommandTemplate, HookKind, Values};

    /// Parses `command` as a reception hook and shows the argv for hostile values, or the error.
    fn check(command: &str, expect: Expect) {
        let values = Values {
            path: Some("out dir".into()),
            file_name: Some("CT.1;$(x)".into()),
            calling_ae: Some("A\"B".into()),
            called_ae: Some("C'D".into()),
            remote_host: Some("h\nost".into()),
        };
        let shown = match CommandTemplate::parse(command, HookKind::Reception) {
            Ok(t) => format!("{:?}", t.expand(&values)),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn splitting_and_substitution() {
        check(
            "prog #p #f #a #c #r",
            expect![[r##"["prog", "out dir", "CT.1;$(x)", "A\"B", "C'D", "h\nost"]"##]],
        );
        check(
            "prog '#p/#f' \"#a-#c\" x#ry",
            expect![[r##"["prog", "out dir/CT.1;$(x)", "A\"B-C'D", "xh\nosty"]"##]],
        );
        check("prog #x #P ## #", expect![[r##"["prog"]"##]]);
        check(
            "prog a#x '#x' \\#p",
            expect![[r##"["prog", "a#x", "#x", "out dir"]"##]],
        );
        check(
            "  prog\t a\\ b 'c d' \"e\\\"f\"  ",
            expect![[r##"["prog", "a b", "c d", "e\"f"]"##]],
        );
        check("prog #p#f", expect![[r##"["prog", "out dirCT.1;$(x)"]"##]]);
        check(
            "prog '$HOME' 'a;b|c'",
            expect![[r##"["prog", "$HOME", "a;b|c"]"##]],
        );
        check(
            "prog \"a;b|c&d<e>(f)\"",
            expect![[r##"["prog", "a;b|c&d<e>(f)"]"##]],
        );
        check("prog arg # a comment #p", expect![[r##"["prog", "arg"]"##]]);
        check(
            "sh -c 'echo \"$1\"' hook #f",
            expect![[r##"["sh", "-c", "echo \"$1\"", "hook", "CT.1;$(x)"]"##]],
        );
    }

    #[test]
    fn what_needs_a_shell_is_refused() {
        check(
            "prog #f; rm x",
            expect![[
                r##"error: ';' at byte 7 of "prog #f; rm x" needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"##
            ]],
        );
        check(
            "prog #f | tee",
            expect![[
                r##"error: '|' at byte 8 of "prog #f | tee" needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"##
            ]],
        );
        check(
            "prog #f > log",
            expect![[
                r##"error: '>' at byte 8 of "prog #f > log" needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"##
            ]],
        );
        check(
            "prog $HOME",
            expect![[
                r##"error: '$' at byte 5 of "prog $HOME" needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"##
            ]],
        );
        check(
            "prog \"$HOME\"",
            expect![[
                r##"error: '$' at byte 6 of "prog \"$HOME\"" needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"##
            ]],
        );
        check(
            "prog `id`",
            expect![[
                r##"error: '`' at byte 5 of "prog `id`" needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"##
            ]],
        );
        check(
            "prog a &",
            expect![[
                r##"error: '&' at byte 7 of "prog a &" needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"##
            ]],
        );
        check(
            "prog a\nother b",
            expect![[
                r##"error: '\n' at byte 6 of "prog a\nother b" needs a shell, and hooks run without one; quote it, or write sh -c '...' and pass placeholders as arguments"##
            ]],
        );
        check("prog a\n", expect![[r##"["prog", "a"]"##]]);
        check("prog \\; a\\|b", expect![[r##"["prog", ";", "a|b"]"##]]);
        check(
            "prog # comment; with | operators",
            expect![[r##"["prog"]"##]],
        );
    }

    #[test]
    fn malformed_commands() {
        check("", expect![[r##"error: the command is empty"##]]);
        check(
            "   # only a comment",
            expect![[r##"error: the command is empty"##]],
        );
        check(
            "prog 'open",
            expect![[r##"error: unbalanced quotes or a trailing backslash in "prog 'open""##]],
        );
        check(
            "prog \"open",
            expect![[r##"error: unbalanced quotes or a trailing backslash in "prog \"open""##]],
        );
        check(
            "prog a\\",
            expect![[r##"error: unbalanced quotes or a trailing backslash in "prog a\\""##]],
        );
        check(
            "#p/handler #f",
            expect![[r##"error: the program name "#p/handler" must not contain a placeholder"##]],
        );
        check(
            "x#a y",
            expect![[r##"error: the program name "x#a" must not contain a placeholder"##]],
        );
        check(
            "prog \u{e000}p",
            expect![[r##"error: the command contains U+E000, which is reserved"##]],
        );
        check(
            "sh -c 'echo #f'",
            expect![[
                r##"error: placeholder inside the script of sh -c would be parsed by the shell; pass it as an argument instead: sh -c '... "$1" ...' hook #p"##
            ]],
        );
        check(
            "/bin/bash -ec 'x #a'",
            expect![[
                r##"error: placeholder inside the script of bash -c would be parsed by the shell; pass it as an argument instead: bash -c '... "$1" ...' hook #p"##
            ]],
        );
    }

    #[test]
    fn end_of_study_hooks_do_not_know_the_file_name() {
        let t = CommandTemplate::parse("prog #p #f x#f", HookKind::EndOfStudy).unwrap();
        let argv = t.expand(&Values {
            path: Some("out/S_1".into()),
            file_name: Some("never".into()),
            ..Values::default()
        });
        // As in storescp, `#f` is text; at the start of a word it starts a comment.
        assert_eq!(argv, ["prog", "out/S_1"]);
        let t = CommandTemplate::parse("prog x#f #p", HookKind::EndOfStudy).unwrap();
        assert_eq!(t.expand(&Values::default()), ["prog", "x#f", "#p"]);
        assert_eq!(t.placeholders(), [super::Placeholder::Path]);
    }

    #[test]
    fn missing_values_leave_the_token() {
        let t = CommandTemplate::parse("prog #p #f #a", HookKind::Reception).unwrap();
        assert_eq!(t.expand(&Values::default()), ["prog", "#p", "#f", "#a"]);
    }
}
