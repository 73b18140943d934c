//! The live study watch: completions emitted by the timer thread and by association ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dcmrecv_events::{
    AssociationEnded, AssociationId, CompletionReason, EndReason, Event, EventSink, InstanceStored,
    StudyComplete, StudyWatch, TrackerOptions, from_fn,
};

fn stored(assoc: u64, study: &str, n: u32) -> Event {
    Event::InstanceStored(InstanceStored {
        time: SystemTime::now(),
        association: AssociationId(assoc),
        peer: "127.0.0.1:40000".into(),
        remote_host: "localhost".into(),
        calling_ae: "SCU".into(),
        called_ae: "SCP".into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        sop_instance_uid: format!("{study}.{n}"),
        study_instance_uid: Some(study.into()),
        series_instance_uid: None,
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        path: format!("out/{study}/CT.{n}"),
        bytes: 1,
        duration: Duration::ZERO,
        status: 0,
    })
}

fn ended(assoc: u64) -> Event {
    Event::AssociationEnded(AssociationEnded {
        time: SystemTime::now(),
        association: AssociationId(assoc),
        peer: "127.0.0.1:40000".into(),
        calling_ae: "SCU".into(),
        called_ae: "SCP".into(),
        reason: EndReason::Released,
        detail: None,
        stored: 0,
        failed: 0,
        bytes: 0,
        duration: Duration::ZERO,
    })
}

fn collector() -> (Arc<Mutex<Vec<StudyComplete>>>, Arc<dyn EventSink>) {
    let done = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let done = Arc::clone(&done);
        from_fn(move |e: &Event| {
            if let Event::StudyComplete(s) = e {
                done.lock().expect("not poisoned").push(s.clone());
            }
        })
    };
    (done, Arc::new(sink))
}

fn wait_for(done: &Mutex<Vec<StudyComplete>>, n: usize, timeout: Duration) -> Vec<StudyComplete> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = done.lock().expect("not poisoned").clone();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_timer_completes_idle_studies_and_late_objects_open_a_revision() {
    let (done, sink) = collector();
    let watch = StudyWatch::start(
        TrackerOptions::new().idle_timeout(Some(Duration::from_millis(300))),
        sink,
    );
    let started = Instant::now();
    // Two associations interleave three studies.
    for n in 0..3 {
        watch.event(&stored(1, "A", n));
        watch.event(&stored(2, "B", n));
        watch.event(&stored(n.into(), "C", n));
    }
    watch.event(&ended(1));
    watch.event(&ended(2));
    let got = wait_for(&done, 3, Duration::from_secs(5));
    assert!(started.elapsed() >= Duration::from_millis(300));
    let mut summary: Vec<_> = got
        .iter()
        .map(|s| {
            (
                s.study_instance_uid.clone(),
                s.revision,
                s.objects,
                s.reason,
            )
        })
        .collect();
    summary.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        summary,
        [
            ("A".to_string(), 1, 3, CompletionReason::IdleTimeout),
            ("B".to_string(), 1, 3, CompletionReason::IdleTimeout),
            ("C".to_string(), 1, 3, CompletionReason::IdleTimeout),
        ]
    );
    watch.event(&stored(3, "A", 9));
    let got = wait_for(&done, 4, Duration::from_secs(5));
    assert_eq!(got.len(), 4);
    assert_eq!(
        (got[3].study_instance_uid.as_str(), got[3].revision),
        ("A", 2)
    );
    assert_eq!(got[3].paths, ["out/A/CT.9"]);
    watch.shutdown();
    assert_eq!(done.lock().unwrap().len(), 4, "nothing open at shutdown");
}

#[test]
fn without_timeout_the_last_association_end_completes_and_shutdown_flushes() {
    let (done, sink) = collector();
    let watch = StudyWatch::start(TrackerOptions::new(), sink);
    watch.event(&stored(1, "A", 1));
    watch.event(&stored(2, "A", 2));
    watch.event(&stored(2, "B", 1));
    watch.event(&ended(1));
    assert!(
        done.lock().unwrap().is_empty(),
        "association 2 still carries A"
    );
    watch.event(&stored(3, "D", 1));
    watch.event(&ended(2));
    let got = done.lock().unwrap().clone();
    let names: Vec<_> = got.iter().map(|s| s.study_instance_uid.as_str()).collect();
    assert_eq!(
        names,
        ["A", "B"],
        "emitted on the ending association's thread, at once"
    );
    assert_eq!(got[0].associations, 2);
    watch.shutdown();
    let got = done.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    assert_eq!(
        (got[2].study_instance_uid.as_str(), got[2].reason),
        ("D", CompletionReason::Shutdown)
    );
    watch.event(&stored(4, "E", 1));
    watch.shutdown();
    assert_eq!(
        done.lock().unwrap().len(),
        3,
        "events after shutdown are ignored"
    );
}
