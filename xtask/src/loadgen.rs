//! `cargo xtask loadgen`: the e2e harness's load generator (`dcmrecv_e2e::loadgen`) against a
//! receiver that is already running, and `cargo xtask null-scp`, its discarding SCP in a
//! process of its own (the bench starts it to measure the generator's ceiling).

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::Duration;

use dcmrecv_e2e::loadgen::{self, DataSet, LoadSpec, SinkOptions};

pub(crate) const USAGE: &str = "\
usage: cargo xtask loadgen --port P [--host 127.0.0.1] --size 2k|64k|512k|200m|BYTES
                           --assocs N --objects M [--async-window N] [--threads T]
                           [--max-pdu BYTES] [--called-ae AE] [--stall-seconds S]
  --threads T      multiplex the associations over T threads with epoll (default: one thread
                   per association, blocking sockets)
  --max-pdu BYTES  send PDUs of at most BYTES even if the receiver takes longer ones
Exit status 1 when any object was not stored with status Success.

usage: cargo xtask null-scp --port P [--max-pdu BYTES] [--window N] [--fail-every K]
  a discarding Storage SCP on 127.0.0.1:P (runs until killed)";

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, name: &str) -> Result<&'a String, String> {
    it.next()
        .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
}

fn number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{name}: `{text}` is not a valid number"))
}

/// Entry point of `cargo xtask loadgen`.
#[expect(clippy::print_stdout, reason = "the report is the command's output")]
pub(crate) fn main(argv: &[String]) -> Result<(), String> {
    let mut host = "127.0.0.1".to_string();
    let mut port = None;
    let mut size = None;
    let mut assocs = 1usize;
    let mut objects = None;
    let mut window = None;
    let mut threads = None;
    let mut max_pdu = None;
    let mut called = "ANY-SCP".to_string();
    let mut stall = 120u64;
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--host" => host = value(&mut it, a)?.clone(),
            "--port" => port = Some(number::<u16>(value(&mut it, a)?, a)?),
            "--size" => {
                let v = value(&mut it, a)?;
                size = Some(loadgen::parse_size(v).ok_or(format!("--size: `{v}` is not a size"))?);
            }
            "--assocs" => assocs = number(value(&mut it, a)?, a)?,
            "--objects" => objects = Some(number::<u64>(value(&mut it, a)?, a)?),
            "--async-window" => window = Some(number::<u16>(value(&mut it, a)?, a)?),
            "--threads" => threads = Some(number::<usize>(value(&mut it, a)?, a)?),
            "--max-pdu" => max_pdu = Some(number::<u32>(value(&mut it, a)?, a)?),
            "--called-ae" => called = value(&mut it, a)?.clone(),
            "--stall-seconds" => stall = number(value(&mut it, a)?, a)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("loadgen: unknown argument `{other}`\n{USAGE}")),
        }
    }
    let port = port.ok_or(format!("loadgen: --port is required\n{USAGE}"))?;
    let size = size.ok_or(format!("loadgen: --size is required\n{USAGE}"))?;
    let objects = objects.ok_or(format!("loadgen: --objects is required\n{USAGE}"))?;
    if assocs == 0 {
        return Err("loadgen: --assocs must be at least 1".into());
    }
    let addr: SocketAddr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("loadgen: {host}: {e}"))?
        .next()
        .ok_or(format!("loadgen: {host} has no address"))?;
    let data_set = DataSet::with_size(size);
    let spec = LoadSpec::new(addr)
        .associations(assocs)
        .objects(objects)
        .async_window(window)
        .threads(threads)
        .max_send_pdu(max_pdu)
        .called_ae(&called)
        .stall_timeout(Duration::from_secs(stall));
    let report = loadgen::run(&spec, &data_set);
    println!(
        "files/s {:.0}  MB/s {:.1}  failures {}",
        report.files_per_second(),
        report.mb_per_second(),
        report.not_stored()
    );
    println!("{}", report.summary());
    if report.is_clean() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} objects not stored with status Success",
            report.objects() - report.succeeded(),
            report.objects()
        ))
    }
}

/// Entry point of `cargo xtask null-scp`.
#[expect(clippy::print_stderr, reason = "xtask reports on stderr")]
pub(crate) fn null_scp(argv: &[String]) -> Result<(), String> {
    let mut port = None;
    let mut options = SinkOptions::default();
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = Some(number::<u16>(value(&mut it, a)?, a)?),
            "--max-pdu" => options.max_pdu = number(value(&mut it, a)?, a)?,
            "--window" => options.window = Some(number(value(&mut it, a)?, a)?),
            "--fail-every" => options.fail_every = Some(number(value(&mut it, a)?, a)?),
            other => return Err(format!("null-scp: unknown argument `{other}`\n{USAGE}")),
        }
    }
    let port = port.ok_or(format!("null-scp: --port is required\n{USAGE}"))?;
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("null-scp: bind {port}: {e}"))?;
    eprintln!("null-scp: listening on 127.0.0.1:{port}");
    Err(format!(
        "null-scp: accept: {}",
        loadgen::serve_sink(&listener, options)
    ))
}
