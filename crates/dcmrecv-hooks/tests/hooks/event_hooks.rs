//! Hooks driven by events: what each placeholder gets from an instance and a study.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dcmrecv_events::{
    AssociationId, CompletionReason, Event, EventSink, InstanceFailed, InstanceStored,
    StudyComplete,
};
use dcmrecv_hooks::{CommandTemplate, EventHooks, HookKind, HookOptions, HookRunner};

use crate::support::{recorded, recorder};

fn stored(path: &str) -> InstanceStored {
    InstanceStored {
        time: SystemTime::now(),
        association: AssociationId(1),
        peer: "127.0.0.1:40000".into(),
        remote_host: "localhost".into(),
        calling_ae: "MY AE".into(),
        called_ae: "ARCHIVE".into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        sop_instance_uid: "1.2.3.1".into(),
        study_instance_uid: Some("1.2.3".into()),
        series_instance_uid: None,
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        path: path.into(),
        bytes: 1,
        duration: Duration::ZERO,
        status: 0,
    }
}

#[test]
fn reception_and_end_of_study_hooks_get_storescps_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path()).display().to_string();
    let runner = Arc::new(HookRunner::start(HookOptions::new().synchronous(true)));
    let hooks = EventHooks::new(Arc::clone(&runner))
        .on_reception(
            CommandTemplate::parse(&format!("{rec} rcv #p #f #a #c #r"), HookKind::Reception)
                .unwrap(),
        )
        .unwrap()
        .on_end_of_study(
            CommandTemplate::parse(&format!("{rec} eos #p #a #c #r"), HookKind::EndOfStudy)
                .unwrap(),
        )
        .unwrap();
    hooks.event(&Event::InstanceStored(stored("out/S_1.2.3/CT.1.2.3.1")));
    hooks.event(&Event::InstanceFailed(InstanceFailed {
        time: SystemTime::now(),
        association: AssociationId(1),
        peer: String::new(),
        remote_host: String::new(),
        calling_ae: String::new(),
        called_ae: String::new(),
        sop_class_uid: String::new(),
        sop_instance_uid: String::new(),
        study_instance_uid: None,
        status: Some(0xC000),
        reason: "cannot understand".into(),
        bytes: 0,
        duration: Duration::ZERO,
    }));
    hooks.event(&Event::StudyComplete(StudyComplete {
        time: SystemTime::now(),
        study_instance_uid: "1.2.3".into(),
        revision: 1,
        objects: 1,
        paths: vec!["out/S_1.2.3/CT.1.2.3.1".into()],
        paths_truncated: false,
        directory: Some("out/S_1.2.3".into()),
        associations: 1,
        reason: CompletionReason::IdleTimeout,
        first_object_time: SystemTime::now(),
        last_object_time: SystemTime::now(),
        calling_ae: "OTHER".into(),
        called_ae: "ARCHIVE".into(),
        remote_host: "10.0.0.1".into(),
    }));
    let mut calls = recorded(dir.path());
    calls.sort();
    assert_eq!(
        calls,
        [
            vec!["eos", "out/S_1.2.3", "OTHER", "ARCHIVE", "10.0.0.1"],
            vec![
                "rcv",
                "out/S_1.2.3",
                "CT.1.2.3.1",
                "MY AE",
                "ARCHIVE",
                "localhost"
            ],
        ]
    );
    assert_eq!(
        runner.stats().submitted,
        2,
        "a failed instance gets no hook"
    );
}

#[test]
fn a_template_for_the_wrong_hook_is_refused() {
    let runner = Arc::new(HookRunner::start(HookOptions::new()));
    let err = EventHooks::new(runner)
        .on_end_of_study(CommandTemplate::parse("/bin/true #p", HookKind::Reception).unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the command was parsed for the reception hook, not the end-of-study hook"
    );
}
