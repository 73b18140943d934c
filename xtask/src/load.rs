//! `cargo xtask load`: the load scenario of the e2e suite (16 `storescu` processes of 300
//! objects each, all at once; every stored data set compared with what was sent), against the
//! real dcmrecv and ours, with timing and peak RSS. `--full` sends 256×256 CT images (128 KiB
//! each, 600 MiB in all) instead of the suite's 16×16 ones.

use std::path::PathBuf;

use dcmrecv_e2e::load::{self, LoadPlan};
use dcmrecv_e2e::receiver::{Receiver, target_dir};

use crate::shell;

#[expect(clippy::print_stderr, reason = "xtask reports on stderr")]
pub(crate) fn main(argv: &[String]) -> Result<(), String> {
    let mut full = false;
    let mut ours = None;
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--full" => full = true,
            "--ours" => ours = it.next().map(PathBuf::from),
            other => {
                return Err(format!(
                    "load: unknown argument `{other}` (usage: cargo xtask load [--full] [--ours PATH])"
                ));
            }
        }
    }
    let ours = shell::ours_release(ours.as_ref())?;
    let plan = LoadPlan {
        associations: 16,
        objects: 300,
        image_side: if full { 256 } else { 16 },
    };
    let work = target_dir().join("load");
    let _ = std::fs::remove_dir_all(&work);
    eprintln!(
        "writing {} objects of {side}x{side} pixels to {}",
        plan.associations * plan.objects,
        work.display(),
        side = plan.image_side
    );
    let batches = load::write_objects(plan, &work.join("sent"));
    let receivers = [Receiver::dcmtk(), Receiver::ours_at(ours)];
    let mut problems = Vec::new();
    for receiver in &receivers {
        let od = work.join(receiver.name);
        let args = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"];
        let report = load::run(receiver, &args, &batches, &od);
        eprintln!(
            "{:>8}: {}/{} stored intact in {:.1} s ({:.0} objects/s), peak RSS {:.1} MB",
            receiver.name,
            report.identical,
            report.sent,
            report.seconds,
            report.sent as f64 / report.seconds.max(1e-9),
            report.peak_rss as f64 / 1e6
        );
        for problem in report.problems.iter().take(10) {
            eprintln!("          {problem}");
        }
        if !report.problems.is_empty() {
            problems.push(receiver.name);
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("objects lost or altered by {problems:?}"))
    }
}
