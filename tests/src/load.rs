//! The load scenario: many `storescu` processes sending at once to one receiver, then every
//! stored data set compared with what was sent. Used by the e2e test (small objects) and by
//! `cargo xtask load` (larger ones).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::objects::{Instance, dataset_of_file};
use crate::peers::dcmtk_command;
use crate::process::run_with_timeout;
use crate::raw::EXPLICIT;
use crate::receiver::Receiver;

/// What to send.
#[derive(Debug, Clone, Copy)]
pub struct LoadPlan {
    /// Parallel associations (one `storescu` process each).
    pub associations: usize,
    /// Objects per association.
    pub objects: usize,
    /// Rows and columns of each (16-bit) CT image.
    pub image_side: u16,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Wall time from the first `storescu` start to the last exit.
    pub seconds: f64,
    /// Objects sent in all.
    pub sent: usize,
    /// Objects stored with the data set that was sent.
    pub identical: usize,
    /// What went wrong: `storescu` failures, missing or different files.
    pub problems: Vec<String>,
    /// The receiver's peak resident set size (VmHWM), in bytes.
    pub peak_rss: u64,
}

/// One object to send: its file and its SOP Instance UID.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The Part-10 file given to `storescu`.
    pub path: PathBuf,
    /// Its SOP Instance UID (the stored file is `CT.<uid>`).
    pub sop_instance_uid: String,
}

/// Writes the objects of `plan` below `dir`: `dir/<association>/<n>.dcm`, each with its own
/// SOP Instance UID and pixels. Returns the objects per association.
pub fn write_objects(plan: LoadPlan, dir: &Path) -> Vec<Vec<Sent>> {
    (0..plan.associations)
        .map(|a| {
            let sub = dir.join(a.to_string());
            std::fs::create_dir_all(&sub)
                .unwrap_or_else(|e| panic!("create {}: {e}", sub.display()));
            (0..plan.objects)
                .map(|n| {
                    let sop_instance_uid = format!("1.2.826.0.1.3680043.10.1145.40.{a}.{n}");
                    let mut instance = Instance::ct(&sop_instance_uid);
                    instance.rows = plan.image_side;
                    instance.columns = plan.image_side;
                    let path = sub.join(format!("{n}.dcm"));
                    instance.write(&path, EXPLICIT);
                    Sent {
                        path,
                        sop_instance_uid,
                    }
                })
                .collect()
        })
        .collect()
}

/// What sending the batches did (before anything stored is looked at).
#[derive(Debug, Clone)]
pub struct Sending {
    /// Wall time from the first `storescu` start to the last exit.
    pub seconds: f64,
    /// `storescu` failures.
    pub problems: Vec<String>,
    /// The receiver's peak resident set size (VmHWM), in bytes.
    pub peak_rss: u64,
    /// The receiver's log.
    pub log: String,
}

/// Starts `receiver` with `args` on a fresh output directory `od`, runs one `storescu` per
/// entry of `batches` at the same time (with `client_args` in front of the usual ones), waits
/// for all of them, and stops the receiver.
pub fn send(
    receiver: &Receiver,
    args: &[&str],
    client_args: &[&str],
    batches: &[Vec<Sent>],
    od: &Path,
) -> Sending {
    let running = receiver.start_local(args, od);
    let port = running.port.to_string();
    let start = Instant::now();
    let senders: Vec<_> = batches
        .iter()
        .enumerate()
        .map(|(i, batch)| {
            let mut cmd = dcmtk_command("storescu");
            cmd.args(client_args);
            // The real dcmrecv serves one association at a time: the others wait for their
            // A-ASSOCIATE-AC longer than storescu's default 30 s.
            cmd.args([
                "-ta",
                "300",
                "-aet",
                &format!("LOAD{i}"),
                "127.0.0.1",
                &port,
            ])
            .args(batch.iter().map(|s| &s.path));
            std::thread::spawn(move || run_with_timeout(cmd, Duration::from_secs(600)))
        })
        .collect();
    let mut problems = Vec::new();
    for (i, sender) in senders.into_iter().enumerate() {
        match sender.join() {
            Ok(out) if out.status.success() => {}
            Ok(out) => problems.push(format!(
                "storescu {i} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" / ")
            )),
            Err(_) => problems.push(format!("storescu {i}: the thread panicked")),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let peak_rss = running.guard.peak_rss();
    let log = running.guard.stderr();
    drop(running);
    Sending {
        seconds,
        problems,
        peak_rss,
        log,
    }
}

/// Starts `receiver` with `args` on a fresh output directory `od`, runs one `storescu` per
/// entry of `files` at the same time, and checks that every object is stored under its default
/// name (`CT.<SOP Instance UID>`) with the data set bytes that were sent.
pub fn run(receiver: &Receiver, args: &[&str], batches: &[Vec<Sent>], od: &Path) -> LoadReport {
    let Sending {
        seconds,
        mut problems,
        peak_rss,
        ..
    } = send(receiver, args, &[], batches, od);
    let mut identical = 0;
    let mut sent = 0;
    for object in batches.iter().flatten() {
        sent += 1;
        let stored = od.join(format!("CT.{}", object.sop_instance_uid));
        if !stored.is_file() {
            problems.push(format!("{} not stored", stored.display()));
        } else if dataset_of_file(&stored) != dataset_of_file(&object.path) {
            problems.push(format!(
                "{} differs from {}",
                stored.display(),
                object.path.display()
            ));
        } else {
            identical += 1;
        }
    }
    LoadReport {
        seconds,
        sent,
        identical,
        problems,
        peak_rss,
    }
}
