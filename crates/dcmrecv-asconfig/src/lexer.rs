//! The lexical layer: DCMTK's `OFConfigFile` (as used by `DcmAssociationConfigurationFile`),
//! reproduced byte for byte.
//!
//! DCMTK reads the file one byte at a time through `read_char` / `read_keywordchar` with a one-byte
//! push-back (`ungetc`). The quirks that follow from that reader are part of the file format as
//! users experience it, so this module mirrors the reader's state machine instead of using a
//! line-based grammar:
//!
//! * NUL bytes become spaces; CR, LF and CRLF each end a line.
//! * A `#` in column 1 starts a comment that runs to the end of the line (its line break is eaten
//!   too). A `#` anywhere else is an ordinary character.
//! * Keywords (section names and keys) skip blanks and line breaks, upper-case ASCII letters and keep
//!   only `A-Z 0-9 - _`; every other byte is silently dropped. A key runs up to the next `=`, even
//!   across lines.
//! * A value starts at the first non-blank byte after `=`. A following line that starts with a blank
//!   continues the value (joined with `\n`); blank lines do not end it. Trailing blanks are kept.
//! * `[[NAME]]` opens a supersection, `[NAME]` a section; headers with more brackets count as level 2.
//!   Sections before the first supersection, and entries outside a section, are dropped.
//!
//! The tree keeps duplicates in file order; the lookups (`supersection`, `Section::entry`) return the
//! first match, as DCMTK's cursor does.

/// One `KEY = value` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The mangled keyword, e.g. `TRANSFERSYNTAX1`.
    pub(crate) key: String,
    /// The raw value bytes (continuation lines joined with `\n`, trailing line breaks removed).
    pub(crate) value: Vec<u8>,
    /// 1-based line on which the keyword starts.
    pub(crate) line: usize,
}

/// A `[NAME]` section with its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// The mangled section name.
    pub(crate) name: String,
    /// 1-based line of the header.
    pub(crate) line: usize,
    /// Entries in file order, duplicates included.
    pub(crate) entries: Vec<Entry>,
}

impl Section {
    /// The first entry called `key`, as DCMTK's `get_entry` finds it.
    pub(crate) fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A `[[NAME]]` supersection with its sections in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Supersection {
    /// The mangled supersection name.
    pub(crate) name: String,
    /// Sections in file order, duplicates included.
    pub(crate) sections: Vec<Section>,
}

/// The whole file as DCMTK's `OFConfigFile` stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tree {
    /// Supersections in file order, duplicates included.
    pub(crate) supersections: Vec<Supersection>,
}

impl Tree {
    /// Reads `bytes` the way DCMTK 3.6.7 reads an asconfig file.
    pub(crate) fn read(bytes: &[u8]) -> Tree {
        let mut reader = Reader::new(bytes);
        let mut tree = Tree::default();
        // Whether entries currently have a section to go into (DCMTK's cursor level 1).
        let mut in_section = false;
        while !reader.eof {
            let Some(node) = reader.read_entry() else {
                continue;
            };
            match node {
                Node::Supersection { name } => {
                    tree.supersections.push(Supersection {
                        name,
                        sections: Vec::new(),
                    });
                    in_section = false;
                }
                Node::Section { name, line } => {
                    // A section before the first supersection has no parent and is dropped.
                    if let Some(sup) = tree.supersections.last_mut() {
                        sup.sections.push(Section {
                            name,
                            line,
                            entries: Vec::new(),
                        });
                        in_section = true;
                    }
                }
                Node::Entry(entry) => {
                    // An entry outside a section has no parent and is dropped.
                    if in_section {
                        if let Some(section) = tree
                            .supersections
                            .last_mut()
                            .and_then(|s| s.sections.last_mut())
                        {
                            section.entries.push(entry);
                        }
                    }
                }
            }
        }
        tree
    }

    /// The first supersection called `name`: DCMTK never looks at later duplicates.
    pub(crate) fn supersection(&self, name: &str) -> Option<&Supersection> {
        self.supersections.iter().find(|s| s.name == name)
    }
}

/// One node as `read_entry` produces it.
enum Node {
    Supersection { name: String },
    Section { name: String, line: usize },
    Entry(Entry),
}

/// Whether DCMTK keeps byte `c` (already upper-cased) in a keyword.
fn is_keyword_byte(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-' || c == b'_'
}

/// DCMTK's `FILE*`-based reader: one byte of push-back, an end-of-file flag, and the
/// `isnewline_` / `crfound_` state of `OFConfigFile::read_char`.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    pushback: Option<u8>,
    eof: bool,
    is_newline: bool,
    cr_found: bool,
    line: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            pushback: None,
            eof: false,
            is_newline: true,
            cr_found: false,
            line: 1,
        }
    }

    /// `getc`: the pushed-back byte first, then the input; `None` (and the EOF flag) at the end.
    fn getc(&mut self) -> Option<u8> {
        if let Some(c) = self.pushback.take() {
            return Some(c);
        }
        match self.bytes.get(self.pos) {
            Some(&c) => {
                self.pos += 1;
                Some(c)
            }
            None => {
                self.eof = true;
                None
            }
        }
    }

    /// `ungetc`: push one byte back and clear the EOF flag.
    fn ungetc(&mut self, c: u8) {
        self.pushback = Some(c);
        self.eof = false;
    }

    /// `OFConfigFile::read_char`: line-break normalisation, column-1 comments, NUL → space.
    fn read_char(&mut self) -> Option<u8> {
        let mut comment = false;
        loop {
            let c = self.getc()?;
            if c == b'\n' && self.cr_found && self.is_newline {
                // The LF of a CRLF pair.
                self.cr_found = false;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                self.is_newline = true;
                self.cr_found = c == b'\r';
                self.line += 1;
                if comment {
                    comment = false;
                    continue;
                }
                return Some(b'\n');
            }
            if c == b'#' && self.is_newline {
                comment = true;
                self.is_newline = false;
                continue;
            }
            if !comment {
                self.is_newline = false;
                return Some(if c == 0 { b' ' } else { c });
            }
        }
    }

    /// `OFConfigFile::read_keywordchar`: the next byte that is not a blank or a line break,
    /// with ASCII lower case turned into upper case.
    fn read_keywordchar(&mut self) -> Option<u8> {
        loop {
            let c = self.read_char()?;
            if c != b' ' && c != b'\t' && c != b'\n' {
                return Some(c.to_ascii_uppercase());
            }
        }
    }

    /// `OFConfigFile::read_entry`: one header or one `key = value` entry.
    fn read_entry(&mut self) -> Option<Node> {
        let first = self.read_keywordchar()?;
        let line = self.line;
        let mut name = Vec::new();
        if first == b'[' {
            let mut level = 1usize;
            let mut valid = true;
            loop {
                match self.read_keywordchar() {
                    Some(b'[') => level += 1,
                    Some(c) => {
                        self.ungetc(c);
                        break;
                    }
                    None => {
                        valid = false;
                        break;
                    }
                }
            }
            if valid {
                loop {
                    match self.read_keywordchar() {
                        Some(b']') => break,
                        Some(c) if is_keyword_byte(c) => name.push(c),
                        Some(_) => {}
                        None => {
                            valid = false;
                            break;
                        }
                    }
                }
            }
            if valid {
                // Consume the remaining closing brackets, dropping anything in between.
                let mut open = level - 1;
                while open > 0 {
                    match self.read_keywordchar() {
                        Some(b']') => open -= 1,
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            let name = String::from_utf8_lossy(&name).into_owned();
            return Some(if level >= 2 {
                Node::Supersection { name }
            } else {
                Node::Section { name, line }
            });
        }

        self.ungetc(first);
        loop {
            match self.read_keywordchar() {
                Some(b'=') | None => break,
                Some(c) if is_keyword_byte(c) => name.push(c),
                Some(_) => {}
            }
        }
        let mut value = Vec::new();
        let mut skip_white = true;
        let mut just_newline = false;
        while let Some(c) = self.read_char() {
            match c {
                b'\n' => {
                    if !skip_white {
                        value.push(c);
                    }
                    skip_white = true;
                    just_newline = true;
                }
                b' ' | b'\t' => {
                    just_newline = false;
                    if !skip_white {
                        value.push(c);
                    }
                }
                _ if just_newline => {
                    // A non-blank byte at the start of a line: the next entry begins here.
                    self.ungetc(c);
                    break;
                }
                _ => {
                    value.push(c);
                    skip_white = false;
                }
            }
        }
        while value.last() == Some(&b'\n') {
            value.pop();
        }
        Some(Node::Entry(Entry {
            key: String::from_utf8_lossy(&name).into_owned(),
            value,
            line,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use std::fmt::Write as _;

    /// Renders the tree the way DCMTK's `OFConfigFile::print` would, plus line numbers.
    fn render(tree: &Tree) -> String {
        let mut out = String::new();
        for sup in &tree.supersections {
            writeln!(out, "[[{}]]", sup.name).unwrap();
            for sec in &sup.sections {
                writeln!(out, "  [{}] @{}", sec.name, sec.line).unwrap();
                for e in &sec.entries {
                    writeln!(
                        out,
                        "    {} = {:?} @{}",
                        e.key,
                        String::from_utf8_lossy(&e.value),
                        e.line
                    )
                    .unwrap();
                }
            }
        }
        out
    }

    fn check(input: &[u8], expect: Expect) {
        expect.assert_eq(&render(&Tree::read(input)));
    }

    #[test]
    fn plain_file() {
        check(
            b"[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicit\nTransferSyntax2 = LittleEndianImplicit\n",
            expect![[r#"
                [[TRANSFERSYNTAXES]]
                  [UNCOMPRESSED] @2
                    TRANSFERSYNTAX1 = "LittleEndianExplicit" @3
                    TRANSFERSYNTAX2 = "LittleEndianImplicit" @4
            "#]],
        );
    }

    #[test]
    fn line_endings_cr_lf_crlf() {
        check(
            b"[[A]]\r[B]\r\nK1 = x\nK2 = y\r\rK3 = z\r\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    K1 = "x" @3
                    K2 = "y" @4
                    K3 = "z" @6
            "#]],
        );
    }

    #[test]
    fn nul_becomes_space() {
        check(
            b"[[A]]\n[B]\nK1 = a\0b\0\nK\x002 = c\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    K1 = "a b " @3
                    K2 = "c" @4
            "#]],
        );
    }

    #[test]
    fn comments_only_in_column_one() {
        check(
            b"# header\n[[A]]\n[B]\n# c1\n#c2\nK1 = v # not a comment\n  # indented\nK2 = w\n",
            expect![[r#"
                [[A]]
                  [B] @3
                    K1 = "v # not a comment\n# indented" @6
                    K2 = "w" @8
            "#]],
        );
    }

    #[test]
    fn indented_comment_after_header_swallows_next_key() {
        // Observed with dcmrecv: the `#` line becomes part of a keyword that runs to the next `=`.
        check(
            b"[[A]]\n[B]\n  # comment\nK1 = v\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    COMMENTK1 = "v" @3
            "#]],
        );
    }

    #[test]
    fn comment_line_inside_continuation_is_transparent() {
        check(
            b"[[A]]\n[B]\nK1 = a\n# c\n  b\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    K1 = "a\nb" @3
            "#]],
        );
    }

    #[test]
    fn keyword_mangling() {
        check(
            b"[[transfer syntaxes]]\n[my.pro-file_1]\ntransfer syntax1= x\nK\xc3\xa9Y:2/ = y\n",
            expect![[r#"
                [[TRANSFERSYNTAXES]]
                  [MYPRO-FILE_1] @2
                    TRANSFERSYNTAX1 = "x" @3
                    KY2 = "y" @4
            "#]],
        );
    }

    #[test]
    fn continuation_lines_and_blank_lines() {
        check(
            b"[[A]]\n[B]\nK1 = a\n\n   \n\tb c\nK2 =\n  later\nK3 =\nK4 = d\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    K1 = "a\nb c" @3
                    K2 = "later" @7
                    K3 = "" @9
                    K4 = "d" @10
            "#]],
        );
    }

    #[test]
    fn indented_key_after_entry_is_a_continuation() {
        check(
            b"[[A]]\n[B]\nTS1 = LittleEndianImplicit\n  TS2 = LittleEndianExplicit\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    TS1 = "LittleEndianImplicit\nTS2 = LittleEndianExplicit" @3
            "#]],
        );
    }

    #[test]
    fn indented_key_after_header_is_fine() {
        check(
            b"[[A]]\n[B]\n   K1 = v\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    K1 = "v" @3
            "#]],
        );
    }

    #[test]
    fn trailing_blanks_are_kept() {
        check(
            b"[[A]]\n[B]\nK1 = v  \t\nK2 = w\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    K1 = "v  \t" @3
                    K2 = "w" @4
            "#]],
        );
    }

    #[test]
    fn duplicates_are_kept_in_the_tree_and_first_wins_on_lookup() {
        let tree = Tree::read(b"[[A]]\n[B]\nK = 1\nK = 2\n[[A]]\n[C]\nK = 3\n");
        assert_eq!(tree.supersections.len(), 2);
        let first = tree.supersection("A").unwrap();
        assert_eq!(first.sections.len(), 1);
        assert_eq!(first.sections[0].entry("K").unwrap().value, b"1");
    }

    #[test]
    fn orphans_are_dropped() {
        check(
            b"K0 = orphan\n[S0]\nK1 = orphan\n[[A]]\nK2 = orphan\n[B]\nK3 = kept\n",
            expect![[r#"
                [[A]]
                  [B] @6
                    K3 = "kept" @7
            "#]],
        );
    }

    #[test]
    fn header_bracket_quirks() {
        // `[[[X]]]` is level 2; `[[Y] z]` drops `z`; `[]` is a section with an empty name;
        // an unbalanced `[[P]` swallows the next header up to its `]`.
        check(
            b"[[[X]]]\n[]\nK1 = a\n[[Y] z]\n[S]\n[[P]\n[Default]\nK2 = b\n",
            expect![[r#"
                [[X]]
                  [] @2
                    K1 = "a" @3
                [[Y]]
                  [S] @5
                [[P]]
            "#]],
        );
    }

    #[test]
    fn key_without_equals_runs_into_the_next_line() {
        check(
            b"[[A]]\n[B]\njunk\nK1 = v\n",
            expect![[r#"
                [[A]]
                  [B] @2
                    JUNKK1 = "v" @3
            "#]],
        );
    }

    #[test]
    fn eof_cases() {
        check(b"", expect![""]);
        check(
            b"[[A]]\n[B]\nK1 = no newline",
            expect![[r#"
                [[A]]
                  [B] @2
                    K1 = "no newline" @3
            "#]],
        );
        check(
            b"[[A]]\n[B]\nK1",
            expect![[r#"
                [[A]]
                  [B] @2
                    K1 = "" @3
            "#]],
        );
        check(
            b"[[A",
            expect![[r#"
                [[A]]
            "#]],
        );
    }
}
