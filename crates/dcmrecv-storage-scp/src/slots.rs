//! Association slots: how many associations are served at once, which connection holds which
//! slot, how long each has been waiting for its peer, and the rule that lets a new association
//! in when every slot is held by idle ones.
//!
//! A connection takes a slot only once its A-ASSOCIATE-RQ has arrived (until then it waits in
//! the pending pool, `pending.rs`). When every slot is taken, the association that has been
//! waiting for its peer longest — longer than the ACSE timeout — is aborted and its slot goes
//! to the new association; an association that is busy on our side (a sink writing, a response
//! going out) is never idle. Otherwise the new one is rejected (A-ASSOCIATE-RJ, local limit
//! exceeded) by a thread of a small pool of its own.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// When an association started waiting for its peer, read by the acceptor to find the one
/// idle longest. Written once per PDU that has to be waited for, with relaxed atomics.
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    /// Microseconds since `epoch`, plus one, at which the association started waiting for its
    /// peer; 0 while it is busy (or has not waited yet).
    waiting_since: AtomicU64,
    /// Set when the association was chosen to make way for a new one.
    evicted: AtomicBool,
}

impl Activity {
    pub(crate) fn new(epoch: Instant) -> Self {
        Activity {
            epoch,
            waiting_since: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
        }
    }

    /// The association waits for its peer since `since`, unless it was waiting already (then
    /// the earlier instant stays: the association was established, or its last PDU answered,
    /// before its thread got round to reading again).
    pub(crate) fn waiting(&self, since: Instant) {
        let us = u64::try_from(since.saturating_duration_since(self.epoch).as_micros())
            .unwrap_or(u64::MAX - 1);
        let _ =
            self.waiting_since
                .compare_exchange(0, us + 1, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The association is busy: what it waited for has arrived.
    pub(crate) fn working(&self) {
        self.waiting_since.store(0, Ordering::Relaxed);
    }

    /// How long the association has been waiting for its peer at `now` (`None`: busy).
    pub(crate) fn idle_for(&self, now: Instant) -> Option<Duration> {
        match self.waiting_since.load(Ordering::Relaxed) {
            0 => None,
            since => {
                let since = self.epoch + Duration::from_micros(since - 1);
                Some(now.saturating_duration_since(since))
            }
        }
    }

    /// Whether the association was aborted to admit a new one.
    pub(crate) fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::SeqCst)
    }
}

/// What a slot is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An association being served (counted against the limit).
    Active,
    /// A request over the limit being rejected.
    Rejecting,
    /// An association aborted to make way for a new one; its slot went to that one.
    Evicted,
}

/// One connection that left the pending pool.
struct Slot {
    /// A clone of the TCP socket, to shut it down when aborting.
    socket: TcpStream,
    activity: Arc<Activity>,
    kind: Kind,
}

/// The connections being served, and the shutdown deadline.
#[derive(Default)]
pub(crate) struct Slots {
    /// Associations being served (counted against the limit).
    pub(crate) active: usize,
    /// Connections over the limit that are being rejected.
    pub(crate) rejecting: usize,
    connections: HashMap<u64, Slot>,
    /// When in-flight associations are aborted; set by the first shutdown call.
    pub(crate) deadline: Option<Instant>,
}

impl Slots {
    /// Records connection `id` as `kind`, with a clone of its socket.
    pub(crate) fn insert(
        &mut self,
        id: u64,
        socket: TcpStream,
        activity: Arc<Activity>,
        kind: Kind,
    ) {
        match kind {
            Kind::Active => self.active += 1,
            Kind::Rejecting => self.rejecting += 1,
            Kind::Evicted => {}
        }
        self.connections.insert(
            id,
            Slot {
                socket,
                activity,
                kind,
            },
        );
    }

    /// Forgets connection `id` (its thread ended).
    fn remove(&mut self, id: u64) {
        match self.connections.remove(&id).map(|s| s.kind) {
            Some(Kind::Active) => self.active = self.active.saturating_sub(1),
            Some(Kind::Rejecting) => self.rejecting = self.rejecting.saturating_sub(1),
            Some(Kind::Evicted) | None => {}
        }
    }

    /// The association that has been waiting for its peer longest, if longer than `threshold`
    /// (of two idle as long, the older).
    pub(crate) fn idle_longest(&self, now: Instant, threshold: Duration) -> Option<u64> {
        self.connections
            .iter()
            .filter(|(_, slot)| slot.kind == Kind::Active)
            .filter_map(|(id, slot)| Some((*id, slot.activity.idle_for(now)?)))
            .filter(|(_, idle)| *idle > threshold)
            .max_by_key(|(id, idle)| (*idle, std::cmp::Reverse(*id)))
            .map(|(id, _)| id)
    }

    /// How long each association has been idle (for the debug log).
    pub(crate) fn idle_times(&self, now: Instant) -> Vec<(u64, Option<Duration>)> {
        let mut times: Vec<_> = self
            .connections
            .iter()
            .map(|(id, slot)| (*id, slot.activity.idle_for(now)))
            .collect();
        times.sort_unstable();
        times
    }

    /// Aborts association `id` to free its slot: its thread sees the read side of its socket
    /// shut down and the eviction mark, sends A-ABORT and ends. The slot counts as free at
    /// once.
    pub(crate) fn evict(&mut self, id: u64) {
        if let Some(slot) = self.connections.get_mut(&id) {
            if slot.kind == Kind::Active {
                slot.kind = Kind::Evicted;
                self.active = self.active.saturating_sub(1);
                slot.activity.evicted.store(true, Ordering::SeqCst);
                let _ = slot.socket.shutdown(Shutdown::Read);
            }
        }
    }

    /// Whether no connection is being served or rejected any more.
    pub(crate) fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }

    /// Shuts every socket down in direction `how`.
    pub(crate) fn shutdown_all(&self, how: Shutdown) {
        for slot in self.connections.values() {
            let _ = slot.socket.shutdown(how);
        }
    }
}

/// The slots behind a lock, with a condition variable signalled whenever a slot is freed.
#[derive(Default)]
pub(crate) struct SlotTable {
    slots: Mutex<Slots>,
    pub(crate) changed: Condvar,
}

impl SlotTable {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Slots> {
        // A panic while holding this lock cannot leave the counters inconsistent (each update
        // is a single statement), so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits on `changed` for at most `timeout`.
    pub(crate) fn wait<'a>(
        &self,
        guard: MutexGuard<'a, Slots>,
        timeout: Duration,
    ) -> MutexGuard<'a, Slots> {
        self.changed
            .wait_timeout(guard, timeout)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0)
    }
}

/// Frees a connection's slot when its thread ends, however it ends.
pub(crate) struct SlotGuard {
    pub(crate) table: Arc<SlotTable>,
    pub(crate) id: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.table.lock().remove(self.id);
        self.table.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket() -> TcpStream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        TcpStream::connect(listener.local_addr().unwrap()).unwrap()
    }

    #[test]
    fn the_association_idle_longest_beyond_the_threshold_makes_way() {
        let epoch = Instant::now();
        let mut slots = Slots::default();
        let activities: Vec<Arc<Activity>> =
            (0..3).map(|_| Arc::new(Activity::new(epoch))).collect();
        for (id, a) in activities.iter().enumerate() {
            slots.insert(id as u64, socket(), Arc::clone(a), Kind::Active);
        }
        let now = epoch + Duration::from_secs(100);
        activities[0].waiting(epoch + Duration::from_secs(90));
        activities[1].waiting(epoch + Duration::from_secs(50));
        // Busy: never idle, whatever it waited for before.
        activities[2].waiting(epoch + Duration::from_secs(1));
        activities[2].working();
        // Waiting already: the earlier instant counts.
        activities[1].waiting(epoch + Duration::from_secs(95));
        assert_eq!(slots.idle_longest(now, Duration::from_secs(60)), None);
        assert_eq!(slots.idle_longest(now, Duration::from_secs(30)), Some(1));
        slots.evict(1);
        assert_eq!(slots.active, 2);
        assert!(activities[1].is_evicted());
        assert_eq!(slots.idle_longest(now, Duration::from_secs(5)), Some(0));
        // The evicted association's thread ending does not free a second slot.
        slots.remove(1);
        assert_eq!(slots.active, 2);
        slots.remove(0);
        assert_eq!(slots.active, 1);
        assert_eq!(slots.connections.len(), 1);
    }
}
