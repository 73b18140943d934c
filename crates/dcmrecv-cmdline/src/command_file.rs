//! `@file` command files, expanded before anything else is parsed (DCMTK's
//! `OFCommandLine::parseCommandFile`).
//!
//! Every argument `@path` with a non-empty path is replaced by the tokens of that file, wherever
//! it stands (even as an option's value). Tokens are separated by space, tab, CR or LF. A single
//! or double quote opens a block that runs to the same quote character; the quotes are removed,
//! and the closing quote ends the token even when it is empty or other characters follow
//! (`a'b c'd` yields `ab c` and `d`). An unterminated block runs to the end of the file. There is
//! no comment syntax, and a `@name` inside a command file stays a literal argument.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use snafu::ResultExt;

use crate::error::{Error, ReadCommandFileSnafu};

/// Expands every `@file` argument of `args` (the program name excluded).
pub(crate) fn expand(args: Vec<OsString>) -> Result<Vec<OsString>, Error> {
    let mut expanded = Vec::with_capacity(args.len());
    for arg in args {
        match command_file_path(&arg) {
            Some(path) => {
                let bytes = std::fs::read(&path).context(ReadCommandFileSnafu {
                    path: path.to_string_lossy().into_owned(),
                })?;
                expanded.extend(tokens(&bytes).into_iter().map(os_string_from_bytes));
            }
            None => expanded.push(arg),
        }
    }
    Ok(expanded)
}

/// The path of a command-file argument: `@` followed by at least one byte.
fn command_file_path(arg: &OsStr) -> Option<PathBuf> {
    let bytes = arg.as_encoded_bytes();
    if bytes.len() > 1 && bytes.first() == Some(&b'@') {
        // `@` is ASCII, so the rest is a valid platform string; going through `to_str` where we
        // can keeps this free of unsafe conversions.
        let rest = match arg.to_str() {
            Some(s) => OsString::from(s.get(1..).unwrap_or_default()),
            None => strip_first_byte(arg),
        };
        Some(PathBuf::from(rest))
    } else {
        None
    }
}

#[cfg(unix)]
fn strip_first_byte(arg: &OsStr) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(arg.as_bytes().get(1..).unwrap_or_default()).to_owned()
}

#[cfg(not(unix))]
fn strip_first_byte(arg: &OsStr) -> OsString {
    let lossy = arg.to_string_lossy();
    OsString::from(lossy.get(1..).unwrap_or_default())
}

#[cfg(unix)]
fn os_string_from_bytes(bytes: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes)
}

#[cfg(not(unix))]
fn os_string_from_bytes(bytes: Vec<u8>) -> OsString {
    OsString::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// Splits a command file's content into arguments, exactly as DCMTK does.
fn tokens(content: &[u8]) -> Vec<Vec<u8>> {
    let mut tokens = Vec::new();
    let mut value = Vec::new();
    let mut block: Option<u8> = None;
    for &c in content {
        match (c, block) {
            (b'\'' | b'"', None) => block = Some(c),
            (b'\'' | b'"', Some(open)) if c == open => {
                // The closing quote ends the argument, even an empty one.
                tokens.push(std::mem::take(&mut value));
                block = None;
            }
            (b' ' | b'\t' | b'\n' | b'\r', None) => {
                if !value.is_empty() {
                    tokens.push(std::mem::take(&mut value));
                }
            }
            _ => value.push(c),
        }
    }
    if !value.is_empty() {
        tokens.push(value);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(content: &str, expect: Expect) {
        let shown: Vec<String> = tokens(content.as_bytes())
            .into_iter()
            .map(|t| format!("<{}>", String::from_utf8_lossy(&t)))
            .collect();
        expect.assert_eq(&shown.join(" "));
    }

    #[test]
    fn tokens_follow_dcmtk() {
        check(
            "-od '/srv/with space'\n",
            expect![[r#"<-od> </srv/with space>"#]],
        );
        check("a\tb\r\nc  d", expect![[r#"<a> <b> <c> <d>"#]]);
        check("-od \"\" x", expect![[r#"<-od> <> <x>"#]]);
        check("ab'cd ef'gh", expect![[r#"<abcd ef> <gh>"#]]);
        check("a\"\"-od", expect![[r#"<a> <-od>"#]]);
        check("\"it's\" 'say \"hi\"'", expect![[r#"<it's> <say "hi">"#]]);
        check("'unterminated  x", expect![[r#"<unterminated  x>"#]]);
        check("# not a comment", expect![[r#"<#> <not> <a> <comment>"#]]);
        check("a\u{b}\u{c}b", expect!["<a\u{b}\u{c}b>"]);
        check("", expect![[r#""#]]);
        check("@nested.txt", expect![[r#"<@nested.txt>"#]]);
    }

    #[test]
    fn only_at_with_a_path_is_a_command_file() {
        assert_eq!(command_file_path(OsStr::new("@")), None);
        assert_eq!(command_file_path(OsStr::new("x@y")), None);
        assert_eq!(
            command_file_path(OsStr::new("@a b")),
            Some(PathBuf::from("a b"))
        );
    }

    #[test]
    fn a_missing_file_is_reported_with_its_path() {
        let err = expand(vec![OsString::from("@/nonexistent/args.txt")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot open command file '/nonexistent/args.txt'"
        );
    }

    #[test]
    fn files_expand_in_place_and_are_not_nested() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner.txt");
        std::fs::write(&inner, "-v").unwrap();
        let outer = dir.path().join("outer.txt");
        std::fs::write(&outer, format!("-od 'a b' @{}", inner.display())).unwrap();
        let args = vec![
            OsString::from("1"),
            OsString::from(format!("@{}", outer.display())),
            OsString::from("2"),
        ];
        let expanded = expand(args).unwrap();
        let inner_arg = format!("@{}", inner.display());
        assert_eq!(
            expanded,
            ["1", "-od", "a b", inner_arg.as_str(), "2"].map(OsString::from)
        );
    }
}
