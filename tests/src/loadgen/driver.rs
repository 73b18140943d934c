//! Driving the associations: one thread per association on blocking sockets, or a few threads
//! each multiplexing several non-blocking sockets with epoll (edge-triggered).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::event::{Timespec, epoll};
use socket2::{Domain, Socket, Type};

use super::DataSet;
use super::conn::{AssociationStats, Conn};
use super::cpu::thread_cpu_seconds;

/// What every association shares.
pub(crate) struct Plan<'a> {
    pub(crate) addr: SocketAddr,
    pub(crate) data_set: &'a DataSet,
    /// Objects per association.
    pub(crate) objects: Vec<u64>,
    pub(crate) async_window: Option<u16>,
    pub(crate) max_send_pdu: Option<u32>,
    pub(crate) called_ae: &'a str,
    /// An association that makes no progress for this long fails.
    pub(crate) stall: Duration,
    pub(crate) started: Instant,
}

/// Runs every association on its own thread with blocking sockets; returns their statistics
/// and the CPU seconds the threads used.
pub(crate) fn thread_per_association(plan: &Plan<'_>) -> (Vec<AssociationStats>, f64) {
    let results: Vec<(AssociationStats, f64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..plan.objects.len())
            .map(|i| s.spawn(move || blocking(plan, i)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a load generator thread panicked"))
            .collect()
    });
    let cpu = results.iter().map(|(_, c)| c).sum();
    (results.into_iter().map(|(s, _)| s).collect(), cpu)
}

fn blocking(plan: &Plan<'_>, i: usize) -> (AssociationStats, f64) {
    let cpu = thread_cpu_seconds();
    let stats = match connect_blocking(plan.addr, plan.stall) {
        Ok(stream) => {
            let mut conn = Conn::new(
                i as u64,
                stream,
                false,
                plan.started,
                plan.data_set,
                plan.objects[i],
                plan.async_window,
                plan.max_send_pdu,
                plan.called_ae,
            );
            while !conn.finished() {
                let wants = conn.wants();
                let result = if wants.write {
                    conn.try_write()
                } else {
                    conn.try_read()
                };
                if let Err(e) = result {
                    conn.fail(describe(&e, plan.stall));
                }
            }
            conn.stats
        }
        Err(e) => failed_before_connecting(plan, i, e),
    };
    (stats, thread_cpu_seconds() - cpu)
}

fn connect_blocking(addr: SocketAddr, stall: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, stall)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(stall))?;
    stream.set_write_timeout(Some(stall))?;
    Ok(stream)
}

/// Runs the associations on `threads` threads, each multiplexing its share of non-blocking
/// sockets with epoll; returns their statistics (in association order) and the CPU seconds
/// the threads used.
pub(crate) fn multiplexed(plan: &Plan<'_>, threads: usize) -> (Vec<AssociationStats>, f64) {
    let n = plan.objects.len();
    let threads = threads.clamp(1, n.max(1));
    let mut results: Vec<(usize, AssociationStats)> = Vec::with_capacity(n);
    let mut cpu = 0.0;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<usize> = (t..n).step_by(threads).collect();
                s.spawn(move || epoll_thread(plan, &mine))
            })
            .collect();
        for h in handles {
            let (stats, c) = h.join().expect("a load generator thread panicked");
            results.extend(stats);
            cpu += c;
        }
    });
    results.sort_by_key(|(i, _)| *i);
    (results.into_iter().map(|(_, s)| s).collect(), cpu)
}

fn epoll_thread(plan: &Plan<'_>, mine: &[usize]) -> (Vec<(usize, AssociationStats)>, f64) {
    let cpu = thread_cpu_seconds();
    let mut conns: Vec<(usize, Conn)> = Vec::new();
    let mut out: Vec<(usize, AssociationStats)> = Vec::new();
    let ep = match epoll::create(epoll::CreateFlags::CLOEXEC) {
        Ok(ep) => ep,
        Err(e) => {
            let e = io::Error::from(e);
            for &i in mine {
                out.push((
                    i,
                    failed_before_connecting(plan, i, io::Error::other(e.to_string())),
                ));
            }
            return (out, thread_cpu_seconds() - cpu);
        }
    };
    for &i in mine {
        match connect_nonblocking(plan.addr) {
            Ok(stream) => {
                let conn = Conn::new(
                    i as u64,
                    stream,
                    true,
                    plan.started,
                    plan.data_set,
                    plan.objects[i],
                    plan.async_window,
                    plan.max_send_pdu,
                    plan.called_ae,
                );
                let flags = epoll::EventFlags::IN
                    | epoll::EventFlags::OUT
                    | epoll::EventFlags::RDHUP
                    | epoll::EventFlags::ET;
                let key = epoll::EventData::new_u64(conns.len() as u64);
                if let Err(e) = epoll::add(&ep, conn.stream(), key, flags) {
                    let mut conn = conn;
                    conn.fail(format!("epoll_ctl: {e}"));
                    out.push((i, conn.stats));
                    continue;
                }
                conns.push((i, conn));
            }
            Err(e) => out.push((i, failed_before_connecting(plan, i, e))),
        }
    }
    // (readable, writable) as last reported by epoll and not yet used up.
    let mut ready = vec![(false, false); conns.len()];
    let mut events = Vec::with_capacity(conns.len().max(8));
    let mut last_progress = Instant::now();
    loop {
        for ((_, conn), ready) in conns.iter_mut().zip(ready.iter_mut()) {
            loop {
                if conn.finished() {
                    break;
                }
                let wants = conn.wants();
                let (result, flag) = if wants.read && ready.0 {
                    (conn.try_read(), &mut ready.0)
                } else if wants.write && ready.1 {
                    (conn.try_write(), &mut ready.1)
                } else {
                    break;
                };
                match result {
                    Ok(()) => last_progress = Instant::now(),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => *flag = false,
                    Err(e) => conn.fail(describe(&e, plan.stall)),
                }
            }
        }
        if conns.iter().all(|(_, c)| c.finished()) {
            break;
        }
        let left = plan.stall.saturating_sub(last_progress.elapsed());
        if left.is_zero() {
            for (_, conn) in &mut conns {
                conn.fail(format!("no progress for {:?}", plan.stall));
            }
            break;
        }
        let timeout = Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        events.clear();
        match epoll::wait(&ep, spare_capacity(&mut events), Some(&timeout)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                for (_, conn) in &mut conns {
                    conn.fail(format!("epoll_wait: {e}"));
                }
                break;
            }
        }
        for ev in &events {
            let Some(r) = ready.get_mut(ev.data.u64() as usize) else {
                continue;
            };
            let f = ev.flags;
            if f.intersects(
                epoll::EventFlags::IN
                    | epoll::EventFlags::RDHUP
                    | epoll::EventFlags::HUP
                    | epoll::EventFlags::ERR,
            ) {
                r.0 = true;
            }
            if f.intersects(
                epoll::EventFlags::OUT | epoll::EventFlags::HUP | epoll::EventFlags::ERR,
            ) {
                r.1 = true;
            }
        }
    }
    out.extend(conns.into_iter().map(|(i, c)| (i, c.stats)));
    (out, thread_cpu_seconds() - cpu)
}

fn connect_nonblocking(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}

fn failed_before_connecting(plan: &Plan<'_>, i: usize, e: io::Error) -> AssociationStats {
    AssociationStats {
        objects: plan.objects[i],
        error: Some(format!("connect: {e}")),
        ended_after: plan.started.elapsed().as_secs_f64(),
        ..AssociationStats::default()
    }
}

fn describe(e: &io::Error, stall: Duration) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            format!("no progress for {stall:?}")
        }
        _ => e.to_string(),
    }
}
