//! A small mutation fuzzer on stable Rust: seeds synthesised in code, mutations driven by a
//! seeded PRNG (so a run can be repeated), panics caught and counted on every thread involved,
//! and a corpus that keeps the inputs whose outcome was new.
//!
//! Four targets: the asconfig parser ([`Asconfig`]), DIMSE command decoding ([`Dimse`]), the
//! storage policy's data set scanner ([`Scanner`]), and a whole acceptor on 127.0.0.1 fed raw
//! PDU streams ([`Acceptor`]). The e2e suite runs each for a few seconds; `cargo xtask fuzz`
//! runs them as long as asked, keeps the corpus under `target/fuzz/` and saves failing inputs
//! there (never committed).

use std::cell::Cell;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use dcmrecv_asconfig::{AsconfigFile, PresentationContext, Profile};
use dcmrecv_storage_scp::{AcceptorOptions, ShutdownHandle, StoreRequest, StoreSink, StoreStatus};
use dicom_ul::pdu::Pdu;

use crate::objects::Instance;
use crate::raw::{
    self, COMMAND_LAST, CT, Client, DATA_LAST, DATA_MORE, EXPLICIT, IMPLICIT, VERIFICATION,
    c_echo_rq, c_store_rq, encode, pc, pdv,
};

// ---------------------------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, fast, and good enough to drive mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// `true` once in `n` times.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// Values that make length fields and counters interesting.
const INTERESTING: &[u32] = &[
    0,
    1,
    2,
    3,
    4,
    6,
    7,
    8,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x3FFF,
    0x4000,
    0x4001,
    0x7FFF,
    0x8000,
    0xFFFE,
    0xFFFF,
    0x1_0000,
    0x40_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];

/// Applies one to four random mutations to `input`, drawing spliced material from `corpus` and
/// tokens from `dictionary`; the result has at most `max_len` bytes.
pub fn mutate(
    rng: &mut Rng,
    input: &[u8],
    corpus: &[Vec<u8>],
    dictionary: &[&[u8]],
    max_len: usize,
) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(11) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = rng.next_u64() as u8;
            }
            2 if len > 0 => {
                let i = rng.below(len);
                out[i] = [0, 1, 0x7F, 0x80, 0xFF, b' ', b'\\', b'/', b'.'][rng.below(9)];
            }
            3 if len >= 2 => {
                // A 16- or 32-bit field, either byte order, set to an interesting value.
                let width = if len >= 4 && rng.one_in(2) { 4 } else { 2 };
                let i = rng.below(len - width + 1);
                let value = INTERESTING[rng.below(INTERESTING.len())];
                let bytes = if rng.one_in(2) {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                let bytes = if width == 2 {
                    if rng.one_in(2) {
                        &bytes[2..]
                    } else {
                        &bytes[..2]
                    }
                } else {
                    &bytes[..]
                };
                out[i..i + width].copy_from_slice(bytes);
            }
            4 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                out.splice(at..at, bytes);
            }
            5 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                out.drain(at..at + n);
            }
            6 if len > 0 => {
                // Duplicate a range (repeated items, nested structures).
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(256));
                let copy = out[at..at + n].to_vec();
                let to = rng.below(len + 1);
                out.splice(to..to, copy);
            }
            7 if !corpus.is_empty() => {
                // Splice a range of another input in.
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - from).min(512));
                    let at = rng.below(len + 1);
                    let end = (at + n).min(len);
                    out.splice(at..end, other[from..from + n].iter().copied());
                }
            }
            8 if !dictionary.is_empty() => {
                let token = dictionary[rng.below(dictionary.len())];
                let at = rng.below(len + 1);
                if rng.one_in(2) {
                    out.splice(at..at, token.iter().copied());
                } else {
                    let end = (at + token.len()).min(len);
                    out.splice(at..end, token.iter().copied());
                }
            }
            9 if len > 0 => out.truncate(rng.below(len)),
            _ if len > 0 => {
                // Swap two bytes.
                let (a, b) = (rng.below(len), rng.below(len));
                out.swap(a, b);
            }
            _ => out.push(rng.next_u64() as u8),
        }
    }
    out.truncate(max_len);
    out
}

// ---------------------------------------------------------------------------------------------
// Panics on any thread that works for a target

static PANICS: AtomicU64 = AtomicU64::new(0);
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

thread_local! {
    static FUZZING: Cell<bool> = const { Cell::new(false) };
}

/// Counts panics on fuzzing threads and on the acceptor's association threads (whose panics the
/// acceptor catches and only logs), and keeps the last message. Other panics only reach the
/// previous hook.
fn install_panic_hook() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = FUZZING.with(Cell::get)
                || std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("association-"));
            if ours {
                PANICS.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut last) = LAST_PANIC.lock() {
                    *last = info.to_string();
                }
            } else {
                previous(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// The driver

/// Something to fuzz.
pub trait Target {
    /// A short name (`asconfig`, `dimse`, `scanner`, `acceptor`).
    fn name(&self) -> &'static str;
    /// Valid (or interesting) inputs to start from, synthesised in code.
    fn seeds(&self) -> Vec<Vec<u8>>;
    /// Tokens worth inserting.
    fn dictionary(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
    /// The longest input to try.
    fn max_len(&self) -> usize {
        64 * 1024
    }
    /// Runs one input: `Ok` with a fingerprint of the outcome (equal fingerprints mean "behaved
    /// alike"), or `Err` when an invariant broke. A panic is a failure too.
    fn run(&mut self, input: &[u8]) -> Result<u64, String>;
    /// A check between inputs that the target is still healthy (e.g. still serving).
    fn health(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// How long, and from which seed.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Wall time for the run.
    pub duration: Duration,
    /// The PRNG seed (print it: the same seed repeats the run on the same code).
    pub seed: u64,
    /// Where to save failing inputs (`None`: nowhere).
    pub failures_dir: Option<PathBuf>,
    /// Where the corpus lives between runs: read at the start, new inputs added (`None`: the
    /// run starts from the seeds and keeps nothing).
    pub corpus_dir: Option<PathBuf>,
}

/// A failing input.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong (the invariant, or the panic message).
    pub what: String,
    /// The input, as given to the target.
    pub input: Vec<u8>,
    /// Where it was saved, if it was.
    pub saved: Option<PathBuf>,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target's name.
    pub target: &'static str,
    /// Inputs run.
    pub iterations: u64,
    /// Distinct outcomes seen.
    pub outcomes: usize,
    /// Inputs kept in the corpus.
    pub corpus: usize,
    /// Failures (at most 20 are kept).
    pub failures: Vec<Failure>,
    /// Wall time.
    pub seconds: f64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} inputs in {:.1} s ({:.0}/s), {} distinct outcomes, corpus {}, {} failures",
            self.target,
            self.iterations,
            self.seconds,
            self.iterations as f64 / self.seconds.max(1e-9),
            self.outcomes,
            self.corpus,
            self.failures.len()
        )
    }
}

/// Runs one input with panics caught; `Err` describes a failure.
pub fn run_once(target: &mut dyn Target, input: &[u8]) -> Result<u64, String> {
    install_panic_hook();
    let before = PANICS.load(Ordering::SeqCst);
    FUZZING.with(|f| f.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| target.run(input)));
    FUZZING.with(|f| f.set(false));
    let panicked = PANICS.load(Ordering::SeqCst) != before;
    let last = || LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
    match result {
        Err(_) => Err(format!("panic: {}", last())),
        Ok(_) if panicked => Err(format!("panic on another thread: {}", last())),
        Ok(result) => result,
    }
}

/// The FNV-1a hash of `bytes` (names saved inputs).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Fuzzes `target` within `budget`.
pub fn fuzz(target: &mut dyn Target, budget: &Budget) -> Report {
    let start = Instant::now();
    let mut rng = Rng::new(budget.seed);
    let dictionary_owned = target.dictionary();
    let dictionary: Vec<&[u8]> = dictionary_owned.iter().map(Vec::as_slice).collect();
    let max_len = target.max_len();
    let corpus_dir = budget.corpus_dir.as_ref();
    let mut corpus: Vec<Vec<u8>> = target.seeds();
    if let Some(dir) = corpus_dir {
        corpus.extend(read_corpus(dir));
    }
    let mut outcomes = HashSet::new();
    let mut failures: Vec<Failure> = Vec::new();
    let mut iterations = 0u64;
    let record = |what: String, input: &[u8], failures: &mut Vec<Failure>| {
        let saved = budget.failures_dir.as_ref().and_then(|dir| {
            let path = dir.join(format!("failure-{:016x}.bin", fnv(input)));
            std::fs::create_dir_all(dir).ok()?;
            std::fs::write(&path, input).ok()?;
            Some(path)
        });
        if failures.len() < 20 {
            failures.push(Failure {
                what,
                input: input.to_vec(),
                saved,
            });
        }
    };
    // The seeds themselves first.
    for seed in corpus.clone() {
        iterations += 1;
        match run_once(target, &seed) {
            Ok(outcome) => {
                outcomes.insert(outcome);
            }
            Err(what) => record(what, &seed, &mut failures),
        }
    }
    while start.elapsed() < budget.duration {
        let parent = corpus[rng.below(corpus.len())].clone();
        let input = mutate(&mut rng, &parent, &corpus, &dictionary, max_len);
        iterations += 1;
        match run_once(target, &input) {
            Ok(outcome) => {
                if outcomes.insert(outcome) && corpus.len() < 4096 {
                    if let Some(dir) = corpus_dir {
                        let _ = std::fs::create_dir_all(dir);
                        let _ = std::fs::write(dir.join(format!("{:016x}", fnv(&input))), &input);
                    }
                    corpus.push(input.clone());
                }
            }
            Err(what) => record(what, &input, &mut failures),
        }
        if iterations.is_multiple_of(256)
            && let Err(what) = target.health()
        {
            record(
                format!("unhealthy after this input: {what}"),
                &input,
                &mut failures,
            );
            break;
        }
    }
    if let Err(what) = target.health() {
        record(format!("unhealthy at the end: {what}"), &[], &mut failures);
    }
    Report {
        target: target.name(),
        iterations,
        outcomes: outcomes.len(),
        corpus: corpus.len(),
        failures,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Inputs saved in a corpus directory by earlier runs (unreadable entries are skipped).
fn read_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Every target, by name.
pub fn targets() -> Vec<Box<dyn Target>> {
    vec![
        Box::new(Asconfig),
        Box::new(Dimse),
        Box::new(Scanner),
        Box::new(Acceptor::default()),
    ]
}

// ---------------------------------------------------------------------------------------------
// asconfig

/// The asconfig parser and profile selection (public API of `dcmrecv-asconfig`).
#[derive(Debug, Default)]
pub struct Asconfig;

/// A small file with every supersection.
const ASCONFIG_SEED: &str = "# synthesised\n[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LocalEndianExplicit\nTransferSyntax2 = =LittleEndianImplicit\n  continued\n[Compressed]\nTransferSyntax1 = 1.2.840.10008.1.2.4.50\n[[PresentationContexts]]\n[Generic]\nPresentationContext1 = VerificationSOPClass\\Uncompressed\nPresentationContext2 = CTImageStorage\\ Un compressed\nPresentationContext3 = 1.2.840.10008.5.1.4.1.1.4\\Compressed\n[[SCPSCURoleSelection]]\n[Roles]\nRole1 = CTImageStorage\\BOTH\n[[ExtendedNegotiation]]\n[Ext]\nExtendedNegotiation1 = CTImageStorage\\01020a0B\n[[Profiles]]\n[Default]\nPresentationContexts = Generic\nSCPSCURoleSelection = Roles\nExtendedNegotiation = Ext\n[my.profile]\nPresentationContexts = Generic\n";

impl Target for Asconfig {
    fn name(&self) -> &'static str {
        "asconfig"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds = vec![ASCONFIG_SEED.as_bytes().to_vec()];
        // Our shipped profiles, and DCMTK's sample when installed (both are profiles, not
        // DICOM data).
        for path in [
            crate::peers::workspace_root().join("etc/dcmrecv.cfg"),
            PathBuf::from(crate::profiles::STORESCP_CFG),
        ] {
            if let Ok(bytes) = std::fs::read(path) {
                seeds.push(bytes);
            }
        }
        seeds
    }

    fn dictionary(&self) -> Vec<Vec<u8>> {
        [
            "[[",
            "]]",
            "[",
            "]",
            "=",
            "\\",
            "\n",
            "\r\n",
            "\r",
            " ",
            "\t",
            "#",
            "\0",
            "TransferSyntax1",
            "TransferSyntax2",
            "PresentationContext1",
            "Role1",
            "ExtendedNegotiation1",
            "PresentationContexts",
            "SCPSCURoleSelection",
            "ExtendedNegotiation",
            "[[Profiles]]",
            "[[TransferSyntaxes]]",
            "[[PresentationContexts]]",
            "LittleEndianExplicit",
            "=CTImageStorage",
            "SCU",
            "SCP",
            "BOTH",
            "1.2.840.10008.1.2",
            "ff",
        ]
        .iter()
        .map(|t| t.as_bytes().to_vec())
        .collect()
    }

    fn max_len(&self) -> usize {
        256 * 1024
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, String> {
        let file = match AsconfigFile::parse(input, "fuzz.cfg") {
            Ok(file) => file,
            Err(e) => {
                // The reason's kind: its first three words (the rest names values).
                let reason = e.dcmtk_reason();
                let _ = (e.to_string(), e.dcmtk_error_message(), e.line());
                let kind: Vec<&str> = reason.split_whitespace().take(3).collect();
                return Ok(fnv(kind.join(" ").as_bytes()));
            }
        };
        let names: Vec<String> = file.profile_names().map(str::to_string).collect();
        let mut fingerprint = names.len().min(8) as u64;
        for name in names
            .iter()
            .map(String::as_str)
            .chain(["", "default", "x y"])
        {
            match file.scp_profile(name) {
                Ok(profile) => {
                    for context in profile.presentation_contexts() {
                        if context.transfer_syntaxes.is_empty() {
                            return Err(format!(
                                "profile {name} accepts {} with no transfer syntax",
                                context.abstract_syntax
                            ));
                        }
                    }
                    fingerprint = fingerprint.wrapping_mul(31).wrapping_add(1);
                }
                Err(e) => {
                    let _ = (e.to_string(), e.dcmtk_reason(), e.is_profile_selection());
                    fingerprint = fingerprint.wrapping_mul(31).wrapping_add(2);
                }
            }
        }
        Ok(fingerprint)
    }
}

// ---------------------------------------------------------------------------------------------
// DIMSE command decoding

/// P-DATA-TF bodies split into PDVs and their command decoded
/// (`dcmrecv_storage_scp::fuzzing::decode_p_data`).
#[derive(Debug, Default)]
pub struct Dimse;

impl Target for Dimse {
    fn name(&self) -> &'static str {
        "dimse"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let store = c_store_rq(7, CT, "1.2.826.0.1.3680043.10.1145.60.1");
        let mut with_originator = store.clone();
        with_originator.extend(raw::element(0x1030, b"MOVER "));
        with_originator.extend(raw::element(0x1031, &9u16.to_le_bytes()));
        let find = raw::command(&[
            (0x0002, raw::uid_value("1.2.840.10008.5.1.4.1.2.2.1")),
            (0x0100, 0x0020u16.to_le_bytes().to_vec()),
            (0x0110, 3u16.to_le_bytes().to_vec()),
        ]);
        vec![
            pdv(1, COMMAND_LAST, &c_echo_rq(1)),
            pdv(3, COMMAND_LAST, &store),
            [
                pdv(3, 0x01, &store[..20]),
                pdv(3, COMMAND_LAST, &store[20..]),
            ]
            .concat(),
            [
                pdv(3, COMMAND_LAST, &with_originator),
                pdv(3, DATA_LAST, &[0; 8]),
            ]
            .concat(),
            pdv(5, COMMAND_LAST, &find),
        ]
    }

    fn dictionary(&self) -> Vec<Vec<u8>> {
        vec![
            vec![0, 0, 0, 0],
            vec![0, 0, 0x00, 0x01],
            vec![0, 0, 0x10, 0x00],
            vec![0, 0, 0x00, 0x08],
            vec![0xFF, 0xFF, 0xFF, 0xFF],
            vec![0x30, 0],
            vec![0x01, 0x01],
            vec![1, 0x03],
            vec![3, 0x00],
        ]
    }

    fn max_len(&self) -> usize {
        16 * 1024
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, String> {
        let split = dcmrecv_storage_scp::fuzzing::decode_p_data(input)?;
        // The same bytes as a bare command set, too.
        let bare = dcmrecv_storage_scp::fuzzing::decode_command(input)?;
        Ok(split ^ bare.rotate_left(32))
    }
}

// ---------------------------------------------------------------------------------------------
// The data set scanner

/// The storage policy's incremental data set scanner
/// (`dcmrecv_storage_policy::fuzzing::scan`). The first input byte picks the transfer syntax and
/// validation, the second the chunk size; the rest is the data set.
#[derive(Debug, Default)]
pub struct Scanner;

/// Transfer syntaxes the scanner distinguishes: implicit LE, explicit LE, explicit BE,
/// deflated, encapsulated (JPEG baseline), unknown.
const SCANNER_SYNTAXES: &[&str] = &[
    IMPLICIT,
    EXPLICIT,
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.50",
    "1.2.3.4.5.6",
];

impl Target for Scanner {
    fn name(&self) -> &'static str {
        "scanner"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut instance = Instance::ct("1.2.826.0.1.3680043.10.1145.61.1");
        instance.rows = 4;
        instance.columns = 4;
        let mut seeds: Vec<Vec<u8>> = SCANNER_SYNTAXES[..4]
            .iter()
            .enumerate()
            .map(|(i, ts)| {
                let mut seed = vec![(i as u8) << 1 | 1, 7];
                seed.extend(instance.dataset_bytes(ts));
                seed
            })
            .collect();
        // Explicit VR LE with a sequence of undefined length holding an item of undefined
        // length, then encapsulated pixel data (basic offset table and one fragment).
        let mut nested = vec![(4u8 << 1) | 1, 3];
        let explicit = |group: u16, element: u16, vr: &[u8; 2], value: &[u8]| {
            let mut v = group.to_le_bytes().to_vec();
            v.extend(element.to_le_bytes());
            v.extend(vr);
            v.extend((value.len() as u16).to_le_bytes());
            v.extend(value);
            v
        };
        nested.extend(explicit(
            0x0008,
            0x0016,
            b"UI",
            b"1.2.840.10008.5.1.4.1.1.2\0",
        ));
        nested.extend(explicit(0x0008, 0x0018, b"UI", b"1.2.3.4\0"));
        nested.extend(explicit(0x0008, 0x0021, b"DA", b"20200115"));
        nested.extend([
            0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        nested.extend([0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        nested.extend(explicit(
            0x0008,
            0x1150,
            b"UI",
            b"1.2.840.10008.5.1.4.1.1.2\0",
        ));
        nested.extend([0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        nested.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        nested.extend([
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        nested.extend([0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        nested.extend([0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 0xFF, 0xD8, 0xFF, 0xD9]);
        nested.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        seeds.push(nested);
        seeds
    }

    fn dictionary(&self) -> Vec<Vec<u8>> {
        vec![
            vec![0xFE, 0xFF, 0x00, 0xE0],
            vec![0xFE, 0xFF, 0x0D, 0xE0],
            vec![0xFE, 0xFF, 0xDD, 0xE0],
            vec![0xFF, 0xFF, 0xFF, 0xFF],
            b"SQ\0\0".to_vec(),
            b"UN\0\0".to_vec(),
            b"OB\0\0".to_vec(),
            b"UI".to_vec(),
            b"DA".to_vec(),
            vec![0x08, 0x00, 0x18, 0x00],
            vec![0x08, 0x00, 0x21, 0x00],
            vec![0xE0, 0x7F, 0x10, 0x00],
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, String> {
        let (&mode, rest) = input.split_first().unwrap_or((&0, &[]));
        let (&chunk, data) = rest.split_first().unwrap_or((&1, &[]));
        let ts = SCANNER_SYNTAXES[usize::from(mode >> 1) % SCANNER_SYNTAXES.len()];
        let validate = mode & 1 == 1;
        dcmrecv_storage_policy::fuzzing::scan(ts, validate, data, usize::from(chunk).max(1))
    }
}

// ---------------------------------------------------------------------------------------------
// The acceptor fed raw bytes

/// A whole acceptor (Verification and CT, counting sink) on 127.0.0.1, fed one connection per
/// input.
///
/// The input is a list of records `[tag][length: u16 BE][payload]`: a tag below 0x80 is a PDU
/// of that type whose length field is computed from the payload, so mutations inside a PDU keep
/// the framing and reach deeper; a tag of 0x80 or more sends the payload as raw bytes (lying
/// lengths, garbage). After the last record the client half-closes and reads until the
/// acceptor closes. Invariants: every connection ends, every sink is finished or aborted
/// exactly once, no thread panics, and the acceptor keeps serving.
#[derive(Default)]
pub struct Acceptor {
    server: Option<Server>,
}

struct Server {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    counts: Arc<SinkCounts>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.shutdown(Duration::ZERO);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Default)]
struct SinkCounts {
    begun: AtomicU64,
    finished: AtomicU64,
    aborted: AtomicU64,
}

struct CountingSink {
    counts: Arc<SinkCounts>,
}

impl StoreSink for CountingSink {
    fn write(&mut self, _chunk: &[u8]) -> Result<(), StoreStatus> {
        Ok(())
    }

    fn finish(self: Box<Self>) -> StoreStatus {
        self.counts.finished.fetch_add(1, Ordering::SeqCst);
        StoreStatus::success()
    }

    fn abort(self: Box<Self>) {
        self.counts.aborted.fetch_add(1, Ordering::SeqCst);
    }
}

/// Encodes PDUs as acceptor-target records.
pub fn records(pdus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for pdu in pdus {
        match pdu.split_first() {
            Some((&kind, rest)) if pdu.len() >= 6 && kind < 0x80 => {
                let body = &rest[5..];
                let length = u16::try_from(body.len()).unwrap_or(u16::MAX);
                out.push(kind);
                out.extend(length.to_be_bytes());
                out.extend(&body[..usize::from(length)]);
            }
            _ => out.extend(raw_record(pdu)),
        }
    }
    out
}

/// An acceptor-target record that sends `bytes` as they are.
pub fn raw_record(bytes: &[u8]) -> Vec<u8> {
    let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    let mut out = vec![0x80];
    out.extend(length.to_be_bytes());
    out.extend(&bytes[..usize::from(length)]);
    out
}

/// The byte stream an acceptor-target input stands for.
pub fn stream_of(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = input;
    while let Some((&kind, after)) = rest.split_first() {
        let length = match after {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => after.len(),
        };
        let after = after.get(2..).unwrap_or(&[]);
        let (payload, next) = after.split_at(length.min(after.len()));
        if kind < 0x80 {
            out.push(kind);
            out.push(0);
            out.extend((payload.len() as u32).to_be_bytes());
        }
        out.extend(payload);
        rest = next;
    }
    out
}

impl Acceptor {
    fn server(&mut self) -> &Server {
        self.server.get_or_insert_with(|| {
            let counts = Arc::new(SinkCounts::default());
            let sink_counts = Arc::clone(&counts);
            let sinks = move |_: &StoreRequest| -> Result<Box<dyn StoreSink>, StoreStatus> {
                sink_counts.begun.fetch_add(1, Ordering::SeqCst);
                Ok(Box::new(CountingSink {
                    counts: Arc::clone(&sink_counts),
                }))
            };
            let profile = Profile::new("fuzz")
                .with_presentation_context(PresentationContext {
                    abstract_syntax: VERIFICATION.to_string(),
                    transfer_syntaxes: vec![IMPLICIT.to_string()],
                })
                .with_presentation_context(PresentationContext {
                    abstract_syntax: CT.to_string(),
                    transfer_syntaxes: vec![EXPLICIT.to_string(), IMPLICIT.to_string()],
                });
            let acceptor = AcceptorOptions::new()
                .profile(profile)
                .host_lookup(false)
                .acse_timeout(Duration::from_secs(2))
                .dimse_timeout(Some(Duration::from_secs(2)))
                .bind("127.0.0.1:0", sinks)
                .expect("bind an acceptor on 127.0.0.1:0");
            let addr = acceptor.local_addr();
            let handle = acceptor.shutdown_handle();
            let thread = std::thread::spawn(move || acceptor.serve());
            Server {
                addr,
                handle,
                thread: Some(thread),
                counts,
            }
        })
    }
}

/// A valid session: association, C-ECHO, C-STORE of a small CT in three PDVs, release.
fn acceptor_session() -> Vec<Vec<u8>> {
    let rq = encode(&Pdu::AssociationRQ(raw::rq(
        "FUZZ",
        vec![
            pc(1, VERIFICATION, &[IMPLICIT]),
            pc(3, CT, &[EXPLICIT, IMPLICIT]),
        ],
    )));
    let mut instance = Instance::ct("1.2.826.0.1.3680043.10.1145.62.1");
    instance.rows = 4;
    instance.columns = 4;
    let data = instance.dataset_bytes(EXPLICIT);
    let third = (data.len() / 3) & !1;
    vec![
        rq,
        raw::p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(1))]),
        raw::p_data(&[
            pdv(
                3,
                COMMAND_LAST,
                &c_store_rq(2, CT, &instance.sop_instance_uid),
            ),
            pdv(3, DATA_MORE, &data[..third]),
        ]),
        raw::p_data(&[pdv(3, DATA_MORE, &data[third..2 * third])]),
        raw::p_data(&[pdv(3, DATA_LAST, &data[2 * third..])]),
        encode(&Pdu::ReleaseRQ),
    ]
}

impl Target for Acceptor {
    fn name(&self) -> &'static str {
        "acceptor"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let session = acceptor_session();
        let mut seeds = vec![
            records(&session),
            records(&session[..1]),
            records(&[
                session[0].clone(),
                session[2].clone(),
                raw::A_ABORT.to_vec(),
            ]),
            // The whole session as one raw record.
            raw_record(&session.concat()),
        ];
        let mut odd = session.clone();
        odd.insert(1, raw::p_data(&[pdv(3, DATA_LAST, &[1, 2, 3])]));
        seeds.push(records(&odd));
        seeds
    }

    fn dictionary(&self) -> Vec<Vec<u8>> {
        vec![
            vec![0x01, 0x00, 0x00],
            vec![0x04, 0x00, 0x00],
            vec![0x05, 0x00, 0x04, 0, 0, 0, 0],
            vec![0x07, 0x00, 0x04, 0, 0, 0, 0],
            vec![0x80, 0xFF, 0xFF],
            vec![0x10, 0x00],
            vec![0x20, 0x00],
            vec![0x30, 0x00],
            vec![0x40, 0x00],
            vec![0x50, 0x00],
            vec![0x51, 0x00, 0x00, 0x04],
            vec![0xFF, 0xFF, 0xFF, 0xFF],
            vec![0x03],
            vec![0x02],
        ]
    }

    fn max_len(&self) -> usize {
        32 * 1024
    }

    fn run(&mut self, input: &[u8]) -> Result<u64, String> {
        let server = self.server();
        let bytes = stream_of(input);
        let mut stream = TcpStream::connect(server.addr).map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = stream.set_nodelay(true);
        // The acceptor may close before reading everything: that is its right.
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(Shutdown::Write);
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        let started = Instant::now();
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return Err(format!(
                        "the acceptor kept the connection open for {:.1?} after the peer was done",
                        started.elapsed()
                    ));
                }
                Err(_) => break,
            }
        }
        // Every sink is finished or aborted by the time the connection is closed.
        let counts = &server.counts;
        let begun = counts.begun.load(Ordering::SeqCst);
        let ended = counts.finished.load(Ordering::SeqCst) + counts.aborted.load(Ordering::SeqCst);
        if begun != ended {
            return Err(format!(
                "{begun} sinks begun but {ended} finished or aborted"
            ));
        }
        Ok(answer_fingerprint(&answer))
    }

    fn health(&mut self) -> Result<(), String> {
        let addr = self.server().addr;
        let request = raw::rq("HEALTH", vec![pc(1, VERIFICATION, &[IMPLICIT])]);
        let mut client = Client::connect(addr);
        match client.request(&request) {
            Some(Pdu::AssociationAC(_)) => {}
            other => return Err(format!("A-ASSOCIATE-RQ answered with {other:?}")),
        }
        match client.echo(1, 1) {
            Some(0) => {}
            other => return Err(format!("C-ECHO answered with {other:?}")),
        }
        client.release();
        Ok(())
    }
}

/// The sequence of PDU types (and DIMSE statuses) in an answer stream.
fn answer_fingerprint(answer: &[u8]) -> u64 {
    let mut fingerprint = 0xcbf2_9ce4_8422_2325_u64;
    let mut rest = answer;
    let mut count = 0;
    while let Some(header) = rest.get(..6) {
        let length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
        let body = rest.get(6..6 + length).unwrap_or(&[]);
        fingerprint = (fingerprint ^ u64::from(header[0])).wrapping_mul(0x100_0000_01b3);
        if header[0] == 0x04 {
            // Command PDVs carry a status: (0000,0900) and its two bytes.
            if let Some(at) = body.windows(4).position(|w| w == [0, 0, 0, 9]) {
                let status = body.get(at + 8..at + 10).unwrap_or(&[]);
                fingerprint = status.iter().fold(fingerprint, |h, &b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
            }
        }
        count += 1;
        if count > 16 {
            break;
        }
        rest = rest.get(6 + length..).unwrap_or(&[]);
    }
    fingerprint ^ (rest.len().min(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_to_the_stream() {
        let session = acceptor_session();
        assert_eq!(stream_of(&records(&session)), session.concat());
        assert_eq!(
            stream_of(&[0x85, 0, 2, 9, 9, 0x04, 0, 1]),
            [9, 9, 4, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn mutation_respects_the_length_limit() {
        let mut rng = Rng::new(1);
        let corpus = vec![vec![1u8; 100]];
        for _ in 0..1000 {
            assert!(mutate(&mut rng, &corpus[0], &corpus, &[b"xyz"], 120).len() <= 120);
        }
    }
}
