//! Load: 16 associations × 300 small objects at once. Everything must be stored with the data
//! set that was sent, and our receiver's memory must stay small.

use dcmrecv_e2e::load::{self, LoadPlan};

use crate::support::{DEFAULT_PROFILE, PEAK_RSS_BOUND, observe, receivers};

#[test]
fn sixteen_associations_of_300_objects_are_all_stored_intact_with_bounded_memory() {
    let plan = LoadPlan {
        associations: 16,
        objects: 300,
        image_side: 16,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = load::write_objects(plan, &dir.path().join("sent"));
    for receiver in receivers() {
        let od = dir.path().join(receiver.name);
        let report = load::run(&receiver, &DEFAULT_PROFILE, &batches, &od);
        observe(
            "16 associations x 300 objects at once",
            &receiver,
            format!(
                "{}/{} stored intact in {:.1} s, peak RSS {} MB, problems: {:?}",
                report.identical,
                report.sent,
                report.seconds,
                report.peak_rss / (1024 * 1024),
                report.problems.iter().take(3).collect::<Vec<_>>()
            ),
        );
        assert_eq!(report.sent, 4800);
        assert!(
            report.problems.is_empty(),
            "{}: {:?}",
            receiver.name,
            report.problems
        );
        assert_eq!(report.identical, 4800);
        if receiver.is_ours() {
            assert!(report.peak_rss > 0, "VmHWM unreadable");
            assert!(
                report.peak_rss < PEAK_RSS_BOUND,
                "peak RSS {} bytes",
                report.peak_rss
            );
        }
    }
}
