//! The observer contract: rejections, starts, each C-STORE after its response (with the sink's
//! receipt), and the end of an association, in order, from the public API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dcmrecv_storage_scp::{
    AcceptorOptions, AeTitleAllowList, AssociationEnd, AssociationInfo, AssociationObserver,
    Observer, Receipt, Rejection, StoreOutcome, StoreRequest, StoreSink, StoreStatus,
};
use dicom_ul::pdu::Pdu;

use crate::support::*;

type Log = Arc<Mutex<Vec<String>>>;

struct Recorder(Log);

impl Observer for Recorder {
    fn association_rejected(&self, r: &Rejection) {
        self.0.lock().unwrap().push(format!(
            "rejected {} {} -> {}",
            r.reason.name(),
            r.calling_ae_title,
            r.called_ae_title
        ));
    }

    fn association_started(
        &self,
        info: &Arc<AssociationInfo>,
    ) -> Option<Box<dyn AssociationObserver>> {
        self.0.lock().unwrap().push(format!(
            "started {} -> {} from {}",
            info.calling_ae_title, info.called_ae_title, info.peer_host
        ));
        Some(Box::new(Recorder(Arc::clone(&self.0))))
    }
}

impl AssociationObserver for Recorder {
    fn store_done(&mut self, request: &StoreRequest, outcome: &StoreOutcome) {
        let receipt = outcome
            .receipt
            .as_ref()
            .and_then(|r| r.downcast_ref::<String>())
            .cloned()
            .unwrap_or_default();
        self.0.lock().unwrap().push(format!(
            "stored {} {:04x} responded={} bytes={} receipt={receipt}",
            request.sop_instance_uid,
            outcome.status.code(),
            outcome.responded,
            outcome.bytes
        ));
    }

    fn ended(self: Box<Self>, end: &AssociationEnd) {
        self.0.lock().unwrap().push(format!(
            "ended {} objects={} failed={} bytes={}",
            end.reason.name(),
            end.objects,
            end.failed,
            end.bytes
        ));
    }
}

/// Stores nothing; finishing returns the instance UID as its receipt. UIDs ending in `.9` are
/// refused.
struct ReceiptSink(String);

impl StoreSink for ReceiptSink {
    fn write(&mut self, _: &[u8]) -> Result<(), StoreStatus> {
        Ok(())
    }
    fn finish(self: Box<Self>) -> StoreStatus {
        StoreStatus::success()
    }
    fn finish_with_receipt(self: Box<Self>) -> (StoreStatus, Option<Receipt>) {
        (
            StoreStatus::success(),
            Some(Box::new(format!("kept:{}", self.0))),
        )
    }
    fn abort(self: Box<Self>) {}
}

fn start(
    options: AcceptorOptions,
) -> (
    std::net::SocketAddr,
    Log,
    dcmrecv_storage_scp::ShutdownHandle,
) {
    init_logs();
    let log: Log = Arc::default();
    let sinks = |r: &StoreRequest| -> Result<Box<dyn StoreSink>, StoreStatus> {
        if r.sop_instance_uid.ends_with(".9") {
            return Err(StoreStatus::out_of_resources("refused"));
        }
        Ok(Box::new(ReceiptSink(r.sop_instance_uid.clone())))
    };
    // The listener comes from the caller, as with socket activation.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let acceptor = options
        .profile(storage_profile())
        .host_lookup(false)
        .observer(Recorder(Arc::clone(&log)))
        .from_listener(listener, sinks)
        .unwrap();
    let addr = acceptor.local_addr();
    let handle = acceptor.shutdown_handle();
    std::thread::spawn(move || acceptor.serve());
    (addr, log, handle)
}

fn wait_for(log: &Log, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = log.lock().unwrap().clone();
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn store(c: &mut Client, message_id: u16, uid: &str, bytes: usize) -> u16 {
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(message_id, CT, uid)),
        pdv(3, DATA_LAST, &payload(bytes)),
    ]));
    let (_, rsp) = c.read_command().expect("C-STORE-RSP");
    us(&parse_command(&rsp), 0x0900).unwrap()
}

#[test]
fn the_observer_sees_each_object_after_its_response_and_the_end_with_totals() {
    let (addr, log, handle) = start(AcceptorOptions::new());
    let (mut c, _) = Client::associate_ok(addr, &rq("OBS1", vec![pc(3, CT, &[EXPLICIT])]));
    assert_eq!(store(&mut c, 1, "1.2.3.1", 100), 0x0000);
    // The observer hears of the object once its response is out, so after (or while) the
    // client reads it.
    assert_eq!(
        wait_for(&log, 2)[1],
        "stored 1.2.3.1 0000 responded=true bytes=100 receipt=kept:1.2.3.1"
    );
    assert_eq!(store(&mut c, 2, "1.2.3.9", 50), 0xA700);
    c.release();
    let lines = wait_for(&log, 4);
    assert_eq!(
        lines,
        [
            "started OBS1 -> ANY-SCP from 127.0.0.1",
            "stored 1.2.3.1 0000 responded=true bytes=100 receipt=kept:1.2.3.1",
            "stored 1.2.3.9 a700 responded=true bytes=50 receipt=",
            "ended released objects=1 failed=1 bytes=150",
        ]
    );
    handle.shutdown(Duration::ZERO);
}

#[test]
fn an_object_cut_off_by_an_abort_is_reported_unanswered() {
    let (addr, log, handle) = start(AcceptorOptions::new());
    let (mut c, _) = Client::associate_ok(addr, &rq("OBS2", vec![pc(3, CT, &[EXPLICIT])]));
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(1, CT, "1.2.3.2")),
        pdv(3, DATA_MORE, &payload(300)),
    ]));
    c.send(&encode(&Pdu::AbortRQ {
        source: dicom_ul::pdu::AbortRQSource::ServiceUser,
    }));
    c.expect_closed();
    let lines = wait_for(&log, 3);
    assert_eq!(
        lines[1],
        "stored 1.2.3.2 a700 responded=false bytes=300 receipt="
    );
    assert_eq!(lines[2], "ended peer aborted objects=0 failed=0 bytes=300");
    handle.shutdown(Duration::ZERO);
}

#[test]
fn rejections_carry_their_reason_and_ae_titles() {
    let (addr, log, handle) =
        start(AcceptorOptions::new().access_control(AeTitleAllowList::new().allow_calling("GOOD")));
    let mut c = Client::connect(addr);
    assert!(matches!(
        c.associate(&rq("EVIL", vec![pc(3, CT, &[EXPLICIT])])),
        Pdu::AssociationRJ(_)
    ));
    let mut c = Client::connect(addr);
    assert!(matches!(
        c.associate(&rq("GOOD", vec![pc(3, "1.2.3.4.5.6", &[EXPLICIT])])),
        Pdu::AssociationRJ(_)
    ));
    let lines = wait_for(&log, 2);
    assert_eq!(
        lines,
        [
            "rejected access-denied EVIL -> ANY-SCP",
            "rejected no-presentation-contexts GOOD -> ANY-SCP",
        ]
    );
    handle.shutdown(Duration::ZERO);
}
