//! The semantic layer: DCMTK's `DcmAssociationConfigurationFile` and `DcmAssociationConfiguration`
//! (3.6.7), from the lexical tree to named lists and profiles, and profile selection.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use snafu::ResultExt as _;

use crate::error::{
    CheckScpProfileSnafu, EmptyProfileNameSnafu, Error, Location, OpenFileSnafu, ParseReason,
    SelectProfileSnafu,
};
use crate::lexer::{Entry, Section, Tree};
use crate::profile::{ExtendedNegotiation, PresentationContext, Profile, Role, RoleSelection};
use crate::uid::resolve;

/// DCMTK's limit on the length of one presentation context list (`DcmPresentationContextMap::add`).
const MAX_PRESENTATION_CONTEXTS: usize = 128;
/// DCMTK rejects an extended negotiation value when `len - separator > 2048`, i.e. when the hex
/// part (plus the backslash) is longer than this.
const MAX_EXT_NEG_TAIL: usize = 2048;

/// C's `isspace` in the "C" locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// DCMTK's name mangling for references and profile names: whitespace removed, ASCII upper-cased.
/// (Section names were mangled harder by the lexer: see the crate docs on the mismatch.)
fn mangle(text: &[u8]) -> String {
    let bytes: Vec<u8> = text
        .iter()
        .filter(|c| !is_c_space(**c))
        .map(u8::to_ascii_uppercase)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A value's bytes as text for messages and for the model (lossy for non-UTF-8 bytes).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One entry of a presentation context list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PcItem {
    /// Resolved abstract syntax UID.
    abstract_syntax: String,
    /// Mangled name of the transfer syntax list.
    ts_list: String,
    /// Line of the `PresentationContextN` key.
    line: usize,
}

/// One `[[Profiles]]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProfileEntry {
    name: String,
    pc_list: String,
    role_list: Option<String>,
    ext_list: Option<String>,
}

/// A parsed asconfig file: all named lists and profiles, validated as DCMTK 3.6.7 validates them
/// at load time. Select a profile with [`AsconfigFile::scp_profile`] (for an acceptor) or
/// [`AsconfigFile::profile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsconfigFile {
    path: PathBuf,
    ts_lists: HashMap<String, Vec<String>>,
    pc_lists: HashMap<String, Vec<PcItem>>,
    role_lists: HashMap<String, Vec<RoleSelection>>,
    ext_lists: HashMap<String, Vec<ExtendedNegotiation>>,
    profiles: Vec<ProfileEntry>,
}

/// The numbered entries `PREFIX1`, `PREFIX2`, ... of a section, stopping at the first gap
/// (`PREFIX01` is a different key and never found).
fn numbered<'s>(section: &'s Section, prefix: &str) -> Vec<(String, &'s Entry)> {
    let mut first: HashMap<&str, &Entry> = HashMap::new();
    for entry in &section.entries {
        first.entry(entry.key.as_str()).or_insert(entry);
    }
    let mut out = Vec::new();
    for n in 1usize.. {
        let key = format!("{prefix}{n}");
        match first.get(key.as_str()) {
            Some(entry) => out.push((key, *entry)),
            None => break,
        }
    }
    out
}

impl AsconfigFile {
    /// Reads and parses the file at `path`.
    ///
    /// Fails with [`Error::OpenFile`] when the file cannot be opened (DCMTK's reason:
    /// `unable to open configuration file: <file>`), else as [`AsconfigFile::parse`]. As in DCMTK,
    /// a read error after a successful open ends the input there (a directory reads as empty).
    pub fn open(path: impl AsRef<Path>) -> Result<AsconfigFile, Error> {
        let path = path.as_ref();
        let mut file = std::fs::File::open(path).context(OpenFileSnafu { path })?;
        let mut bytes = Vec::new();
        // DCMTK's reader stops at the first read error and parses what it got.
        let _partial = file.read_to_end(&mut bytes);
        AsconfigFile::parse(&bytes, path)
    }

    /// Parses the contents of an asconfig file; `path` is only used in errors and by
    /// [`AsconfigFile::path`].
    ///
    /// Checks everything DCMTK 3.6.7 checks at load time, in its order, and fails on the first
    /// problem with [`Error::ParseFile`]. Never panics, whatever the bytes.
    pub fn parse(bytes: &[u8], path: impl Into<PathBuf>) -> Result<AsconfigFile, Error> {
        let tree = Tree::read(bytes);
        let mut file = AsconfigFile {
            path: path.into(),
            ts_lists: HashMap::new(),
            pc_lists: HashMap::new(),
            role_lists: HashMap::new(),
            ext_lists: HashMap::new(),
            profiles: Vec::new(),
        };
        file.read_transfer_syntaxes(&tree)?;
        file.read_presentation_contexts(&tree)?;
        file.read_roles(&tree)?;
        file.read_extended_negotiation(&tree)?;
        file.read_profiles(&tree)?;
        Ok(file)
    }

    /// The path given to [`AsconfigFile::open`] or [`AsconfigFile::parse`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The profile names as stored (mangled: upper case, only `A-Z 0-9 - _`), in file order.
    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.profiles.iter().map(|p| p.name.as_str())
    }

    /// Selects any profile (SCU profiles too) by name, the way DCMTK looks it up: whitespace is
    /// removed and ASCII letters are upper-cased, then the result must equal a stored profile
    /// name exactly.
    ///
    /// Because stored names also lost every character outside `A-Z 0-9 - _` while the name
    /// given here only loses whitespace, `[my.profile]` is found as `myprofile` but not as
    /// `my.profile` (DCMTK's name-mangling mismatch, kept on purpose).
    pub fn profile(&self, name: &str) -> Result<Profile, Error> {
        let entry = self.find_profile(name)?;
        Ok(self.build(entry))
    }

    /// Selects a profile for an SCP: as [`AsconfigFile::profile`], and the profile's presentation
    /// context list must not name the same abstract syntax twice (after symbolic names are
    /// resolved), as in DCMTK's `isValidSCPProfile`.
    pub fn scp_profile(&self, name: &str) -> Result<Profile, Error> {
        let entry = self.find_profile(name)?;
        let items = self
            .pc_lists
            .get(&entry.pc_list)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let earlier = items.get(..i).unwrap_or_default();
            if earlier
                .iter()
                .any(|e| e.abstract_syntax == item.abstract_syntax)
            {
                return CheckScpProfileSnafu {
                    path: self.path.clone(),
                    name,
                    pc_list: entry.pc_list.clone(),
                    uid: item.abstract_syntax.clone(),
                    line: item.line,
                }
                .fail();
            }
        }
        Ok(self.build(entry))
    }

    fn find_profile(&self, name: &str) -> Result<&ProfileEntry, Error> {
        if name.is_empty() {
            return EmptyProfileNameSnafu {
                path: self.path.clone(),
            }
            .fail();
        }
        let mangled = mangle(name.as_bytes());
        match self.profiles.iter().find(|p| p.name == mangled) {
            Some(entry) => Ok(entry),
            None => SelectProfileSnafu {
                path: self.path.clone(),
                name,
                mangled,
                available: self.profile_names().map(str::to_string).collect::<Vec<_>>(),
            }
            .fail(),
        }
    }

    fn build(&self, entry: &ProfileEntry) -> Profile {
        let mut profile = Profile::new(entry.name.clone());
        for item in self.pc_lists.get(&entry.pc_list).into_iter().flatten() {
            profile = profile.with_presentation_context(PresentationContext {
                abstract_syntax: item.abstract_syntax.clone(),
                transfer_syntaxes: self
                    .ts_lists
                    .get(&item.ts_list)
                    .cloned()
                    .unwrap_or_default(),
            });
        }
        if let Some(list) = &entry.role_list {
            for role in self.role_lists.get(list).into_iter().flatten() {
                profile = profile.with_role(role.clone());
            }
        }
        if let Some(list) = &entry.ext_list {
            for ext in self.ext_lists.get(list).into_iter().flatten() {
                profile = profile.with_extended_negotiation(ext.clone());
            }
        }
        profile
    }

    // ---- errors -------------------------------------------------------------------------------

    fn fail<T>(&self, location: Option<Location>, reason: ParseReason) -> Result<T, Error> {
        Err(Error::ParseFile {
            path: self.path.clone(),
            location: location.map(Box::new),
            reason: Box::new(reason),
        })
    }

    fn missing<T>(&self, name: &'static str) -> Result<T, Error> {
        self.fail(None, ParseReason::MissingSupersection { name })
    }

    // ---- the five supersections, in DCMTK's order ----------------------------------------------

    fn read_transfer_syntaxes(&mut self, tree: &Tree) -> Result<(), Error> {
        const SUPER: &str = "TRANSFERSYNTAXES";
        let Some(sup) = tree.supersection(SUPER) else {
            return self.missing(SUPER);
        };
        for section in &sup.sections {
            for (key, entry) in numbered(section, "TRANSFERSYNTAX") {
                let Some(uid) = resolve(&entry.value) else {
                    return self.fail(
                        at(SUPER, section, &key, entry),
                        ParseReason::InvalidTransferSyntaxUid {
                            value: text(&entry.value),
                        },
                    );
                };
                self.ts_lists
                    .entry(section.name.clone())
                    .or_default()
                    .push(uid);
            }
        }
        Ok(())
    }

    fn read_presentation_contexts(&mut self, tree: &Tree) -> Result<(), Error> {
        const SUPER: &str = "PRESENTATIONCONTEXTS";
        let Some(sup) = tree.supersection(SUPER) else {
            return self.missing(SUPER);
        };
        for section in &sup.sections {
            for (key, entry) in numbered(section, "PRESENTATIONCONTEXT") {
                let loc = at(SUPER, section, &key, entry);
                let Some((as_text, ts_text)) = split_at_backslash(&entry.value) else {
                    return self.fail(loc, ParseReason::MissingBackslash { key });
                };
                let ts_list = mangle(ts_text);
                if !self.ts_lists.contains_key(&ts_list) {
                    return self.fail(
                        loc,
                        ParseReason::UndefinedTransferSyntaxList { list: ts_list },
                    );
                }
                if as_text.is_empty() {
                    return self.fail(loc, ParseReason::EmptyAbstractSyntax);
                }
                if section.name.is_empty() || ts_list.is_empty() {
                    return self.fail(loc, ParseReason::EmptyListName);
                }
                let Some(uid) = resolve(as_text) else {
                    return self.fail(
                        loc,
                        ParseReason::InvalidAbstractSyntaxUid {
                            value: text(as_text),
                        },
                    );
                };
                let list = self.pc_lists.entry(section.name.clone()).or_default();
                if list.len() >= MAX_PRESENTATION_CONTEXTS {
                    return self.fail(
                        loc,
                        ParseReason::PresentationContextListTooLong {
                            list: section.name.clone(),
                        },
                    );
                }
                list.push(PcItem {
                    abstract_syntax: uid,
                    ts_list,
                    line: entry.line,
                });
            }
        }
        Ok(())
    }

    fn read_roles(&mut self, tree: &Tree) -> Result<(), Error> {
        const SUPER: &str = "SCPSCUROLESELECTION";
        // Optional supersection.
        let Some(sup) = tree.supersection(SUPER) else {
            return Ok(());
        };
        for section in &sup.sections {
            for (key, entry) in numbered(section, "ROLE") {
                let loc = at(SUPER, section, &key, entry);
                let Some((as_text, role_text)) = split_at_backslash(&entry.value) else {
                    return self.fail(loc, ParseReason::MissingBackslash { key });
                };
                let role = match role_text.to_ascii_uppercase().as_slice() {
                    b"SCU" => Role::Scu,
                    b"SCP" => Role::Scp,
                    b"BOTH" => Role::Both,
                    _ => return self.fail(loc, ParseReason::UnknownRole { key }),
                };
                let Some(uid) = resolve(as_text) else {
                    return self.fail(
                        loc,
                        ParseReason::InvalidAbstractSyntaxUid {
                            value: text(as_text),
                        },
                    );
                };
                let list = self.role_lists.entry(section.name.clone()).or_default();
                if list.iter().any(|r| r.abstract_syntax == uid) {
                    return self.fail(
                        loc,
                        ParseReason::DuplicateRole {
                            value: text(as_text),
                        },
                    );
                }
                list.push(RoleSelection {
                    abstract_syntax: uid,
                    role,
                });
            }
        }
        Ok(())
    }

    fn read_extended_negotiation(&mut self, tree: &Tree) -> Result<(), Error> {
        const SUPER: &str = "EXTENDEDNEGOTIATION";
        // Optional supersection.
        let Some(sup) = tree.supersection(SUPER) else {
            return Ok(());
        };
        for section in &sup.sections {
            for (key, entry) in numbered(section, "EXTENDEDNEGOTIATION") {
                let loc = at(SUPER, section, &key, entry);
                let Some((as_text, hex)) = split_at_backslash(&entry.value) else {
                    return self.fail(loc, ParseReason::MissingBackslash { key });
                };
                if hex.len() + 1 > MAX_EXT_NEG_TAIL {
                    return self.fail(loc, ParseReason::ExtendedNegotiationTooLong { key });
                }
                let Some(data) = decode_hex(hex) else {
                    return self.fail(loc, ParseReason::InvalidExtendedNegotiationData { key });
                };
                if data.is_empty() {
                    return self.fail(loc, ParseReason::EmptyExtendedNegotiationData);
                }
                let Some(uid) = resolve(as_text) else {
                    return self.fail(
                        loc,
                        ParseReason::InvalidAbstractSyntaxUid {
                            value: text(as_text),
                        },
                    );
                };
                let list = self.ext_lists.entry(section.name.clone()).or_default();
                if list.iter().any(|e| e.abstract_syntax == uid) {
                    return self.fail(
                        loc,
                        ParseReason::DuplicateExtendedNegotiation {
                            value: text(as_text),
                        },
                    );
                }
                list.push(ExtendedNegotiation {
                    abstract_syntax: uid,
                    data,
                });
            }
        }
        Ok(())
    }

    fn read_profiles(&mut self, tree: &Tree) -> Result<(), Error> {
        const SUPER: &str = "PROFILES";
        let Some(sup) = tree.supersection(SUPER) else {
            return self.missing(SUPER);
        };
        for section in &sup.sections {
            let Some(pc_entry) = section.entry("PRESENTATIONCONTEXTS") else {
                return self.fail(
                    at_section(SUPER, section),
                    ParseReason::MissingPresentationContextsKey {
                        profile: section.name.clone(),
                    },
                );
            };
            let pc_list = mangle(&pc_entry.value);
            let role = section
                .entry("SCPSCUROLESELECTION")
                .map(|e| (mangle(&e.value), e));
            let ext = section
                .entry("EXTENDEDNEGOTIATION")
                .map(|e| (mangle(&e.value), e));

            let Some(pcs) = self.pc_lists.get(&pc_list) else {
                return self.fail(
                    at(SUPER, section, "PRESENTATIONCONTEXTS", pc_entry),
                    ParseReason::UndefinedPresentationContextList { list: pc_list },
                );
            };
            if let Some((role_list, entry)) = &role {
                let loc = at(SUPER, section, "SCPSCUROLESELECTION", entry);
                let Some(roles) = self.role_lists.get(role_list) else {
                    return self.fail(
                        loc,
                        ParseReason::UndefinedRoleSelectionList {
                            list: role_list.clone(),
                        },
                    );
                };
                if let Some(r) = roles
                    .iter()
                    .find(|r| !pcs.iter().any(|pc| pc.abstract_syntax == r.abstract_syntax))
                {
                    return self.fail(
                        loc,
                        ParseReason::RoleNotInPresentationContexts {
                            role_list: role_list.clone(),
                            pc_list,
                            uid: r.abstract_syntax.clone(),
                        },
                    );
                }
            }
            if let Some((ext_list, entry)) = &ext {
                let loc = at(SUPER, section, "EXTENDEDNEGOTIATION", entry);
                let Some(exts) = self.ext_lists.get(ext_list) else {
                    return self.fail(
                        loc,
                        ParseReason::UndefinedExtendedNegotiationList {
                            list: ext_list.clone(),
                        },
                    );
                };
                if let Some(e) = exts
                    .iter()
                    .find(|e| !pcs.iter().any(|pc| pc.abstract_syntax == e.abstract_syntax))
                {
                    return self.fail(
                        loc,
                        ParseReason::ExtendedNegotiationNotInPresentationContexts {
                            ext_list: ext_list.clone(),
                            pc_list,
                            uid: e.abstract_syntax.clone(),
                        },
                    );
                }
            }
            if self.profiles.iter().any(|p| p.name == section.name) {
                return self.fail(
                    at_section(SUPER, section),
                    ParseReason::DuplicateProfile {
                        profile: section.name.clone(),
                        pc_list,
                    },
                );
            }
            // DCMTK stores an empty list name as "no list".
            self.profiles.push(ProfileEntry {
                name: section.name.clone(),
                pc_list,
                role_list: role.map(|(r, _)| r).filter(|r| !r.is_empty()),
                ext_list: ext.map(|(e, _)| e).filter(|e| !e.is_empty()),
            });
        }
        Ok(())
    }
}

/// Splits a value at its first backslash.
fn split_at_backslash(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let sep = value.iter().position(|c| *c == b'\\')?;
    Some((value.get(..sep)?, value.get(sep + 1..)?))
}

/// Decodes pairs of hex digits (either case); `None` for an odd length or a non-hex byte.
fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    hex.chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

/// The location of an entry.
fn at(supersection: &str, section: &Section, key: &str, entry: &Entry) -> Option<Location> {
    Some(Location {
        line: entry.line,
        supersection: supersection.to_string(),
        section: section.name.clone(),
        key: Some(key.to_string()),
        value: Some(text(&entry.value)),
    })
}

/// The location of a section header.
fn at_section(supersection: &str, section: &Section) -> Option<Location> {
    Some(Location {
        line: section.line,
        supersection: supersection.to_string(),
        section: section.name.clone(),
        key: None,
        value: None,
    })
}

/// Reads the file at `path` and selects the SCP profile `name`: the one call an acceptor needs
/// (`dcmrecv -xf <path> <name>`).
pub fn load_scp_profile(path: impl AsRef<Path>, name: &str) -> Result<Profile, Error> {
    AsconfigFile::open(path)?.scp_profile(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use std::fmt::Write as _;

    /// A `[[TransferSyntaxes]]` supersection with one `Uncompressed` list.
    const TS: &str = "[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicit\nTransferSyntax2 = LittleEndianImplicit\n";
    /// A `[[PresentationContexts]]` supersection with one list `P` holding Verification.
    const PC: &str = "[[PresentationContexts]]\n[P]\nPresentationContext1 = VerificationSOPClass\\Uncompressed\n";
    /// A `[[Profiles]]` supersection with one profile `Default` using list `P`.
    const PROF: &str = "[[Profiles]]\n[Default]\nPresentationContexts = P\n";

    fn render_profile(p: &Profile) -> String {
        let mut out = format!("profile {}\n", p.name());
        for pc in p.presentation_contexts() {
            writeln!(
                out,
                "  pc {} {:?}",
                pc.abstract_syntax, pc.transfer_syntaxes
            )
            .unwrap();
        }
        for r in p.roles() {
            writeln!(out, "  role {} {:?}", r.abstract_syntax, r.role).unwrap();
        }
        for e in p.extended_negotiation() {
            writeln!(out, "  extneg {} {:02x?}", e.abstract_syntax, e.data).unwrap();
        }
        out
    }

    /// Parses `input`, selects the SCP profile `name`, and renders either the profile or the
    /// error as `dcmrecv` would log it plus our `Display`.
    fn check_scp(input: &str, name: &str, expect: Expect) {
        let out = match AsconfigFile::parse(input.as_bytes(), "t.cfg")
            .and_then(|f| f.scp_profile(name))
        {
            Ok(p) => render_profile(&p),
            Err(e) => format!(
                "E: {}\nF: cannot load association configuration: {}\n{}\n",
                e.dcmtk_error_message().unwrap_or_else(|| "(none)".into()),
                e.dcmtk_reason(),
                e
            ),
        };
        expect.assert_eq(&out);
    }

    fn check(input: &str, expect: Expect) {
        check_scp(input, "default", expect);
    }

    #[test]
    fn minimal_profile() {
        check(
            &format!("{TS}{PC}{PROF}"),
            expect![[r#"
                profile DEFAULT
                  pc 1.2.840.10008.1.1 ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
            "#]],
        );
    }

    #[test]
    fn missing_supersections() {
        check(
            "",
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: cannot find section [[TRANSFERSYNTAXES]] in config file
                F: cannot load association configuration: cannot find section [[TRANSFERSYNTAXES]] in config file
                t.cfg: cannot find section [[TRANSFERSYNTAXES]] in config file
            "#]],
        );
        check(
            TS,
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: cannot find section [[PRESENTATIONCONTEXTS]] in config file
                F: cannot load association configuration: cannot find section [[PRESENTATIONCONTEXTS]] in config file
                t.cfg: cannot find section [[PRESENTATIONCONTEXTS]] in config file
            "#]],
        );
        check(
            &format!("{TS}{PC}"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: cannot find section [[PROFILES]] in config file
                F: cannot load association configuration: cannot find section [[PROFILES]] in config file
                t.cfg: cannot find section [[PROFILES]] in config file
            "#]],
        );
    }

    #[test]
    fn invalid_transfer_syntax() {
        for value in [
            "littleendianexplicit",
            "LittleEndianExplicit   ",
            "LittleEndianExplicit # c",
            "=1.2",
            "",
        ] {
            let err = AsconfigFile::parse(
                format!("[[TransferSyntaxes]]\n[U]\n\nTransferSyntax1 = {value}\n").as_bytes(),
                "t.cfg",
            )
            .unwrap_err();
            assert_eq!(
                err.dcmtk_reason(),
                format!("not a valid transfer syntax UID: {value}")
            );
            assert_eq!(err.line(), Some(4));
            assert_eq!(err.key(), Some("TRANSFERSYNTAX1"));
            assert_eq!(err.value(), Some(value));
        }
        check(
            "[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianImplicit\n  TransferSyntax2 = LittleEndianExplicit\n",
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: not a valid transfer syntax UID: LittleEndianImplicit
                TransferSyntax2 = LittleEndianExplicit
                F: cannot load association configuration: not a valid transfer syntax UID: LittleEndianImplicit
                TransferSyntax2 = LittleEndianExplicit
                t.cfg:3: not a valid transfer syntax UID: LittleEndianImplicit
                TransferSyntax2 = LittleEndianExplicit (key TRANSFERSYNTAX1 in [[TRANSFERSYNTAXES]] [UNCOMPRESSED])
            "#]],
        );
    }

    #[test]
    fn presentation_context_errors() {
        let pc = |value: &str| {
            format!("{TS}[[PresentationContexts]]\n[P]\nPresentationContext1 = {value}\n{PROF}")
        };
        check(
            &pc("VerificationSOPClass"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: syntax error: missing '\' in entry PRESENTATIONCONTEXT1 in config file
                F: cannot load association configuration: syntax error: missing '\' in entry PRESENTATIONCONTEXT1 in config file
                t.cfg:7: syntax error: missing '\' in entry PRESENTATIONCONTEXT1 in config file (key PRESENTATIONCONTEXT1 = "VerificationSOPClass" in [[PRESENTATIONCONTEXTS]] [P])
            "#]],
        );
        check(
            &pc("VerificationSOPClass\\Uncompressed\\x"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: transfer syntax key undefined: UNCOMPRESSED\X
                F: cannot load association configuration: transfer syntax key undefined: UNCOMPRESSED\X
                t.cfg:7: transfer syntax key undefined: UNCOMPRESSED\X (key PRESENTATIONCONTEXT1 = "VerificationSOPClass\\Uncompressed\\x" in [[PRESENTATIONCONTEXTS]] [P])
            "#]],
        );
        check(
            &pc("VerificationSOPClass \\Uncompressed"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: not a valid abstract syntax UID: VerificationSOPClass 
                F: cannot load association configuration: not a valid abstract syntax UID: VerificationSOPClass 
                t.cfg:7: not a valid abstract syntax UID: VerificationSOPClass  (key PRESENTATIONCONTEXT1 = "VerificationSOPClass \\Uncompressed" in [[PRESENTATIONCONTEXTS]] [P])
            "#]],
        );
        check(
            &pc("\\Uncompressed"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: Illegal call, perhaps wrong parameters
                F: cannot load association configuration: Illegal call, perhaps wrong parameters
                t.cfg:7: Illegal call, perhaps wrong parameters (key PRESENTATIONCONTEXT1 = "\\Uncompressed" in [[PRESENTATIONCONTEXTS]] [P])
            "#]],
        );
        check(
            &pc("1.2\\"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: transfer syntax key undefined: 
                F: cannot load association configuration: transfer syntax key undefined: 
                t.cfg:7: transfer syntax key undefined:  (key PRESENTATIONCONTEXT1 = "1.2\\" in [[PRESENTATIONCONTEXTS]] [P])
            "#]],
        );
        // The list-name part loses whitespace and is upper-cased.
        check(
            &pc("=VerificationSOPClass\\ un Compressed "),
            expect![[r#"
                profile DEFAULT
                  pc 1.2.840.10008.1.1 ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
            "#]],
        );
    }

    #[test]
    fn empty_list_names_are_illegal_calls() {
        // A presentation context list called `[...]` (stored as the empty name).
        check(
            &format!(
                "{TS}[[PresentationContexts]]\n[...]\nPresentationContext1 = 1.2\\Uncompressed\n{PROF}"
            ),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: Illegal call, perhaps wrong parameters
                F: cannot load association configuration: Illegal call, perhaps wrong parameters
                t.cfg:7: Illegal call, perhaps wrong parameters (key PRESENTATIONCONTEXT1 = "1.2\\Uncompressed" in [[PRESENTATIONCONTEXTS]] [])
            "#]],
        );
        // A transfer syntax list with an empty name is fine until a context uses it.
        check(
            &format!(
                "[[TransferSyntaxes]]\n[..]\nTransferSyntax1 = 1.2\n[Uncompressed]\nTransferSyntax1 = 1.2\n{PC}{PROF}"
            ),
            expect![[r#"
                profile DEFAULT
                  pc 1.2.840.10008.1.1 ["1.2"]
            "#]],
        );
        check(
            "[[TransferSyntaxes]]\n[..]\nTransferSyntax1 = 1.2\n[[PresentationContexts]]\n[P]\nPresentationContext1 = 1.2\\\n[[Profiles]]\n[Default]\nPresentationContexts = P\n",
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: Illegal call, perhaps wrong parameters
                F: cannot load association configuration: Illegal call, perhaps wrong parameters
                t.cfg:6: Illegal call, perhaps wrong parameters (key PRESENTATIONCONTEXT1 = "1.2\\" in [[PRESENTATIONCONTEXTS]] [P])
            "#]],
        );
    }

    fn many_contexts(n: usize) -> String {
        (1..=n)
            .map(|i| format!("PresentationContext{i} = 1.2.3.{i}\\Uncompressed\n"))
            .collect()
    }

    #[test]
    fn presentation_context_limit() {
        let ok = format!(
            "{TS}[[PresentationContexts]]\n[P]\n{}{PROF}",
            many_contexts(128)
        );
        let file = AsconfigFile::parse(ok.as_bytes(), "t.cfg").unwrap();
        assert_eq!(
            file.scp_profile("Default")
                .unwrap()
                .presentation_contexts()
                .len(),
            128
        );

        let too_many = format!(
            "{TS}[[PresentationContexts]]\n[P]\n{}{PROF}",
            many_contexts(129)
        );
        let err = AsconfigFile::parse(too_many.as_bytes(), "t.cfg").unwrap_err();
        assert_eq!(
            err.dcmtk_reason(),
            "presentation context list too long (> 128 entries): P"
        );
        assert_eq!(err.key(), Some("PRESENTATIONCONTEXT129"));
        assert_eq!(err.line(), Some(6 + 129));

        // Duplicate sections are concatenated, and count together.
        let split = format!(
            "{TS}[[PresentationContexts]]\n[P]\n{}[Q]\nPresentationContext1 = 1.2\\Uncompressed\n[P]\n{}{PROF}",
            many_contexts(100),
            (1..=29)
                .map(|i| format!("PresentationContext{i} = 1.3.{i}\\Uncompressed\n"))
                .collect::<String>()
        );
        let err = AsconfigFile::parse(split.as_bytes(), "t.cfg").unwrap_err();
        assert_eq!(
            err.dcmtk_reason(),
            "presentation context list too long (> 128 entries): P"
        );
        assert_eq!(err.key(), Some("PRESENTATIONCONTEXT29"));

        // An invalid abstract syntax in the 129th entry is reported first.
        let bad = format!(
            "{TS}[[PresentationContexts]]\n[P]\n{}PresentationContext129 = Foo\\Uncompressed\n{PROF}",
            many_contexts(128)
        );
        let err = AsconfigFile::parse(bad.as_bytes(), "t.cfg").unwrap_err();
        assert_eq!(err.dcmtk_reason(), "not a valid abstract syntax UID: Foo");
    }

    #[test]
    fn role_errors() {
        let roles = |r: &str| {
            format!(
                "{TS}{PC}[[SCPSCURoleSelection]]\n[R]\n{r}[[Profiles]]\n[Default]\nPresentationContexts = P\nSCPSCURoleSelection = R\n"
            )
        };
        check(
            &roles("Role1 = VerificationSOPClass\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: syntax error: missing '\' in entry ROLE1 in config file
                F: cannot load association configuration: syntax error: missing '\' in entry ROLE1 in config file
                t.cfg:10: syntax error: missing '\' in entry ROLE1 in config file (key ROLE1 = "VerificationSOPClass" in [[SCPSCUROLESELECTION]] [R])
            "#]],
        );
        // No whitespace removal in the role part; the role check comes before the UID check.
        check(
            &roles("Role1 = Foo\\ SCP\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: syntax error: unknown role key in entry ROLE1 in config file
                F: cannot load association configuration: syntax error: unknown role key in entry ROLE1 in config file
                t.cfg:10: syntax error: unknown role key in entry ROLE1 in config file (key ROLE1 = "Foo\\ SCP" in [[SCPSCUROLESELECTION]] [R])
            "#]],
        );
        check(
            &roles("Role1 = Foo\\scp\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: not a valid abstract syntax UID: Foo
                F: cannot load association configuration: not a valid abstract syntax UID: Foo
                t.cfg:10: not a valid abstract syntax UID: Foo (key ROLE1 = "Foo\\scp" in [[SCPSCUROLESELECTION]] [R])
            "#]],
        );
        check(
            &roles("Role1 = VerificationSOPClass\\SCP\nRole2 = 1.2.840.10008.1.1\\scu\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: role selection defined twice for abstract syntax UID: 1.2.840.10008.1.1
                F: cannot load association configuration: role selection defined twice for abstract syntax UID: 1.2.840.10008.1.1
                t.cfg:11: role selection defined twice for abstract syntax UID: 1.2.840.10008.1.1 (key ROLE2 = "1.2.840.10008.1.1\\scu" in [[SCPSCUROLESELECTION]] [R])
            "#]],
        );
        check(
            &roles("Role1 = 1.2.3\\SCP\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: abstract syntax defined in role selection list 'R' but not in presentation context list 'P': 1.2.3
                F: cannot load association configuration: abstract syntax defined in role selection list 'R' but not in presentation context list 'P': 1.2.3
                t.cfg:14: abstract syntax defined in role selection list 'R' but not in presentation context list 'P': 1.2.3 (key SCPSCUROLESELECTION = "R" in [[PROFILES]] [DEFAULT])
            "#]],
        );
        check(
            &roles("Role1 = VerificationSOPClass\\both\n"),
            expect![[r#"
                profile DEFAULT
                  pc 1.2.840.10008.1.1 ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
                  role 1.2.840.10008.1.1 Both
            "#]],
        );
        check(
            &format!(
                "{TS}{PC}[[Profiles]]\n[Default]\nPresentationContexts = P\nSCPSCURoleSelection = nope\n"
            ),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: role selection key undefined: NOPE
                F: cannot load association configuration: role selection key undefined: NOPE
                t.cfg:11: role selection key undefined: NOPE (key SCPSCUROLESELECTION = "nope" in [[PROFILES]] [DEFAULT])
            "#]],
        );
    }

    #[test]
    fn extended_negotiation_errors() {
        let ext = |e: &str| {
            format!(
                "{TS}{PC}[[ExtendedNegotiation]]\n[E]\n{e}[[Profiles]]\n[Default]\nPresentationContexts = P\nExtendedNegotiation = E\n"
            )
        };
        check(
            &ext("ExtendedNegotiation1 = Foo01\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: syntax error: missing '\' in entry EXTENDEDNEGOTIATION1 in config file
                F: cannot load association configuration: syntax error: missing '\' in entry EXTENDEDNEGOTIATION1 in config file
                t.cfg:10: syntax error: missing '\' in entry EXTENDEDNEGOTIATION1 in config file (key EXTENDEDNEGOTIATION1 = "Foo01" in [[EXTENDEDNEGOTIATION]] [E])
            "#]],
        );
        check(
            &ext("ExtendedNegotiation1 = VerificationSOPClass\\abc\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: parse error in extended negotiation data in entry EXTENDEDNEGOTIATION1 in config file
                F: cannot load association configuration: parse error in extended negotiation data in entry EXTENDEDNEGOTIATION1 in config file
                t.cfg:10: parse error in extended negotiation data in entry EXTENDEDNEGOTIATION1 in config file (key EXTENDEDNEGOTIATION1 = "VerificationSOPClass\\abc" in [[EXTENDEDNEGOTIATION]] [E])
            "#]],
        );
        check(
            &ext("ExtendedNegotiation1 = Foo\\0g\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: parse error in extended negotiation data in entry EXTENDEDNEGOTIATION1 in config file
                F: cannot load association configuration: parse error in extended negotiation data in entry EXTENDEDNEGOTIATION1 in config file
                t.cfg:10: parse error in extended negotiation data in entry EXTENDEDNEGOTIATION1 in config file (key EXTENDEDNEGOTIATION1 = "Foo\\0g" in [[EXTENDEDNEGOTIATION]] [E])
            "#]],
        );
        check(
            &ext("ExtendedNegotiation1 = VerificationSOPClass\\\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: Illegal call, perhaps wrong parameters
                F: cannot load association configuration: Illegal call, perhaps wrong parameters
                t.cfg:10: Illegal call, perhaps wrong parameters (key EXTENDEDNEGOTIATION1 = "VerificationSOPClass\\" in [[EXTENDEDNEGOTIATION]] [E])
            "#]],
        );
        check(
            &ext("ExtendedNegotiation1 = \\01\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: not a valid abstract syntax UID: 
                F: cannot load association configuration: not a valid abstract syntax UID: 
                t.cfg:10: not a valid abstract syntax UID:  (key EXTENDEDNEGOTIATION1 = "\\01" in [[EXTENDEDNEGOTIATION]] [E])
            "#]],
        );
        check(
            &ext(
                "ExtendedNegotiation1 = VerificationSOPClass\\01\nExtendedNegotiation2 = =VerificationSOPClass\\02\n",
            ),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: extended negotiation defined twice for abstract syntax UID: =VerificationSOPClass
                F: cannot load association configuration: extended negotiation defined twice for abstract syntax UID: =VerificationSOPClass
                t.cfg:11: extended negotiation defined twice for abstract syntax UID: =VerificationSOPClass (key EXTENDEDNEGOTIATION2 = "=VerificationSOPClass\\02" in [[EXTENDEDNEGOTIATION]] [E])
            "#]],
        );
        check(
            &ext("ExtendedNegotiation1 = 1.2.3\\01\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: abstract syntax defined in role selection list 'E' but not in presentation context list 'P': 1.2.3
                F: cannot load association configuration: abstract syntax defined in role selection list 'E' but not in presentation context list 'P': 1.2.3
                t.cfg:14: abstract syntax defined in role selection list 'E' but not in presentation context list 'P': 1.2.3 (key EXTENDEDNEGOTIATION = "E" in [[PROFILES]] [DEFAULT])
            "#]],
        );
        check(
            &format!(
                "{TS}{PC}[[Profiles]]\n[Default]\nPresentationContexts = P\nExtendedNegotiation = nope\n"
            ),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: extended negotiation key undefined: NOPE
                F: cannot load association configuration: extended negotiation key undefined: NOPE
                t.cfg:11: extended negotiation key undefined: NOPE (key EXTENDEDNEGOTIATION = "nope" in [[PROFILES]] [DEFAULT])
            "#]],
        );
        check(
            &ext("ExtendedNegotiation1 = VerificationSOPClass\\00fFA0\n"),
            expect![[r#"
                profile DEFAULT
                  pc 1.2.840.10008.1.1 ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
                  extneg 1.2.840.10008.1.1 [00, ff, a0]
            "#]],
        );
    }

    #[test]
    fn extended_negotiation_length_limit() {
        let ext = |bytes: usize| {
            format!(
                "{TS}{PC}[[ExtendedNegotiation]]\n[E]\nExtendedNegotiation1 = Foo\\{}\n[[Profiles]]\n[Default]\nPresentationContexts = P\n",
                "ab".repeat(bytes)
            )
        };
        // DCMTK 3.6.7 accepts at most 1023 bytes: the length check runs before the UID check.
        let err = AsconfigFile::parse(ext(1024).as_bytes(), "t.cfg").unwrap_err();
        assert_eq!(
            err.dcmtk_reason(),
            "extended negotiation data too long, cannot handle > 1024 bytes in entry EXTENDEDNEGOTIATION1 in config file"
        );
        let err = AsconfigFile::parse(ext(1023).as_bytes(), "t.cfg").unwrap_err();
        assert_eq!(err.dcmtk_reason(), "not a valid abstract syntax UID: Foo");
    }

    #[test]
    fn profile_errors() {
        check(
            &format!("{TS}{PC}[[Profiles]]\n[Default]\nFoo = P\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: no PRESENTATIONCONTEXTS  entry in section DEFAULT in config file
                F: cannot load association configuration: no PRESENTATIONCONTEXTS  entry in section DEFAULT in config file
                t.cfg:9: no PRESENTATIONCONTEXTS  entry in section DEFAULT in config file (section [[PROFILES]] [DEFAULT])
            "#]],
        );
        check(
            &format!("{TS}{PC}[[Profiles]]\n[Default]\nPresentationContexts = nope\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: presentation context key undefined: NOPE
                F: cannot load association configuration: presentation context key undefined: NOPE
                t.cfg:10: presentation context key undefined: NOPE (key PRESENTATIONCONTEXTS = "nope" in [[PROFILES]] [DEFAULT])
            "#]],
        );
        check(
            &format!("{TS}{PC}{PROF}[default]\nPresentationContexts = P\n"),
            expect![[r#"
                E: Unable to parse association configuration file: t.cfg: two profiles defined for key: P
                F: cannot load association configuration: two profiles defined for key: P
                t.cfg:11: two profiles defined for key: P (section [[PROFILES]] [DEFAULT])
            "#]],
        );
    }

    #[test]
    fn profile_selection() {
        let text = format!(
            "{TS}{PC}[[Profiles]]\n[my.profile]\nPresentationContexts = P\n[Pri vate]\nPresentationContexts = P\n"
        );
        let file = AsconfigFile::parse(text.as_bytes(), "t.cfg").unwrap();
        assert_eq!(
            file.profile_names().collect::<Vec<_>>(),
            ["MYPROFILE", "PRIVATE"]
        );
        assert_eq!(file.scp_profile(" pri vate ").unwrap().name(), "PRIVATE");
        assert_eq!(file.scp_profile("myprofile").unwrap().name(), "MYPROFILE");
        assert_eq!(file.profile("MyProfile").unwrap().name(), "MYPROFILE");
        check_scp(
            &text,
            "my.profile",
            expect![[r#"
                E: No association profile named "my.profile" in association configuration, did you forget to add presentation contexts?
                F: cannot load association configuration: Invalid or non-existing SCP Association Profile
                t.cfg: no association profile named "my.profile" (looked up as "MY.PROFILE"; profiles: MYPROFILE, PRIVATE)
            "#]],
        );
        check_scp(
            &text,
            "",
            expect![[r#"
                E: (none)
                F: cannot load association configuration: Illegal parameter
                t.cfg: the association profile name is empty
            "#]],
        );
        check_scp(
            &text,
            "   ",
            expect![[r#"
                E: No association profile named "   " in association configuration, did you forget to add presentation contexts?
                F: cannot load association configuration: Invalid or non-existing SCP Association Profile
                t.cfg: no association profile named "   " (looked up as ""; profiles: MYPROFILE, PRIVATE)
            "#]],
        );
        let err = file.scp_profile("nope").unwrap_err();
        assert!(err.is_profile_selection());
        assert_eq!(err.path(), Path::new("t.cfg"));
    }

    #[test]
    fn scp_validity_check() {
        let text =
            format!("{TS}{PC}PresentationContext2 = 1.2.840.10008.1.1\\Uncompressed\n{PROF}");
        check(
            &text,
            expect![[r#"
                E: The association profile named "default" is not a valid SCP association profile
                F: cannot load association configuration: Invalid or non-existing SCP Association Profile
                t.cfg:8: the association profile named "default" is not a valid SCP profile: abstract syntax 1.2.840.10008.1.1 appears twice in presentation context list P
            "#]],
        );
        // The same profile is fine for an SCU.
        let file = AsconfigFile::parse(text.as_bytes(), "t.cfg").unwrap();
        assert_eq!(
            file.profile("default")
                .unwrap()
                .presentation_contexts()
                .len(),
            2
        );
    }

    #[test]
    fn numbered_keys_stop_at_first_gap_and_first_duplicate_wins() {
        check(
            "[[TransferSyntaxes]]\n[U]\nTransferSyntax1 = LittleEndianImplicit\nTransferSyntax1 = Garbage\nTransferSyntax3 = Garbage\nTransferSyntax02 = Garbage\n[[PresentationContexts]]\n[P]\nPresentationContext1 = VerificationSOPClass\\U\n[[Profiles]]\n[Default]\nPresentationContexts = P\n",
            expect![[r#"
                profile DEFAULT
                  pc 1.2.840.10008.1.1 ["1.2.840.10008.1.2"]
            "#]],
        );
    }

    #[test]
    fn duplicate_sections_concatenate_and_duplicate_supersections_are_ignored() {
        check(
            &format!(
                "{TS}[[TransferSyntaxes]]\n[Other]\nTransferSyntax1 = Garbage\n{PC}[[PresentationContexts]]\n[P]\nPresentationContext1 = Garbage\n[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = BigEndianExplicit\n{PROF}"
            ),
            expect![[r#"
                profile DEFAULT
                  pc 1.2.840.10008.1.1 ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
            "#]],
        );
        check(
            &format!(
                "{TS}[Uncompressed]\nTransferSyntax1 = BigEndianExplicit\n{PC}[P]\nPresentationContext1 = CTImageStorage\\uncompressed\n{PROF}"
            ),
            expect![[r#"
                profile DEFAULT
                  pc 1.2.840.10008.1.1 ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"]
                  pc 1.2.840.10008.5.1.4.1.1.2 ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"]
            "#]],
        );
    }

    #[test]
    fn open_errors() {
        let err = AsconfigFile::open("/nonexistent/x.cfg").unwrap_err();
        assert_eq!(
            err.dcmtk_error_message().unwrap(),
            "Unable to parse association configuration file: /nonexistent/x.cfg: unable to open configuration file: /nonexistent/x.cfg"
        );
        assert_eq!(
            err.dcmtk_reason(),
            "unable to open configuration file: /nonexistent/x.cfg"
        );
        assert!(!err.is_profile_selection());
        // A directory opens but reads as empty, as with DCMTK's fopen/getc.
        let dir = std::env::temp_dir();
        let err = AsconfigFile::open(&dir).unwrap_err();
        assert_eq!(
            err.dcmtk_reason(),
            "cannot find section [[TRANSFERSYNTAXES]] in config file"
        );
    }

    #[test]
    fn decode_hex_rules() {
        assert_eq!(decode_hex(b""), Some(vec![]));
        assert_eq!(decode_hex(b"0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode_hex(b"0a "), None);
        assert_eq!(decode_hex(b"+1"), None);
        assert_eq!(decode_hex(b"\xc3\xa9"), None);
    }
}
