//! Running unattended (issue 14), black-box against our built `dcmrecv`: the metrics and health
//! endpoints through the real `curl` (also flooded while objects are received), systemd's
//! notification protocol on a real `NOTIFY_SOCKET` datagram socket, socket activation with
//! systemd's own `systemd-socket-activate`, `--min-free-space` on a small tmpfs,
//! `--on-duplicate` in every mode (with two associations racing the same instance), and
//! `--max-associations-per-ae`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use dcmrecv_e2e::clients::{assert_success, storescu};
use dcmrecv_e2e::disk::{Tmpfs, final_files};
use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::process::{ChildGuard, free_port, run_with_timeout, wait_for_port};
use dcmrecv_e2e::raw::EXPLICIT;
use dcmrecv_e2e::receiver::{Receiver, Running, ours_binary};
use dicom_ul::pdu::{
    AssociationRJResult, AssociationRJServiceProviderPresentationReason, AssociationRJSource, Pdu,
};

use crate::support::{PC_CT, PC_ECHO, associate, ct, storage_rq, store_with_comment};

/// The real HTTP client.
const CURL: &str = "/usr/bin/curl";

/// `curl -s` a URL on 127.0.0.1: the HTTP status (0 when curl got none) and the body.
fn curl(port: u16, path: &str, extra: &[&str]) -> (u16, String) {
    assert!(
        Path::new(CURL).exists(),
        "{CURL} is missing: apt-get install curl"
    );
    let mut cmd = Command::new(CURL);
    cmd.args(["-s", "-m", "10", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(format!("http://127.0.0.1:{port}{path}"));
    let out = run_with_timeout(cmd, Duration::from_secs(15));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// The value of one sample line (`name{labels} value`) in a Prometheus text exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Starts ours with `+xa`, a metrics endpoint on a free port and `extra`; returns it and the
/// metrics port (waited for).
fn start_with_metrics(extra: &[&str], od: &Path) -> (Running, u16) {
    let metrics = free_port();
    let address = format!("127.0.0.1:{metrics}");
    let mut args = vec!["+xa", "--metrics-address", address.as_str()];
    args.extend_from_slice(extra);
    let running = Receiver::ours().start_local(&args, od);
    assert!(
        wait_for_port(metrics, Duration::from_secs(10)),
        "no metrics endpoint"
    );
    (running, metrics)
}

/// Writes `n` small CT files below `dir` and returns their paths.
fn ct_files(dir: &Path, prefix: &str, n: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("create the input directory");
    (0..n)
        .map(|i| {
            let path = dir.join(format!("in{i}.dcm"));
            Instance::ct(&format!("{prefix}.{i}")).write(&path, EXPLICIT);
            path
        })
        .collect()
}

#[test]
fn metrics_and_health_answer_curl_and_count_what_was_received() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (running, metrics) = start_with_metrics(
        &["--metrics-per-ae", "--allow-calling", "GOOD"],
        &dir.path().join("out"),
    );
    assert_eq!(curl(metrics, "/healthz", &[]), (200, "ok\n".to_string()));
    let (code, body) = curl(metrics, "/readyz", &[]);
    assert_eq!((code, body.trim()), (200, "ready"));

    let files = ct_files(
        &dir.path().join("in"),
        "1.2.826.0.1.3680043.10.1145.14.1",
        5,
    );
    assert_success(
        &storescu(running.port, &["-aet", "GOOD"], &files),
        "storescu",
    );
    let refused = storescu(running.port, &["-aet", "EVIL"], &files[..1]);
    assert!(!refused.status.success());

    let (code, text) = curl(metrics, "/metrics", &[]);
    assert_eq!(code, 200, "{text}");
    assert_eq!(
        sample(
            &text,
            r#"dcmrecv_objects_total{status="success",calling_ae="GOOD"}"#
        ),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"dcmrecv_associations_total{result="accepted",calling_ae="GOOD"}"#
        ),
        Some(1.0)
    );
    // A refused title never gets a series of its own.
    assert_eq!(
        sample(
            &text,
            r#"dcmrecv_associations_total{result="rejected_calling_ae",calling_ae="(other)"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, r#"dcmrecv_received_bytes_total{calling_ae="GOOD"}"#).unwrap_or(0.0)
            > 5.0 * 512.0
    );
    assert_eq!(
        sample(&text, "dcmrecv_store_seconds_count"),
        Some(5.0),
        "{text}"
    );
    assert_eq!(sample(&text, "dcmrecv_associations_active"), Some(0.0));
    assert!(sample(&text, "dcmrecv_output_free_bytes").unwrap_or(0.0) > 0.0);
    assert!(sample(&text, "dcmrecv_output_size_bytes").unwrap_or(0.0) > 0.0);
    assert_eq!(sample(&text, "dcmrecv_hook_queue_depth"), Some(0.0));

    // Prometheus asks for OpenMetrics.
    let (code, open) = curl(
        metrics,
        "/metrics",
        &["-H", "Accept: application/openmetrics-text;version=1.0.0"],
    );
    assert_eq!(code, 200);
    assert!(open.ends_with("# EOF\n"), "{open}");
    // Nothing else is served.
    assert_eq!(curl(metrics, "/nope", &[]).0, 404);
    assert_eq!(curl(metrics, "/metrics", &["-X", "POST"]).0, 405);
    assert_eq!(curl(metrics, "/metrics", &["-X", "POST", "-d", "x"]).0, 413);
    drop(running);
}

#[test]
fn hook_results_and_the_hook_queue_are_counted_in_the_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    // /bin/false fails every time: counted as failed, every object still stored with success.
    let (running, metrics) =
        start_with_metrics(&["-xcr", "/bin/false #f"], &dir.path().join("out"));
    let (_, before) = curl(metrics, "/metrics", &[]);
    assert_eq!(
        sample(&before, r#"dcmrecv_hooks_total{result="failed"}"#),
        Some(0.0),
        "every hook series exists from the start: {before}"
    );
    let files = ct_files(
        &dir.path().join("in"),
        "1.2.826.0.1.3680043.10.1145.14.7",
        4,
    );
    assert_success(&storescu(running.port, &[], &files), "storescu");
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let (code, text) = curl(metrics, "/metrics", &[]);
        assert_eq!(code, 200, "{text}");
        if sample(&text, r#"dcmrecv_hooks_total{result="failed"}"#) == Some(4.0)
            || Instant::now() > deadline
        {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        sample(&text, r#"dcmrecv_hooks_total{result="failed"}"#),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"dcmrecv_hooks_total{result="succeeded"}"#),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, r#"dcmrecv_objects_total{status="success"}"#),
        Some(4.0),
        "{text}"
    );
    assert_eq!(sample(&text, "dcmrecv_hook_queue_depth"), Some(0.0));
    assert_eq!(sample(&text, "dcmrecv_hooks_running"), Some(0.0));
    drop(running);
}

#[test]
fn flooding_the_metrics_endpoint_leaves_reception_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let (running, metrics) = start_with_metrics(&[], &out);
    let files = ct_files(
        &dir.path().join("in"),
        "1.2.826.0.1.3680043.10.1145.14.2",
        60,
    );

    // Slow clients: connections that never finish their headers, more than the endpoint serves.
    let loris: Vec<TcpStream> = (0..48)
        .filter_map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", metrics)).ok()?;
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
            Some(s)
        })
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let scrapers: Vec<_> = (0..4)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let (mut ok, mut other) = (0u32, 0u32);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match curl(metrics, "/metrics", &[]).0 {
                        200 => ok += 1,
                        _ => other += 1,
                    }
                }
                (ok, other)
            })
        })
        .collect();
    // An oversized request head is refused, not buffered.
    let big = format!("X-Big: {}", "a".repeat(16 * 1024));
    let oversized = curl(metrics, "/metrics", &["-H", &big]).0;

    let started = Instant::now();
    assert_success(
        &storescu(running.port, &[], &files),
        "storescu during the flood",
    );
    let took = started.elapsed();
    let echo = running.echo(Duration::from_secs(5));
    assert!(echo.is_some(), "C-ECHO failed during the flood");
    assert_eq!(final_files(&out).len(), 60);
    assert!(took < Duration::from_secs(30), "60 objects took {took:?}");
    assert!(
        oversized == 431 || oversized == 0,
        "oversized request head answered {oversized}"
    );
    // The slow clients were cut (5 s header timeout), and scrapes got through meanwhile.
    std::thread::sleep(Duration::from_secs(6));
    let mut cut = 0;
    for mut s in loris {
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 256];
        // Cut: end of stream, a reset, or a 408; still open: the read times out.
        match s.read(&mut buf) {
            Ok(_) => cut += 1,
            Err(e)
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                cut += 1
            }
            Err(_) => {}
        }
    }
    assert_eq!(cut, 48);
    // Once the slow clients are gone, the scrapers get through again.
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let scraped: Vec<(u32, u32)> = scrapers
        .into_iter()
        .map(|t| t.join().expect("scraper"))
        .collect();
    let total_ok: u32 = scraped.iter().map(|s| s.0).sum();
    assert!(
        total_ok > 0,
        "no scrape succeeded during the flood: {scraped:?}"
    );
    eprintln!(
        "OBSERVED | metrics flood | ours | 60 objects in {took:.1?}, C-ECHO {echo:.1?}, scrapes {scraped:?}, oversized head -> {oversized}"
    );
    assert_eq!(curl(metrics, "/healthz", &[]).0, 200);
}

/// Reads the datagrams on `socket` for up to `timeout`, until one equals `until`.
fn datagrams(socket: &UnixDatagram, until: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    while Instant::now() < deadline {
        let _ = socket.set_read_timeout(Some(Duration::from_millis(100)));
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).trim_end().to_string();
            let done = text.lines().any(|l| l == until);
            out.push(text);
            if done {
                break;
            }
        }
    }
    out
}

#[test]
fn systemd_gets_ready_status_watchdog_and_stopping_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).expect("bind the notification socket");
    let env = [
        ("NOTIFY_SOCKET".to_string(), path.display().to_string()),
        ("WATCHDOG_USEC".to_string(), "600000".to_string()),
    ];
    std::fs::create_dir_all(dir.path().join("out")).expect("out");
    let od = dir.path().join("out").display().to_string();
    let running = Receiver::ours()
        .listen_with_env(&["+xa", "-od", od.as_str()], &env, None)
        .expect("start");
    let before = datagrams(&socket, "", Duration::from_secs(2));
    running.guard.signal("TERM");
    let after = datagrams(&socket, "STOPPING=1", Duration::from_secs(5));
    let all: Vec<String> = before.into_iter().chain(after).collect();
    assert_eq!(all.first().map(String::as_str), Some("READY=1"), "{all:?}");
    assert!(
        all.get(1)
            .is_some_and(|m| m.starts_with("STATUS=listening on port")
                && m.contains("0 association(s) active")),
        "{all:?}"
    );
    let pings = all.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(
        pings >= 3,
        "{pings} watchdog pings in 2 s at WATCHDOG_USEC=600000: {all:?}"
    );
    assert_eq!(
        all.last().map(String::as_str),
        Some("STOPPING=1"),
        "{all:?}"
    );
    assert_eq!(all.iter().filter(|m| *m == "STOPPING=1").count(), 1);
    // Nothing after STOPPING=1.
    std::thread::sleep(Duration::from_millis(700));
    let _ = socket.set_nonblocking(true);
    let mut buf = [0u8; 512];
    assert!(socket.recv(&mut buf).is_err(), "a message after STOPPING=1");
}

#[test]
fn a_socket_passed_by_systemd_as_fd_3_is_served() {
    let tool = Path::new("/usr/bin/systemd-socket-activate");
    assert!(
        tool.exists(),
        "{} is missing: apt-get install systemd",
        tool.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let port = free_port();
    // The port on the command line is not bound: the passed socket is served.
    let unused = free_port();
    let mut cmd = Command::new(tool);
    cmd.arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .arg(ours_binary())
        .args(["-v", "+xa", "-od"])
        .arg(&out)
        .arg(unused.to_string());
    let guard = ChildGuard::spawn(cmd);
    assert!(
        wait_for_port(port, Duration::from_secs(10)),
        "{}",
        guard.stderr()
    );
    let files = ct_files(
        &dir.path().join("in"),
        "1.2.826.0.1.3680043.10.1145.14.3",
        2,
    );
    assert_success(
        &storescu(port, &[], &files),
        "storescu to the passed socket",
    );
    assert_eq!(final_files(&out).len(), 2);
    assert!(
        guard.wait_for_log(
            "serving the listening socket passed by systemd",
            Duration::from_secs(5)
        ),
        "{}",
        guard.stderr()
    );
    assert!(!dcmrecv_e2e::receiver::is_listening(unused));
}

#[test]
fn below_the_minimum_free_space_stores_are_refused_and_storing_resumes_by_itself() {
    let tmpfs = Tmpfs::mount(16 * 1024);
    let out = tmpfs.path().join("out");
    let (running, metrics) = start_with_metrics(&["--min-free-space", "8M"], &out);
    let (_, data) = ct("1.2.826.0.1.3680043.10.1145.14.4.1", 4);
    let mut client = associate(running.port, "FILLER");
    assert_eq!(
        store_with_comment(
            &mut client,
            PC_CT,
            1,
            "1.2.826.0.1.3680043.10.1145.14.4.1",
            &data
        )
        .map(|r| r.0),
        Some(0)
    );
    assert_eq!(curl(metrics, "/readyz", &[]).0, 200);

    let filler = tmpfs.fill("filler", 4 << 20);
    let (status, comment) = store_with_comment(
        &mut client,
        PC_CT,
        2,
        "1.2.826.0.1.3680043.10.1145.14.4.2",
        &data,
    )
    .expect("a response");
    assert_eq!(status, 0xA700);
    let comment = comment.unwrap_or_default();
    assert!(comment.starts_with("not enough free space"), "{comment}");
    // Still refused, the association and C-ECHO still work, and nothing was written.
    let again = store_with_comment(
        &mut client,
        PC_CT,
        3,
        "1.2.826.0.1.3680043.10.1145.14.4.3",
        &data,
    );
    assert_eq!(again.map(|r| r.0), Some(0xA700));
    assert_eq!(client.echo(PC_ECHO, 4), Some(0));
    assert!(running.echo(Duration::from_secs(5)).is_some());
    // The monitor measures every second.
    let (code, reason) = readyz_within(metrics, 503, Duration::from_secs(3));
    assert_eq!(code, 503, "{reason}");
    assert!(
        reason.contains("output store: not enough free space")
            && reason.contains("--min-free-space"),
        "{reason}"
    );
    let names: Vec<_> = final_files(&out).into_keys().collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let log = running.guard.stderr();
    assert_eq!(
        log.matches("W: free space on the output directory is")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains("refusing new objects with 0xA700"), "{log}");

    std::fs::remove_file(filler).expect("free the space");
    assert!(
        running
            .guard
            .wait_for_log("storing objects again", Duration::from_secs(5)),
        "{}",
        running.guard.stderr()
    );
    assert_eq!(curl(metrics, "/readyz", &[]).0, 200);
    assert_eq!(
        store_with_comment(
            &mut client,
            PC_CT,
            5,
            "1.2.826.0.1.3680043.10.1145.14.4.5",
            &data
        )
        .map(|r| r.0),
        Some(0)
    );
    client.release();
    let log = running.guard.stderr();
    assert_eq!(
        log.matches("W: free space on the output directory is")
            .count(),
        2,
        "{log}"
    );
    assert_eq!(final_files(&out).len(), 2);
}

/// `/readyz` until it answers `code` (or `timeout` passes): the last status and body.
fn readyz_within(metrics: u16, code: u16, timeout: Duration) -> (u16, String) {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = curl(metrics, "/readyz", &[]);
        if answer.0 == code || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stores the instance `uid` with `data` on a new association; the status and comment.
fn store_once(port: u16, calling: &str, uid: &str, data: &[u8]) -> (u16, Option<String>) {
    let mut client = associate(port, calling);
    let answer = store_with_comment(&mut client, PC_CT, 1, uid, data).expect("a response");
    client.release();
    answer
}

#[test]
fn each_duplicate_policy_with_a_second_copy_and_with_two_racing_associations() {
    const UID: &str = "1.2.826.0.1.3680043.10.1145.14.5";
    let (_, first) = ct(UID, 2);
    let (_, second) = ct(UID, 3);
    for policy in ["overwrite", "keep", "reject", "unique"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let running = Receiver::ours().start_local(&["+xa", "--on-duplicate", policy], &out);
        assert_eq!(store_once(running.port, "A", UID, &first).0, 0, "{policy}");
        let name = PathBuf::from(format!("CT.{UID}"));
        let stored_first = std::fs::read(out.join(&name)).expect("first copy");
        let (status, comment) = store_once(running.port, "B", UID, &second);
        let files = final_files(&out);
        let now = std::fs::read(out.join(&name)).expect("the file");
        match policy {
            "overwrite" => {
                assert_eq!((status, files.len()), (0, 1));
                assert_ne!(now, stored_first);
                assert!(
                    running
                        .guard
                        .stderr()
                        .contains("file already exists, overwriting")
                );
            }
            "keep" => {
                assert_eq!((status, files.len()), (0, 1));
                assert_eq!(now, stored_first);
            }
            "reject" => {
                assert_eq!(status, 0xC000);
                assert!(
                    comment
                        .as_deref()
                        .unwrap_or("")
                        .starts_with("duplicate SOP instance"),
                    "{comment:?}"
                );
                assert_eq!(files.len(), 1);
                assert_eq!(now, stored_first);
            }
            _ => {
                assert_eq!(status, 0);
                assert_eq!(
                    files.keys().cloned().collect::<Vec<_>>(),
                    vec![name.clone(), PathBuf::from(format!("CT.{UID}_1"))]
                );
                assert_eq!(now, stored_first);
            }
        }
        // Two associations with the same new instance at once.
        let racing = format!("{UID}.9");
        let (_, a) = ct(&racing, 2);
        let (_, b) = ct(&racing, 3);
        let barrier = Arc::new(Barrier::new(2));
        let port = running.port;
        let threads: Vec<_> = [("RACE1", a), ("RACE2", b)]
            .into_iter()
            .map(|(calling, data)| {
                let barrier = Arc::clone(&barrier);
                let racing = racing.clone();
                std::thread::spawn(move || {
                    let mut client = associate(port, calling);
                    barrier.wait();
                    let status = store_with_comment(&mut client, PC_CT, 1, &racing, &data)
                        .expect("a response")
                        .0;
                    client.release();
                    status
                })
            })
            .collect();
        let mut statuses: Vec<u16> = threads
            .into_iter()
            .map(|t| t.join().expect("racer"))
            .collect();
        statuses.sort_unstable();
        let copies = final_files(&out)
            .keys()
            .filter(|p| p.to_string_lossy().starts_with(&format!("CT.{racing}")))
            .count();
        match policy {
            "reject" => assert_eq!(
                (statuses.as_slice(), copies),
                (&[0, 0xC000][..], 1),
                "{policy}"
            ),
            "unique" => assert_eq!((statuses.as_slice(), copies), (&[0, 0][..], 2), "{policy}"),
            _ => assert_eq!((statuses.as_slice(), copies), (&[0, 0][..], 1), "{policy}"),
        }
    }
}

#[test]
fn duplicate_policies_that_cannot_work_are_refused_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let od = dir.path().display().to_string();
    let out = Receiver::ours().run(&["+fsu", "--on-duplicate", "keep", "-od", od.as_str(), "104"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("needs default file names (+fd)"), "{text}");
    let out = Receiver::ours().run(&["--on-duplicate", "sometimes", "104"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--on-duplicate"));
}

#[test]
fn one_calling_ae_title_cannot_take_more_than_its_share_of_associations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (running, metrics) =
        start_with_metrics(&["--max-associations-per-ae", "2"], &dir.path().join("out"));
    let mut one = associate(running.port, "MODALITY1");
    let two = associate(running.port, "MODALITY1");
    let mut client = dcmrecv_e2e::raw::Client::local(running.port);
    match client.request(&storage_rq("MODALITY1")) {
        // PS3.8 Table 9-21: rejected-transient (2), DICOM UL service-provider (presentation
        // related function) (3), local-limit-exceeded (2).
        Some(Pdu::AssociationRJ(rj)) => {
            assert_eq!(rj.result, AssociationRJResult::Transient);
            assert_eq!(
                rj.source,
                AssociationRJSource::ServiceProviderPresentation(
                    AssociationRJServiceProviderPresentationReason::LocalLimitExceeded
                )
            );
        }
        other => panic!("expected A-ASSOCIATE-RJ, got {other:?}"),
    }
    // Another modality is not affected, nor is a C-ECHO from anyone else.
    let mut other = associate(running.port, "MODALITY2");
    assert_eq!(other.echo(PC_ECHO, 1), Some(0));
    other.release();
    assert!(running.echo(Duration::from_secs(5)).is_some());
    // A freed place can be taken again.
    one.release();
    drop(one);
    let deadline = Instant::now() + Duration::from_secs(5);
    // The release is asynchronous: a retry that still finds the place taken is refused (and
    // counted) like the first one.
    let mut refused_retries = 0.0;
    let mut again = loop {
        let mut c = dcmrecv_e2e::raw::Client::local(running.port);
        match c.request(&storage_rq("MODALITY1")) {
            Some(Pdu::AssociationAC(_)) => break c,
            Some(Pdu::AssociationRJ(_)) if Instant::now() < deadline => {
                refused_retries += 1.0;
                std::thread::sleep(Duration::from_millis(50));
            }
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            other => panic!("the freed place was not given back: {other:?}"),
        }
    };
    assert_eq!(again.echo(PC_ECHO, 1), Some(0));
    again.release();
    drop(two);
    let (_, text) = curl(metrics, "/metrics", &[]);
    assert_eq!(
        sample(
            &text,
            r#"dcmrecv_associations_total{result="rejected_limit_per_ae"}"#
        ),
        Some(1.0 + refused_retries),
        "{text}"
    );
    assert!(
        running.guard.stderr().contains(
            "Refusing Association (too many concurrent associations from calling AE title MODALITY1, the limit is 2)"
        ),
        "{}",
        running.guard.stderr()
    );
}
