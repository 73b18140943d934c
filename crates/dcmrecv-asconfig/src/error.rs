//! The error type of this crate: reading a file, and selecting a profile from it.

use std::fmt;
use std::path::{Path, PathBuf};

use snafu::Snafu;

/// DCMTK's reason text for every `EC_IllegalCall` the parser can return.
const ILLEGAL_CALL: &str = "Illegal call, perhaps wrong parameters";
/// DCMTK's `F:` reason for every profile selection error but an empty name.
const INVALID_SCP_PROFILE: &str = "Invalid or non-existing SCP Association Profile";
/// DCMTK's `F:` reason for an empty profile name (`EC_IllegalParameter`).
const ILLEGAL_PARAMETER: &str = "Illegal parameter";

/// Where in the file a [`ParseReason`] was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub(crate) line: usize,
    pub(crate) supersection: String,
    pub(crate) section: String,
    pub(crate) key: Option<String>,
    pub(crate) value: Option<String>,
}

impl Location {
    /// The 1-based line: of the key for entry errors, of the `[section]` header otherwise.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The supersection name as stored (mangled), e.g. `TRANSFERSYNTAXES`.
    pub fn supersection(&self) -> &str {
        &self.supersection
    }

    /// The section name as stored (mangled), e.g. `UNCOMPRESSED`.
    pub fn section(&self) -> &str {
        &self.section
    }

    /// The key as stored (mangled), e.g. `TRANSFERSYNTAX1`; `None` for section-level errors.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The value of the key at fault, exactly as read (continuation lines joined with `\n`).
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// Why a file is not a valid asconfig file: one variant per error DCMTK 3.6.7 reports while
/// loading, checked in DCMTK's order. `Display` gives DCMTK's exact reason text
/// ([`ParseReason::dcmtk_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseReason {
    /// A required supersection (`TRANSFERSYNTAXES`, `PRESENTATIONCONTEXTS` or `PROFILES`) is absent.
    MissingSupersection {
        /// The mangled supersection name.
        name: &'static str,
    },
    /// A `TransferSyntaxN` value does not resolve to digits and dots.
    InvalidTransferSyntaxUid {
        /// The value as written.
        value: String,
    },
    /// A `PresentationContextN`, `RoleN` or `ExtendedNegotiationN` value has no `\`.
    MissingBackslash {
        /// The mangled key, e.g. `PRESENTATIONCONTEXT3`.
        key: String,
    },
    /// A presentation context names a transfer syntax list that does not exist.
    UndefinedTransferSyntaxList {
        /// The list name after mangling (whitespace removed, upper-cased).
        list: String,
    },
    /// An abstract syntax value does not resolve to digits and dots.
    InvalidAbstractSyntaxUid {
        /// The abstract syntax part as written.
        value: String,
    },
    /// A presentation context has an empty abstract syntax (`\List`): DCMTK's `EC_IllegalCall`.
    EmptyAbstractSyntax,
    /// A presentation context list or the transfer syntax list it names has an empty name
    /// (e.g. `[...]`): DCMTK's `EC_IllegalCall`.
    EmptyListName,
    /// A presentation context list would grow beyond 128 entries (duplicate sections count
    /// together).
    PresentationContextListTooLong {
        /// The mangled list name.
        list: String,
    },
    /// A `RoleN` value names a role other than `SCU`, `SCP` or `BOTH`.
    UnknownRole {
        /// The mangled key, e.g. `ROLE2`.
        key: String,
    },
    /// One role list names the same abstract syntax twice (after resolution).
    DuplicateRole {
        /// The abstract syntax of the second entry as written.
        value: String,
    },
    /// Extended negotiation data is not an even number of hex digits.
    InvalidExtendedNegotiationData {
        /// The mangled key, e.g. `EXTENDEDNEGOTIATION1`.
        key: String,
    },
    /// Extended negotiation data is too long. DCMTK 3.6.7 rejects 2048 hex digits or more, so
    /// the longest accepted data is 1023 bytes although the message says 1024.
    ExtendedNegotiationTooLong {
        /// The mangled key.
        key: String,
    },
    /// Extended negotiation data is empty: DCMTK's `EC_IllegalCall`.
    EmptyExtendedNegotiationData,
    /// One extended negotiation list names the same abstract syntax twice.
    DuplicateExtendedNegotiation {
        /// The abstract syntax of the second entry as written.
        value: String,
    },
    /// A profile has no `PresentationContexts` key.
    MissingPresentationContextsKey {
        /// The mangled profile name.
        profile: String,
    },
    /// A profile names a presentation context list that does not exist.
    UndefinedPresentationContextList {
        /// The list name after mangling.
        list: String,
    },
    /// A profile names a role selection list that does not exist.
    UndefinedRoleSelectionList {
        /// The list name after mangling.
        list: String,
    },
    /// A profile names an extended negotiation list that does not exist.
    UndefinedExtendedNegotiationList {
        /// The list name after mangling.
        list: String,
    },
    /// A role list used by a profile names an abstract syntax that is not in the profile's
    /// presentation context list.
    RoleNotInPresentationContexts {
        /// The role list name.
        role_list: String,
        /// The presentation context list name.
        pc_list: String,
        /// The resolved abstract syntax UID.
        uid: String,
    },
    /// An extended negotiation list used by a profile names an abstract syntax that is not in
    /// the profile's presentation context list. (DCMTK's text says "role selection list" here.)
    ExtendedNegotiationNotInPresentationContexts {
        /// The extended negotiation list name.
        ext_list: String,
        /// The presentation context list name.
        pc_list: String,
        /// The resolved abstract syntax UID.
        uid: String,
    },
    /// Two profile sections have the same mangled name. (DCMTK's text names the second
    /// profile's presentation context list, not the profile.)
    DuplicateProfile {
        /// The mangled profile name.
        profile: String,
        /// The second profile's presentation context list name.
        pc_list: String,
    },
}

impl ParseReason {
    /// DCMTK 3.6.7's reason text, exactly as `dcmrecv` prints it after
    /// `Unable to parse association configuration file: <file>: `.
    pub fn dcmtk_text(&self) -> String {
        match self {
            ParseReason::MissingSupersection { name } => {
                format!("cannot find section [[{name}]] in config file")
            }
            ParseReason::InvalidTransferSyntaxUid { value } => {
                format!("not a valid transfer syntax UID: {value}")
            }
            ParseReason::MissingBackslash { key } => {
                format!("syntax error: missing '\\' in entry {key} in config file")
            }
            ParseReason::UndefinedTransferSyntaxList { list } => {
                format!("transfer syntax key undefined: {list}")
            }
            ParseReason::InvalidAbstractSyntaxUid { value } => {
                format!("not a valid abstract syntax UID: {value}")
            }
            ParseReason::EmptyAbstractSyntax
            | ParseReason::EmptyListName
            | ParseReason::EmptyExtendedNegotiationData => ILLEGAL_CALL.to_string(),
            ParseReason::PresentationContextListTooLong { list } => {
                format!("presentation context list too long (> 128 entries): {list}")
            }
            ParseReason::UnknownRole { key } => {
                format!("syntax error: unknown role key in entry {key} in config file")
            }
            ParseReason::DuplicateRole { value } => {
                format!("role selection defined twice for abstract syntax UID: {value}")
            }
            ParseReason::InvalidExtendedNegotiationData { key } => {
                format!("parse error in extended negotiation data in entry {key} in config file")
            }
            ParseReason::ExtendedNegotiationTooLong { key } => format!(
                "extended negotiation data too long, cannot handle > 1024 bytes in entry {key} in config file"
            ),
            ParseReason::DuplicateExtendedNegotiation { value } => {
                format!("extended negotiation defined twice for abstract syntax UID: {value}")
            }
            ParseReason::MissingPresentationContextsKey { profile } => {
                format!("no PRESENTATIONCONTEXTS  entry in section {profile} in config file")
            }
            ParseReason::UndefinedPresentationContextList { list } => {
                format!("presentation context key undefined: {list}")
            }
            ParseReason::UndefinedRoleSelectionList { list } => {
                format!("role selection key undefined: {list}")
            }
            ParseReason::UndefinedExtendedNegotiationList { list } => {
                format!("extended negotiation key undefined: {list}")
            }
            ParseReason::RoleNotInPresentationContexts {
                role_list,
                pc_list,
                uid,
            } => format!(
                "abstract syntax defined in role selection list '{role_list}' but not in presentation context list '{pc_list}': {uid}"
            ),
            ParseReason::ExtendedNegotiationNotInPresentationContexts {
                ext_list,
                pc_list,
                uid,
            } => format!(
                "abstract syntax defined in role selection list '{ext_list}' but not in presentation context list '{pc_list}': {uid}"
            ),
            ParseReason::DuplicateProfile { pc_list, .. } => {
                format!("two profiles defined for key: {pc_list}")
            }
        }
    }
}

impl fmt::Display for ParseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dcmtk_text())
    }
}

/// Renders a parse error for an operator: file, line, DCMTK's reason, then where it was found.
fn render_parse(path: &Path, location: Option<&Location>, reason: &ParseReason) -> String {
    let text = reason.dcmtk_text();
    let Some(loc) = location else {
        return format!("{}: {text}", path.display());
    };
    let mut out = format!("{}:{}: {text} (", path.display(), loc.line);
    if let Some(key) = &loc.key {
        out.push_str("key ");
        out.push_str(key);
        if let Some(value) = loc
            .value
            .as_deref()
            .filter(|v| !text.ends_with(*v) || v.is_empty())
        {
            out.push_str(&format!(" = {value:?}"));
        }
        out.push_str(" in ");
    } else {
        out.push_str("section ");
    }
    out.push_str(&format!("[[{}]] [{}])", loc.supersection, loc.section));
    out
}

/// Reading an asconfig file or selecting a profile from it failed.
///
/// For the `dcmrecv` log lines use [`Error::dcmtk_error_message`] (the `E:` line, if DCMTK prints
/// one) and [`Error::dcmtk_reason`] (the text after `F: cannot load association configuration: `).
/// `Display` is meant for people: it names the file, the line, the key and the value at fault.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[snafu(display("cannot open association configuration file {}", path.display()))]
    OpenFile {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but DCMTK would reject it while loading.
    #[snafu(display("{}", render_parse(path, location.as_deref(), reason)))]
    ParseFile {
        /// The path as given.
        path: PathBuf,
        /// Where the error was found, when it concerns one entry or section.
        location: Option<Box<Location>>,
        /// What is wrong, with DCMTK's reason text as `Display`.
        reason: Box<ParseReason>,
    },
    /// The profile name was empty. DCMTK prints no `E:` line for this, only `F: ... Illegal
    /// parameter`. (A name made of blanks is looked up as DCMTK does, and fails as
    /// [`Error::SelectProfile`].)
    #[snafu(display("{}: the association profile name is empty", path.display()))]
    EmptyProfileName {
        /// The path of the file the profile was looked up in.
        path: PathBuf,
    },
    /// No profile has that name (after removing whitespace and upper-casing it).
    #[snafu(display(
        "{}: no association profile named {name:?} (looked up as {mangled:?}; profiles: {})",
        path.display(),
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    ))]
    SelectProfile {
        /// The path of the file the profile was looked up in.
        path: PathBuf,
        /// The name as typed.
        name: String,
        /// The name as looked up (whitespace removed, upper-cased).
        mangled: String,
        /// The profile names the file defines, in file order.
        available: Vec<String>,
    },
    /// The profile lists the same abstract syntax in two presentation contexts, which an SCP
    /// cannot negotiate.
    #[snafu(display(
        "{}:{line}: the association profile named {name:?} is not a valid SCP profile: abstract syntax {uid} appears twice in presentation context list {pc_list}",
        path.display()
    ))]
    CheckScpProfile {
        /// The path of the file the profile was read from.
        path: PathBuf,
        /// The name as typed.
        name: String,
        /// The presentation context list of the profile.
        pc_list: String,
        /// The abstract syntax UID that appears twice.
        uid: String,
        /// 1-based line of the second entry for that abstract syntax.
        line: usize,
    },
}

impl Error {
    /// The file the error concerns, as given by the caller.
    pub fn path(&self) -> &Path {
        match self {
            Error::OpenFile { path, .. }
            | Error::ParseFile { path, .. }
            | Error::EmptyProfileName { path }
            | Error::SelectProfile { path, .. }
            | Error::CheckScpProfile { path, .. } => path,
        }
    }

    /// Where a parse error was found, if it concerns one entry or section.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::ParseFile { location, .. } => location.as_deref(),
            _ => None,
        }
    }

    /// The 1-based line at fault, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::ParseFile { location, .. } => location.as_deref().map(Location::line),
            Error::CheckScpProfile { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The mangled key at fault, when there is one (e.g. `TRANSFERSYNTAX1`).
    pub fn key(&self) -> Option<&str> {
        self.location().and_then(Location::key)
    }

    /// The value at fault, when there is one: the entry's value for parse errors, the abstract
    /// syntax UID for [`Error::CheckScpProfile`].
    pub fn value(&self) -> Option<&str> {
        match self {
            Error::CheckScpProfile { uid, .. } => Some(uid),
            _ => self.location().and_then(Location::value),
        }
    }

    /// The parse error reason, if this is a parse error.
    pub fn parse_reason(&self) -> Option<&ParseReason> {
        match self {
            Error::ParseFile { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Whether the file was read fine but the profile could not be selected.
    pub fn is_profile_selection(&self) -> bool {
        matches!(
            self,
            Error::EmptyProfileName { .. }
                | Error::SelectProfile { .. }
                | Error::CheckScpProfile { .. }
        )
    }

    /// DCMTK's reason text: what `dcmrecv` prints after `F: cannot load association configuration: `.
    ///
    /// For file errors this is also the `<reason>` of the `E:` line.
    pub fn dcmtk_reason(&self) -> String {
        match self {
            Error::OpenFile { path, .. } => {
                format!("unable to open configuration file: {}", path.display())
            }
            Error::ParseFile { reason, .. } => reason.dcmtk_text(),
            Error::EmptyProfileName { .. } => ILLEGAL_PARAMETER.to_string(),
            Error::SelectProfile { .. } | Error::CheckScpProfile { .. } => {
                INVALID_SCP_PROFILE.to_string()
            }
        }
    }

    /// The text of DCMTK's `E:` line for this error, or `None` where DCMTK prints only the `F:`
    /// line (an empty profile name).
    pub fn dcmtk_error_message(&self) -> Option<String> {
        match self {
            Error::OpenFile { path, .. } | Error::ParseFile { path, .. } => Some(format!(
                "Unable to parse association configuration file: {}: {}",
                path.display(),
                self.dcmtk_reason()
            )),
            Error::EmptyProfileName { .. } => None,
            Error::SelectProfile { name, .. } => Some(format!(
                "No association profile named \"{name}\" in association configuration, did you forget to add presentation contexts?"
            )),
            Error::CheckScpProfile { name, .. } => Some(format!(
                "The association profile named \"{name}\" is not a valid SCP association profile"
            )),
        }
    }
}
