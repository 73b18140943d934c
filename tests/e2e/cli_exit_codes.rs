//! Start-up failures, exit codes and the command line of the built `dcmrecv`, each run with the
//! same arguments against the real `/usr/bin/dcmrecv`.
//!
//! Ours prints the same `W:`/`E:`/`F:`/`error:` lines with the same exit code. Where ours adds a
//! line, the test names it; the only such line is the one that locates a profile error
//! (`E: <file>:<line>: ...`). The usage header differs (`dcmrecv-rs 0.1.0 (compatible with
//! DCMTK dcmrecv 3.6.7)` instead of `$dcmtk: dcmrecv v3.6.7 2022-04-22 $`).

use std::ffi::{OsStr, OsString};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use dcmrecv_e2e::clients::{assert_success, storescu};
use dcmrecv_e2e::peers::pydicom_file;
use dcmrecv_e2e::process::{free_port, run_with_timeout, unwritable_dir_command};
use dcmrecv_e2e::receiver::{Receiver, ours_binary};

/// What a run printed, with the lines that matter for comparisons.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn from(out: &Output) -> Outcome {
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The `W:`, `E:`, `F:` and `error:` lines of stderr.
    fn diagnostics(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| {
                ["W: ", "E: ", "F: ", "error: "]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .collect()
    }
}

fn os_args(args: &[&dyn AsRef<OsStr>]) -> Vec<OsString> {
    args.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// Runs ours and the real dcmrecv with `args` and checks that both exit with `code` and print
/// the same diagnostics; ours may add exactly the lines in `ours_adds`. Returns DCMTK's
/// diagnostics.
#[track_caller]
fn assert_same_failure(args: &[OsString], code: i32, ours_adds: &[&str]) -> Vec<String> {
    let ours = Outcome::from(&Receiver::ours().run(args));
    let theirs = Outcome::from(&Receiver::dcmtk().run(args));
    check_same_failure(&ours, &theirs, code, ours_adds)
}

#[track_caller]
fn check_same_failure(
    ours: &Outcome,
    theirs: &Outcome,
    code: i32,
    ours_adds: &[&str],
) -> Vec<String> {
    assert_eq!(theirs.code, Some(code), "dcmrecv:\n{}", theirs.stderr);
    assert_eq!(ours.code, Some(code), "ours:\n{}", ours.stderr);
    let mine = ours.diagnostics();
    for added in ours_adds {
        assert!(
            mine.contains(added),
            "ours lacks {added:?}:\n{}",
            ours.stderr
        );
    }
    let mine: Vec<&str> = mine
        .into_iter()
        .filter(|l| !ours_adds.contains(l))
        .collect();
    assert_eq!(
        mine,
        theirs.diagnostics(),
        "ours:\n{}\ndcmrecv:\n{}",
        ours.stderr,
        theirs.stderr
    );
    theirs.diagnostics().iter().map(|l| l.to_string()).collect()
}

#[test]
fn port_in_use_exits_64() {
    // DCMTK binds 0.0.0.0 (and so does ours without -ba): on Linux a socket listening on
    // 127.0.0.1:port already makes that bind fail, so the test's listener stays on loopback.
    let occupant = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = occupant.local_addr().expect("address").port();
    let od = tempfile::tempdir().expect("tempdir");
    let lines = assert_same_failure(&os_args(&[&"-od", &od.path(), &port.to_string()]), 64, &[]);
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            format!(
                "F: cannot start SCP and listen on port {port}: TCP Initialization Error: Address already in use"
            )
            .as_str()
        )
    );
    // Ours with -ba 127.0.0.1 collides with the same listener.
    let out = Receiver::ours().run(&os_args(&[
        &"-ba",
        &"127.0.0.1",
        &"-od",
        &od.path(),
        &port.to_string(),
    ]));
    assert_eq!(out.status.code(), Some(64));
    drop(occupant);
}

#[test]
fn missing_output_directory_and_a_regular_file_exit_45() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let port = free_port().to_string();
    for od in [dir.path().join("missing"), file] {
        let lines = assert_same_failure(&os_args(&[&"-od", &od, &port]), 45, &[]);
        assert_eq!(
            lines,
            [
                "W: no configuration file specified, SCP will only support the Verification SOP Class",
                "F: cannot specify output directory: Directory does not exist"
            ]
        );
    }
}

#[test]
fn unwritable_output_directory_exits_45() {
    let dir = tempfile::tempdir().expect("tempdir");
    let od = dir.path().join("read-only");
    std::fs::create_dir(&od).expect("mkdir");
    let port = free_port().to_string();
    let run = |binary: &Path| {
        let mut cmd = unwritable_dir_command(&od, binary);
        cmd.arg("-od").arg(&od).arg(&port);
        Outcome::from(&run_with_timeout(cmd, Duration::from_secs(20)))
    };
    let ours = run(&ours_binary());
    let theirs = run(&Receiver::dcmtk().binary);
    let lines = check_same_failure(&ours, &theirs, 45, &[]);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("F: cannot specify output directory: Directory is not writable")
    );
}

#[test]
fn profile_errors_exit_66() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.cfg");
    std::fs::write(
        &broken,
        "[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicitX\n\
         [[PresentationContexts]]\n[P]\nPresentationContext1 = VerificationSOPClass\\Uncompressed\n\
         [[Profiles]]\n[Default]\nPresentationContexts = P\n",
    )
    .expect("write");
    let od = dir.path();
    let port = free_port().to_string();

    // A syntax error: DCMTK's two lines; ours adds where the error is.
    let located = format!(
        "E: {}:3: not a valid transfer syntax UID: LittleEndianExplicitX (key TRANSFERSYNTAX1 in [[TRANSFERSYNTAXES]] [UNCOMPRESSED])",
        broken.display()
    );
    let lines = assert_same_failure(
        &os_args(&[&"-xf", &broken, &"Default", &"-od", &od, &port]),
        66,
        &[&located],
    );
    assert_eq!(
        lines,
        [
            format!(
                "E: Unable to parse association configuration file: {}: not a valid transfer syntax UID: LittleEndianExplicitX",
                broken.display()
            ),
            "F: cannot load association configuration: not a valid transfer syntax UID: LittleEndianExplicitX".to_string(),
        ]
    );

    // An unknown profile in DCMTK's own file.
    let lines = assert_same_failure(
        &os_args(&[
            &"-xf",
            &"/etc/dcmtk/storescp.cfg",
            &"NoSuchProfile",
            &"-od",
            &od,
            &port,
        ]),
        66,
        &[],
    );
    assert_eq!(
        lines,
        [
            "E: No association profile named \"NoSuchProfile\" in association configuration, did you forget to add presentation contexts?",
            "F: cannot load association configuration: Invalid or non-existing SCP Association Profile"
        ]
    );

    // A file that does not exist.
    let missing = dir.path().join("missing.cfg");
    let lines = assert_same_failure(
        &os_args(&[&"-xf", &missing, &"Default", &"-od", &od, &port]),
        66,
        &[],
    );
    assert_eq!(lines.len(), 2, "{lines:?}");

    // The profile is checked before the output directory (66 wins over 45).
    assert_same_failure(
        &os_args(&[
            &"-xf",
            &broken,
            &"Default",
            &"-od",
            &dir.path().join("nope"),
            &port,
        ]),
        66,
        &[&located],
    );
}

/// Both print the usage error after a header of three lines; only the first line (the program
/// and version) differs.
#[track_caller]
fn assert_same_usage_error(args: &[OsString], error: &str) {
    let ours = Outcome::from(&Receiver::ours().run(args));
    let theirs = Outcome::from(&Receiver::dcmtk().run(args));
    assert_eq!(theirs.code, Some(1), "dcmrecv:\n{}", theirs.stderr);
    assert_eq!(ours.code, Some(1), "ours:\n{}", ours.stderr);
    let tail = |o: &Outcome| {
        o.stderr
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(tail(&ours), tail(&theirs));
    assert_eq!(
        tail(&theirs),
        ["", "dcmrecv: Simple DICOM storage SCP (receiver)", error]
    );
    assert!(ours.stderr.starts_with("dcmrecv-rs "), "{}", ours.stderr);
}

#[test]
fn command_line_errors_exit_1() {
    let port = free_port().to_string();
    assert_same_usage_error(&os_args(&[&"--foo", &port]), "error: Unknown option --foo");
    assert_same_usage_error(
        &os_args(&[&"@no-such-command-file.txt"]),
        "error: Cannot open command file 'no-such-command-file.txt'",
    );
    assert_same_usage_error(
        &os_args(&[&"-od"]),
        "error: Missing value for option --output-directory",
    );
    assert_same_usage_error(
        &os_args(&[&"70000"]),
        "error: Invalid parameter value 70000 (overflow)",
    );
    assert_same_usage_error(
        &os_args(&[&"-pdu", &"4095", &port]),
        "error: Invalid value for option --max-pdu (underflow: 4095)",
    );
}

#[test]
fn help_version_and_no_arguments_exit_0() {
    let ours = Receiver::ours();
    let theirs = Receiver::dcmtk();
    let help_ours = Outcome::from(&ours.run(&["--help"]));
    let help_theirs = Outcome::from(&theirs.run(&["--help"]));
    assert_eq!((help_ours.code, help_theirs.code), (Some(0), Some(0)));
    // Every line of DCMTK's help but the header is ours too, in the same order; ours then adds
    // its extensions, marked as such.
    let lines = |o: &Outcome| {
        o.stdout
            .lines()
            .skip(1)
            .map(|l| l.trim_end().to_string())
            .collect::<Vec<_>>()
    };
    let (mine, mut dcmtk) = (lines(&help_ours), lines(&help_theirs));
    // DCMTK's help ends with an empty line; ours moves it after the extensions.
    assert_eq!(dcmtk.pop().as_deref(), Some(""));
    for (i, line) in dcmtk.iter().enumerate() {
        assert_eq!(mine.get(i), Some(line), "help line {}", i + 2);
    }
    // After DCMTK's options: storescp's (its spellings), then our extensions.
    assert_eq!(
        mine.get(dcmtk.len()).map(String::as_str),
        Some("storescp's options (DCMTK storescp 3.6.7 spellings):")
    );
    assert!(
        mine[dcmtk.len()..]
            .iter()
            .any(|l| l == "dcmrecv-rs extensions (not in DCMTK):"),
        "{mine:?}"
    );
    // No arguments at all: the same usage on stdout, exit 0.
    let usage = Outcome::from(&ours.run(&[] as &[&str]));
    assert_eq!(usage.code, Some(0));
    assert_eq!(usage.stdout, help_ours.stdout);
    let usage_theirs = Outcome::from(&theirs.run(&[] as &[&str]));
    assert_eq!(usage_theirs.code, Some(0));
    assert_eq!(usage_theirs.stdout, help_theirs.stdout);

    let version = Outcome::from(&ours.run(&["--version"]));
    let version_theirs = Outcome::from(&theirs.run(&["--version"]));
    assert_eq!((version.code, version_theirs.code), (Some(0), Some(0)));
    assert!(version.stdout.contains("3.6.7"), "{}", version.stdout);
    assert!(
        version
            .stdout
            .contains("dcmrecv: Simple DICOM storage SCP (receiver)"),
        "{}",
        version.stdout
    );
}

#[test]
fn command_files_expand_as_in_dcmtk_and_configure_a_real_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let od = dir.path().join("out dir");
    std::fs::create_dir(&od).expect("mkdir");
    let cmd_file = dir.path().join("args.txt");
    std::fs::write(
        &cmd_file,
        format!(
            "-od \"{}\"\n-xf /etc/dcmtk/storescp.cfg 'Default'\t+v -v\n",
            od.display()
        ),
    )
    .expect("write");
    let at_file = format!("@{}", cmd_file.display());

    // The expansion, as --arguments shows it, is DCMTK's: quotes removed, long option names,
    // and a later -od wins (here one that does not exist, so both stop with 45).
    let missing = dir.path().join("missing");
    let args = os_args(&[
        &"--arguments",
        &at_file,
        &"-od",
        &missing,
        &free_port().to_string(),
    ]);
    let ours = Outcome::from(&Receiver::ours().run(&args));
    let theirs = Outcome::from(&Receiver::dcmtk().run(&args));
    let calling = |o: &Outcome, program: &Path| -> String {
        let line = o
            .stderr
            .lines()
            .find(|l| l.starts_with("I: calling "))
            .unwrap_or_else(|| panic!("no --arguments line:\n{}", o.stderr))
            .to_string();
        line.replace(&program.display().to_string(), "<dcmrecv>")
    };
    let expanded = calling(&theirs, &Receiver::dcmtk().binary);
    assert_eq!(calling(&ours, &ours_binary()), expanded);
    assert!(
        expanded.contains(&format!("'--output-directory' '{}'", od.display())),
        "{expanded}"
    );
    assert_eq!((ours.code, theirs.code), (Some(45), Some(45)));

    // The same file configures a receiver that then stores into the directory with a space.
    let receiver = Receiver::ours().listen(&[&at_file]).expect("start ours");
    let out = storescu(receiver.port, &[], &[pydicom_file("CT_small.dcm")]);
    assert_success(&out, "storescu");
    let stored = od.join("CT.1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322");
    assert!(stored.is_file(), "{}", receiver.guard.stderr());
    // -v and +v from the file are in effect.
    assert!(
        receiver
            .guard
            .wait_for_log("END A-ASSOCIATE-AC", Duration::from_secs(5)),
        "{}",
        receiver.guard.stderr()
    );
}
