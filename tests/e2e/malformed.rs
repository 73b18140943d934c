//! Bad input from the network, sent byte by byte with the raw client: malformed PDUs before and
//! after association, lengths that lie (up to 4 GB), and hostile SOP Instance UIDs and Series
//! Dates. Expected of ours: the association is aborted or gets the right status, another peer is
//! served meanwhile, memory does not follow a claimed length, and nothing is written outside the
//! output directory.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use dcmrecv_e2e::disk::files_under;
use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::raw::{
    A_ABORT, COMMAND_LAST, CT, Client, EXPLICIT, c_echo_rq, encode, p_data, pdu, pdv,
};
use dicom_ul::pdu::Pdu;

use crate::support::{
    BadPeer, PC_CT, PC_ECHO, PEAK_RSS_BOUND, Provoked, observe, provoke, receivers, start,
    storage_rq, try_associate,
};

/// Junk that follows a lying length field: 8 MiB, sent as long as the receiver reads it.
fn junk_after(client: &mut Client, header: &[u8]) {
    if !client.try_send(header) {
        return;
    }
    let block = vec![0x5Au8; 64 * 1024];
    for _ in 0..128 {
        if !client.try_send(&block) {
            return;
        }
    }
}

fn half_close(client: &mut Client) {
    let _ = client.stream.tcp().shutdown(std::net::Shutdown::Write);
}

/// A valid A-ASSOCIATE-RQ with a zero-length presentation context item appended.
fn rq_with_zero_length_item() -> Vec<u8> {
    let mut bytes = encode(&Pdu::AssociationRQ(storage_rq("ZEROITEM")));
    bytes.extend_from_slice(&[0x20, 0, 0, 0]);
    let length = u32::try_from(bytes.len() - 6).expect("a short PDU");
    bytes[2..6].copy_from_slice(&length.to_be_bytes());
    bytes
}

const CASES: &[BadPeer] = &[
    BadPeer {
        name: "unknown PDU type (0x09) as first PDU",
        established: false,
        act: |c| c.send(&pdu(0x09, &[0; 4])),
    },
    BadPeer {
        name: "P-DATA-TF before association",
        established: false,
        act: |c| c.send(&p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(1))])),
    },
    BadPeer {
        name: "truncated A-ASSOCIATE-RQ, then half-close",
        established: false,
        act: |c| {
            let rq = encode(&Pdu::AssociationRQ(storage_rq("TRUNCATED")));
            c.send(&rq[..rq.len() / 2]);
            half_close(c);
        },
    },
    BadPeer {
        name: "A-ASSOCIATE-RQ claiming 4 GB, then 8 MiB of junk",
        established: false,
        act: |c| junk_after(c, &[0x01, 0, 0xFF, 0xFF, 0xFF, 0xFF]),
    },
    BadPeer {
        name: "zero-length A-ASSOCIATE-RQ",
        established: false,
        act: |c| c.send(&pdu(0x01, &[])),
    },
    BadPeer {
        name: "A-ASSOCIATE-RQ with a zero-length item",
        established: false,
        act: |c| c.send(&rq_with_zero_length_item()),
    },
    BadPeer {
        name: "P-DATA-TF claiming 4 GB, then 8 MiB of junk",
        established: true,
        act: |c| junk_after(c, &[0x04, 0, 0xFF, 0xFF, 0xFF, 0xFF]),
    },
    BadPeer {
        name: "PDV length past the end of its PDU",
        established: true,
        act: |c| {
            let mut body = 1000u32.to_be_bytes().to_vec();
            body.extend_from_slice(&[PC_ECHO, COMMAND_LAST]);
            body.extend_from_slice(&c_echo_rq(1)[..8]);
            c.send(&pdu(0x04, &body));
        },
    },
    BadPeer {
        name: "zero-length PDV item",
        established: true,
        act: |c| c.send(&pdu(0x04, &[0, 0, 0, 0])),
    },
    BadPeer {
        name: "zero-length P-DATA-TF, then a C-ECHO",
        established: true,
        act: |c| {
            c.send(&pdu(0x04, &[]));
            c.send(&p_data(&[pdv(PC_ECHO, COMMAND_LAST, &c_echo_rq(7))]));
        },
    },
    BadPeer {
        name: "second A-ASSOCIATE-RQ on an established association",
        established: true,
        act: |c| c.send(&encode(&Pdu::AssociationRQ(storage_rq("SECOND")))),
    },
    BadPeer {
        name: "truncated P-DATA-TF inside a data set, then half-close",
        established: true,
        act: |c| {
            c.send(&p_data(&[pdv(
                PC_CT,
                COMMAND_LAST,
                &dcmrecv_e2e::raw::c_store_rq(1, CT, "1.2.826.0.1.3680043.10.1145.50.1"),
            )]));
            let full = p_data(&[pdv(PC_CT, 0x00, &[0u8; 2000])]);
            c.send(&full[..1000]);
            half_close(c);
        },
    },
];

/// What the peer got back before the connection ended, by its first PDU type.
fn answer(bytes: &[u8]) -> String {
    let first = match bytes.first() {
        None => return "nothing".to_string(),
        Some(0x02) => "A-ASSOCIATE-AC",
        Some(0x03) => "A-ASSOCIATE-RJ",
        Some(0x04) => "P-DATA-TF",
        Some(0x06) => "A-RELEASE-RP",
        Some(0x07) if bytes.get(..10) == Some(&A_ABORT[..]) => "A-ABORT (0, 0)",
        Some(0x07) => "A-ABORT",
        Some(_) => "other",
    };
    format!("{first} ({} bytes)", bytes.len())
}

#[test]
fn malformed_pdus_end_only_their_own_association() {
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let od = dir.path().join("out");
        let running = start(&receiver, &["-ta", "3", "-td", "3"], &od);
        let mut failures = Vec::new();
        let idle = running.guard.peak_rss();
        for case in CASES {
            // Another peer is tried while the bad connection is still open.
            let Provoked {
                answer: got,
                ended: ended_after,
                echo,
            } = provoke(&running, case, Duration::from_secs(2));
            let what = format!(
                "answer: {}; ended after {}; C-ECHO meanwhile: {}",
                answer(&got),
                ended_after.map_or("(not within 5 s)".to_string(), |d| format!("{d:.1?}")),
                echo.map_or("not served within 2 s".to_string(), |d| format!(
                    "served in {d:.1?}"
                )),
            );
            observe(case.name, &receiver, &what);
            if receiver.is_ours() && (echo.is_none() || ended_after.is_none()) {
                failures.push(format!("{}: {what}", case.name));
            }
        }
        let alive = running.echo(Duration::from_secs(10));
        let peak = running.guard.peak_rss();
        observe(
            "after all malformed PDUs",
            &receiver,
            format!(
                "C-ECHO {alive:.1?}, peak RSS {} MB (idle: {} MB)",
                peak / (1024 * 1024),
                idle / (1024 * 1024)
            ),
        );
        assert!(alive.is_some(), "{}: no longer serving", receiver.name);
        assert!(files_under(&od).is_empty(), "{:?}", files_under(&od));
        if receiver.is_ours() {
            assert!(
                failures.is_empty(),
                "{failures:#?}\n{}",
                running.guard.stderr()
            );
            assert!(peak > 0 && peak < PEAK_RSS_BOUND, "peak RSS {peak}");
            // Two peers claimed 4 GB and sent 8 MiB each: none of it may be held.
            assert!(
                peak.saturating_sub(idle) < 4 * 1024 * 1024,
                "peak RSS grew from {idle} to {peak} bytes"
            );
        }
    }
}

/// Hostile values for the Affected SOP Instance UID (and the data set's SOP Instance UID).
const HOSTILE_UIDS: &[(&str, &str)] = &[
    ("`../` climbing", "../../../../../../tmp/dcmrecv-evil"),
    ("absolute path", "/tmp/dcmrecv-evil"),
    ("`/` inside", "1.2.3/4"),
    ("`..` alone", ".."),
    ("NUL inside", "1.2.3\u{0}/../x"),
    (
        "200 characters",
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
    ),
];

/// Hostile Series Dates (with `+ssd` they would name a directory).
const HOSTILE_DATES: &[(&str, &str)] = &[
    ("`../` climbing", "../../../../.."),
    ("slashes", "2020/01/15"),
    ("NUL inside", "2020\u{0}0115"),
    (
        "200 characters",
        "2020011520200115202001152020011520200115202001152020011520200115202001152020011520200115202001152020011520200115202001152020011520200115202001152020011520200115202001152020011520200115202001152020011520200115",
    ),
];

/// Every stored path must lie below `od` (given relative to `root`), with no `..` component.
fn outside(root: &Path, od_relative: &Path) -> Vec<PathBuf> {
    files_under(root)
        .into_keys()
        .filter(|p| {
            !p.starts_with(od_relative) || p.components().any(|c| matches!(c, Component::ParentDir))
        })
        .collect()
}

#[test]
fn hostile_uids_and_series_dates_stay_inside_the_output_directory() {
    for receiver in receivers() {
        // The output directory sits deep, so that climbing lands in the observed tree.
        let root = tempfile::tempdir().expect("tempdir");
        let od_relative = PathBuf::from("a/b/c/out");
        let od = root.path().join(&od_relative);
        let running = start(&receiver, &["+ssd"], &od);
        let mut statuses = Vec::new();
        for (i, (label, uid)) in HOSTILE_UIDS.iter().enumerate() {
            let mut instance = Instance::ct("1.2.826.0.1.3680043.10.1145.51.1");
            instance.sop_instance_uid = uid.to_string();
            let data = instance.dataset_bytes(EXPLICIT);
            let status = try_associate(running.port, "HOSTILE").and_then(|mut client| {
                let status = client.store(PC_CT, 1, CT, uid, &data);
                if status.is_some() {
                    client.release();
                }
                status
            });
            observe(
                &format!("hostile SOP Instance UID: {label}"),
                &receiver,
                format!("status {status:04X?}"),
            );
            statuses.push((i, status));
        }
        for (label, date) in HOSTILE_DATES {
            let mut instance =
                Instance::ct(&format!("1.2.826.0.1.3680043.10.1145.52.{}", date.len()));
            instance.series_date = Some(date.to_string());
            let data = instance.dataset_bytes(EXPLICIT);
            let uid = instance.sop_instance_uid.clone();
            let status = try_associate(running.port, "HOSTILE").and_then(|mut client| {
                let status = client.store(PC_CT, 1, CT, &uid, &data);
                if status.is_some() {
                    client.release();
                }
                status
            });
            observe(
                &format!("hostile Series Date (+ssd): {label}"),
                &receiver,
                format!("status {status:04X?}"),
            );
        }
        let alive = running.echo(Duration::from_secs(10));
        let stored = files_under(root.path());
        let escaped = outside(root.path(), &od_relative);
        observe(
            "hostile UIDs and Series Dates",
            &receiver,
            format!(
                "stored {:?}; outside the output directory: {escaped:?}",
                stored.keys().collect::<Vec<_>>()
            ),
        );
        assert!(alive.is_some(), "{}: no longer serving", receiver.name);
        assert!(
            escaped.is_empty(),
            "{}: wrote outside {}: {escaped:?}",
            receiver.name,
            od.display()
        );
        assert!(!Path::new("/tmp/dcmrecv-evil").exists());
        if receiver.is_ours() {
            // The 200-character UID breaks the DIMSE rules (at most 64): abort, as DCMTK does.
            // The NUL cannot be part of a file name: 0xC000. The others are stored with `/`
            // turned into `_`, as Debian's DCMTK does.
            let got: Vec<Option<u16>> = statuses.iter().map(|(_, s)| *s).collect();
            assert_eq!(
                got,
                [Some(0), Some(0), Some(0), Some(0), Some(0xC000), None],
                "{}",
                running.guard.stderr()
            );
        }
    }
}
