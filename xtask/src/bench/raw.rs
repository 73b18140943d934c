//! The physical limit: the bytes of the benchmark files sent over a plain loopback TCP
//! connection and written into one file, with no DICOM at all.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Sends every file over loopback TCP into `dest`; returns the seconds it took.
pub(crate) fn copy_files(files: &[PathBuf], dest: &Path) -> Result<f64, String> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("local addr: {e}"))?;
    let dest = dest.to_path_buf();
    let start = Instant::now();
    let server = std::thread::spawn(move || -> Result<u64, String> {
        let (mut sock, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        let mut out = BufWriter::with_capacity(
            1 << 20,
            File::create(&dest).map_err(|e| format!("create {}: {e}", dest.display()))?,
        );
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            let n = sock.read(&mut buf).map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])
                .map_err(|e| format!("write: {e}"))?;
            total += n as u64;
        }
        out.flush().map_err(|e| format!("flush: {e}"))?;
        Ok(total)
    });
    let mut sock = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    sock.set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| format!("read {}: {e}", f.display()))?;
        sock.write_all(&bytes).map_err(|e| format!("send: {e}"))?;
    }
    drop(sock);
    server
        .join()
        .map_err(|_| "raw copy server panicked".to_string())??;
    Ok(start.elapsed().as_secs_f64())
}

/// Sends `count` copies of `object` (from memory) over one loopback TCP connection; the
/// server writes them into one file (`per_object` false) or each into a file of its own in
/// the directory `dest` (created, written, closed: the least a receiver does per object).
/// Returns the seconds it took.
pub(crate) fn copy_objects(
    object: &[u8],
    count: u64,
    dest: &Path,
    per_object: bool,
) -> Result<f64, String> {
    let dir = if per_object {
        dest.to_path_buf()
    } else {
        dest.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("local addr: {e}"))?;
    let len = object.len();
    let dest = dest.to_path_buf();
    let start = Instant::now();
    let server = std::thread::spawn(move || -> Result<(), String> {
        let (mut sock, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        let mut buf = vec![0u8; 1 << 16];
        let create = |p: &Path| {
            File::create(p)
                .map(|f| BufWriter::with_capacity(256 << 10, f))
                .map_err(|e| format!("create {}: {e}", p.display()))
        };
        let mut one = if per_object {
            None
        } else {
            Some(create(&dest)?)
        };
        for n in 0..count {
            let mut out = match one.take() {
                Some(w) => w,
                None => create(&dest.join(format!("obj{n}")))?,
            };
            let mut left = len;
            while left > 0 {
                let want = left.min(buf.len());
                sock.read_exact(&mut buf[..want])
                    .map_err(|e| format!("read: {e}"))?;
                out.write_all(&buf[..want])
                    .map_err(|e| format!("write: {e}"))?;
                left -= want;
            }
            if per_object {
                out.flush().map_err(|e| format!("flush: {e}"))?;
            } else {
                one = Some(out);
            }
        }
        if let Some(mut w) = one {
            w.flush().map_err(|e| format!("flush: {e}"))?;
        }
        Ok(())
    });
    let mut sock = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    sock.set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    for _ in 0..count {
        sock.write_all(object).map_err(|e| format!("send: {e}"))?;
    }
    drop(sock);
    server
        .join()
        .map_err(|_| "raw copy server panicked".to_string())??;
    Ok(start.elapsed().as_secs_f64())
}
