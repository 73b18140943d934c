//! Several of our receivers behind the real HAProxy (run from `etc/haproxy/dcmrecv.cfg`), all
//! storing into one bucket of a three-node Garage cluster, fed by eight parallel DCMTK senders
//! (`storescu` and `dcmsend`, `TCP_NODELAY=1`) through the balancer (issue 13 item 5): every
//! acknowledged object is in the bucket once and whole; generated names of different
//! receivers never collide; a receiver killed with SIGKILL fails only its own objects (never a
//! success for a missing object), the others go on, and a resend completes the set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dcmrecv_e2e::clients::{self, store_responses};
use dcmrecv_e2e::compare::{read_meta, value_text};
use dcmrecv_e2e::garage::GarageCluster;
use dcmrecv_e2e::haproxy::Balancer;
use dcmrecv_e2e::objects::{Instance, dataset_of_file, write_large_object};
use dcmrecv_e2e::process::ChildGuard;
use dcmrecv_e2e::receiver::Running;

use crate::object_store::{bucket_objects, markers, start_s3};

const STORESCP_DEFAULT: [&str; 3] = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"];
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const SENDERS: usize = 8;

/// One sender's files: `(path, SOP Instance UID)`, in sending order.
type Batch = Vec<(PathBuf, String)>;

/// `SENDERS` batches of `per_sender` CTs (256 × 256, 128 KiB of pixels) under `dir`, with a
/// 12 MiB object (a multipart upload) at position `large_at` of each batch if given.
fn batches(dir: &Path, root: &str, per_sender: usize, large_at: Option<usize>) -> Vec<Batch> {
    std::fs::create_dir_all(dir).expect("mkdir");
    (0..SENDERS)
        .map(|s| {
            (0..per_sender)
                .map(|i| {
                    let uid = format!("{root}.{s}.{i}");
                    let path = dir.join(format!("{s}-{i:03}.dcm"));
                    if Some(i) == large_at {
                        write_large_object(&path, &uid, 12 << 20);
                    } else {
                        let mut instance = Instance::ct(&uid);
                        instance.rows = 256;
                        instance.columns = 256;
                        instance.write(&path, EXPLICIT_LE);
                    }
                    (path, uid)
                })
                .collect()
        })
        .collect()
}

/// Starts sender `s` on `port`: even ones are `storescu`, odd ones `dcmsend`, each with its
/// own calling AE title `SENDER<s>` (so receivers' logs say who went where).
fn spawn_sender(s: usize, port: u16, files: &[PathBuf]) -> ChildGuard {
    let aet = format!("SENDER{s}");
    let (tool, options): (&str, Vec<&str>) = if s.is_multiple_of(2) {
        ("storescu", vec!["-v", "-aet", aet.as_str()])
    } else {
        ("dcmsend", vec!["-v", "-aet", aet.as_str()])
    };
    let mut cmd = clients::dcmtk_client(tool, port, &options, files);
    cmd.env("TCP_NODELAY", "1");
    ChildGuard::spawn(cmd)
}

/// Waits for every sender and returns each one's C-STORE statuses, in sending order. Both
/// tools send their files in order on one association and stop when it fails, so the k-th
/// status is the k-th file's; a file without a status was not acknowledged.
fn wait_senders(senders: &mut [ChildGuard]) -> Vec<Vec<String>> {
    senders
        .iter_mut()
        .map(|sender| {
            assert!(
                sender.wait_timeout(Duration::from_secs(600)).is_some(),
                "a sender did not finish:\n{}",
                sender.stderr()
            );
            store_responses(&sender.stderr())
        })
        .collect()
}

/// Starts three receivers (through Garage nodes 0, 1, 2) with `args`, the default node id.
fn receivers(cluster: &GarageCluster, prefix: &str, args: &[&str]) -> Vec<Running> {
    (0..3)
        .map(|node| start_s3(cluster, node, prefix, args, None))
        .collect()
}

/// Which receiver took sender `s`'s association, from the receivers' logs.
fn receiver_of(receivers: &[Running], s: usize) -> Option<usize> {
    let needle = format!(": SENDER{s} -> ");
    receivers
        .iter()
        .position(|r| r.guard.stderr().contains(&needle))
}

/// Checks that `object` holds the data set of `file` and is instance `uid`.
#[track_caller]
fn assert_whole(object: &[u8], file: &Path, uid: &str) {
    let (meta, at) = read_meta(object).expect("a Part-10 object");
    assert_eq!(meta.get(&3).map(|v| value_text(v)).as_deref(), Some(uid));
    assert!(
        object[at..] == dataset_of_file(file)[..],
        "{}: the data set differs",
        file.display()
    );
}

/// The SOP Instance UID in an object's meta header.
fn instance_uid(object: &[u8]) -> String {
    read_meta(object)
        .and_then(|(meta, _)| meta.get(&3).map(|v| value_text(v)))
        .unwrap_or_default()
}

// See: issue 13, item 5.
#[test]
fn three_receivers_behind_haproxy_store_every_object_once_with_unique_generated_names() {
    let cluster = GarageCluster::start();
    let client = cluster.client(0);
    let work = tempfile::tempdir().expect("tempdir");
    let sent = batches(
        &work.path().join("sent"),
        "1.2.826.0.1.3680043.10.1145.135",
        15,
        None,
    );
    // +fsu: names that two receivers could generate alike without a node id.
    let args = [&STORESCP_DEFAULT[..], &["-v", "+fsu"]].concat();
    let receivers = receivers(&cluster, "lb", &args);
    let ports: Vec<u16> = receivers.iter().map(|r| r.port).collect();
    let balancer = Balancer::start(&ports);
    let started = Instant::now();
    let mut senders: Vec<ChildGuard> = sent
        .iter()
        .enumerate()
        .map(|(s, batch)| {
            let files: Vec<PathBuf> = batch.iter().map(|(p, _)| p.clone()).collect();
            spawn_sender(s, balancer.port(), &files)
        })
        .collect();
    let statuses = wait_senders(&mut senders);
    let elapsed = started.elapsed();
    for (s, st) in statuses.iter().enumerate() {
        assert_eq!(st.len(), 15, "sender {s}: {st:?}");
        assert!(st.iter().all(|x| x == "Success"), "sender {s}: {st:?}");
    }
    let objects = bucket_objects(&client, "lb");
    assert_eq!(objects.len(), SENDERS * 15, "{:?}", objects.keys());
    // Every instance once, whole; keys carry the node id of the receiver that stored them.
    let by_uid: BTreeMap<String, &Vec<u8>> =
        objects.values().map(|o| (instance_uid(o), o)).collect();
    assert_eq!(by_uid.len(), SENDERS * 15, "an instance stored twice");
    for (path, uid) in sent.iter().flatten() {
        let object = by_uid.get(uid).unwrap_or_else(|| panic!("{uid} missing"));
        assert_whole(object, path, uid);
    }
    let nodes: BTreeSet<String> = objects
        .keys()
        .map(|k| {
            k.split_once('-')
                .map(|(_, n)| n.to_string())
                .unwrap_or_default()
        })
        .collect();
    let used: BTreeSet<usize> = (0..SENDERS)
        .filter_map(|s| receiver_of(&receivers, s))
        .collect();
    assert_eq!(nodes.len(), used.len(), "node ids in keys: {nodes:?}");
    assert!(used.len() >= 2, "all senders went to one receiver");
    for (r, receiver) in receivers.iter().enumerate() {
        if used.contains(&r) {
            let id = format!("-{}", receiver.port);
            assert!(
                nodes.iter().any(|n| n.ends_with(&id)),
                "{nodes:?} lacks {id}"
            );
        }
    }
    eprintln!(
        "balancer: {} objects from {SENDERS} senders in {:.1} s over receivers {used:?}",
        objects.len(),
        elapsed.as_secs_f64()
    );
    drop(balancer);
}

// See: issue 13, item 5.
#[test]
fn a_receiver_killed_behind_haproxy_fails_only_its_objects_and_a_resend_completes_the_set() {
    let cluster = GarageCluster::start();
    let client = cluster.client(0);
    let work = tempfile::tempdir().expect("tempdir");
    let per_sender = 30;
    let sent = batches(
        &work.path().join("sent"),
        "1.2.826.0.1.3680043.10.1145.136",
        per_sender,
        Some(12),
    );
    // +fd: a resent instance replaces its object, so "once" holds even for an object stored
    // whose response the killed receiver never sent.
    let args = [&STORESCP_DEFAULT[..], &["-v"]].concat();
    let mut receivers = receivers(&cluster, "kill", &args);
    let ports: Vec<u16> = receivers.iter().map(|r| r.port).collect();
    let balancer = Balancer::start(&ports);
    let mut senders: Vec<ChildGuard> = sent
        .iter()
        .enumerate()
        .map(|(s, batch)| {
            let files: Vec<PathBuf> = batch.iter().map(|(p, _)| p.clone()).collect();
            spawn_sender(s, balancer.port(), &files)
        })
        .collect();
    // Kill the receiver that took sender 0, once it has stored a few objects.
    let deadline = Instant::now() + Duration::from_secs(120);
    let victim = loop {
        let stored = |r: usize| {
            receivers[r]
                .guard
                .stderr()
                .matches("Stored received object")
                .count()
        };
        if let Some(r) = receiver_of(&receivers, 0).filter(|&r| stored(r) >= 8) {
            break r;
        }
        assert!(Instant::now() < deadline, "sender 0 made no progress");
        std::thread::sleep(Duration::from_millis(20));
    };
    receivers[victim].guard.signal("KILL");
    let victim_port = receivers[victim].port;
    let statuses = wait_senders(&mut senders);

    let objects = bucket_objects(&client, "kill");
    let mut failed: Vec<PathBuf> = Vec::new();
    for (s, batch) in sent.iter().enumerate() {
        let on_victim = receiver_of(&receivers, s) == Some(victim);
        let acknowledged = statuses[s].iter().filter(|x| *x == "Success").count();
        for (k, (path, uid)) in batch.iter().enumerate() {
            let success = statuses[s].get(k).is_some_and(|x| x == "Success");
            let key = format!("CT.{uid}");
            let key = if k == 12 { format!("SCw.{uid}") } else { key };
            if success {
                // Never a success for a missing or partial object.
                let object = objects
                    .get(&key)
                    .unwrap_or_else(|| panic!("sender {s}: {key} acknowledged but missing"));
                assert_whole(object, path, uid);
            } else {
                failed.push(path.clone());
            }
        }
        if on_victim {
            assert!(
                acknowledged < per_sender,
                "sender {s} on the killed receiver lost nothing?"
            );
        } else {
            assert_eq!(
                acknowledged, per_sender,
                "sender {s} (not on the killed receiver): {:?}",
                statuses[s]
            );
        }
    }
    assert!(!failed.is_empty());
    eprintln!(
        "receiver {victim} killed: {} of {} objects to resend",
        failed.len(),
        SENDERS * per_sender
    );

    // The resend (through the balancer, which passes over the dead receiver) completes the set.
    let out = clients::storescu(balancer.port(), &[], &failed);
    let resent = store_responses(&clients::stderr(&out));
    assert_eq!(resent.len(), failed.len(), "{}", clients::stderr(&out));
    assert!(resent.iter().all(|x| x == "Success"), "{resent:?}");
    let objects = bucket_objects(&client, "kill");
    assert_eq!(objects.len(), SENDERS * per_sender, "not exactly once");
    for (path, uid) in sent.iter().flatten() {
        let object = objects
            .values()
            .find(|o| instance_uid(o) == *uid)
            .unwrap_or_else(|| panic!("{uid} missing after the resend"));
        assert_whole(object, path, uid);
    }

    // The killed receiver restarted on its port (so with its node id) leaves no upload behind.
    receivers[victim] = start_s3(&cluster, victim, "kill", &args, Some(victim_port));
    assert!(
        client.list_multipart_uploads().is_empty(),
        "{:?}",
        client.list_multipart_uploads()
    );
    assert!(markers(&client, "kill").is_empty());
    drop(balancer);
}
