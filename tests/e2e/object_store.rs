//! Our receiver storing into a real three-node Garage cluster (`-od s3://dicom/PREFIX`): the
//! same keys and bytes as the same run writes into a directory, for every naming option; one
//! node killed during ingest; every node down and back; the receiver killed during a large
//! upload; start-up errors (issue 13 items 1–4).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dcmrecv_e2e::clients::{self, dcmsend, echoscu, store_responses, storescu};
use dcmrecv_e2e::compare::{Naming, path_key, read_meta};
use dcmrecv_e2e::corpus::{SynthOptions, pydicom_part10_files, synthesize};
use dcmrecv_e2e::disk::final_files;
use dcmrecv_e2e::garage::{BUCKET, GarageCluster};
use dcmrecv_e2e::objects::{Instance, write_large_object};
use dcmrecv_e2e::process::{ChildGuard, free_port};
use dcmrecv_e2e::receiver::{Receiver, Running};
use dcmrecv_e2e::s3::S3Client;

const STORESCP_DEFAULT: [&str; 3] = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"];
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const MARKERS: &str = ".dcmrecv-uploads";

/// Starts ours with `args`, `-od s3://dicom/<prefix>` and the cluster's variables for `node`.
pub(crate) fn start_s3(
    cluster: &GarageCluster,
    node: usize,
    prefix: &str,
    args: &[&str],
    port: Option<u16>,
) -> Running {
    let url = format!("s3://{BUCKET}/{prefix}");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-od", url.as_str()]);
    Receiver::ours()
        .listen_with_env(&all, &cluster.env_vars(node), port)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every object under `prefix/` but the upload markers, as key relative to the prefix → bytes.
pub(crate) fn bucket_objects(client: &S3Client, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    client
        .list(prefix)
        .expect("list the bucket")
        .into_iter()
        .filter_map(|o| {
            let rel = o.key.strip_prefix(prefix)?.trim_start_matches('/').to_string();
            (!rel.starts_with(MARKERS)).then_some((rel, o.key))
        })
        .map(|(rel, key)| {
            let bytes = client.get(&key).expect("get an object").to_vec();
            (rel, bytes)
        })
        .collect()
}

/// The upload markers under `prefix/`.
pub(crate) fn markers(client: &S3Client, prefix: &str) -> Vec<String> {
    let area = format!("{prefix}/{MARKERS}");
    client
        .list(&area)
        .expect("list the markers")
        .into_iter()
        .map(|o| o.key)
        .collect()
}

/// Every final file below `dir`, as relative path → bytes.
fn directory_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    final_files(dir)
        .into_keys()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).expect("read a stored file");
            (rel.to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// `(name shape, canonical bytes)` pairs, sorted: generated names compared by their shape.
fn shaped(objects: &BTreeMap<String, Vec<u8>>, naming: Naming) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = objects
        .iter()
        .map(|(k, v)| (path_key(k, naming), canonical(v)))
        .collect();
    out.sort();
    out
}

/// A stored object's bytes for comparison: as stored, except that a data set without a SOP
/// Instance UID gets a new `2.25.` UID in its meta header each time it is stored (as DCMTK
/// does), so that UID (and the group length, which follows its length) is left out.
fn canonical(bytes: &[u8]) -> Vec<u8> {
    let Some((mut meta, at)) = read_meta(bytes) else {
        return bytes.to_vec();
    };
    if !meta.get(&3).is_some_and(|v| v.starts_with(b"2.25.")) {
        return bytes.to_vec();
    }
    meta.remove(&0);
    meta.remove(&3);
    let mut out = format!("{meta:?}").into_bytes();
    out.extend_from_slice(&bytes[at..]);
    out
}

/// The C-STORE statuses of a DCMTK client's log, counted by text.
fn status_counts(log: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for status in store_responses(log) {
        *counts.entry(status).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_corpus_in_the_bucket_equals_the_directory_for_every_naming_option() {
    let cluster = GarageCluster::start();
    let client = cluster.client(0);
    let synth = tempfile::tempdir().expect("tempdir");
    let mut files = pydicom_part10_files();
    files.extend(synthesize(synth.path(), SynthOptions { large_mib: 12 }));
    let cases: [(&str, &[&str], Naming); 7] = [
        ("fd", &["+fd"], Naming::Default),
        ("fu", &["+fu"], Naming::UniqueUid),
        ("fsu", &["+fsu"], Naming::ShortUnique),
        ("fst", &["+fst"], Naming::SystemTime),
        ("fe", &["-fe", ".dcm"], Naming::Default),
        ("ssd", &["+ssd", "+fsu", "-fe", ".dcm"], Naming::ShortUnique),
        ("bp", &["+B", "+ssd"], Naming::Default),
    ];
    for (name, options, naming) in cases {
        let work = tempfile::tempdir().expect("tempdir");
        let od = work.path().join("od");
        let mut args: Vec<&str> = STORESCP_DEFAULT.to_vec();
        args.extend_from_slice(options);
        args.extend(["--node-id", "n1"]);
        let on_disk = Receiver::ours().start_local(&args, &od);
        let in_bucket = start_s3(&cluster, 0, name, &args, None);
        // --no-halt: go on after a file dcmsend cannot send with this profile.
        let disk_log = clients::stderr(&dcmsend(on_disk.port, &["-nh"], &files));
        let bucket_log = clients::stderr(&dcmsend(in_bucket.port, &["-nh"], &files));
        drop((on_disk, in_bucket));
        assert_eq!(
            status_counts(&bucket_log),
            status_counts(&disk_log),
            "{name}: statuses differ"
        );
        let expected = directory_files(&od);
        let got = bucket_objects(&client, name);
        assert!(expected.len() >= 60, "{name}: only {} files", expected.len());
        if naming == Naming::Default {
            let keys: Vec<&String> = got.keys().collect();
            assert_eq!(keys, expected.keys().collect::<Vec<_>>(), "{name}: keys");
        }
        let (got, expected) = (shaped(&got, naming), shaped(&expected, naming));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&expected), "{name}: names");
        for ((key, a), (_, b)) in got.iter().zip(&expected) {
            let at = a.iter().zip(b).position(|(x, y)| x != y);
            assert!(
                a == b,
                "{name}: {key} differs from the file at byte {at:?} (lengths {} {})",
                a.len(),
                b.len(),
            );
        }
        assert!(markers(&client, name).is_empty(), "{name}: markers left");
        eprintln!("{name}: {} objects equal their files", got.len());
    }
    assert!(client.list_multipart_uploads().is_empty());
}
