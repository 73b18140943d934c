//! [`Readiness`]: what `/readyz` answers, set by the program as its conditions change.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The longest reason `/readyz` shows; longer ones are cut.
const MAX_REASON_CHARS: usize = 200;

/// Whether the receiver is ready to take objects: every [`Condition`] registered on it is met.
///
/// The program registers one condition per thing that can make it unready (listening, the
/// output store writable, free space above `--min-free-space`) and flips each as it changes.
/// `/readyz` answers 200 when all are met, and otherwise 503 with the first unmet condition's
/// name and reason on one line. Updates take a mutex for a few instructions; they happen on
/// transitions, not per object.
///
/// ```
/// use dcmrecv_metrics_http::Readiness;
///
/// let readiness = Readiness::new();
/// let listening = readiness.condition("listening", "not yet bound");
/// let disk = readiness.condition("output store", "not checked yet");
/// assert_eq!(readiness.check(), Err("listening: not yet bound".to_string()));
///
/// listening.set_met();
/// disk.set_unmet("free space 1.2 GB is below --min-free-space 2G");
/// assert_eq!(
///     readiness.check(),
///     Err("output store: free space 1.2 GB is below --min-free-space 2G".to_string())
/// );
///
/// disk.set_met();
/// assert_eq!(readiness.check(), Ok(()));
/// ```
#[derive(Clone, Default)]
pub struct Readiness {
    conditions: Arc<Mutex<Vec<State>>>,
}

struct State {
    name: String,
    unmet: Option<String>,
}

impl Readiness {
    /// Ready, with no conditions yet.
    pub fn new() -> Readiness {
        Readiness::default()
    }

    /// Registers a condition, unmet for `reason` until [`Condition::set_met`] is called.
    pub fn condition(&self, name: impl Into<String>, reason: impl Into<String>) -> Condition {
        let mut conditions = self.lock();
        conditions.push(State {
            name: one_line(&name.into()),
            unmet: Some(one_line(&reason.into())),
        });
        Condition {
            readiness: self.clone(),
            index: conditions.len() - 1,
        }
    }

    /// `Ok(())` when every condition is met, else `"name: reason"` of the first that is not.
    pub fn check(&self) -> Result<(), String> {
        let conditions = self.lock();
        match conditions
            .iter()
            .find_map(|c| c.unmet.as_ref().map(|r| (c, r)))
        {
            Some((condition, reason)) => Err(format!("{}: {reason}", condition.name)),
            None => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<State>> {
        self.conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, index: usize, unmet: Option<String>) {
        if let Some(state) = self.lock().get_mut(index) {
            state.unmet = unmet;
        }
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("check", &self.check())
            .finish()
    }
}

/// One condition of a [`Readiness`], from [`Readiness::condition`].
#[derive(Clone)]
pub struct Condition {
    readiness: Readiness,
    index: usize,
}

impl Condition {
    /// The condition holds.
    pub fn set_met(&self) {
        self.readiness.set(self.index, None);
    }

    /// The condition does not hold, for `reason` (one line; control characters become
    /// spaces, and it is cut to 200 characters).
    pub fn set_unmet(&self, reason: impl Into<String>) {
        self.readiness
            .set(self.index, Some(one_line(&reason.into())));
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

fn one_line(text: &str) -> String {
    text.chars()
        .take(MAX_REASON_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Readiness;

    #[test]
    fn reasons_are_one_short_line() {
        let readiness = Readiness::new();
        let c = readiness.condition("disk\nfull", "x");
        c.set_unmet(format!("a\r\nb\t{}", "z".repeat(500)));
        let reason = readiness.check().unwrap_err();
        assert!(!reason.contains(['\n', '\r', '\t']), "{reason}");
        assert!(reason.starts_with("disk full: a  b "), "{reason}");
        assert_eq!(reason.chars().count(), "disk full: ".len() + 200);
    }

    #[test]
    fn clones_share_their_conditions() {
        let readiness = Readiness::new();
        let seen_by_server = readiness.clone();
        assert_eq!(seen_by_server.check(), Ok(()));
        let c = readiness.condition("listening", "starting");
        assert!(seen_by_server.check().is_err());
        c.clone().set_met();
        assert_eq!(seen_by_server.check(), Ok(()));
    }
}
