//! Glue shared by the reliability scenarios (`faults`, `load`, `malformed`, `limits`): the
//! receivers under test, the negotiation both of them accept, and the observation lines the
//! table in `docs/reliability.md` is written from.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use dicom_ul::pdu::{AssociationRQ, Pdu};

use dcmrecv_e2e::disk::files_under;
use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::raw::{
    COMMAND_LAST, CT, Client, EXPLICIT, IMPLICIT, VERIFICATION, c_store_rq, p_data, parse_command,
    pc, pdv, rq, text, us,
};
use dcmrecv_e2e::receiver::{Receiver, Running};

/// DCMTK's sample profile, which both receivers understand.
pub(crate) const DEFAULT_PROFILE: [&str; 3] = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"];

/// A generous bound for our receiver's peak RSS in every scenario.
pub(crate) const PEAK_RSS_BOUND: u64 = 64 * 1024 * 1024;

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

/// A peer that misbehaves on a connection of its own.
pub(crate) struct BadPeer {
    /// What it does, for the report.
    pub(crate) name: &'static str,
    /// Whether it associates properly first.
    pub(crate) established: bool,
    /// Sends the bad input (the connection stays open afterwards, unless it closes it).
    pub(crate) act: fn(&mut Client),
}

/// What a receiver did with one bad connection.
pub(crate) struct Provoked {
    /// What it sent back before the association ended.
    pub(crate) answer: Vec<u8>,
    /// When the association ended (an A-ABORT or A-ASSOCIATE-RJ arrived, or the connection
    /// closed), counted from the end of the C-ECHO; `None`: not within 5 s.
    pub(crate) ended: Option<Duration>,
    /// How long another peer's C-ECHO took meanwhile; `None`: not within the budget.
    pub(crate) echo: Option<Duration>,
}

/// Opens a connection for `peer` (associated first if it says so), lets it misbehave, checks with
/// `echoscu` whether another peer is served while that connection is still open (within
/// `echo_budget`), then waits up to 5 s for the receiver to end the association, and closes.
pub(crate) fn provoke(running: &Running, peer: &BadPeer, echo_budget: Duration) -> Provoked {
    let mut client = if peer.established {
        associate(running.port, "PROVOKE")
    } else {
        Client::local(running.port)
    };
    (peer.act)(&mut client);
    let echo = running.echo(echo_budget);
    let (answer, ended) = client.wait_for_end(Duration::from_secs(5));
    Provoked {
        answer,
        ended,
        echo,
    }
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

/// Sends a C-STORE on `pc` and returns the response's Status and Error Comment.
pub(crate) fn store_with_comment(
    client: &mut Client,
    pc: u8,
    message_id: u16,
    uid: &str,
    data: &[u8],
) -> Option<(u16, Option<String>)> {
    let command = c_store_rq(message_id, CT, uid);
    client.send(&p_data(&[pdv(pc, COMMAND_LAST, &command)]));
    if !client.send_data_set(pc, data, 16_000) {
        return None;
    }
    let mut response = Vec::new();
    loop {
        match client.read_pdu()? {
            Pdu::PData { data } => {
                for v in data {
                    response.extend_from_slice(&v.data);
                    if v.is_last {
                        let elements = parse_command(&response);
                        return Some((us(&elements, 0x0900)?, text(&elements, 0x0902)));
                    }
                }
            }
            _ => return None,
        }
    }
}
