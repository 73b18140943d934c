//! The infrastructure of the object-storage and balancer scenarios, proven on its own: a real
//! three-node Garage cluster survives one node killed with SIGKILL, and the real HAProxy, run
//! from the configuration we ship in `etc/haproxy/`, spreads associations over several
//! receivers. Both fail (with an install hint) when Garage or HAProxy is missing.

use std::path::Path;
use std::time::Duration;

use dcmrecv_e2e::clients::{assert_success, store_responses, storescu};
use dcmrecv_e2e::disk::final_files;
use dcmrecv_e2e::garage::GarageCluster;
use dcmrecv_e2e::haproxy::{self, Balancer};
use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::receiver::Receiver;
use dcmrecv_e2e::upload_rate::{self, UploadPlan};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

#[test]
fn a_three_node_garage_cluster_keeps_serving_with_one_node_killed() {
    let mut cluster = GarageCluster::start();
    eprintln!(
        "garage: {} nodes ready in {:.2} s",
        cluster.node_count(),
        cluster.startup_time().as_secs_f64()
    );
    assert_eq!(cluster.node_count(), 3);
    let endpoints = cluster.s3_endpoints();
    assert_eq!(endpoints.len(), 3);
    let env = cluster.env_vars(0);
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ALLOW_HTTP",
    ] {
        assert!(
            env.iter().any(|(k, v)| k == name && !v.is_empty()),
            "{name}"
        );
    }

    // Written through node 0, read through node 1 (replication factor 3).
    let (n0, n1, n2) = (cluster.client(0), cluster.client(1), cluster.client(2));
    let first = upload_rate::content(1, 0, 300_000);
    n0.put("study/first.dcm", first.clone())
        .expect("put through node 0");
    assert_eq!(
        n1.get("study/first.dcm").expect("get through node 1"),
        first
    );
    assert_eq!(
        n2.list("study").expect("list through node 2"),
        vec![dcmrecv_e2e::s3::S3Object {
            key: "study/first.dcm".into(),
            size: 300_000
        }]
    );

    // Node 2 dies: writes and reads through nodes 0 and 1 still reach a quorum (2 of 3).
    let pid = cluster.pid(2).expect("node 2 runs");
    cluster.kill(2);
    assert!(!cluster.is_running(2));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "node 2 (pid {pid}) still exists"
    );
    assert!(n2.list("").is_err(), "node 2 answered S3 after SIGKILL");
    let second = upload_rate::content(2, 0, 6 * 1024 * 1024 + 17);
    n1.put_multipart("study/second.dcm", &second, 5 * 1024 * 1024, 2)
        .expect("multipart put through node 1 with node 2 down");
    n0.put("study/third.dcm", upload_rate::content(3, 0, 1000))
        .expect("put through node 0 with node 2 down");
    assert_eq!(n0.get("study/second.dcm").expect("get second"), second);
    assert_eq!(n1.get("study/first.dcm").expect("get first"), first);

    // Node 2 comes back with its directories and serves what was written without it.
    cluster.restart(2);
    assert!(cluster.is_running(2));
    let n2 = cluster.client(2);
    assert_eq!(
        n2.get("study/second.dcm").expect("get through node 2"),
        second
    );
    let keys: Vec<String> = n2
        .list("study")
        .expect("list")
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(
        keys,
        ["study/first.dcm", "study/second.dcm", "study/third.dcm"]
    );
    assert!(
        n2.list_multipart_uploads().is_empty(),
        "a completed multipart upload is still listed"
    );

    cluster.stop_all();
    for node in 0..3 {
        assert!(!cluster.is_running(node));
    }
}

#[test]
fn multipart_uploads_in_progress_are_listed_until_aborted() {
    let cluster = GarageCluster::start_nodes(1);
    let client = cluster.client(0);
    let key = "incomplete/object.dcm";
    let id = client
        .block_on(async {
            use object_store::multipart::MultipartStore;
            let path = object_store::path::Path::from(key);
            let id = client.store().create_multipart(&path).await?;
            let part = object_store::PutPayload::from(upload_rate::content(9, 0, 1024));
            client.store().put_part(&path, &id, 0, part).await?;
            Ok::<_, object_store::Error>(id)
        })
        .expect("start a multipart upload");
    let uploads = client.list_multipart_uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].key, key);
    assert_eq!(uploads[0].upload_id, id);
    assert!(client.list("").expect("list").is_empty());
    client
        .block_on(async {
            use object_store::multipart::MultipartStore;
            let path = object_store::path::Path::from(key);
            client.store().abort_multipart(&path, &id).await
        })
        .expect("abort the upload");
    assert!(client.list_multipart_uploads().is_empty());
}

#[test]
fn the_upload_rate_helper_stores_every_object_whole() {
    let cluster = GarageCluster::start();
    let client = cluster.client(0);
    let small = upload_rate::measure(&client, "rate/small", UploadPlan::new(10, 500_000))
        .expect("single PUTs");
    let large = upload_rate::measure(
        &client,
        "rate/large",
        UploadPlan::new(2, 20 * 1024 * 1024).streams(2),
    )
    .expect("multipart uploads");
    eprintln!("upload rate: small {small}; large {large}");
    assert_eq!(small.objects, 10);
    assert_eq!(large.bytes, 2 * 20 * 1024 * 1024);
    let listed = client.list("rate").expect("list");
    assert_eq!(listed.len(), 12);
    for (prefix, count, size) in [("rate/small", 10, 500_000), ("rate/large", 2, 20 << 20)] {
        for index in 0..count {
            let key = upload_rate::object_key(prefix, index);
            assert!(
                listed.iter().any(|o| o.key == key && o.size == size as u64),
                "{key} missing or of the wrong size: {listed:?}"
            );
        }
    }
    let second = client
        .get(&upload_rate::object_key("rate/large", 1))
        .expect("get");
    assert_eq!(second, upload_rate::content(1, 0, 20 << 20));
    assert!(client.list_multipart_uploads().is_empty());
}

#[test]
fn the_shipped_haproxy_configuration_is_valid() {
    let out = haproxy::check_config(&haproxy::shipped_config());
    assert!(
        out.status.success(),
        "haproxy -c rejects etc/haproxy/dcmrecv.cfg:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn haproxy_spreads_associations_over_three_receivers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ours = Receiver::ours();
    let receivers: Vec<_> = (0..3)
        .map(|i| {
            ours.start_local(
                &["-xf", "/etc/dcmtk/storescp.cfg", "Default"],
                &dir.path().join(format!("receiver{i}")),
            )
        })
        .collect();
    let ports: Vec<u16> = receivers.iter().map(|r| r.port).collect();
    let balancer = Balancer::start(&ports);
    let config = std::fs::read_to_string(balancer.config()).expect("rendered config");
    assert!(config.contains(&format!("bind 127.0.0.1:{}", balancer.port())));
    assert!(config.contains("mode tcp") && config.contains("balance leastconn"));

    // 30 objects in 6 associations of 5, one after the other.
    let sent = dir.path().join("sent");
    std::fs::create_dir_all(&sent).expect("mkdir sent");
    let mut batches = Vec::new();
    for association in 0..6 {
        let files: Vec<_> = (0..5)
            .map(|i| {
                let uid = format!("1.2.826.0.1.3680043.2.1143.13.{association}.{i}");
                let path = sent.join(format!("{association}-{i}.dcm"));
                Instance::ct(&uid).write(&path, EXPLICIT_LE);
                path
            })
            .collect();
        batches.push(files);
    }
    for files in &batches {
        let out = storescu(balancer.port(), &[], files);
        assert_success(&out, "storescu through haproxy");
        let statuses = store_responses(&String::from_utf8_lossy(&out.stderr));
        assert_eq!(statuses.len(), 5, "{statuses:?}");
        assert!(
            statuses.iter().all(|s| s.contains("Success")),
            "{statuses:?}"
        );
    }

    let stored: Vec<usize> = (0..3)
        .map(|i| final_files(&dir.path().join(format!("receiver{i}"))).len())
        .collect();
    assert_eq!(
        stored.iter().sum::<usize>(),
        30,
        "stored per receiver: {stored:?}"
    );
    assert!(
        stored.iter().filter(|&&n| n > 0).count() >= 2,
        "all associations went to one receiver: {stored:?}"
    );
    // HAProxy's own log agrees: one tcplog line per association, 5 objects each.
    assert!(
        balancer.wait_for_connections(6, Duration::from_secs(10)),
        "haproxy logged fewer than 6 connections:\n{}",
        balancer.log()
    );
    let per_server = balancer.connections_per_server();
    eprintln!("haproxy: associations per receiver {per_server:?}, objects {stored:?}");
    for (i, &files) in stored.iter().enumerate() {
        let associations = per_server
            .get(&format!("dcmrecv{}", i + 1))
            .copied()
            .unwrap_or(0);
        assert_eq!(
            associations * 5,
            files,
            "receiver {i}: {per_server:?} vs {stored:?}\n{}",
            balancer.log()
        );
    }
    let pid = balancer.pid();
    balancer.stop();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "haproxy survived"
    );
}

/// What Garage 2.5 does differently from AWS S3, pinned so the object-storage backend is not
/// designed on assumptions the test store breaks (and so an upgrade that changes them shows).
#[test]
fn garage_quirks_the_object_store_backend_must_live_with() {
    use object_store::multipart::MultipartStore;
    use object_store::path::Path as ObjectPath;
    use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};

    let cluster = GarageCluster::start_nodes(1);
    let client = cluster.client(0);
    let store = client.store();
    let create_only = || PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };

    // FIXME(garage 2.5): a create-only PUT (`If-None-Match: *`, object_store's
    // `PutMode::Create`) is not refused when the key exists: the object is overwritten. AWS S3
    // answers 412. Duplicates cannot be decided by the store here.
    let key = ObjectPath::from("quirks/create-only.dcm");
    let first =
        client.block_on(store.put_opts(&key, PutPayload::from(vec![1u8; 10]), create_only()));
    assert!(first.is_ok(), "{first:?}");
    let second =
        client.block_on(store.put_opts(&key, PutPayload::from(vec![2u8; 10]), create_only()));
    assert!(
        second.is_ok(),
        "garage now refuses a create-only PUT: {second:?}"
    );
    assert_eq!(client.get("quirks/create-only.dcm").expect("get")[0], 2);

    // Parts smaller than 5 MiB are accepted (AWS S3 refuses to complete an upload whose parts
    // but the last are under 5 MiB): the tests cannot catch a backend that sends small parts.
    let key = ObjectPath::from("quirks/small-parts.dcm");
    let completed = client.block_on(async {
        let id = store.create_multipart(&key).await?;
        let a = store
            .put_part(&key, &id, 0, PutPayload::from(vec![1u8; 1024]))
            .await?;
        let b = store
            .put_part(&key, &id, 1, PutPayload::from(vec![2u8; 1024]))
            .await?;
        store.complete_multipart(&key, &id, vec![a, b]).await
    });
    assert!(completed.is_ok(), "{completed:?}");
    assert_eq!(
        client.get("quirks/small-parts.dcm").expect("get").len(),
        2048
    );
}
