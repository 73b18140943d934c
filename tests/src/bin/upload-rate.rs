//! Starts a Garage cluster on 127.0.0.1 and measures the raw upload rate of `object_store`
//! alone into it (the physical limit of the object-storage bench rows), then stops the cluster.
//!
//! ```text
//! upload-rate [--nodes N] [--objects N] [--size BYTES] [--streams N] [--part-size BYTES]
//!             [--parts-in-flight N] [--repeat N]
//! ```
//!
//! Defaults: 3 nodes, 100 objects of 500000 bytes, 1 stream, 8 MiB parts, 4 in flight, 1 run.
//! Prints the cluster's start-up time and one line per run to stdout.

use std::process::ExitCode;

use dcmrecv_e2e::garage::GarageCluster;
use dcmrecv_e2e::upload_rate::{self, UploadPlan};

fn main() -> ExitCode {
    let mut nodes = 3;
    let mut repeat = 1;
    let mut plan = UploadPlan::new(100, 500_000);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: usize = match args.next().and_then(|v| v.parse().ok()) {
            Some(v) => v,
            None => return usage(&format!("{flag} needs a number")),
        };
        match flag.as_str() {
            "--nodes" => nodes = value,
            "--objects" => plan.objects = value,
            "--size" => plan.object_size = value,
            "--streams" => plan.streams = value,
            "--part-size" => plan.part_size = value,
            "--parts-in-flight" => plan.parts_in_flight = value,
            "--repeat" => repeat = value,
            other => return usage(&format!("unknown option {other}")),
        }
    }
    let cluster = GarageCluster::start_nodes(nodes);
    let client = cluster.client(0);
    #[expect(
        clippy::print_stdout,
        reason = "the measurement is this program's output"
    )]
    {
        println!(
            "garage: {nodes} nodes ready in {:.2} s",
            cluster.startup_time().as_secs_f64()
        );
        for run in 0..repeat {
            match upload_rate::measure(&client, &format!("run{run}"), plan) {
                Ok(rate) => println!("run {run}: {rate} ({plan:?})"),
                Err(e) => {
                    println!("run {run}: upload failed: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    #[expect(clippy::print_stderr, reason = "usage errors go to the terminal")]
    {
        eprintln!(
            "upload-rate: {problem}\nusage: upload-rate [--nodes N] [--objects N] [--size BYTES] \
             [--streams N] [--part-size BYTES] [--parts-in-flight N] [--repeat N]"
        );
    }
    ExitCode::from(2)
}
