//! Glue shared by the reliability scenarios (`faults`, `load`, `malformed`, `limits`): the
//! receivers under test, the negotiation both of them accept, and the observation lines the
//! table in `docs/reliability.md` is written from.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use dicom_ul::pdu::{AssociationRQ, Pdu};

use dcmrecv_e2e::disk::files_under;
use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::raw::{CT, Client, EXPLICIT, IMPLICIT, VERIFICATION, pc, rq};
use dcmrecv_e2e::receiver::{Receiver, Running};

/// DCMTK's sample profile, which both receivers understand.
pub(crate) const DEFAULT_PROFILE: [&str; 3] = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"];

/// Presentation context 1: Verification, Implicit VR Little Endian.
pub(crate) const PC_ECHO: u8 = 1;
/// Presentation context 3: CT Image Storage, Explicit VR Little Endian.
pub(crate) const PC_CT: u8 = 3;

/// The receivers every scenario runs against: the real dcmrecv first, then ours.
pub(crate) fn receivers() -> [Receiver; 2] {
    [Receiver::dcmtk(), Receiver::ours()]
}

/// Starts `receiver` with the `Default` profile of `storescp.cfg` plus `extra` options.
pub(crate) fn start(receiver: &Receiver, extra: &[&str], od: &Path) -> Running {
    let mut args = DEFAULT_PROFILE.to_vec();
    args.extend_from_slice(extra);
    receiver.start_local(&args, od)
}

/// An A-ASSOCIATE-RQ proposing Verification (PC 1) and CT Image Storage (PC 3).
pub(crate) fn storage_rq(calling: &str) -> AssociationRQ {
    rq(
        calling,
        vec![
            pc(PC_ECHO, VERIFICATION, &[IMPLICIT]),
            pc(PC_CT, CT, &[EXPLICIT]),
        ],
    )
}

/// Opens an association with [`storage_rq`] and asserts that it is accepted.
#[track_caller]
pub(crate) fn associate(port: u16, calling: &str) -> Client {
    let (client, _ac) = Client::associate_ok(
        SocketAddr::from(([127, 0, 0, 1], port)),
        &storage_rq(calling),
    );
    client
}

/// Opens an association with [`storage_rq`]; `None` if no A-ASSOCIATE-AC arrives within the
/// client's read timeout (the real dcmrecv serves one association at a time).
pub(crate) fn try_associate(port: u16, calling: &str) -> Option<Client> {
    let mut client = Client::local(port);
    match client.request(&storage_rq(calling))? {
        Pdu::AssociationAC(_) => Some(client),
        _ => None,
    }
}

/// A CT instance whose data set (Explicit VR Little Endian) has about `pixel_kib` KiB of pixel
/// data, and that data set.
pub(crate) fn ct(uid: &str, pixel_kib: u16) -> (Instance, Vec<u8>) {
    let mut instance = Instance::ct(uid);
    // 16-bit pixels: rows x columns x 2 bytes.
    instance.rows = 16;
    instance.columns = pixel_kib.max(1) * 32;
    let data = instance.dataset_bytes(EXPLICIT);
    (instance, data)
}

/// Prints one observation for the table in `docs/reliability.md` (visible with
/// `--nocapture`): scenario, receiver, what happened.
#[expect(
    clippy::print_stderr,
    reason = "the observations are the test's report, read with --nocapture"
)]
pub(crate) fn observe(scenario: &str, receiver: &Receiver, what: impl std::fmt::Display) {
    eprintln!("OBSERVED | {scenario} | {} | {what}", receiver.name);
}

/// Waits until `pred` holds for the files below `dir` (path relative to `dir` → size), up to
/// `timeout`; returns whether it did.
pub(crate) fn wait_for_files(
    dir: &Path,
    timeout: Duration,
    pred: impl Fn(&std::collections::BTreeMap<std::path::PathBuf, u64>) -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if pred(&files_under(dir)) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
