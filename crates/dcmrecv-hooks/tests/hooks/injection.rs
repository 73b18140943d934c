//! CVE-2026-5663 (storescp: OS command injection through `#f`, `#p`, `#r`, and `#a`/`#c`):
//! hostile values must reach the hook as one literal argument each and run nothing.

use std::time::Duration;

use dcmrecv_hooks::{CommandTemplate, HookJob, HookKind, HookOptions, HookRunner, Values};

use crate::support::{recorded, recorder};

/// Values a peer controls (UIDs in file names, AE titles, a PTR record for `#r`), each trying
/// to create `marker`.
fn hostile(marker: &str) -> Vec<String> {
    vec![
        format!(";touch {marker}"),
        format!("$(touch {marker})"),
        format!("`touch {marker}`"),
        format!("|touch {marker}"),
        format!("&& touch {marker}"),
        format!("\";touch {marker};\""),
        format!("';touch {marker};'"),
        format!("x\ntouch {marker}"),
        format!("${{IFS}}touch${{IFS}}{marker}"),
        format!("> {marker}"),
        format!("-exec touch {marker} ;"),
        "#p #f".to_string(),
        " leading and trailing ".to_string(),
        String::new(),
    ]
}

fn run_all(command: &str, kind: HookKind, synchronous: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let record = recorder(dir.path());
    let marker = dir.path().join("MARKER");
    let marker_s = marker.display().to_string();
    let template =
        CommandTemplate::parse(&command.replace("REC", &record.display().to_string()), kind)
            .expect("template parses");
    let runner = HookRunner::start(HookOptions::new().workers(3).synchronous(synchronous));
    let values = hostile(&marker_s);
    for v in &values {
        let argv = template.expand(&Values {
            path: Some(v.clone()),
            file_name: Some(v.clone()),
            calling_ae: Some(v.clone()),
            called_ae: Some(v.clone()),
            remote_host: Some(v.clone()),
        });
        runner.submit(HookJob::new(kind, argv, v.clone()));
    }
    let report = runner.shutdown(Duration::from_secs(30));
    assert_eq!(report.not_run, 0);
    assert_eq!(
        runner.stats().succeeded,
        values.len() as u64,
        "{:?}",
        runner.stats()
    );
    assert!(
        !marker.exists(),
        "a hostile value ran a command ({command})"
    );
    let mut calls = recorded(dir.path());
    calls.sort();
    let mut expected: Vec<Vec<String>> = values
        .iter()
        .map(|v| {
            let mut args = vec![
                "lit".to_string(),
                v.clone(),
                format!("{v}/{v}"),
                format!("pre-{v}"),
            ];
            if kind == HookKind::Reception {
                args.extend([v.clone(), v.clone(), v.clone()]);
            } else {
                args.extend([v.clone(), v.clone()]);
            }
            args
        })
        .collect();
    expected.sort();
    assert_eq!(calls, expected);
}

#[test]
fn hostile_values_reach_a_reception_hook_as_single_literal_arguments() {
    run_all(
        "REC lit #p '#p/#p' \"pre-#p\" #f #a #c",
        HookKind::Reception,
        false,
    );
    run_all(
        "REC lit #p '#p/#p' \"pre-#p\" #f #a #c",
        HookKind::Reception,
        true,
    );
}

#[test]
fn hostile_values_reach_an_end_of_study_hook_as_single_literal_arguments() {
    run_all(
        "REC lit #p '#p/#p' \"pre-#p\" #a #r",
        HookKind::EndOfStudy,
        false,
    );
}

#[test]
fn a_shell_hook_written_with_positional_arguments_is_safe_too() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("MARKER");
    let out = dir.path().join("out");
    let command = format!(
        "/bin/sh -c 'printf \"%s\" \"$1\" > \"$2\"' hook #f {}",
        out.display()
    );
    let template = CommandTemplate::parse(&command, HookKind::Reception).unwrap();
    let runner = HookRunner::start(HookOptions::new().synchronous(true));
    for v in hostile(&marker.display().to_string()) {
        let argv = template.expand(&Values {
            file_name: Some(v.clone()),
            ..Values::default()
        });
        runner.submit(HookJob::new(HookKind::Reception, argv, "x"));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), v);
    }
    assert!(!marker.exists());
}

#[test]
fn a_value_with_a_nul_byte_fails_that_hook_only() {
    let dir = tempfile::tempdir().unwrap();
    let record = recorder(dir.path());
    let template =
        CommandTemplate::parse(&format!("{} #a", record.display()), HookKind::Reception).unwrap();
    let runner = HookRunner::start(HookOptions::new().synchronous(true));
    for ae in ["A\0B", "OK"] {
        let argv = template.expand(&Values {
            calling_ae: Some(ae.into()),
            ..Values::default()
        });
        runner.submit(HookJob::new(HookKind::Reception, argv, ae));
    }
    let stats = runner.stats();
    assert_eq!((stats.spawn_failed, stats.succeeded), (1, 1));
    assert_eq!(recorded(dir.path()), [["OK"]]);
}
