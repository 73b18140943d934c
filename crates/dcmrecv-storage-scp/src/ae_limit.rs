//! The per-calling-AE association limit (`dcmrecv --max-associations-per-ae`): how many
//! associations one calling AE title may have at once, so that one misbehaving modality cannot
//! take every slot. A claim is taken when the request is checked and released when the
//! association's thread ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The associations of each calling AE title being served.
#[derive(Debug)]
pub(crate) struct AeLimit {
    limit: usize,
    counts: Mutex<HashMap<String, usize>>,
}

/// One association's place in its calling AE title's count; released on drop.
#[derive(Debug)]
pub(crate) struct AeClaim {
    table: Arc<AeLimit>,
    calling: String,
}

impl AeLimit {
    pub(crate) fn new(limit: usize) -> Arc<AeLimit> {
        Arc::new(AeLimit {
            limit,
            counts: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Counts one more association of `calling`, or `None` when it has `limit` already.
    /// The map holds only titles with associations, so it is bounded by the association limit.
    pub(crate) fn claim(self: &Arc<Self>, calling: &str) -> Option<AeClaim> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(calling.to_string()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AeClaim {
            table: Arc::clone(self),
            calling: calling.to_string(),
        })
    }
}

impl Drop for AeClaim {
    fn drop(&mut self) {
        let mut counts = self
            .table
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.calling) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.calling);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AeLimit;

    #[test]
    fn each_title_has_its_own_limit_and_claims_are_given_back() {
        let limit = AeLimit::new(2);
        let a1 = limit.claim("CT").unwrap();
        let _a2 = limit.claim("CT").unwrap();
        assert!(limit.claim("CT").is_none());
        let _b = limit.claim("MR").unwrap();
        drop(a1);
        let _a3 = limit.claim("CT").unwrap();
        assert!(limit.claim("CT").is_none());
    }

    #[test]
    fn released_titles_leave_the_map() {
        let limit = AeLimit::new(1);
        drop(limit.claim("X").unwrap());
        assert!(limit.counts.lock().unwrap().is_empty());
    }
}
