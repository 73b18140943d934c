//! What can change while the acceptor runs: the negotiation profile and the access control,
//! swapped atomically for associations requested afterwards.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use dcmrecv_asconfig::Profile;

use crate::access::AccessControl;

/// The profile and access control one association is negotiated with.
pub(crate) struct Policy {
    pub(crate) profile: Profile,
    pub(crate) access_control: Arc<dyn AccessControl>,
}

/// The current [`Policy`]. Each association takes a snapshot (an `Arc` clone under a read
/// lock, once per association) when its request is negotiated, and keeps it to the end.
pub(crate) struct PolicyCell(RwLock<Arc<Policy>>);

impl PolicyCell {
    pub(crate) fn new(policy: Policy) -> Self {
        PolicyCell(RwLock::new(Arc::new(policy)))
    }

    /// The policy for an association negotiated now.
    pub(crate) fn current(&self) -> Arc<Policy> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, change: impl FnOnce(&Policy) -> Policy) {
        let mut current = self.0.write().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::new(change(&current));
    }
}

/// Changes an [`Acceptor`](crate::Acceptor)'s negotiation profile and access control while it
/// serves, from any thread (e.g. on SIGHUP). Cheap to clone.
///
/// A change applies to associations whose A-ASSOCIATE-RQ is negotiated after it; associations
/// already established keep the presentation contexts they negotiated. Each method swaps
/// atomically: no association ever sees a profile from one call with the access control of
/// another.
///
/// ```
/// use std::time::Duration;
///
/// use dcmrecv_asconfig::{PresentationContext, Profile};
/// use dcmrecv_storage_scp::{AcceptorOptions, AeTitleAllowList, StoreRequest, StoreSink, StoreStatus};
///
/// const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
/// let refuse = |_: &StoreRequest| -> Result<Box<dyn StoreSink>, StoreStatus> {
///     Err(StoreStatus::out_of_resources("not storing in this example"))
/// };
/// let acceptor = AcceptorOptions::new() // Verification only
///     .host_lookup(false)
///     .bind("127.0.0.1:0", refuse)?;
/// let addr = acceptor.local_addr();
/// let reload = acceptor.reload_handle();
/// let stop = acceptor.shutdown_handle();
/// let server = std::thread::spawn(move || acceptor.serve());
///
/// let propose_ct = || {
///     dicom_ul::ClientAssociationOptions::new()
///         .calling_ae_title("MODALITY1")
///         .with_abstract_syntax(CT)
///         .establish(addr)
/// };
/// // CT is not in the profile: no acceptable presentation context, A-ASSOCIATE-RJ.
/// assert!(propose_ct().is_err());
///
/// reload.reload(
///     Profile::verification_only().with_presentation_context(PresentationContext {
///         abstract_syntax: CT.into(),
///         transfer_syntaxes: vec!["1.2.840.10008.1.2".into()],
///     }),
///     AeTitleAllowList::new().allow_calling("MODALITY1"),
/// );
/// propose_ct()?.release()?;
///
/// stop.shutdown(Duration::from_secs(5));
/// server.join().map_err(|_| "server thread panicked")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ReloadHandle {
    pub(crate) cell: Arc<PolicyCell>,
}

impl fmt::Debug for ReloadHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadHandle")
            .field("profile", &self.cell.current().profile.name())
            .finish_non_exhaustive()
    }
}

impl ReloadHandle {
    /// Replaces the profile and the access control together.
    pub fn reload(&self, profile: Profile, access_control: impl AccessControl) {
        let access_control: Arc<dyn AccessControl> = Arc::new(access_control);
        self.cell.replace(|_| Policy {
            profile,
            access_control,
        });
    }

    /// Replaces the profile, keeping the access control.
    pub fn set_profile(&self, profile: Profile) {
        self.cell.replace(|old| Policy {
            profile,
            access_control: Arc::clone(&old.access_control),
        });
    }

    /// Replaces the access control, keeping the profile.
    pub fn set_access_control(&self, access_control: impl AccessControl) {
        let access_control: Arc<dyn AccessControl> = Arc::new(access_control);
        self.cell.replace(|old| Policy {
            profile: old.profile.clone(),
            access_control,
        });
    }

    /// The name of the profile new associations are negotiated with.
    pub fn profile_name(&self) -> String {
        self.cell.current().profile.name().to_string()
    }
}
