//! The plain negotiation model that a parsed asconfig profile turns into.
//!
//! Nothing here knows about sockets or PDUs: an acceptor maps these types onto its own wire
//! representation. All UIDs are stored resolved (numeric), exactly as DCMTK resolves them.

/// One presentation context an SCP is willing to accept: an abstract syntax and the transfer
/// syntaxes it accepts for it, **in the acceptor's order of preference** (first = most preferred;
/// the order decides unless the profile's [`TransferSyntaxPreference`] is `Requestor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationContext {
    /// Abstract syntax (SOP class) UID, resolved from a DCMTK symbolic name where one was used.
    pub abstract_syntax: String,
    /// Transfer syntax UIDs in preference order, resolved from symbolic names.
    pub transfer_syntaxes: Vec<String>,
}

/// The role an SCP is configured to accept for an abstract syntax (asconfig `RoleN` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `SCU`: the requestor may only act as SCU.
    Scu,
    /// `SCP`: the requestor may only act as SCP.
    Scp,
    /// `BOTH`: the requestor may act as SCU and SCP.
    Both,
}

/// A configured SCP/SCU role selection for one abstract syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSelection {
    /// Abstract syntax UID the role applies to.
    pub abstract_syntax: String,
    /// The configured role.
    pub role: Role,
}

/// Configured SOP Class Extended Negotiation data for one abstract syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedNegotiation {
    /// Abstract syntax UID the data applies to.
    pub abstract_syntax: String,
    /// The raw service-class application information bytes (at most 1024).
    pub data: Vec<u8>,
}

/// Whose order picks the transfer syntax of a proposed presentation context, among the syntaxes
/// both the requestor proposed in it and the profile lists for its abstract syntax.
///
/// DCMTK's asconfig profiles always use the acceptor's order ([`Acceptor`](Self::Acceptor), what
/// [`AsconfigFile`](crate::AsconfigFile) produces); a profile built in code may keep the
/// requestor's instead, so that a sender offering a compressed syntax first (DCMTK's `dcmsend`,
/// for a compressed file: the file's syntax, then uncompressed ones) sends the object as it is
/// instead of converting it.
///
/// ```
/// use dcmrecv_asconfig::{PresentationContext, Profile, TransferSyntaxPreference};
///
/// let profile = Profile::new("KeepAsSent")
///     .with_presentation_context(PresentationContext {
///         abstract_syntax: "1.2.840.10008.5.1.4.1.1.4".into(), // MR Image Storage
///         transfer_syntaxes: vec!["1.2.840.10008.1.2.1".into(), "1.2.840.10008.1.2.5".into()],
///     })
///     .with_transfer_syntax_preference(TransferSyntaxPreference::Requestor);
/// // Proposed: RLE Lossless, then Explicit VR Little Endian; both listed.
/// let proposed = ["1.2.840.10008.1.2.5", "1.2.840.10008.1.2.1"];
/// assert_eq!(
///     profile.choose_transfer_syntax("1.2.840.10008.5.1.4.1.1.4", &proposed),
///     Some("1.2.840.10008.1.2.5")
/// );
/// let dcmtk = profile.with_transfer_syntax_preference(TransferSyntaxPreference::Acceptor);
/// assert_eq!(
///     dcmtk.choose_transfer_syntax("1.2.840.10008.5.1.4.1.1.4", &proposed),
///     Some("1.2.840.10008.1.2.1")
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransferSyntaxPreference {
    /// The profile's order (DCMTK's asconfig semantics): the first syntax of the profile's list
    /// that the requestor proposed.
    #[default]
    Acceptor,
    /// The requestor's order: the first syntax the requestor proposed that the profile lists.
    Requestor,
}

/// An association negotiation profile for an SCP: what it accepts and how.
///
/// Build one by parsing an asconfig file ([`crate::AsconfigFile`]), or in code with
/// [`Profile::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    name: String,
    presentation_contexts: Vec<PresentationContext>,
    roles: Vec<RoleSelection>,
    extended_negotiation: Vec<ExtendedNegotiation>,
    transfer_syntax_preference: TransferSyntaxPreference,
}

impl Profile {
    /// An empty profile called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Profile {
            name: name.into(),
            presentation_contexts: Vec::new(),
            roles: Vec::new(),
            extended_negotiation: Vec::new(),
            transfer_syntax_preference: TransferSyntaxPreference::Acceptor,
        }
    }

    /// What DCMTK's dcmrecv accepts without `-xf`: the Verification SOP Class with Implicit VR
    /// Little Endian only.
    pub fn verification_only() -> Self {
        Profile::new("Verification").with_presentation_context(PresentationContext {
            abstract_syntax: "1.2.840.10008.1.1".to_string(),
            transfer_syntaxes: vec!["1.2.840.10008.1.2".to_string()],
        })
    }

    /// Adds a presentation context at the end of the list.
    pub fn with_presentation_context(mut self, pc: PresentationContext) -> Self {
        self.presentation_contexts.push(pc);
        self
    }

    /// Adds a role selection at the end of the list.
    pub fn with_role(mut self, role: RoleSelection) -> Self {
        self.roles.push(role);
        self
    }

    /// Adds extended negotiation data at the end of the list.
    pub fn with_extended_negotiation(mut self, ext: ExtendedNegotiation) -> Self {
        self.extended_negotiation.push(ext);
        self
    }

    /// Sets whose order picks a context's transfer syntax (default:
    /// [`TransferSyntaxPreference::Acceptor`], as in DCMTK).
    pub fn with_transfer_syntax_preference(mut self, preference: TransferSyntaxPreference) -> Self {
        self.transfer_syntax_preference = preference;
        self
    }

    /// Whose order picks a context's transfer syntax.
    pub fn transfer_syntax_preference(&self) -> TransferSyntaxPreference {
        self.transfer_syntax_preference
    }

    /// The transfer syntax to accept for a context proposing `abstract_syntax` with `proposed`
    /// (in the requestor's order): among the syntaxes proposed and listed for `abstract_syntax`,
    /// the first in the profile's order or in the requestor's, as
    /// [`transfer_syntax_preference`](Self::transfer_syntax_preference) says. `None` if the
    /// abstract syntax is not in the profile or no proposed syntax is listed for it.
    pub fn choose_transfer_syntax<'a, S: AsRef<str>>(
        &'a self,
        abstract_syntax: &str,
        proposed: &'a [S],
    ) -> Option<&'a str> {
        let listed = self.transfer_syntaxes_for(abstract_syntax)?;
        match self.transfer_syntax_preference {
            TransferSyntaxPreference::Acceptor => listed
                .iter()
                .find(|t| proposed.iter().any(|p| p.as_ref() == t.as_str()))
                .map(String::as_str),
            TransferSyntaxPreference::Requestor => proposed
                .iter()
                .map(AsRef::as_ref)
                .find(|p| listed.iter().any(|t| t == p)),
        }
    }

    /// The profile's name as it was selected (for a parsed profile: the section name as stored).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The presentation contexts in list order.
    pub fn presentation_contexts(&self) -> &[PresentationContext] {
        &self.presentation_contexts
    }

    /// The configured role selections.
    pub fn roles(&self) -> &[RoleSelection] {
        &self.roles
    }

    /// The configured extended negotiation items.
    pub fn extended_negotiation(&self) -> &[ExtendedNegotiation] {
        &self.extended_negotiation
    }

    /// The transfer syntaxes configured for `abstract_syntax`, in preference order, or `None` if
    /// the abstract syntax is not in the profile. When the same abstract syntax appears in
    /// several contexts (allowed for SCU profiles only), the first one wins.
    pub fn transfer_syntaxes_for(&self, abstract_syntax: &str) -> Option<&[String]> {
        self.presentation_contexts
            .iter()
            .find(|pc| pc.abstract_syntax == abstract_syntax)
            .map(|pc| pc.transfer_syntaxes.as_slice())
    }

    /// The role configured for `abstract_syntax`, if the profile has a role list entry for it.
    pub fn role_for(&self, abstract_syntax: &str) -> Option<Role> {
        self.roles
            .iter()
            .find(|r| r.abstract_syntax == abstract_syntax)
            .map(|r| r.role)
    }

    /// The extended negotiation data configured for `abstract_syntax`, if any.
    pub fn extended_negotiation_for(&self, abstract_syntax: &str) -> Option<&[u8]> {
        self.extended_negotiation
            .iter()
            .find(|e| e.abstract_syntax == abstract_syntax)
            .map(|e| e.data.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPLICIT: &str = "1.2.840.10008.1.2.1";
    const IMPLICIT: &str = "1.2.840.10008.1.2";
    const RLE: &str = "1.2.840.10008.1.2.5";
    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";

    fn profile(preference: TransferSyntaxPreference) -> Profile {
        Profile::new("p")
            .with_presentation_context(PresentationContext {
                abstract_syntax: CT.into(),
                transfer_syntaxes: vec![EXPLICIT.into(), IMPLICIT.into(), RLE.into()],
            })
            .with_transfer_syntax_preference(preference)
    }

    #[test]
    fn choose_transfer_syntax_by_either_order() {
        use TransferSyntaxPreference::{Acceptor, Requestor};
        assert_eq!(Profile::new("p").transfer_syntax_preference(), Acceptor);
        let cases: &[(TransferSyntaxPreference, &str, &[&str], Option<&str>)] = &[
            (Acceptor, CT, &[RLE, IMPLICIT, EXPLICIT], Some(EXPLICIT)),
            (Requestor, CT, &[RLE, IMPLICIT, EXPLICIT], Some(RLE)),
            // Unlisted proposals are skipped in both orders.
            (Requestor, CT, &["1.2.3", IMPLICIT], Some(IMPLICIT)),
            (Acceptor, CT, &["1.2.3", IMPLICIT], Some(IMPLICIT)),
            (Requestor, CT, &["1.2.3"], None),
            (Requestor, CT, &[], None),
            (Requestor, "1.2.840.10008.1.1", &[EXPLICIT], None),
        ];
        for &(preference, abstract_syntax, proposed, expected) in cases {
            assert_eq!(
                profile(preference).choose_transfer_syntax(abstract_syntax, proposed),
                expected,
                "{preference:?} {proposed:?}"
            );
        }
    }
}
