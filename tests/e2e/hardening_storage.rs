//! Hardening of the storage policy (issue 11, items 1, 2, 6, 7, 8, 9 and 11): generated names
//! never replace a stored file, `+fsu` never refuses while names are plentiful, the meta header
//! carries the data set's UIDs wherever they are, default names are DCMTK's character for
//! character, leftover temporary files are swept even when the PID repeats, deep nesting is
//! stored, and `--max-object-size` bounds what a data set may inflate to. Each scenario runs
//! against the real dcmrecv too, and what it does is asserted as measured.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dcmrecv_e2e::compare::{read_meta, value_text};
use dcmrecv_e2e::disk::{files_under, final_files, is_our_temporary, require_root};
use dcmrecv_e2e::load::{self, LoadPlan, Sent};
use dcmrecv_e2e::objects::{Instance, dataset_of_file};
use dcmrecv_e2e::raw::{COMMAND_LAST, CT, Client, EXPLICIT, c_store_rq, p_data, pc, pdv, rq};
use dcmrecv_e2e::receiver::Receiver;

use crate::support::{
    DEFAULT_PROFILE, PC_CT, observe, receivers, start, store_with_comment, try_associate,
};

/// Stores each `(uid, data set)` on one association per receiver, opening a new one whenever
/// the receiver ends the current one, and returns the statuses (`None`: no answer).
fn store_each(port: u16, calling: &str, objects: &[(Vec<u8>, Vec<u8>)]) -> Vec<Option<u16>> {
    let mut client: Option<Client> = None;
    let mut statuses = Vec::new();
    for (i, (uid, data)) in objects.iter().enumerate() {
        if client.is_none() {
            client = try_associate(port, calling);
        }
        let status = client
            .as_mut()
            .and_then(|c| c.store_raw_uid(PC_CT, (i % 60_000 + 1) as u16, CT, uid, data));
        if status.is_none() {
            client = None;
        }
        statuses.push(status);
    }
    if let Some(mut c) = client {
        c.release();
    }
    statuses
}

/// The UID value as sent on the wire (padded to even length with a NUL).
fn padded(uid: &[u8]) -> Vec<u8> {
    let mut v = uid.to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// A CT data set (Explicit VR Little Endian) whose SOP Instance UID is the raw bytes given.
fn ct_with_raw_uid(uid: &[u8]) -> Vec<u8> {
    let marker = "1.2.826.0.1.3680043.10.1145.99.99";
    let data = Instance::ct(marker).dataset_bytes(EXPLICIT);
    // Replace the (0008,0018) element: tag, "UI", 2-byte length, value.
    let mut header = vec![0x08, 0x00, 0x18, 0x00, b'U', b'I'];
    let old = padded(marker.as_bytes());
    header.extend_from_slice(&(old.len() as u16).to_le_bytes());
    let at = data
        .windows(header.len())
        .position(|w| w == header)
        .expect("the SOP Instance UID element");
    let new = padded(uid);
    let mut out = data[..at].to_vec();
    out.extend_from_slice(&[0x08, 0x00, 0x18, 0x00, b'U', b'I']);
    out.extend_from_slice(&(new.len() as u16).to_le_bytes());
    out.extend_from_slice(&new);
    out.extend_from_slice(&data[at + header.len() + old.len()..]);
    out
}

// See: issue 11, item 7.
#[test]
fn default_names_map_each_character_as_debians_dcmtk_does() {
    // Every printable ASCII character, and a few that are not, each between `a` and `b` in a
    // UID of its own.
    let mut probes: Vec<Vec<u8>> = (0x20u8..=0x7E).map(|c| vec![c]).collect();
    probes.extend([vec![0x09], vec![0x01], vec![0x7F], "é".as_bytes().to_vec()]);
    let base = "1.2.826.0.1.3680043.10.1145.70";
    let objects: Vec<(Vec<u8>, Vec<u8>)> = probes
        .iter()
        .map(|probe| {
            let mut uid = format!("{base}.{}.a", probe[0]).into_bytes();
            uid.extend_from_slice(probe);
            uid.push(b'b');
            let data = ct_with_raw_uid(&uid);
            (padded(&uid), data)
        })
        .collect();
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let od = dir.path().join("out");
        let running = start(&receiver, &[], &od);
        let statuses = store_each(running.port, "NAMES", &objects);
        let names: Vec<String> = final_files(&od)
            .into_keys()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let mut mapped = BTreeMap::new();
        for (probe, status) in probes.iter().zip(&statuses) {
            let prefix = format!("CT.{base}.{}.a", probe[0]);
            let name = names
                .iter()
                .find(|n| n.starts_with(&prefix) && n[prefix.len()..].ends_with('b'));
            let shown = match name {
                Some(n) => n[prefix.len()..n.len() - 1].to_string(),
                None => format!("<no file, status {status:04X?}>"),
            };
            mapped.insert(String::from_utf8_lossy(probe).into_owned(), shown);
        }
        observe(
            "default names: each character of a SOP Instance UID",
            &receiver,
            format!("{mapped:?}"),
        );
        // Measured with Debian's DCMTK 3.6.7, and now ours: every byte outside
        // `[A-Za-z0-9 .:@_-]` becomes `_` (a two-byte UTF-8 character becomes `__`).
        for (probe, shown) in &mapped {
            let expected: String = probe
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b" .:@_-".contains(&b) {
                        char::from(b)
                    } else {
                        '_'
                    }
                })
                .collect();
            assert_eq!(
                shown,
                &expected,
                "{}: {probe:?}\n{}",
                receiver.name,
                running.guard.stderr()
            );
        }
        assert!(
            statuses.iter().all(|s| *s == Some(0x0000)),
            "{}: {statuses:04X?}",
            receiver.name
        );
        assert!(
            names
                .iter()
                .all(|n| !n.contains(['$', ';', '*', '\\', '(', ')', '`', '|', '&'])),
            "{}: {names:?}",
            receiver.name
        );
    }
}

/// Every sent data set and how many stored files hold it, plus the names of the stored files.
fn stored_copies(od: &Path, batches: &[Vec<Sent>]) -> (BTreeMap<String, usize>, Vec<String>) {
    let mut by_data: HashMap<Vec<u8>, String> = HashMap::new();
    let mut copies = BTreeMap::new();
    for sent in batches.iter().flatten() {
        by_data.insert(dataset_of_file(&sent.path), sent.sop_instance_uid.clone());
        copies.insert(sent.sop_instance_uid.clone(), 0);
    }
    let mut names = Vec::new();
    for name in final_files(od).into_keys() {
        let data = dataset_of_file(&od.join(&name));
        if let Some(uid) = by_data.get(&data) {
            *copies.entry(uid.clone()).or_default() += 1;
        }
        names.push(name.to_string_lossy().into_owned());
    }
    (copies, names)
}

/// 16 `storescu` processes of 300 small objects each, all at once.
const MANY: LoadPlan = LoadPlan {
    associations: 16,
    objects: 300,
    image_side: 16,
};

// See: issue 11, item 1.
#[test]
fn system_time_names_never_replace_an_object_stored_in_the_same_microsecond() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = load::write_objects(MANY, &dir.path().join("sent"));
    for receiver in receivers() {
        let od = dir.path().join(receiver.name);
        let mut args = DEFAULT_PROFILE.to_vec();
        args.push("+fst");
        let sending = load::send(&receiver, &args, &[], &batches, &od);
        let (copies, names) = stored_copies(&od, &batches);
        let missing: Vec<&String> = copies
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(u, _)| u)
            .collect();
        let stored: usize = copies.values().sum();
        observe(
            "+fst, 16 associations x 300 objects at once",
            &receiver,
            format!(
                "{stored}/{} stored in {:.1} s, {} files, missing {missing:?}; problems {:?}",
                copies.len(),
                sending.seconds,
                names.len(),
                sending.problems
            ),
        );
        assert!(
            sending.problems.is_empty(),
            "{}: {:?}",
            receiver.name,
            sending.problems
        );
        // Both: each object exactly once, under a name of DCMTK's shape
        // `<YYYYMMDDhhmmss>.<6 digits>.CT` (the real dcmrecv serves one association at a time,
        // so its clock never repeats; ours steps to the next microsecond when a name is taken).
        assert!(
            missing.is_empty(),
            "{}: lost {} objects",
            receiver.name,
            missing.len()
        );
        assert!(copies.values().all(|n| *n == 1), "{}", receiver.name);
        assert_eq!(names.len(), 4800, "{}", receiver.name);
        for name in &names {
            let (time, rest) = name.split_once('.').expect("a dot");
            let (micros, prefix) = rest.split_once('.').expect("two dots");
            assert!(
                time.len() == 14
                    && micros.len() == 6
                    && prefix == "CT"
                    && (time.to_string() + micros)
                        .bytes()
                        .all(|b| b.is_ascii_digit()),
                "{}: {name}",
                receiver.name
            );
        }
    }
}

// See: issue 11, item 2.
#[test]
fn short_unique_names_are_never_refused_at_thousands_of_objects_per_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = load::write_objects(MANY, &dir.path().join("sent"));
    for receiver in receivers() {
        let od = dir.path().join(receiver.name);
        let mut args = DEFAULT_PROFILE.to_vec();
        args.push("+fsu");
        // -nh: go on after a refused object (storescu halts by default).
        let sending = load::send(&receiver, &args, &["-nh"], &batches, &od);
        let (copies, names) = stored_copies(&od, &batches);
        let stored: usize = copies.values().sum();
        let refused = sending.log.matches("Could not generate filename").count();
        let rate = stored as f64 / sending.seconds;
        observe(
            "+fsu, 16 associations x 300 objects at once",
            &receiver,
            format!(
                "{stored}/{} stored in {:.1} s ({rate:.0}/s), {refused} refused \
                 (\"Could not generate filename\"); problems {:?}",
                copies.len(),
                sending.seconds,
                sending.problems
            ),
        );
        assert!(
            sending.problems.is_empty(),
            "{}: {:?}",
            receiver.name,
            sending.problems
        );
        assert!(copies.values().all(|n| *n <= 1), "{}", receiver.name);
        assert_eq!(stored + refused, 4800, "{}", receiver.name);
        for name in &names {
            let hex = name.strip_prefix("CT_").unwrap_or_default();
            assert!(
                hex.len() == 16
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{}: {name}",
                receiver.name
            );
        }
        if receiver.is_ours() {
            assert_eq!(refused, 0, "ours refused {refused} objects");
            assert_eq!(stored, 4800);
        }
    }
}

/// One explicit VR little endian element with a short (2-byte) length, padded to even length.
fn short_element(group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut value = value.to_vec();
    if value.len() % 2 == 1 {
        value.push(if vr == b"UI" { 0 } else { b' ' });
    }
    let mut out = group.to_le_bytes().to_vec();
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(&value);
    out
}

/// The header of an explicit VR little endian element with a 4-byte length (OB, OW, SQ, UN...).
fn long_header(group: u16, element: u16, vr: &[u8; 2], length: u32) -> Vec<u8> {
    let mut out = group.to_le_bytes().to_vec();
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&length.to_le_bytes());
    out
}

/// An item or delimitation tag (group FFFE) with its length.
fn item_tag(element: u16, length: u32) -> Vec<u8> {
    let mut out = 0xFFFEu16.to_le_bytes().to_vec();
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&length.to_le_bytes());
    out
}

/// A CT data set whose SOP Class and SOP Instance UID come after `large` bytes: a Language Code
/// Sequence (0008,0006) first, its one item holding a private OB element of `large` bytes.
fn late_uids_dataset(uid: &str, large: u32) -> Vec<u8> {
    let mut out = long_header(0x0008, 0x0006, b"SQ", 0xFFFF_FFFF);
    out.extend(item_tag(0xE000, 0xFFFF_FFFF));
    out.extend(short_element(0x0009, 0x0010, b"LO", b"DCMRECV TEST"));
    out.extend(long_header(0x0009, 0x1001, b"OB", large));
    out.extend((0..large).map(|i| (i % 251) as u8));
    out.extend(item_tag(0xE00D, 0));
    out.extend(item_tag(0xE0DD, 0));
    out.extend(Instance::ct(uid).dataset_bytes(EXPLICIT));
    out
}

// See: issue 11, item 6.
#[test]
fn the_meta_header_carries_the_data_sets_uids_even_after_the_first_mebibyte() {
    let uid = "1.2.826.0.1.3680043.10.1145.71.1";
    // 1.5 MiB before (0008,0016): past the 1 MiB held back for the meta header.
    let data = late_uids_dataset(uid, 3 * 512 * 1024);
    let mut metas = Vec::new();
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let od = dir.path().join("out");
        let running = start(&receiver, &[], &od);
        let statuses = store_each(
            running.port,
            "LATEUIDS",
            &[(padded(uid.as_bytes()), data.clone())],
        );
        let path = od.join(format!("CT.{uid}"));
        let bytes = std::fs::read(&path).unwrap_or_default();
        let meta = read_meta(&bytes).map(|(meta, _)| meta).unwrap_or_default();
        let shown = |elem: u16| meta.get(&elem).map(|v| value_text(v)).unwrap_or_default();
        observe(
            "SOP UIDs after the first 1.5 MiB of the data set",
            &receiver,
            format!(
                "status {statuses:04X?}; (0002,0002) {:?}, (0002,0003) {:?}, (0002,0010) {:?}; files {:?}",
                shown(2),
                shown(3),
                shown(0x10),
                files_under(&od).keys().collect::<Vec<_>>()
            ),
        );
        assert_eq!(
            statuses,
            [Some(0x0000)],
            "{}: {}",
            receiver.name,
            running.guard.stderr()
        );
        assert_eq!(shown(2), CT, "{}", receiver.name);
        assert_eq!(shown(3), uid, "{}", receiver.name);
        assert_eq!(shown(0x10), EXPLICIT, "{}", receiver.name);
        if receiver.is_ours() {
            assert_eq!(
                dataset_of_file(&path),
                data,
                "the data set bytes as received"
            );
            assert_eq!(files_under(&od).len(), 1, "no temporary left");
        }
        metas.push(meta);
    }
    // The elements that do not name the implementation are DCMTK's byte for byte.
    for elem in [0x0001, 0x0002, 0x0003, 0x0010] {
        assert_eq!(
            metas[0].get(&elem),
            metas[1].get(&elem),
            "(0002,{elem:04X})"
        );
    }
}

/// A CT data set with `levels` Content Sequences (0040,A730) nested in each other, all with
/// undefined lengths, the innermost item holding a Value Type (0040,A040).
fn nested_dataset(uid: &str, levels: usize) -> Vec<u8> {
    let mut out = short_element(0x0008, 0x0016, b"UI", CT.as_bytes());
    out.extend(short_element(0x0008, 0x0018, b"UI", uid.as_bytes()));
    out.extend(short_element(0x0008, 0x0060, b"CS", b"SR"));
    for _ in 0..levels {
        out.extend(long_header(0x0040, 0xA730, b"SQ", 0xFFFF_FFFF));
        out.extend(item_tag(0xE000, 0xFFFF_FFFF));
    }
    out.extend(short_element(0x0040, 0xA040, b"CS", b"TEXT"));
    for _ in 0..levels {
        out.extend(item_tag(0xE00D, 0));
        out.extend(item_tag(0xE0DD, 0));
    }
    out
}

/// [`nested_dataset`] with defined lengths everywhere.
fn nested_dataset_defined(uid: &str, levels: usize) -> Vec<u8> {
    let mut out = short_element(0x0008, 0x0016, b"UI", CT.as_bytes());
    out.extend(short_element(0x0008, 0x0018, b"UI", uid.as_bytes()));
    out.extend(short_element(0x0008, 0x0060, b"CS", b"SR"));
    let inner = short_element(0x0040, 0xA040, b"CS", b"TEXT");
    // Lengths from the inside out: item = 8 + content, sequence = 12 + item.
    let mut lengths = Vec::with_capacity(levels);
    let mut content = inner.len() as u32;
    for _ in 0..levels {
        lengths.push(content);
        content += 8 + 12;
    }
    for item_content in lengths.iter().rev() {
        out.extend(long_header(0x0040, 0xA730, b"SQ", item_content + 8));
        out.extend(item_tag(0xE000, *item_content));
    }
    out.extend(inner);
    out
}

/// The stack size limit of this process (and of the receivers it starts), from
/// `/proc/self/limits`; `None` when unlimited or unreadable.
fn stack_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max stack size"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

// See: issue 11, item 9.
#[test]
fn ten_thousand_nested_sequences_are_stored() {
    let cases = [
        (9_000, false),
        (10_000, false),
        (10_000, true),
        (16_384, false),
        (16_385, false),
    ];
    for (levels, defined) in cases {
        let uid = format!(
            "1.2.826.0.1.3680043.10.1145.72.{levels}.{}",
            u8::from(defined)
        );
        let data = if defined {
            nested_dataset_defined(&uid, levels)
        } else {
            nested_dataset(&uid, levels)
        };
        let after = format!("{uid}.1");
        let next = Instance::ct(&after).dataset_bytes(EXPLICIT);
        let scenario = format!(
            "{levels} nested sequences ({} lengths), then a plain object",
            if defined { "defined" } else { "undefined" }
        );
        for receiver in receivers() {
            let dir = tempfile::tempdir().expect("tempdir");
            let od = dir.path().join("out");
            let mut running = start(&receiver, &[], &od);
            let mut client = crate::support::associate(running.port, "NESTED");
            let status = client.store(PC_CT, 1, CT, &uid, &data);
            let next_status = status.and_then(|_| client.store(PC_CT, 2, CT, &after, &next));
            if next_status.is_some() {
                client.release();
            }
            drop(client);
            let exited = running.guard.wait_timeout(Duration::from_millis(300));
            let path = od.join(format!("CT.{uid}"));
            let stored = path.is_file().then(|| dataset_of_file(&path) == data);
            observe(
                &scenario,
                &receiver,
                format!(
                    "statuses {status:04X?}, {next_status:04X?}; stored (byte-identical: \
                     {stored:?}); receiver exited: {exited:?}"
                ),
            );
            if receiver.is_ours() {
                // Up to 16,384 levels (heap-allocated scanner state, 24 bytes a level); one
                // more is 0xC000, and the association goes on.
                let within = levels <= 16_384;
                let expected = if within { 0x0000 } else { 0xC000 };
                assert_eq!(
                    status,
                    Some(expected),
                    "{scenario}: {}",
                    running.guard.stderr()
                );
                assert_eq!(next_status, Some(0x0000), "{scenario}");
                assert_eq!(stored, within.then_some(true), "{scenario}");
                assert!(exited.is_none());
                if !within {
                    assert!(
                        running
                            .guard
                            .stderr()
                            .contains("nested deeper than 16384 levels"),
                        "{}",
                        running.guard.stderr()
                    );
                }
            } else if levels < 10_000 {
                // The real dcmrecv stores them (re-encoded with undefined lengths: the same
                // bytes as sent here).
                assert_eq!(
                    (status, next_status),
                    (Some(0x0000), Some(0x0000)),
                    "{scenario}"
                );
                assert_eq!(stored, Some(true), "{scenario}");
            } else if stack_limit() == Some(8 * 1024 * 1024) {
                // With the usual 8 MiB stack it recurses once a level and dies of SIGSEGV: no
                // response, and no association is served any more.
                use std::os::unix::process::ExitStatusExt;
                assert_eq!(status, None, "{scenario}");
                assert_eq!(exited.and_then(|e| e.signal()), Some(11), "{scenario}");
            }
        }
    }
}

/// Deflated Explicit VR Little Endian.
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
/// Presentation context 5: CT Image Storage, Deflated Explicit VR Little Endian.
const PC_CT_DEFLATED: u8 = 5;

/// A raw deflate stream of `header` followed by `zeros` MiB of zero bytes, built by repeating
/// one compressed MiB: every segment comes from a fresh compressor and ends with a sync flush,
/// so it refers to nothing before it and segments can be chained.
fn deflate_bomb(header: &[u8], zeros: usize) -> Vec<u8> {
    use std::io::Write;
    let segment = |data: &[u8]| {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).expect("deflate");
        encoder.flush().expect("sync flush");
        encoder.get_ref().clone()
    };
    let mut out = segment(header);
    let mib = segment(&vec![0u8; 1024 * 1024]);
    for _ in 0..zeros {
        out.extend_from_slice(&mib);
    }
    let end = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    out.extend(end.finish().expect("final block"));
    // PS3.5 A.5: an odd-length stream is padded with one byte (DCMTK aborts on odd fragments).
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A CT data set whose Pixel Data (7FE0,0010) is `mib` MiB of zeros, deflated.
fn deflated_ct(uid: &str, mib: usize) -> Vec<u8> {
    let mut header = short_element(0x0008, 0x0016, b"UI", CT.as_bytes());
    header.extend(short_element(0x0008, 0x0018, b"UI", uid.as_bytes()));
    header.extend(short_element(0x0008, 0x0060, b"CS", b"CT"));
    header.extend(long_header(
        0x7FE0,
        0x0010,
        b"OW",
        (mib * 1024 * 1024) as u32,
    ));
    deflate_bomb(&header, mib)
}

/// CPU time (user + system) a process has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th
    // and 13th of them, in clock ticks (100 a second on Linux).
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

// See: issue 11, item 11.
#[test]
fn max_object_size_refuses_large_and_deflate_bomb_data_sets_and_the_association_goes_on() {
    let large = "1.2.826.0.1.3680043.10.1145.73.1";
    let bomb = "1.2.826.0.1.3680043.10.1145.73.2";
    let small = "1.2.826.0.1.3680043.10.1145.73.3";
    let mut large_instance = Instance::ct(large);
    // 2 MiB of 16-bit pixels.
    large_instance.rows = 1024;
    large_instance.columns = 1024;
    let large_data = large_instance.dataset_bytes(EXPLICIT);
    // 256 MiB inflated from about 260 KB.
    let bomb_data = deflated_ct(bomb, 256);
    let small_data = Instance::ct(small).dataset_bytes(EXPLICIT);
    let association = rq(
        "BOMB",
        vec![
            pc(PC_CT, CT, &[EXPLICIT]),
            pc(PC_CT_DEFLATED, CT, &[DEFLATED]),
        ],
    );
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let od = dir.path().join("out");
        // The real dcmrecv has no such option (exit 1, "Unknown option --max-object-size").
        let extra: &[&str] = if receiver.is_ours() {
            &["--max-object-size", "1048576"]
        } else {
            &[]
        };
        let running = start(&receiver, extra, &od);
        let (mut client, _) = Client::associate_ok(
            SocketAddr::from(([127, 0, 0, 1], running.port)),
            &association,
        );
        let first = store_with_comment(&mut client, PC_CT, 1, large, &large_data);
        let before = cpu_time(running.guard.pid());
        let second = store_with_comment(&mut client, PC_CT_DEFLATED, 2, bomb, &bomb_data);
        let bomb_cpu = cpu_time(running.guard.pid()).saturating_sub(before);
        let third = store_with_comment(&mut client, PC_CT, 3, small, &small_data);
        if third.is_some() {
            client.release();
        }
        let files = files_under(&od);
        observe(
            "--max-object-size 1 MiB: 2 MiB object, 256 MiB deflate bomb (260 KB sent), small object",
            &receiver,
            format!(
                "responses {first:04X?}, {second:04X?} (CPU {bomb_cpu:.2?}), {third:04X?}; \
                 peak RSS {} MB; files {:?}",
                running.guard.peak_rss() / (1024 * 1024),
                files.keys().collect::<Vec<_>>(),
            ),
        );
        assert_eq!(third, Some((0x0000, None)), "{}", receiver.name);
        if receiver.is_ours() {
            let refused = Some((
                0xA700,
                Some("data set larger than the maximum object size".to_string()),
            ));
            assert_eq!(first, refused, "{}", running.guard.stderr());
            assert_eq!(second, refused, "{}", running.guard.stderr());
            // Inflating stops at the bound: 1 MiB, not 256.
            assert!(bomb_cpu < Duration::from_secs(1), "{bomb_cpu:?}");
            assert_eq!(
                files.into_keys().collect::<Vec<_>>(),
                [PathBuf::from(format!("CT.{small}"))]
            );
        } else {
            // No bound: both are stored.
            assert_eq!(first, Some((0x0000, None)));
            assert_eq!(second, Some((0x0000, None)));
            assert_eq!(files.len(), 3);
        }
    }
}

/// `receiver` run as PID 1 of a PID namespace of its own (`unshare --pid --mount-proc`), as in
/// a container; killing it kills the receiver (`--kill-child`).
fn as_pid_1(receiver: &Receiver) -> Receiver {
    let mut default_args: Vec<String> = ["--pid", "--kill-child", "--mount-proc"]
        .map(String::from)
        .to_vec();
    default_args.push(receiver.binary.to_string_lossy().into_owned());
    default_args.extend(receiver.default_args.iter().cloned());
    Receiver {
        name: receiver.name,
        binary: PathBuf::from("/usr/bin/unshare"),
        default_args,
    }
}

/// Sends a C-STORE command and the first half of `data` (even, in PDVs of 16000 bytes).
fn send_half(client: &mut Client, uid: &str, data: &[u8]) {
    client.send(&p_data(&[pdv(
        PC_CT,
        COMMAND_LAST,
        &c_store_rq(1, CT, uid),
    )]));
    for chunk in data[..(data.len() / 2) & !1].chunks(16_000) {
        client.send(&p_data(&[pdv(PC_CT, 0x00, chunk)]));
    }
}

/// The rest of what [`send_half`] started, and the response status.
fn send_rest(client: &mut Client, data: &[u8]) -> Option<u16> {
    if !client.send_data_set(PC_CT, &data[(data.len() / 2) & !1..], 16_000) {
        return None;
    }
    client.read_status()
}

/// Waits until the receiver visibly holds the object: ours has a temporary file that was not
/// there `before`; the real dcmrecv (normal mode) keeps it in memory, so give it a moment.
fn wait_in_flight(receiver: &Receiver, od: &Path, before: &BTreeMap<PathBuf, u64>) {
    if receiver.is_ours() {
        assert!(
            crate::support::wait_for_files(od, Duration::from_secs(5), |files| {
                files
                    .keys()
                    .any(|p| is_our_temporary(p) && !before.contains_key(p))
            }),
            "no temporary file in {}",
            od.display()
        );
    } else {
        std::thread::sleep(Duration::from_millis(300));
    }
}

// See: issue 11, item 8.
#[test]
fn temporaries_of_a_killed_pid_1_are_swept_by_the_next_pid_1_but_never_a_live_ones() {
    require_root("running the receiver as PID 1 of a PID namespace");
    for plain in receivers() {
        let receiver = as_pid_1(&plain);
        let dir = tempfile::tempdir().expect("tempdir");
        let od = dir.path().join("out");
        let uid = "1.2.826.0.1.3680043.10.1145.74.1";
        let (_, data) = crate::support::ct(uid, 256);

        // A receiver killed mid-object, then a new one as PID 1 again.
        let mut killed = start(&receiver, &[], &od);
        let mut client = crate::support::associate(killed.port, "PID1");
        send_half(&mut client, uid, &data);
        wait_in_flight(&receiver, &od, &BTreeMap::new());
        killed.guard.signal("KILL");
        assert!(killed.guard.wait_timeout(Duration::from_secs(10)).is_some());
        drop(client);
        // The kernel kills the namespace's PID 1 once `unshare` is gone: wait for its files
        // to be closed (nothing of ours is written after this).
        std::thread::sleep(Duration::from_millis(300));
        let after_kill = files_under(&od);
        let restarted = start(&receiver, &[], &od);
        let after_restart = files_under(&od);

        // A second receiver, also PID 1, on the same directory while the first has an object
        // in flight: its start must not sweep the live temporary file.
        let live_uid = "1.2.826.0.1.3680043.10.1145.74.2";
        let (_, live_data) = crate::support::ct(live_uid, 256);
        let mut client = crate::support::associate(restarted.port, "PID1");
        send_half(&mut client, live_uid, &live_data);
        wait_in_flight(&receiver, &od, &after_restart);
        let in_flight = files_under(&od);
        let second = start(&receiver, &[], &od);
        let after_second_start = files_under(&od);
        let status = send_rest(&mut client, &live_data);
        client.release();
        let stored = od.join(format!("CT.{live_uid}"));
        observe(
            "kill -9 of PID 1 mid-object, restart as PID 1; a second PID 1 starts while one \
             transfers",
            &receiver,
            format!(
                "after the kill {after_kill:?}; after the restart {after_restart:?}; in flight \
                 {in_flight:?}; after the second start {after_second_start:?}; status {status:04X?}"
            ),
        );
        if receiver.is_ours() {
            // The killed PID 1's temporary is swept by the next PID 1, with a warning.
            assert_eq!(after_kill.len(), 1, "{after_kill:?}");
            assert!(
                after_kill.keys().all(|p| is_our_temporary(p)),
                "{after_kill:?}"
            );
            assert!(after_restart.is_empty(), "not swept: {after_restart:?}");
            assert!(
                restarted
                    .guard
                    .stderr()
                    .contains("W: removed 1 temporary file(s) left by an earlier run"),
                "{}",
                restarted.guard.stderr()
            );
            // The second start leaves the live one alone, and sweeps nothing.
            assert_eq!(in_flight.len(), 1, "{in_flight:?}");
            assert!(
                !second.guard.stderr().contains("removed"),
                "{}",
                second.guard.stderr()
            );
        }
        assert_eq!(
            after_second_start, in_flight,
            "{}: a live file was swept",
            receiver.name
        );
        assert_eq!(
            status,
            Some(0x0000),
            "{}: {}",
            receiver.name,
            restarted.guard.stderr()
        );
        assert_eq!(dataset_of_file(&stored), live_data, "{}", receiver.name);
        assert_eq!(final_files(&od).len(), 1, "{}", receiver.name);
        assert!(
            files_under(&od).keys().all(|p| !is_our_temporary(p)),
            "{}",
            receiver.name
        );
        if !receiver.is_ours() {
            // Normal mode keeps the object in memory: nothing on disk to sweep.
            assert!(
                after_kill.is_empty() && after_restart.is_empty(),
                "{after_kill:?}"
            );
        }
    }
}
