//! The negotiation gate: how many associations parse and negotiate their A-ASSOCIATE-RQ at the
//! same time.
//!
//! A parsed request costs up to about a megabyte at the bounds of `bounds.rs` (dicom-ul turns
//! every sub-item into a `String`), far more than the bytes received; it lives only until the
//! A-ASSOCIATE-AC or -RJ is sent. Letting only a few threads hold one at a time keeps the peak
//! bounded whatever the number of requests arriving together. Host name lookups happen before
//! the gate, and the wait for the peer to close after a rejection after it.

use std::sync::{Condvar, Mutex, PoisonError};

/// How many associations negotiate at once.
pub(crate) const NEGOTIATING_AT_ONCE: usize = 4;

/// A counting semaphore.
#[derive(Debug)]
pub(crate) struct Gate {
    inside: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

impl Gate {
    pub(crate) fn new(limit: usize) -> Self {
        Gate {
            inside: Mutex::new(0),
            freed: Condvar::new(),
            limit: limit.max(1),
        }
    }

    /// Waits for a place; it is given back when the permit is dropped.
    pub(crate) fn enter(&self) -> Permit<'_> {
        let mut inside = self.inside.lock().unwrap_or_else(PoisonError::into_inner);
        while *inside >= self.limit {
            inside = self
                .freed
                .wait(inside)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *inside += 1;
        Permit(self)
    }
}

/// A place in the gate.
pub(crate) struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut inside = self.0.inside.lock().unwrap_or_else(PoisonError::into_inner);
        *inside = inside.saturating_sub(1);
        drop(inside);
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn at_most_the_limit_are_inside() {
        let gate = Arc::new(Gate::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) =
                    (Arc::clone(&gate), Arc::clone(&inside), Arc::clone(&most));
                std::thread::spawn(move || {
                    let _permit = gate.enter();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
