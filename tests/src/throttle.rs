//! A TCP proxy on 127.0.0.1 that slows the client-to-server direction down to a fixed rate, so
//! that a test can act while transfers are certainly in flight (loopback is otherwise so fast
//! that a 30 MB object is gone in a few tens of milliseconds).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A running proxy; it stops accepting when dropped (connections in progress run to their end).
pub struct ThrottledProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl ThrottledProxy {
    /// Listens on a free 127.0.0.1 port and forwards every connection to `127.0.0.1:target`,
    /// passing client bytes on at `bytes_per_second` per connection (the replies are not
    /// slowed down).
    pub fn start(target: u16, bytes_per_second: u64) -> ThrottledProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy on 127.0.0.1:0");
        let port = listener.local_addr().expect("proxy address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let accept = thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], target)))
                else {
                    continue; // the client sees its connection closed
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                thread::spawn(move || forward(client, server, Some(bytes_per_second)));
                thread::spawn(move || forward(server2, client2, None));
            }
        });
        ThrottledProxy {
            port,
            stop,
            accept: Some(accept),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for ThrottledProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], self.port)));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Copies `from` to `to` until either side closes, at most `rate` bytes per second; then closes
/// the write side of `to` (and the read side of `from`) so the other direction ends too.
fn forward(mut from: TcpStream, mut to: TcpStream, rate: Option<u64>) {
    const CHUNK: usize = 16 * 1024;
    let mut buf = vec![0u8; CHUNK];
    let start = Instant::now();
    let mut sent: u64 = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n as u64;
        if let Some(rate) = rate {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
