//! The JSON-lines writer: the exact schema of every event kind, files, and write errors.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use dcmrecv_events::{
    AssociationEnded, AssociationId, AssociationRejected, AssociationStarted, CompletionReason,
    EndReason, Event, EventSink, InstanceFailed, InstanceStored, JsonLinesWriter, RejectReason,
    StudyComplete,
};
use expect_test::expect;

fn t(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_000 + ms)
}

/// One event of each kind, with every optional field both set and unset somewhere.
fn one_of_each() -> Vec<Event> {
    let a = AssociationId(3);
    vec![
        Event::AssociationStarted(AssociationStarted {
            time: t(0),
            association: a,
            peer: "127.0.0.1:40000".into(),
            remote_host: "localhost".into(),
            calling_ae: "STORESCU".into(),
            called_ae: "DCMRECV".into(),
            tls: false,
        }),
        Event::AssociationRejected(AssociationRejected {
            time: t(1),
            association: None,
            peer: "127.0.0.1:40001".into(),
            remote_host: "127.0.0.1".into(),
            calling_ae: Some("X".into()),
            called_ae: Some("WRONG".into()),
            reason: RejectReason::CalledAeNotRecognized,
            result: Some(1),
            source: Some(1),
            diagnostic: Some(7),
        }),
        Event::InstanceStored(InstanceStored {
            time: t(2),
            association: a,
            peer: "127.0.0.1:40000".into(),
            remote_host: "localhost".into(),
            calling_ae: "STORESCU".into(),
            called_ae: "DCMRECV".into(),
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance_uid: "1.2.3.1".into(),
            study_instance_uid: Some("1.2.3".into()),
            series_instance_uid: None,
            transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
            path: "out/CT.1.2.3.1".into(),
            bytes: 4096,
            duration: Duration::from_micros(1500),
            status: 0xB000,
        }),
        Event::InstanceFailed(InstanceFailed {
            time: t(3),
            association: a,
            peer: "127.0.0.1:40000".into(),
            remote_host: "localhost".into(),
            calling_ae: "STORESCU".into(),
            called_ae: "DCMRECV".into(),
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance_uid: "1.2.3.2".into(),
            study_instance_uid: None,
            status: None,
            reason: "association aborted by the peer \"quoted\"\nnewline".into(),
            bytes: 10,
            duration: Duration::from_micros(7),
        }),
        Event::StudyComplete(StudyComplete {
            time: t(4),
            study_instance_uid: "1.2.3".into(),
            revision: 2,
            objects: 3,
            paths: vec!["out/CT.1.2.3.1".into()],
            paths_truncated: true,
            directory: Some("out".into()),
            associations: 1,
            reason: CompletionReason::IdleTimeout,
            first_object_time: t(2),
            last_object_time: t(2),
            calling_ae: "STORESCU".into(),
            called_ae: "DCMRECV".into(),
            remote_host: "localhost".into(),
        }),
        Event::AssociationEnded(AssociationEnded {
            time: t(5),
            association: a,
            peer: "127.0.0.1:40000".into(),
            calling_ae: "STORESCU".into(),
            called_ae: "DCMRECV".into(),
            reason: EndReason::AbortedByPeer,
            detail: None,
            stored: 1,
            failed: 1,
            bytes: 4106,
            duration: Duration::from_millis(5),
        }),
    ]
}

#[test]
fn every_kind_has_the_documented_shape() {
    let writer = JsonLinesWriter::new(Vec::<u8>::new());
    for event in one_of_each() {
        writer.event(&event);
    }
    assert_eq!(writer.stats().written, 6);
    let text = String::from_utf8(writer.into_inner()).unwrap();
    expect![[r#"
        {"event":"association-started","time":"2027-01-15T08:00:00.000Z","association":3,"peer":"127.0.0.1:40000","remote_host":"localhost","calling_ae":"STORESCU","called_ae":"DCMRECV","tls":false}
        {"event":"association-rejected","time":"2027-01-15T08:00:00.001Z","association":null,"peer":"127.0.0.1:40001","remote_host":"127.0.0.1","calling_ae":"X","called_ae":"WRONG","reason":"called-ae-not-recognized","result":1,"source":1,"diagnostic":7}
        {"event":"instance-stored","time":"2027-01-15T08:00:00.002Z","association":3,"peer":"127.0.0.1:40000","remote_host":"localhost","calling_ae":"STORESCU","called_ae":"DCMRECV","sop_class_uid":"1.2.840.10008.5.1.4.1.1.2","sop_instance_uid":"1.2.3.1","study_instance_uid":"1.2.3","series_instance_uid":null,"transfer_syntax_uid":"1.2.840.10008.1.2.1","path":"out/CT.1.2.3.1","bytes":4096,"duration_us":1500,"status":45056}
        {"event":"instance-failed","time":"2027-01-15T08:00:00.003Z","association":3,"peer":"127.0.0.1:40000","remote_host":"localhost","calling_ae":"STORESCU","called_ae":"DCMRECV","sop_class_uid":"1.2.840.10008.5.1.4.1.1.2","sop_instance_uid":"1.2.3.2","study_instance_uid":null,"status":null,"reason":"association aborted by the peer \"quoted\"\nnewline","bytes":10,"duration_us":7}
        {"event":"study-complete","time":"2027-01-15T08:00:00.004Z","study_instance_uid":"1.2.3","revision":2,"objects":3,"paths":["out/CT.1.2.3.1"],"paths_truncated":true,"directory":"out","associations":1,"reason":"idle-timeout","first_object_time":"2027-01-15T08:00:00.002Z","last_object_time":"2027-01-15T08:00:00.002Z","calling_ae":"STORESCU","called_ae":"DCMRECV","remote_host":"localhost"}
        {"event":"association-ended","time":"2027-01-15T08:00:00.005Z","association":3,"peer":"127.0.0.1:40000","calling_ae":"STORESCU","called_ae":"DCMRECV","reason":"aborted-by-peer","detail":null,"stored":1,"failed":1,"bytes":4106,"duration_us":5000}
    "#]]
    .assert_eq(&text);
    for (line, event) in text.lines().zip(one_of_each()) {
        assert!(line.starts_with(&format!("{{\"event\":\"{}\"", event.kind())));
    }
}

#[test]
fn a_file_is_appended_to_and_every_line_is_flushed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, "earlier line\n").unwrap();
    let writer = JsonLinesWriter::open(&path).unwrap();
    let events = one_of_each();
    writer.event(&events[0]);
    // Read while the writer is still open: the line is already there.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with("earlier line\n{\"event\":\"association-started\""));
}

#[test]
fn an_unopenable_file_is_a_clear_error() {
    let err = JsonLinesWriter::open("/nonexistent-dir/events.jsonl").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot open events file /nonexistent-dir/events.jsonl"
    );
}

/// Fails the first `failures` writes, then works.
struct Flaky {
    failures: usize,
    out: Vec<u8>,
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(io::Error::other("disk full"));
        }
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_are_counted_and_never_panic() {
    let writer = JsonLinesWriter::new(Flaky {
        failures: 3,
        out: Vec::new(),
    });
    let events = one_of_each();
    for event in &events {
        writer.event(event);
    }
    let stats = writer.stats();
    assert_eq!((stats.written, stats.write_errors), (3, 3));
    let text = String::from_utf8(writer.into_inner().out).unwrap();
    assert_eq!(
        text.lines().count(),
        3,
        "later events are whole lines: {text}"
    );
    assert!(
        text.lines()
            .all(|l| l.starts_with("{\"event\":") && l.ends_with('}'))
    );
}

#[test]
fn concurrent_writers_never_interleave_within_a_line() {
    let writer = std::sync::Arc::new(JsonLinesWriter::new(Vec::<u8>::new()));
    let events = one_of_each();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let writer = &writer;
            let events = &events;
            s.spawn(move || {
                for _ in 0..200 {
                    for e in events {
                        writer.event(e);
                    }
                }
            });
        }
    });
    let writer = std::sync::Arc::try_unwrap(writer).unwrap();
    let text = String::from_utf8(writer.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4 * 200 * 6);
    let whole: std::collections::HashSet<String> = {
        let w = JsonLinesWriter::new(Vec::<u8>::new());
        for e in &events {
            w.event(e);
        }
        String::from_utf8(w.into_inner())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert!(lines.iter().all(|l| whole.contains(*l)));
}
