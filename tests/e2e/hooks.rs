//! The oracle for issue 12's hooks: what the real `/usr/bin/storescp` (DCMTK 3.6.7, Debian
//! build 3.6.7-9~deb12u4) does with `-xcr`, `-xcs`, `-rns`, `-tos`, `-xs`, `-su`, `-ss`, `-sp`,
//! `--ignore`, `-fe` and `+B`, measured against `/usr/bin/storescu`. `docs/hooks.md` ("What
//! storescp does") is written from these tests, so the record cannot silently rot; a later
//! phase runs the same scenarios against our receiver and compares.
//!
//! The hooks under test are `/bin/sh` scripts in the test's temp directory that record their
//! arguments byte for byte, one directory per call, named by the time of the call.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dcmrecv_e2e::clients::{dcmtk_client, run, stderr, store_responses};
use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::peers::dcmtk;
use dcmrecv_e2e::process::{ChildGuard, free_port, wait_for_port};
use dicom_dictionary_std::{tags, uids};

pub(crate) const ROOT: &str = "1.2.826.0.1.3680043.10.1145.55";

/// A storescp running in `dir` (so a relative `-od out` and the hooks' relative paths resolve
/// there).
pub(crate) struct Storescp {
    pub(crate) port: u16,
    pub(crate) guard: ChildGuard,
}

pub(crate) fn storescp(dir: &Path, args: &[&str]) -> Storescp {
    std::fs::create_dir_all(dir.join("out")).expect("test setup");
    for _ in 0..3 {
        let port = free_port();
        let mut cmd = Command::new(dcmtk("storescp"));
        cmd.current_dir(dir).args(args).arg(port.to_string());
        let mut guard = ChildGuard::spawn(cmd);
        if wait_for_port(port, Duration::from_secs(5)) {
            return Storescp { port, guard };
        }
        assert!(
            guard.wait_timeout(Duration::from_millis(10)).is_some(),
            "storescp neither listens nor exits"
        );
    }
    panic!("storescp {args:?} never listened");
}

/// Writes the recorder hook into `dir` and returns its path.
pub(crate) fn recorder(dir: &Path) -> String {
    let path = dir.join("rec.sh");
    std::fs::write(
        &path,
        r#"#!/bin/sh
n="$(dirname "$0")/calls/$(date +%s%N).$$"
mkdir -p "$n"
i=0
for a in "$@"; do printf '%s' "$a" > "$n/$i"; i=$((i+1)); done
printf '%s' "$#" > "$n/count"
"#,
    )
    .expect("test setup");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("test setup");
    path.display().to_string()
}

/// One recorded hook call: when (ns since the epoch) and its arguments.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) at_ns: u128,
    pub(crate) args: Vec<String>,
}

/// The recorded calls, in the order they started.
pub(crate) fn calls(dir: &Path) -> Vec<Call> {
    let Ok(entries) = std::fs::read_dir(dir.join("calls")) else {
        return Vec::new();
    };
    let mut calls: Vec<Call> = entries
        .map(|e| e.expect("test setup").path())
        .filter_map(|p| {
            let count: usize = std::fs::read_to_string(p.join("count"))
                .ok()?
                .parse()
                .ok()?;
            let name = p.file_name()?.to_str()?.to_string();
            let at_ns = name.split('.').next()?.parse().ok()?;
            let args = (0..count)
                .map(|i| std::fs::read_to_string(p.join(i.to_string())).expect("test setup"))
                .collect();
            Some(Call { at_ns, args })
        })
        .collect();
    calls.sort_by_key(|c| c.at_ns);
    calls
}

pub(crate) fn wait_for_calls(dir: &Path, n: usize, timeout: Duration) -> Vec<Call> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = calls(dir);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes CT objects `(file name, study number, instance number)` into `dir/objects`.
pub(crate) fn objects(dir: &Path, list: &[(&str, u32, u32)]) -> Vec<PathBuf> {
    let objects = dir.join("objects");
    std::fs::create_dir_all(&objects).expect("test setup");
    list.iter()
        .map(|(name, study, n)| {
            let mut inst = Instance::ct(&format!("{ROOT}.{study}.{n}"));
            inst.study_instance_uid = format!("{ROOT}.{study}");
            inst.series_instance_uid = format!("{ROOT}.{study}.1");
            let path = objects.join(name);
            inst.write(&path, uids::EXPLICIT_VR_LITTLE_ENDIAN);
            path
        })
        .collect()
}

pub(crate) fn send(port: u16, options: &[&str], files: &[PathBuf]) -> String {
    let out = run(dcmtk_client(
        "storescu",
        port,
        &[&["-v"], options].concat(),
        files,
    ));
    stderr(&out)
}

pub(crate) fn args(call: &Call) -> Vec<&str> {
    call.args.iter().map(String::as_str).collect()
}

pub(crate) fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("test setup") {
            let p = e.expect("test setup").path();
            out.push(
                p.strip_prefix(dir)
                    .expect("test setup")
                    .display()
                    .to_string(),
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `#p` without sorting is the `-od` value as written; `#f` the file name with `-fe`'s
/// extension; `#a`/`#c` the AE titles wrapped in double quotes (the shell removes them, except
/// inside single quotes); `#r` the peer's host name, or its IP address with `-dhl`. The
/// command runs through `/bin/sh -c`.
#[test]
fn storescp_placeholders_are_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let files = objects(dir.path(), &[("a1.dcm", 1, 1)]);
    let cmd = format!("{rec} rcv #p #f #a '#a' #c #r \"$0\"");
    let scp = storescp(
        dir.path(),
        &["-xs", "-dhl", "-od", "out", "-fe", ".dcm", "-xcr", &cmd],
    );
    send(scp.port, &["-aet", "MY AE", "-aec", "ARCHIVE"], &files);
    let got = wait_for_calls(dir.path(), 1, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "{}", scp.guard.stderr());
    assert_eq!(
        args(&got[0]),
        [
            "rcv",
            "out",
            &format!("CT.{ROOT}.1.1.dcm"),
            "MY AE",
            "\"MY AE\"",
            "ARCHIVE",
            "127.0.0.1",
            "/bin/sh", // `$0` of `sh -c`: the command went through a shell
        ]
    );
    drop(scp);

    // Without -dhl, #r is the reverse-resolved name.
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let files = objects(dir.path(), &[("a1.dcm", 1, 1)]);
    let scp = storescp(
        dir.path(),
        &["-xs", "-od", "out", "-xcr", &format!("{rec} #r #p")],
    );
    send(scp.port, &[], &files);
    let got = wait_for_calls(dir.path(), 1, Duration::from_secs(5));
    assert_eq!(args(&got[0]), ["localhost", "out"]);
}

/// With `--ignore` nothing is written and `#p`/`#f` are not substituted: the text stays, and
/// where it starts a word the shell takes it for a comment. With `+B`, `#p`/`#f` are as in
/// normal mode.
#[test]
fn storescp_placeholders_without_a_file_and_in_bit_preserving_mode() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let files = objects(dir.path(), &[("a1.dcm", 1, 1)]);
    let cmd = format!("{rec} x#p x#f #a #p #c");
    let scp = storescp(dir.path(), &["-xs", "--ignore", "-od", "out", "-xcr", &cmd]);
    send(scp.port, &[], &files);
    let got = wait_for_calls(dir.path(), 1, Duration::from_secs(5));
    assert_eq!(
        args(&got[0]),
        ["x#p", "x#f", "STORESCU"],
        "`#p` begins a comment"
    );
    drop(scp);

    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let files = objects(dir.path(), &[("a1.dcm", 1, 1)]);
    let scp = storescp(
        dir.path(),
        &["-xs", "+B", "-od", "out", "-xcr", &format!("{rec} #p #f")],
    );
    send(scp.port, &[], &files);
    let got = wait_for_calls(dir.path(), 1, Duration::from_secs(5));
    assert_eq!(args(&got[0]), ["out", &format!("CT.{ROOT}.1.1")]);
}

/// `-su P` puts each study in `<od>/P_<Study Instance UID>`; `#p` of `-xcr` is that folder.
/// `-xcs` fires for a study when the first object of another study arrives (after that
/// object's `-xcr`), and with `-tos S` when S seconds pass without a command; its `#p` is the
/// study folder, and `#f` is not substituted (so here it starts a comment).
#[test]
fn storescp_end_of_study_is_the_next_study_or_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let files = objects(
        dir.path(),
        &[("a1.dcm", 1, 1), ("a2.dcm", 1, 2), ("b1.dcm", 2, 1)],
    );
    let scp = storescp(
        dir.path(),
        &[
            "-xs",
            "-od",
            "out",
            "-su",
            "PFX",
            "-tos",
            "2",
            "-xcr",
            &format!("{rec} rcv #p #f"),
            "-xcs",
            &format!("{rec} eos #p #f #a"),
        ],
    );
    send(scp.port, &[], &files);
    let got = wait_for_calls(dir.path(), 5, Duration::from_secs(8));
    let a = format!("out/PFX_{ROOT}.1");
    let b = format!("out/PFX_{ROOT}.2");
    let shown: Vec<Vec<&str>> = got.iter().map(args).collect();
    assert_eq!(
        shown,
        [
            vec!["rcv", &a, &format!("CT.{ROOT}.1.1")],
            vec!["rcv", &a, &format!("CT.{ROOT}.1.2")],
            vec!["rcv", &b, &format!("CT.{ROOT}.2.1")],
            vec!["eos", &a],
            vec!["eos", &b],
        ]
    );
    let gap = Duration::from_nanos((got[4].at_ns - got[2].at_ns) as u64);
    assert!(
        gap >= Duration::from_millis(1800) && gap < Duration::from_secs(5),
        "-tos 2 fired {gap:?} after the last object"
    );
}

/// Without `-tos`, a study stays open across associations and idle time: `-xcs` fires only
/// when an object of another study arrives — with `#a`/`#c`/`#r` of the association that
/// brought it — and never for the last study.
#[test]
fn storescp_end_of_study_without_timeout_waits_for_another_study() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let files = objects(
        dir.path(),
        &[("a1.dcm", 1, 1), ("a2.dcm", 1, 2), ("b1.dcm", 2, 1)],
    );
    let scp = storescp(
        dir.path(),
        &[
            "-xs",
            "-od",
            "out",
            "-su",
            "S",
            "-xcs",
            &format!("{rec} eos #p #a #c #r"),
        ],
    );
    send(scp.port, &["-aet", "ONE"], &files[0..1]);
    send(scp.port, &["-aet", "ONE"], &files[1..2]);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        calls(dir.path()).is_empty(),
        "association ends and idleness do not end a study"
    );
    send(scp.port, &["-aet", "TWO", "-aec", "OTHER"], &files[2..3]);
    std::thread::sleep(Duration::from_millis(1500));
    let got = calls(dir.path());
    let shown: Vec<Vec<&str>> = got.iter().map(args).collect();
    let a = format!("out/S_{ROOT}.1");
    assert_eq!(shown, [vec!["eos", &a, "TWO", "OTHER", "localhost"]]);
}

/// `-ss P` names study folders `P_YYYYMMDD_HHMMSSmmm` (no `P_` for an empty prefix), one per
/// change of study; `-sp` names them `<Patient's Name>_YYYYMMDD_HHMMSSmmm`, the name mapped
/// to ASCII letters and digits with `_` for everything else (`Synthetic^Test` →
/// `Synthetic_Test`).
#[test]
fn storescp_sorting_folder_names() {
    fn timestamped(name: &str, prefix: &str) -> bool {
        let Some(rest) = name.strip_prefix(prefix) else {
            return false;
        };
        let b = rest.as_bytes();
        b.len() == 18
            && b[8] == b'_'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 8 || c.is_ascii_digit())
    }
    for (option, prefix) in [
        (vec!["-ss", "PFX"], "PFX_"),
        (vec!["-ss", ""], ""),
        (vec!["-sp"], "Synthetic_Test_"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rec = recorder(dir.path());
        let files = objects(dir.path(), &[("a1.dcm", 1, 1), ("b1.dcm", 2, 1)]);
        let hook = format!("{rec} #p");
        let mut a = vec!["-xs", "-od", "out", "-xcr", &hook];
        a.extend(&option);
        let scp = storescp(dir.path(), &a);
        send(scp.port, &[], &files);
        let got = wait_for_calls(dir.path(), 2, Duration::from_secs(5));
        assert_eq!(got.len(), 2);
        let folders: Vec<&str> = got
            .iter()
            .map(|c| c.args[0].strip_prefix("out/").unwrap())
            .collect();
        assert_ne!(folders[0], folders[1], "{option:?}: a folder per study");
        for f in &folders {
            assert!(timestamped(f, prefix), "{option:?}: {f}");
        }
    }
}

/// `-rns` renames a study's files to `<2-letter modality><6-digit counter from 1>`, with no
/// extension (`-fe` is dropped), before `-xcs` runs. A study interrupted by another one is
/// renamed twice, counting from 1 again: `rename()` replaces the first `CT000001`, and one
/// object of the study is lost without a warning.
#[test]
fn storescp_rename_on_eostudy_numbers_files_and_loses_interrupted_studies() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let files = objects(
        dir.path(),
        &[("a1.dcm", 1, 1), ("b1.dcm", 2, 1), ("a2.dcm", 1, 2)],
    );
    let scp = storescp(
        dir.path(),
        &[
            "-xs",
            "-od",
            "out",
            "-su",
            "S",
            "-fe",
            ".dcm",
            "-rns",
            "-tos",
            "1",
            "-xcs",
            &format!("{rec} eos #p"),
        ],
    );
    let log = send(scp.port, &[], &files);
    assert_eq!(store_responses(&log), ["Success", "Success", "Success"]);
    let got = wait_for_calls(dir.path(), 3, Duration::from_secs(6));
    assert_eq!(
        got.len(),
        3,
        "A at B's arrival, B at A's return, A at the timeout"
    );
    assert_eq!(
        tree(&dir.path().join("out")),
        [
            format!("S_{ROOT}.1"),
            format!("S_{ROOT}.1/CT000001"),
            format!("S_{ROOT}.2"),
            format!("S_{ROOT}.2/CT000001"),
        ]
    );
    let kept =
        dicom_object::open_file(dir.path().join(format!("out/S_{ROOT}.1/CT000001"))).unwrap();
    let sop = kept
        .element(tags::SOP_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        sop.trim_end_matches('\0'),
        format!("{ROOT}.1.2"),
        "the first object of A was replaced"
    );
}

/// `-xs` runs the hook after the C-STORE response was sent and before the next command is
/// read: the sender gets its response at once, and waits for the hook before the next one.
/// Without `-xs`, hooks run in the background and the sender never waits.
#[test]
fn storescp_exec_sync_runs_after_the_response_and_blocks_the_association() {
    for sync in [true, false] {
        exec_sync_timing(sync, |dir, options| {
            let scp = storescp(dir, options);
            (scp.port, Box::new(move || drop(scp)))
        });
    }
}

/// The `-xs` scenario for any receiver: two objects, a hook of 1.5 s per object (`-xcr`), with
/// or without `-xs`. `start` starts the receiver in the directory with the options and returns
/// its port and how to stop it. Asserts the response comes first and whether the sender waits.
#[allow(
    clippy::unwrap_used,
    reason = "test code moved out of two #[test]s: a failed unwrap is a failed test"
)]
pub(crate) fn exec_sync_timing(
    sync: bool,
    start: impl FnOnce(&Path, &[&str]) -> (u16, Box<dyn FnOnce()>),
) {
    let dir = tempfile::tempdir().unwrap();
    let hook = dir.path().join("slow.sh");
    std::fs::write(
        &hook,
        "#!/bin/sh\nsleep 1.5\ntouch \"$(dirname \"$0\")/done.$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let files = objects(dir.path(), &[("a1.dcm", 1, 1), ("a2.dcm", 1, 2)]);
    let cmd = format!("{} #f", hook.display());
    let mut options = vec!["-od", "out", "-xcr", &cmd];
    if sync {
        options.insert(0, "-xs");
    }
    let (port, stop) = start(dir.path(), &options);
    let started = Instant::now();
    let mut client = dcmtk_client("storescu", port, &["-v"], &files);
    let mut child = client
        .env("TCP_NODELAY", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap());
    let done = |n: u32| dir.path().join(format!("done.CT.{ROOT}.1.{n}")).exists();
    let mut first_response = None;
    for line in lines.lines() {
        let line = line.unwrap();
        if line.contains("Received Store Response") && first_response.is_none() {
            first_response = Some((started.elapsed(), done(1)));
        }
    }
    assert!(child.wait().unwrap().success());
    let total = started.elapsed();
    let (at, hook_done) = first_response.expect("a response");
    assert!(
        !hook_done,
        "sync={sync}: the response came before the hook finished"
    );
    assert!(
        at < Duration::from_secs(1),
        "sync={sync}: first response after {at:?}"
    );
    if sync {
        assert!(
            total >= Duration::from_millis(3000),
            "two hooks of 1.5 s held the sender: {total:?}"
        );
        assert!(
            done(1) && done(2),
            "both hooks finished before the association ended"
        );
    } else {
        assert!(
            total < Duration::from_millis(1500),
            "background hooks: {total:?}"
        );
        assert!(!done(1) && !done(2));
    }
    stop();
}

/// CVE-2026-5663 on the installed storescp: the Debian patch sanitises UIDs in file and folder
/// names (`;`, `$`, `(`, backticks, `|` become `_`), so `#f` and `#p` no longer inject; but
/// `#a` and `#c` are still pasted into the shell command inside double quotes, so a calling or
/// called AE title runs commands.
#[test]
fn storescp_hooks_are_injectable_through_ae_titles() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let objects_dir = dir.path().join("objects");
    std::fs::create_dir_all(&objects_dir).unwrap();
    let file = objects_dir.join("inj.dcm");
    let mut inst = Instance::ct("1.2.3;$(touch${IFS}UIDMARK)`touch${IFS}UIDMARK`|x");
    inst.study_instance_uid = "../escaped".into();
    inst.write(&file, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let scp = storescp(
        dir.path(),
        &[
            "-xs",
            "-od",
            "out",
            "-su",
            "",
            "-xcr",
            &format!("{rec} #p #f #a #c"),
        ],
    );
    send(
        scp.port,
        &["-aet", "\";touch AEMARK;\"", "-aec", "$(touch CEMARK)"],
        &[file],
    );
    let got = wait_for_calls(dir.path(), 1, Duration::from_secs(5));
    drop(scp);
    assert!(
        dir.path().join("AEMARK").exists(),
        "the calling AE title ran a command"
    );
    assert!(
        dir.path().join("CEMARK").exists(),
        "the called AE title ran a command"
    );
    assert!(!dir.path().join("UIDMARK").exists());
    assert!(
        !dir.path().join("escaped").exists(),
        "the study folder stays inside -od"
    );
    let call = got.first().expect("the hook ran");
    assert_eq!(call.args[0], "out/.._escaped");
    assert!(call.args[1].starts_with("CT.1.2.3_"), "{:?}", call.args[1]);
    assert!(
        !call.args[1].contains(['$', ';', '`', '|', '(']),
        "{:?}",
        call.args[1]
    );
}

/// `-xcs` and `-rns` need a sorting option, `-tos` needs one of those, and sorting is refused
/// with `+B`: exit code 1 and DCMTK's usage message.
#[test]
fn storescp_event_option_dependencies() {
    for (args, message) in [
        (
            vec!["-xcs", "x"],
            "error: --exec-on-eostudy only allowed with --sort-conc-studies, --sort-on-study-uid or --sort-on-patientname",
        ),
        (
            vec!["-rns"],
            "error: --rename-on-eostudy only allowed with --sort-conc-studies, --sort-on-study-uid or --sort-on-patientname",
        ),
        (
            vec!["-tos", "5"],
            "error: --eostudy-timeout only allowed with --sort-conc-studies, --sort-on-study-uid, --sort-on-patientname, --exec-on-eostudy or --rename-on-eostudy",
        ),
        (
            vec!["+B", "-su", "x"],
            "error: --sort-on-study-uid not allowed with --bit-preserving",
        ),
    ] {
        let mut cmd = Command::new(dcmtk("storescp"));
        cmd.args(&args).arg("104");
        let out = run(cmd);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}
