//! The study-completion tracker: decides, per Study Instance UID and across all associations,
//! when a study is complete. Pure and deterministic: it never reads a clock, the caller passes
//! the time in.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use crate::event::{
    AssociationEnded, AssociationId, CompletionReason, InstanceStored, StudyComplete,
};

/// The longest Study Instance UID tracked (a UI value is at most 64 characters, PS3.5 §6.2).
pub const MAX_UID_LEN: usize = 64;

/// Bounds and the end-of-study rule of a [`StudyTracker`].
///
/// ```
/// use std::time::Duration;
///
/// use dcmrecv_events::TrackerOptions;
///
/// let options = TrackerOptions::new()
///     .idle_timeout(Some(Duration::from_secs(30)))
///     .max_open_studies(1_000)
///     .max_paths_per_study(20_000);
/// assert_eq!(options.get_idle_timeout(), Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone)]
pub struct TrackerOptions {
    idle_timeout: Option<Duration>,
    max_open_studies: usize,
    max_paths_per_study: usize,
    path_bytes_budget: usize,
    remembered_revisions: usize,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        TrackerOptions::new()
    }
}

impl TrackerOptions {
    /// No timeout (a study completes when the last association that carried it ends), at most
    /// 10 000 open studies, 10 000 paths per study, 16 MiB of path text in all, and the last
    /// revision of 100 000 completed studies remembered.
    pub fn new() -> Self {
        TrackerOptions {
            idle_timeout: None,
            max_open_studies: 10_000,
            max_paths_per_study: 10_000,
            path_bytes_budget: 16 << 20,
            remembered_revisions: 100_000,
        }
    }

    /// `Some(t)`: a study is complete when no object of it has arrived for `t` (storescp's
    /// `-tos`). `None`: when the last association that carried it ends.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The most studies open at once (at least 1). A new study beyond it completes the longest
    /// idle open study early, with [`CompletionReason::Capacity`].
    pub fn max_open_studies(mut self, n: usize) -> Self {
        self.max_open_studies = n.max(1);
        self
    }

    /// The most paths listed for one revision; beyond it the event counts objects and sets
    /// `paths_truncated`.
    pub fn max_paths_per_study(mut self, n: usize) -> Self {
        self.max_paths_per_study = n;
        self
    }

    /// The most bytes of path text held for all open studies together; beyond it new paths are
    /// counted but not listed.
    pub fn path_bytes_budget(mut self, bytes: usize) -> Self {
        self.path_bytes_budget = bytes;
        self
    }

    /// How many completed studies' last revision numbers are remembered (oldest forgotten
    /// first). A late object of a forgotten study starts again at revision 1.
    pub fn remembered_revisions(mut self, n: usize) -> Self {
        self.remembered_revisions = n;
        self
    }

    /// The end-of-study timeout.
    pub fn get_idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
}

/// One open revision of a study.
#[derive(Debug)]
struct OpenStudy {
    revision: u32,
    objects: u64,
    paths: Vec<String>,
    path_bytes: usize,
    truncated: bool,
    /// The directory of the first object, or `None` once objects landed in more than one.
    directory: Option<String>,
    /// Associations that carried objects of this revision and have not ended.
    live: HashSet<AssociationId>,
    /// Distinct associations that carried objects of this revision.
    associations: u32,
    first_time: SystemTime,
    last_time: SystemTime,
    last_arrival: Instant,
    calling_ae: String,
    called_ae: String,
    remote_host: String,
}

/// Counters of a [`StudyTracker`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackerStats {
    /// Studies open now.
    pub open_studies: usize,
    /// Bytes of path text held now.
    pub path_bytes: usize,
    /// Revisions completed so far, for any reason.
    pub completed: u64,
    /// Of those, completed early to stay within `max_open_studies`.
    pub completed_for_capacity: u64,
    /// Stored instances not tracked (no Study Instance UID, or one longer than 64 bytes).
    pub untracked_instances: u64,
}

/// Decides when a study is complete, per Study Instance UID, across all associations.
///
/// **The rule.** The DICOM protocol cannot say when a study is complete, so this is a
/// heuristic, and the same for every association:
///
/// - with an idle timeout (`-tos S`), a study is complete when no object of it has been stored
///   for `S` seconds, whatever the associations do;
/// - without one, a study is complete when the last association that carried an object of it
///   ends (released, aborted or lost);
/// - an object of a study that already completed opens a new **revision** (2, 3, ...), which
///   completes by the same rule and lists only its own objects;
/// - at shutdown every open study completes, with reason `shutdown`.
///
/// Unlike storescp, an object of another study does not complete the current one: two
/// modalities sending interleaved studies each get one completion per study.
///
/// **Memory** is bounded by the [`TrackerOptions`]: at most `max_open_studies` open studies
/// (each about 300 bytes plus its UID of at most 64 bytes, its directory and one entry per
/// association still carrying it), at most `path_bytes_budget` bytes of path text across them
/// (and `max_paths_per_study` paths in one), and `remembered_revisions` (UID, number) pairs of
/// completed studies. Instances without a Study Instance UID, or with one longer than
/// [`MAX_UID_LEN`], are not tracked.
///
/// The tracker reads no clock: each call takes the current [`Instant`], and event times are
/// derived from the stored instances' times, so tests are deterministic.
///
/// ```
/// use std::time::{Duration, Instant, SystemTime};
///
/// use dcmrecv_events::{AssociationId, InstanceStored, StudyTracker, TrackerOptions};
///
/// # fn stored(study: &str, path: &str) -> InstanceStored {
/// #     InstanceStored {
/// #         time: SystemTime::UNIX_EPOCH, association: AssociationId(1), peer: String::new(),
/// #         remote_host: "localhost".into(), calling_ae: "SCU".into(), called_ae: "SCP".into(),
/// #         sop_class_uid: String::new(), sop_instance_uid: String::new(),
/// #         study_instance_uid: Some(study.into()), series_instance_uid: None,
/// #         transfer_syntax_uid: String::new(), path: path.into(), bytes: 0,
/// #         duration: Duration::ZERO, status: 0,
/// #     }
/// # }
/// let mut tracker = StudyTracker::new(TrackerOptions::new().idle_timeout(Some(Duration::from_secs(5))));
/// let t0 = Instant::now();
/// assert!(tracker.instance_stored(&stored("1.2.3", "out/CT.1"), t0).is_empty());
/// assert_eq!(tracker.next_deadline(), Some(t0 + Duration::from_secs(5)));
/// assert!(tracker.poll(t0 + Duration::from_secs(4)).is_empty());
/// let done = tracker.poll(t0 + Duration::from_secs(5));
/// assert_eq!((done[0].study_instance_uid.as_str(), done[0].revision, done[0].objects), ("1.2.3", 1, 1));
///
/// // A late object opens revision 2.
/// tracker.instance_stored(&stored("1.2.3", "out/CT.2"), t0 + Duration::from_secs(9));
/// let done = tracker.poll(t0 + Duration::from_secs(14));
/// assert_eq!((done[0].revision, done[0].paths.as_slice()), (2, ["out/CT.2".to_string()].as_slice()));
/// ```
#[derive(Debug)]
pub struct StudyTracker {
    options: TrackerOptions,
    open: HashMap<String, OpenStudy>,
    path_bytes: usize,
    /// Last completed revision per Study Instance UID, and the order they were completed in.
    revisions: HashMap<String, u32>,
    revision_order: VecDeque<(String, u32)>,
    stats: TrackerStats,
}

impl StudyTracker {
    /// A tracker with no open studies.
    pub fn new(options: TrackerOptions) -> Self {
        StudyTracker {
            options,
            open: HashMap::new(),
            path_bytes: 0,
            revisions: HashMap::new(),
            revision_order: VecDeque::new(),
            stats: TrackerStats::default(),
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> &TrackerOptions {
        &self.options
    }

    /// Counters and gauges.
    pub fn stats(&self) -> TrackerStats {
        TrackerStats {
            open_studies: self.open.len(),
            path_bytes: self.path_bytes,
            ..self.stats
        }
    }

    /// Records a stored instance at `now`. Returns the study completed to make room, if the
    /// bound on open studies was reached (its reason is [`CompletionReason::Capacity`]).
    pub fn instance_stored(&mut self, stored: &InstanceStored, now: Instant) -> Vec<StudyComplete> {
        let Some(uid) = stored
            .study_instance_uid
            .as_deref()
            .filter(|uid| !uid.is_empty() && uid.len() <= MAX_UID_LEN)
        else {
            self.stats.untracked_instances += 1;
            tracing::debug!(
                sop_instance = %stored.sop_instance_uid,
                "instance has no usable Study Instance UID; not tracked for end of study"
            );
            return Vec::new();
        };
        let mut evicted = Vec::new();
        if !self.open.contains_key(uid) {
            if self.open.len() >= self.options.max_open_studies {
                evicted.extend(self.evict_longest_idle(now));
            }
            let revision = self.revisions.get(uid).map_or(1, |r| r.saturating_add(1));
            self.open.insert(
                uid.to_string(),
                OpenStudy {
                    revision,
                    objects: 0,
                    paths: Vec::new(),
                    path_bytes: 0,
                    truncated: false,
                    directory: Some(stored.directory().to_string()),
                    live: HashSet::new(),
                    associations: 0,
                    first_time: stored.time,
                    last_time: stored.time,
                    last_arrival: now,
                    calling_ae: String::new(),
                    called_ae: String::new(),
                    remote_host: String::new(),
                },
            );
        }
        let room = self
            .options
            .path_bytes_budget
            .saturating_sub(self.path_bytes);
        let max_paths = self.options.max_paths_per_study;
        let Some(study) = self.open.get_mut(uid) else {
            return evicted;
        };
        study.objects += 1;
        if study.paths.len() < max_paths && stored.path.len() <= room {
            study.paths.push(stored.path.clone());
            study.path_bytes += stored.path.len();
            self.path_bytes += stored.path.len();
        } else {
            study.truncated = true;
        }
        if study
            .directory
            .as_deref()
            .is_some_and(|dir| dir != stored.directory())
        {
            study.directory = None;
        }
        if study.live.insert(stored.association) {
            study.associations = study.associations.saturating_add(1);
        }
        study.last_time = study.last_time.max(stored.time);
        study.last_arrival = now;
        study.calling_ae.clone_from(&stored.calling_ae);
        study.called_ae.clone_from(&stored.called_ae);
        study.remote_host.clone_from(&stored.remote_host);
        evicted
    }

    /// Records the end of an association at `now`. Without an idle timeout, returns the
    /// studies it was the last open carrier of.
    pub fn association_ended(
        &mut self,
        ended: &AssociationEnded,
        now: Instant,
    ) -> Vec<StudyComplete> {
        let mut done = Vec::new();
        for study in self.open.values_mut() {
            study.live.remove(&ended.association);
        }
        if self.options.idle_timeout.is_none() {
            let finished: Vec<String> = self
                .open
                .iter()
                .filter(|(_, s)| s.live.is_empty())
                .map(|(uid, _)| uid.clone())
                .collect();
            for uid in sorted(finished) {
                done.extend(self.complete(
                    &uid,
                    CompletionReason::AssociationsEnded,
                    now,
                    Some(ended.time),
                ));
            }
        }
        done
    }

    /// With an idle timeout: completes the studies idle for at least the timeout at `now`.
    pub fn poll(&mut self, now: Instant) -> Vec<StudyComplete> {
        let Some(timeout) = self.options.idle_timeout else {
            return Vec::new();
        };
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_arrival) >= timeout)
            .map(|(uid, _)| uid.clone())
            .collect();
        let mut done = Vec::new();
        for uid in sorted(due) {
            done.extend(self.complete(&uid, CompletionReason::IdleTimeout, now, None));
        }
        done
    }

    /// When the next study falls due under the idle timeout (`None` without a timeout or
    /// without open studies).
    pub fn next_deadline(&self) -> Option<Instant> {
        let timeout = self.options.idle_timeout?;
        self.open.values().map(|s| s.last_arrival + timeout).min()
    }

    /// Completes every open study (reason `shutdown`), in order of their last arrival.
    pub fn finish_all(&mut self, now: Instant) -> Vec<StudyComplete> {
        let mut uids: Vec<(Instant, String)> = self
            .open
            .iter()
            .map(|(uid, s)| (s.last_arrival, uid.clone()))
            .collect();
        uids.sort();
        let mut done = Vec::new();
        for (_, uid) in uids {
            done.extend(self.complete(&uid, CompletionReason::Shutdown, now, None));
        }
        done
    }

    /// Studies open now.
    pub fn open_studies(&self) -> usize {
        self.open.len()
    }

    fn evict_longest_idle(&mut self, now: Instant) -> Option<StudyComplete> {
        let uid = self
            .open
            .iter()
            .min_by(|a, b| a.1.last_arrival.cmp(&b.1.last_arrival).then(a.0.cmp(b.0)))
            .map(|(uid, _)| uid.clone())?;
        tracing::warn!(
            study = %uid,
            max_open_studies = self.options.max_open_studies,
            "too many open studies; completing the longest idle one early"
        );
        self.stats.completed_for_capacity += 1;
        self.complete(&uid, CompletionReason::Capacity, now, None)
    }

    fn complete(
        &mut self,
        uid: &str,
        reason: CompletionReason,
        now: Instant,
        time: Option<SystemTime>,
    ) -> Option<StudyComplete> {
        let study = self.open.remove(uid)?;
        self.path_bytes -= study.path_bytes;
        self.stats.completed += 1;
        self.remember_revision(uid, study.revision);
        let time = time
            .unwrap_or_else(|| study.last_time + now.saturating_duration_since(study.last_arrival));
        Some(StudyComplete {
            time,
            study_instance_uid: uid.to_string(),
            revision: study.revision,
            objects: study.objects,
            paths_truncated: study.truncated,
            paths: study.paths,
            directory: study.directory,
            associations: study.associations,
            reason,
            first_object_time: study.first_time,
            last_object_time: study.last_time,
            calling_ae: study.calling_ae,
            called_ae: study.called_ae,
            remote_host: study.remote_host,
        })
    }

    fn remember_revision(&mut self, uid: &str, revision: u32) {
        if self.options.remembered_revisions == 0 {
            return;
        }
        self.revisions.insert(uid.to_string(), revision);
        self.revision_order.push_back((uid.to_string(), revision));
        while self.revision_order.len() > self.options.remembered_revisions {
            let Some((old, old_revision)) = self.revision_order.pop_front() else {
                break;
            };
            // Only forget it if no later revision was remembered since.
            if self.revisions.get(&old) == Some(&old_revision) {
                self.revisions.remove(&old);
            }
        }
    }
}

/// Sorted, so studies falling due together complete in a stable order.
fn sorted(mut uids: Vec<String>) -> Vec<String> {
    uids.sort();
    uids
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant, SystemTime};

    use super::{StudyTracker, TrackerOptions};
    use crate::event::{
        AssociationEnded, AssociationId, CompletionReason, EndReason, InstanceStored,
    };

    fn stored(assoc: u64, study: &str, path: &str, at_secs: u64) -> InstanceStored {
        InstanceStored {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(at_secs),
            association: AssociationId(assoc),
            peer: String::new(),
            remote_host: "localhost".into(),
            calling_ae: format!("SCU{assoc}"),
            called_ae: "SCP".into(),
            sop_class_uid: String::new(),
            sop_instance_uid: String::new(),
            study_instance_uid: Some(study.into()),
            series_instance_uid: None,
            transfer_syntax_uid: String::new(),
            path: path.into(),
            bytes: 0,
            duration: Duration::ZERO,
            status: 0,
        }
    }

    fn ended(assoc: u64) -> AssociationEnded {
        AssociationEnded {
            time: SystemTime::UNIX_EPOCH,
            association: AssociationId(assoc),
            peer: String::new(),
            calling_ae: String::new(),
            called_ae: String::new(),
            reason: EndReason::Released,
            detail: None,
            stored: 0,
            failed: 0,
            bytes: 0,
            duration: Duration::ZERO,
        }
    }

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn without_timeout_a_study_completes_when_its_last_association_ends() {
        let mut t = StudyTracker::new(TrackerOptions::new());
        let t0 = Instant::now();
        // Two associations interleave objects of three studies; A spans both.
        t.instance_stored(&stored(1, "A", "o/A1", 0), t0);
        t.instance_stored(&stored(2, "A", "o/A2", 0), t0);
        t.instance_stored(&stored(1, "B", "o/B1", 0), t0);
        t.instance_stored(&stored(2, "C", "o/C1", 0), t0);
        let first = t.association_ended(&ended(1), secs(t0, 1));
        let names: Vec<_> = first
            .iter()
            .map(|s| s.study_instance_uid.as_str())
            .collect();
        assert_eq!(names, ["B"], "A is still carried by association 2");
        let second = t.association_ended(&ended(2), secs(t0, 2));
        let names: Vec<_> = second
            .iter()
            .map(|s| s.study_instance_uid.as_str())
            .collect();
        assert_eq!(names, ["A", "C"]);
        let a = &second[0];
        assert_eq!((a.objects, a.associations, a.revision), (2, 2, 1));
        assert_eq!(a.paths, ["o/A1", "o/A2"]);
        assert_eq!(a.directory.as_deref(), Some("o"));
        assert_eq!(a.reason, CompletionReason::AssociationsEnded);
        assert_eq!(
            a.calling_ae, "SCU2",
            "placeholders come from the last object's association"
        );
        assert_eq!(t.open_studies(), 0);
        assert_eq!(
            t.poll(secs(t0, 1000)).len(),
            0,
            "no timeout, nothing falls due"
        );
    }

    #[test]
    fn with_timeout_only_idleness_counts_and_late_objects_open_revisions() {
        let tos = Duration::from_secs(10);
        let mut t = StudyTracker::new(TrackerOptions::new().idle_timeout(Some(tos)));
        let t0 = Instant::now();
        t.instance_stored(&stored(1, "A", "o/A1", 0), t0);
        t.instance_stored(&stored(1, "A", "o/A2", 5), secs(t0, 5));
        assert!(
            t.association_ended(&ended(1), secs(t0, 6)).is_empty(),
            "ends do not count with -tos"
        );
        assert_eq!(t.next_deadline(), Some(secs(t0, 15)));
        assert!(t.poll(secs(t0, 14)).is_empty());
        let done = t.poll(secs(t0, 15));
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].revision, done[0].objects), (1, 2));
        assert_eq!(done[0].reason, CompletionReason::IdleTimeout);
        assert_eq!(
            done[0].time,
            SystemTime::UNIX_EPOCH + Duration::from_secs(15),
            "completion time is the last object's time plus the idle time"
        );
        // A late object: revision 2 with only its own object.
        t.instance_stored(&stored(2, "A", "p/A3", 30), secs(t0, 30));
        let late = t.poll(secs(t0, 40));
        assert_eq!((late[0].revision, late[0].objects), (2, 1));
        assert_eq!(late[0].paths, ["p/A3"]);
        // And a third.
        t.instance_stored(&stored(3, "A", "p/A4", 50), secs(t0, 50));
        assert_eq!(t.finish_all(secs(t0, 51))[0].revision, 3);
    }

    #[test]
    fn objects_in_several_directories_have_no_common_directory() {
        let mut t = StudyTracker::new(TrackerOptions::new());
        let t0 = Instant::now();
        t.instance_stored(&stored(1, "A", "o/x/A1", 0), t0);
        t.instance_stored(&stored(1, "A", "o/y/A2", 0), t0);
        assert_eq!(t.association_ended(&ended(1), t0)[0].directory, None);
    }

    #[test]
    fn paths_are_bounded_per_study_and_in_total_but_counts_are_exact() {
        let options = TrackerOptions::new()
            .max_paths_per_study(2)
            .path_bytes_budget(10);
        let mut t = StudyTracker::new(options);
        let t0 = Instant::now();
        for i in 0..4 {
            t.instance_stored(&stored(1, "A", &format!("o/A{i}"), 0), t0); // 4 bytes each
        }
        t.instance_stored(&stored(1, "B", "o/B0", 0), t0); // 8 + 4 > 10: not listed
        assert_eq!(t.stats().path_bytes, 8);
        let done = t.association_ended(&ended(1), t0);
        assert_eq!(
            (
                done[0].objects,
                done[0].paths.len(),
                done[0].paths_truncated
            ),
            (4, 2, true)
        );
        assert_eq!(
            (
                done[1].objects,
                done[1].paths.len(),
                done[1].paths_truncated
            ),
            (1, 0, true)
        );
        assert_eq!(t.stats().path_bytes, 0, "completion gives the budget back");
    }

    #[test]
    fn beyond_max_open_studies_the_longest_idle_completes_early() {
        let mut t = StudyTracker::new(TrackerOptions::new().max_open_studies(2));
        let t0 = Instant::now();
        t.instance_stored(&stored(1, "A", "o/A", 0), t0);
        t.instance_stored(&stored(1, "B", "o/B", 1), secs(t0, 1));
        t.instance_stored(&stored(1, "A", "o/A2", 2), secs(t0, 2));
        let evicted = t.instance_stored(&stored(1, "C", "o/C", 3), secs(t0, 3));
        assert_eq!(evicted.len(), 1);
        assert_eq!(evicted[0].study_instance_uid, "B");
        assert_eq!(evicted[0].reason, CompletionReason::Capacity);
        assert_eq!(t.open_studies(), 2);
        assert_eq!(t.stats().completed_for_capacity, 1);
    }

    #[test]
    fn forgotten_studies_start_again_at_revision_one() {
        let mut t = StudyTracker::new(TrackerOptions::new().remembered_revisions(1));
        let t0 = Instant::now();
        t.instance_stored(&stored(1, "A", "o/A", 0), t0);
        t.instance_stored(&stored(1, "B", "o/B", 0), t0);
        t.association_ended(&ended(1), t0); // completes A then B; only B is remembered
        t.instance_stored(&stored(2, "A", "o/A", 0), t0);
        t.instance_stored(&stored(2, "B", "o/B", 0), t0);
        let done = t.association_ended(&ended(2), t0);
        assert_eq!(
            (done[0].study_instance_uid.as_str(), done[0].revision),
            ("A", 1)
        );
        assert_eq!(
            (done[1].study_instance_uid.as_str(), done[1].revision),
            ("B", 2)
        );
    }

    #[test]
    fn instances_without_a_usable_study_uid_are_not_tracked() {
        let mut t = StudyTracker::new(TrackerOptions::new());
        let t0 = Instant::now();
        let mut none = stored(1, "", "o/x", 0);
        t.instance_stored(&none, t0);
        none.study_instance_uid = None;
        t.instance_stored(&none, t0);
        t.instance_stored(&stored(1, &"1".repeat(65), "o/y", 0), t0);
        assert_eq!(t.open_studies(), 0);
        assert_eq!(t.stats().untracked_instances, 3);
    }
}
