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
                transfer_syntaxes: self.ts_lists.get(&item.ts_list).cloned().unwrap_or_default(),
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
            location,
            reason,
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
