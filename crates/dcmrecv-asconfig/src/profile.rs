//! The plain negotiation model that a parsed asconfig profile turns into.
//!
//! Nothing here knows about sockets or PDUs: an acceptor maps these types onto its own wire
//! representation. All UIDs are stored resolved (numeric), exactly as DCMTK resolves them.

/// One presentation context an SCP is willing to accept: an abstract syntax and the transfer
/// syntaxes it accepts for it, **in the acceptor's order of preference** (first = most preferred).
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
}

impl Profile {
    /// An empty profile called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Profile {
            name: name.into(),
            presentation_contexts: Vec::new(),
            roles: Vec::new(),
            extended_negotiation: Vec::new(),
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
