//! Which association negotiation profile the acceptor uses: DCMTK's Verification-only default,
//! a profile from an asconfig file (`-xf`), or our embedded accept-everything profile (`+xa`).

use dcmrecv_asconfig::{AsconfigFile, PresentationContext, Profile, TransferSyntaxPreference};

use dcmrecv_cli::ProfileSource;

/// The profiles we ship in `etc/dcmrecv.cfg`, embedded so `+xa` works without any file (this
/// crate's `etc` is a symbolic link to the workspace's, copied by `cargo package`).
const SHIPPED_PROFILES: &str = include_str!("../etc/dcmrecv.cfg");

/// Loads the profile `source` names. The error is the asconfig error, which carries DCMTK's
/// reason text (exit code 66).
pub(crate) fn load(source: &ProfileSource) -> Result<Profile, dcmrecv_asconfig::Error> {
    match source {
        ProfileSource::VerificationOnly => Ok(Profile::verification_only()),
        ProfileSource::File { path, name } => AsconfigFile::open(path)?.scp_profile(name),
        ProfileSource::AcceptAll => accept_all(),
    }
}

/// Verification and every storage SOP class we know (the union of the profiles in
/// `etc/dcmrecv.cfg`, which together cover every storage class of the DICOM dictionary), each
/// with every transfer syntax those profiles list. A single profile, so it is not bound by
/// DCMTK's 128-context limit.
///
/// Unlike an asconfig profile, the *requestor's* order picks a context's transfer syntax: the
/// first syntax the sender proposes in the context is accepted (every syntax is listed), so an
/// object is stored in the syntax it is sent in. DCMTK's `dcmsend` proposes a compressed file's
/// own syntax first and uncompressed ones after it; with the acceptor's order it would get
/// Explicit VR Little Endian and decompress RLE, lossless JPEG, JPEG-LS and deflated objects.
pub(crate) fn accept_all() -> Result<Profile, dcmrecv_asconfig::Error> {
    let file = AsconfigFile::parse(SHIPPED_PROFILES.as_bytes(), "etc/dcmrecv.cfg (embedded)")?;
    let mut abstract_syntaxes: Vec<String> = Vec::new();
    let mut transfer_syntaxes: Vec<String> = Vec::new();
    let names: Vec<String> = file.profile_names().map(str::to_string).collect();
    for name in &names {
        for pc in file.profile(name)?.presentation_contexts() {
            if !abstract_syntaxes.contains(&pc.abstract_syntax) {
                abstract_syntaxes.push(pc.abstract_syntax.clone());
            }
            for ts in &pc.transfer_syntaxes {
                if !transfer_syntaxes.contains(ts) {
                    transfer_syntaxes.push(ts.clone());
                }
            }
        }
    }
    Ok(abstract_syntaxes.into_iter().fold(
        Profile::new("AcceptAll")
            .with_transfer_syntax_preference(TransferSyntaxPreference::Requestor),
        |profile, abstract_syntax| {
            profile.with_presentation_context(PresentationContext {
                abstract_syntax,
                transfer_syntaxes: transfer_syntaxes.clone(),
            })
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_all_covers_every_shipped_class_with_every_syntax() {
        let profile = accept_all().unwrap();
        // What the sender proposes first is kept (see `accept_all`).
        assert_eq!(
            profile.transfer_syntax_preference(),
            TransferSyntaxPreference::Requestor
        );
        let pcs = profile.presentation_contexts();
        assert!(pcs.len() > 200, "only {} classes", pcs.len());
        assert_eq!(pcs[0].abstract_syntax, "1.2.840.10008.1.1");
        let first = &pcs[0].transfer_syntaxes;
        assert!(pcs.iter().all(|pc| &pc.transfer_syntaxes == first));
        // Uncompressed first, and the encapsulated syntaxes are there.
        assert_eq!(first[0], "1.2.840.10008.1.2.1");
        assert!(first.iter().any(|ts| ts == "1.2.840.10008.1.2.4.50"));
        assert!(first.iter().any(|ts| ts == "1.2.840.10008.1.2.1.99"));
        // No abstract syntax twice, so it is a valid SCP profile.
        let mut uids: Vec<_> = pcs.iter().map(|pc| &pc.abstract_syntax).collect();
        uids.sort();
        uids.dedup();
        assert_eq!(uids.len(), pcs.len());
    }
}
