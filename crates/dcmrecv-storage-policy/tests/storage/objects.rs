//! The object-store backend through the public API, against `object_store`'s in-memory store
//! (the real S3 engine, Garage, is in the e2e tests): the same relative names and bytes as the
//! file backend for every naming option and mode, multipart uploads of equal parts, nothing
//! under a key after a failure, the upload markers and their sweep, start-up checks.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use dcmrecv_storage_policy::{
    ErrorKind, InstanceMeta, Leftover, Mode, Naming, ObjectStoreOutput, OpenError, Storage,
    StorageOptions, Subdirectories,
};
use futures_util::TryStreamExt;
use object_store::memory::InMemory;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{MultipartId, ObjectStore, ObjectStoreExt, PutPayload, PutResult};

use crate::support::{
    BIG, CT, DEFLATED, EXPLICIT, IMPLICIT, Synth, meta_listing, store, tempdir, tree,
};

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

/// Multipart uploads into the in-memory store, recorded: every part's size, and the most
/// parts in flight at once (each part takes 20 ms, so that they overlap). `InMemory`'s own
/// multipart uploads cannot take parts out of order (object_store 0.13.2 panics, or drops a
/// part), which the S3 API allows and the backend does.
#[derive(Debug, Default)]
struct Recording {
    objects: Arc<InMemory>,
    uploads: Mutex<BTreeMap<String, BTreeMap<usize, Bytes>>>,
    next_id: AtomicUsize,
    parts: Mutex<Vec<usize>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

fn no_such_upload(id: &str) -> object_store::Error {
    object_store::Error::NotFound {
        path: id.to_string(),
        source: "no such upload".into(),
    }
}

#[async_trait::async_trait]
impl MultipartStore for Recording {
    async fn create_multipart(&self, _path: &ObjectPath) -> object_store::Result<MultipartId> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst).to_string();
        self.uploads
            .lock()
            .unwrap()
            .insert(id.clone(), BTreeMap::new());
        Ok(id)
    }

    async fn put_part(
        &self,
        _path: &ObjectPath,
        id: &MultipartId,
        part_idx: usize,
        data: PutPayload,
    ) -> object_store::Result<PartId> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        self.parts.lock().unwrap().push(data.content_length());
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let bytes: Bytes = data.into();
        let mut uploads = self.uploads.lock().unwrap();
        let upload = uploads.get_mut(id).ok_or_else(|| no_such_upload(id))?;
        upload.insert(part_idx, bytes);
        Ok(PartId {
            content_id: part_idx.to_string(),
        })
    }

    async fn complete_multipart(
        &self,
        path: &ObjectPath,
        id: &MultipartId,
        parts: Vec<PartId>,
    ) -> object_store::Result<PutResult> {
        let upload = self
            .uploads
            .lock()
            .unwrap()
            .remove(id)
            .ok_or_else(|| no_such_upload(id))?;
        let order: Vec<String> = (0..upload.len()).map(|i| i.to_string()).collect();
        let given: Vec<String> = parts.into_iter().map(|p| p.content_id).collect();
        assert_eq!(given, order, "parts completed out of order");
        let whole: Vec<u8> = upload.into_values().flat_map(|b| b.to_vec()).collect();
        self.objects.put(path, PutPayload::from(whole)).await
    }

    async fn abort_multipart(
        &self,
        _path: &ObjectPath,
        id: &MultipartId,
    ) -> object_store::Result<()> {
        self.uploads.lock().unwrap().remove(id);
        Ok(())
    }
}

/// An in-memory bucket and a runtime to read it with.
struct Memory {
    store: Arc<InMemory>,
    multipart: Arc<Recording>,
    runtime: tokio::runtime::Runtime,
}

impl Memory {
    fn new() -> Memory {
        let store = Arc::new(InMemory::new());
        Memory {
            multipart: Arc::new(Recording {
                objects: Arc::clone(&store),
                ..Default::default()
            }),
            store,
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        }
    }

    fn output(&self, prefix: &str) -> ObjectStoreOutput {
        ObjectStoreOutput::with_stores(
            format!("memory://bucket/{prefix}"),
            self.store.clone(),
            self.multipart.clone(),
        )
        .part_size(PART)
        .parts_in_flight(2)
    }

    /// The multipart uploads neither completed nor aborted.
    fn uploads(&self) -> usize {
        self.multipart.uploads.lock().unwrap().len()
    }

    /// Every object under `prefix`, sorted by key, with its bytes.
    fn objects(&self, prefix: &str) -> Vec<(String, Vec<u8>)> {
        self.runtime.block_on(async {
            let prefix = ObjectPath::from(prefix);
            let mut listed: Vec<_> = self.store.list(Some(&prefix)).try_collect().await.unwrap();
            listed.sort_by(|a, b| a.location.cmp(&b.location));
            let mut out = Vec::new();
            for meta in listed {
                // A marker may go between the listing and the GET.
                let Ok(got) = self.store.get(&meta.location).await else {
                    continue;
                };
                let bytes = got.bytes().await.unwrap();
                out.push((meta.location.to_string(), bytes.to_vec()));
            }
            out
        })
    }

    /// The object under `key`.
    fn get(&self, key: &str) -> Vec<u8> {
        self.runtime.block_on(async {
            let got = self.store.get(&ObjectPath::from(key)).await.unwrap();
            got.bytes().await.unwrap().to_vec()
        })
    }

    /// The keys under `prefix`.
    fn keys(&self, prefix: &str) -> Vec<String> {
        self.objects(prefix).into_iter().map(|(k, _)| k).collect()
    }

    /// Waits (up to 5 s) until nothing is left under `prefix` and no upload is in progress
    /// (aborts run in the background).
    fn wait_empty(&self, prefix: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let keys = self.keys(prefix);
            if (keys.is_empty() && self.uploads() == 0) || Instant::now() > deadline {
                return keys;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Every file below `dir` with its bytes, by relative path.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .filter(|p| !p.ends_with('/'))
        .map(|p| {
            let bytes = std::fs::read(dir.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

/// The unique part of generated names replaced by `*`, so runs can be compared.
fn normalise(name: &str) -> String {
    let mut out = String::new();
    for (i, segment) in name.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let file = if let Some((prefix, _)) = segment.split_once(".X.2.25.") {
            format!(
                "{prefix}.X.*{}",
                segment.rsplit_once(".dcm").map_or("", |_| ".dcm")
            )
        } else if let Some((prefix, rest)) = segment.split_once('_') {
            // +fsu: CT_<16 hex>-n1[.dcm]
            let rest = rest.get(16..).unwrap_or(rest);
            format!("{prefix}_*{rest}")
        } else if segment.len() > 21
            && segment.as_bytes()[14] == b'.'
            && segment[..14].bytes().all(|b| b.is_ascii_digit())
        {
            // +fst: <14 digits>.<6 digits>-n1.CT[.dcm]
            format!("*{}", &segment[21..])
        } else {
            segment.to_string()
        };
        out.push_str(&file);
    }
    out
}

/// The instances of the comparison: several Series Dates, syntaxes and classes.
fn instances() -> Vec<(InstanceMeta, Vec<u8>)> {
    let mut out = Vec::new();
    let dates = [Some("20200115"), Some("2020.02.03"), Some("20201301"), None];
    for (i, date) in dates.into_iter().enumerate() {
        for (j, ts) in [EXPLICIT, IMPLICIT, BIG, DEFLATED].into_iter().enumerate() {
            let uid = format!("1.2.826.0.1.3680043.10.1145.13.{i}.{j}");
            let bytes = Synth::ct(&uid).series_date(date).encode(ts);
            out.push((
                InstanceMeta::new(CT, &uid, ts).with_calling_ae_title("SENDER"),
                bytes,
            ));
        }
    }
    // A class not in the table, named UNKNOWN (XX with +fsu).
    let uid = "1.2.826.0.1.3680043.10.1145.13.9";
    let bytes = Synth::ct(uid).class(Some("1.2.3.4.5")).encode(EXPLICIT);
    out.push((InstanceMeta::new("1.2.3.4.5", uid, EXPLICIT), bytes));
    out
}

#[test]
fn every_naming_option_gives_the_same_relative_names_and_bytes_as_a_directory() {
    let namings = [
        Naming::Default,
        Naming::UniqueUid,
        Naming::ShortUnique,
        Naming::SystemTime,
    ];
    for naming in namings {
        for subdirectories in [Subdirectories::None, Subdirectories::SeriesDate] {
            for extension in ["", ".dcm"] {
                for mode in [Mode::Normal, Mode::BitPreserving] {
                    let what = format!("{naming:?} {subdirectories:?} {extension:?} {mode:?}");
                    let configure = |options: StorageOptions| {
                        options
                            .naming(naming)
                            .subdirectories(subdirectories)
                            .extension(extension)
                            .mode(mode)
                            .node_id("n1")
                    };
                    let dir = tempdir();
                    let memory = Memory::new();
                    let on_disk = Storage::new(configure(StorageOptions::new(dir.path()))).unwrap();
                    let in_bucket = Storage::new(configure(StorageOptions::object_store(
                        memory.output("in/coming"),
                    )))
                    .unwrap();
                    for (meta, bytes) in instances() {
                        store(&on_disk, &meta, &bytes, 4096).unwrap();
                        let stored = store(&in_bucket, &meta, &bytes, 4096).unwrap();
                        let key = stored.object_key().unwrap();
                        assert!(key.starts_with("in/coming/"), "{what}: {key}");
                        assert_eq!(
                            stored.object_url(),
                            Some(format!("memory://bucket/{key}").as_str())
                        );
                        assert_eq!(stored.path(), None);
                    }
                    let mut expected: Vec<_> = files(dir.path())
                        .into_iter()
                        .map(|(p, b)| (normalise(&p), b))
                        .collect();
                    let mut got: Vec<_> = memory
                        .objects("in/coming")
                        .into_iter()
                        .map(|(k, b)| (normalise(k.strip_prefix("in/coming/").unwrap()), b))
                        .collect();
                    expected.sort();
                    got.sort();
                    assert_eq!(expected.len(), instances().len(), "{what}");
                    let names = |v: &[(String, Vec<u8>)]| -> Vec<String> {
                        v.iter().map(|(n, _)| n.clone()).collect()
                    };
                    assert_eq!(names(&got), names(&expected), "{what}");
                    assert!(got == expected, "{what}: bytes differ");
                }
            }
        }
    }
}

#[test]
fn default_names_are_the_same_keys_exactly() {
    let dir = tempdir();
    let memory = Memory::new();
    let options = |o: StorageOptions| {
        o.subdirectories(Subdirectories::SeriesDate)
            .extension(".dcm")
    };
    let on_disk = Storage::new(options(StorageOptions::new(dir.path()))).unwrap();
    let in_bucket = Storage::new(options(
        StorageOptions::object_store(memory.output("")).node_id("n1"),
    ))
    .unwrap();
    for (meta, bytes) in instances() {
        store(&on_disk, &meta, &bytes, 1000).unwrap();
        store(&in_bucket, &meta, &bytes, 1000).unwrap();
    }
    assert_eq!(memory.objects(""), files(dir.path()));
    assert!(
        memory
            .keys("")
            .iter()
            .any(|k| k == "data/2020/01/15/CT.1.2.826.0.1.3680043.10.1145.13.0.0.dcm")
    );
}

#[test]
fn large_objects_go_up_in_equal_parts_and_equal_the_file() {
    let dir = tempdir();
    let memory = Memory::new();
    let recording = Arc::clone(&memory.multipart);
    let output = memory.output("big");
    let on_disk = Storage::new(StorageOptions::new(dir.path())).unwrap();
    let in_bucket = Storage::new(StorageOptions::object_store(output).node_id("n1")).unwrap();
    // 23 MiB of pixels: 5 parts; an object just under two parts; one just under one part,
    // which goes up with a single PUT.
    let sizes = [23 * MIB, 2 * PART - 2000, PART - 2000];
    for (i, size) in sizes.into_iter().enumerate() {
        let uid = format!("1.2.826.0.1.3680043.10.1145.14.{i}");
        let bytes = Synth::ct(&uid).pixel_bytes(size).encode(EXPLICIT);
        let meta = InstanceMeta::new(CT, &uid, EXPLICIT);
        let on_file = store(&on_disk, &meta, &bytes, 16 * 1024).unwrap();
        let stored = store(&in_bucket, &meta, &bytes, 16 * 1024).unwrap();
        let file = std::fs::read(on_file.path().unwrap()).unwrap();
        assert!(
            memory.get(stored.object_key().unwrap()) == file,
            "object {i} differs from the file"
        );
        assert_eq!(stored.dataset_len(), bytes.len() as u64);
        let parts = std::mem::take(&mut *recording.parts.lock().unwrap());
        let (last, full) = parts.split_last().unwrap_or((&0, &[]));
        match i {
            0 => assert_eq!(parts.len(), 5, "{parts:?}"),
            1 => assert_eq!(parts.len(), 2, "{parts:?}"),
            _ => assert!(parts.is_empty(), "{parts:?}"),
        }
        assert!(full.iter().all(|&p| p == PART), "unequal parts: {parts:?}");
        assert_eq!(
            full.len() * PART + last,
            if parts.is_empty() { 0 } else { file.len() }
        );
    }
    assert_eq!(memory.uploads(), 0);
    assert_eq!(
        recording.most_in_flight.load(Ordering::SeqCst),
        2,
        "the bound is 2 parts"
    );
    // No marker is left once the uploads are complete.
    assert_eq!(memory.keys("big/.dcmrecv-uploads"), Vec::<String>::new());
    assert_eq!(memory.keys("big").len(), 3);
}

#[test]
fn a_failed_or_aborted_object_leaves_nothing_under_its_key() {
    let memory = Memory::new();
    let storage =
        Storage::new(StorageOptions::object_store(memory.output("x")).node_id("n1")).unwrap();
    let uid = "1.2.826.0.1.3680043.10.1145.15.1";
    let mut bytes = Synth::ct(uid).pixel_bytes(12 * MIB).encode(EXPLICIT);

    // Aborted after two parts went up.
    let meta = InstanceMeta::new(CT, uid, EXPLICIT);
    let mut incoming = storage.begin(&meta).unwrap();
    for piece in bytes[..11 * MIB].chunks(16 * 1024) {
        incoming.write(piece).unwrap();
    }
    incoming.abort();
    assert_eq!(memory.wait_empty("x"), Vec::<String>::new());
    assert_eq!(memory.uploads(), 0, "the upload was not aborted");

    // Dropped (as on a peer abort).
    let mut incoming = storage.begin(&meta).unwrap();
    incoming.write(&bytes[..6 * MIB]).unwrap();
    drop(incoming);
    assert_eq!(memory.wait_empty("x"), Vec::<String>::new());
    assert_eq!(memory.uploads(), 0, "the upload was not aborted");

    // Malformed at the end (a truncated element): 0xC000, nothing stored.
    bytes.truncate(bytes.len() - 3);
    let error = store(&storage, &meta, &bytes, 64 * 1024).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
    assert_eq!(memory.wait_empty("x"), Vec::<String>::new());
    assert_eq!(memory.uploads(), 0, "the upload was not aborted");

    // Small objects that fail never reach the store at all.
    let error = store(&storage, &meta, b"\x08\x00\x18", 1).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
    assert!(memory.keys("").is_empty());
}

#[test]
fn uids_after_the_first_part_come_from_the_command_in_the_meta_header() {
    // An Implicit VR data set whose first element is 6 MiB long: its SOP UIDs come after the
    // first part. The command's UIDs differ from the data set's, to show which ones are used.
    let mut bytes = Vec::new();
    let element = |tag: (u16, u16), value: &[u8], out: &mut Vec<u8>| {
        out.extend_from_slice(&tag.0.to_le_bytes());
        out.extend_from_slice(&tag.1.to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
    };
    element((0x0008, 0x0012), &vec![b'1'; 6 * MIB], &mut bytes);
    element((0x0008, 0x0016), b"1.2.840.10008.5.1.4.1.1.4\0", &mut bytes);
    element(
        (0x0008, 0x0018),
        b"1.2.826.0.1.3680043.10.1145.16.2",
        &mut bytes,
    );
    let meta = InstanceMeta::new(CT, "1.2.826.0.1.3680043.10.1145.16.1", IMPLICIT);

    let dir = tempdir();
    let memory = Memory::new();
    let on_disk = Storage::new(StorageOptions::new(dir.path())).unwrap();
    let in_bucket =
        Storage::new(StorageOptions::object_store(memory.output("late")).node_id("n1")).unwrap();
    let file = store(&on_disk, &meta, &bytes, 16 * 1024).unwrap();
    let stored = store(&in_bucket, &meta, &bytes, 16 * 1024).unwrap();
    let object = &stored;
    // The same name (the command's instance UID), the same data set bytes.
    assert_eq!(
        object.object_key(),
        Some("late/CT.1.2.826.0.1.3680043.10.1145.16.1")
    );
    let file = std::fs::read(file.path().unwrap()).unwrap();
    let object = memory.get(object.object_key().unwrap());
    let listing_file = meta_listing(&file);
    let listing_object = meta_listing(&object);
    // The file's header has the data set's UIDs (put in front at the end); the object's the
    // command's, because its first part went up before they came.
    assert!(
        listing_file.contains("\"1.2.840.10008.5.1.4.1.1.4\\0\""),
        "{listing_file}"
    );
    assert!(listing_file.contains("1145.16.2"), "{listing_file}");
    assert!(
        listing_object.contains("\"1.2.840.10008.5.1.4.1.1.2\\0\""),
        "{listing_object}"
    );
    assert!(listing_object.contains("1145.16.1"), "{listing_object}");
    let data_file = &file[crate::support::header_len(&file)..];
    let data_object = &object[crate::support::header_len(&object)..];
    assert!(data_file == data_object && data_file == bytes.as_slice());
}

/// Starts a multipart upload and leaves it as a killed receiver would: no abort, no marker
/// deleted.
fn leave_an_upload(storage: &Storage, uid: &str) {
    let bytes = Synth::ct(uid).pixel_bytes(8 * MIB).encode(EXPLICIT);
    let mut incoming = storage
        .begin(&InstanceMeta::new(CT, uid, EXPLICIT))
        .unwrap();
    incoming.write(&bytes[..7 * MIB]).unwrap();
    std::mem::forget(incoming);
}

/// Waits until `prefix` holds `count` objects (markers are written in the background).
fn wait_count(memory: &Memory, prefix: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let keys = memory.keys(prefix);
        if keys.len() >= count || Instant::now() > deadline {
            return keys;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_restart_aborts_the_uploads_of_earlier_starts_of_its_node_only() {
    let memory = Memory::new();
    let open = |node: &str| {
        Storage::new(StorageOptions::object_store(memory.output("p")).node_id(node)).unwrap()
    };
    let killed = open("n1");
    let other = open("n2");
    leave_an_upload(&killed, "1.2.826.0.1.3680043.10.1145.17.1");
    leave_an_upload(&other, "1.2.826.0.1.3680043.10.1145.17.2");
    let markers = wait_count(&memory, "p/.dcmrecv-uploads", 2);
    assert_eq!(markers.len(), 2, "{markers:?}");
    let recorded = memory.objects("p/.dcmrecv-uploads/n1");
    let body = String::from_utf8(recorded[0].1.clone()).unwrap();
    let upload_id = body
        .lines()
        .find_map(|l| l.strip_prefix("upload-id="))
        .unwrap()
        .to_string();
    assert!(
        body.contains("key=p/CT.1.2.826.0.1.3680043.10.1145.17.1\n"),
        "{body}"
    );

    // The restart of n1 (a new start id) aborts n1's upload and leaves n2's.
    let restarted = open("n1");
    // Its own live uploads are not touched by its sweep either.
    leave_an_upload(&restarted, "1.2.826.0.1.3680043.10.1145.17.3");
    wait_count(&memory, "p/.dcmrecv-uploads", 3);
    let swept = restarted.sweep_leftovers().unwrap();
    assert_eq!(
        swept,
        vec![Leftover::MultipartUpload {
            url: "memory://bucket/p/CT.1.2.826.0.1.3680043.10.1145.17.1".into(),
            upload_id: upload_id.clone(),
        }]
    );
    let left = memory.keys("p/.dcmrecv-uploads");
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().any(|k| k.starts_with("p/.dcmrecv-uploads/n2/")));
    // The aborted upload is gone from the store: it cannot be completed any more.
    let key = ObjectPath::from("p/CT.1.2.826.0.1.3680043.10.1145.17.1");
    let completed = memory.runtime.block_on(memory.multipart.complete_multipart(
        &key,
        &upload_id,
        Vec::new(),
    ));
    assert!(completed.is_err(), "the upload was not aborted");
    // The two left alone: n2's, and the restarted n1's own.
    assert_eq!(memory.uploads(), 2);
    // A second sweep finds nothing more.
    assert!(restarted.sweep_leftovers().unwrap().is_empty());
    // Nothing ever appeared under a final key.
    assert!(
        memory
            .keys("p")
            .iter()
            .all(|k| k.starts_with("p/.dcmrecv-uploads/"))
    );
}

#[test]
fn start_up_checks_and_the_probe_leaves_nothing() {
    let memory = Memory::new();
    let fails = |options: StorageOptions| -> OpenError {
        match Storage::new(options) {
            Err(e) => e,
            Ok(_) => panic!("storage opened"),
        }
    };
    let e = fails(StorageOptions::object_store(memory.output("p")));
    assert!(e.is_output_location());
    assert_eq!(
        e.to_string(),
        "cannot use output memory://bucket/p: an object-store output needs a node id"
    );
    let e = fails(StorageOptions::object_store(memory.output("p").part_size(MIB)).node_id("n"));
    assert!(e.is_output_location(), "{e}");
    let e = fails(StorageOptions::object_store(memory.output("a//b")).node_id("n"));
    assert!(e.is_output_location(), "{e}");
    let e = fails(StorageOptions::object_store(memory.output("p")).node_id("a/b"));
    assert!(!e.is_output_location(), "{e}");
    let e = fails(
        StorageOptions::object_store(
            ObjectStoreOutput::new("gs://bucket/p").env_vars([("AWS_REGION", "x")]),
        )
        .node_id("n"),
    );
    assert_eq!(
        e.to_string(),
        "cannot use output gs://bucket/p: gs:// is not supported (only s3://, for S3-compatible stores)"
    );
    let e = fails(
        StorageOptions::object_store(
            ObjectStoreOutput::new("s3://bucket/p").env_vars([("AWS_REGION", "x")]),
        )
        .node_id("n"),
    );
    assert_eq!(
        e.to_string(),
        "cannot use output s3://bucket/p: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    );
    // A good one: the probe is written and deleted.
    let storage =
        Storage::new(StorageOptions::object_store(memory.output("p/")).node_id("n")).unwrap();
    assert_eq!(storage.output_directory(), Path::new("memory://bucket/p"));
    assert!(memory.keys("").is_empty());
}

#[test]
fn short_unique_names_of_two_starts_never_share_the_start_second() {
    let memory = Memory::new();
    let open = || {
        Storage::new(
            StorageOptions::object_store(memory.output("s"))
                .naming(Naming::ShortUnique)
                .node_id("n1"),
        )
        .unwrap()
    };
    let uid = "1.2.826.0.1.3680043.10.1145.18.1";
    let bytes = Synth::ct(uid).encode(EXPLICIT);
    let meta = InstanceMeta::new(CT, uid, EXPLICIT);
    let first = store(&open(), &meta, &bytes, 1000).unwrap();
    let second = store(&open(), &meta, &bytes, 1000).unwrap();
    let start = |key: &str| key["s/CT_".len().."s/CT_".len() + 8].to_string();
    let (a, b) = (
        start(first.object_key().unwrap()),
        start(second.object_key().unwrap()),
    );
    assert_ne!(a, b, "{first:?} {second:?}");
    assert!(first.object_key().unwrap().ends_with("-n1"));
}
