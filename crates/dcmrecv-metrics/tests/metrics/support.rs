//! Reading an exposition back: samples by series, and a stable form for snapshots.

use std::collections::BTreeMap;

/// Every sample line as `series → value` (`series` is the name with its labels).
pub(crate) fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
            (series.to_string(), value.parse().expect("a numeric value"))
        })
        .collect()
}

/// The value of one series; panics with the exposition when it is missing.
pub(crate) fn value(text: &str, series: &str) -> f64 {
    *samples(text)
        .get(series)
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

/// The exposition with each family's samples sorted (a family's series come out of a hash
/// map, in no fixed order); comment lines stay where they are.
pub(crate) fn normalise(text: &str) -> String {
    let mut out = String::new();
    let mut block: Vec<&str> = Vec::new();
    let flush = |block: &mut Vec<&str>, out: &mut String| {
        block.sort_unstable();
        for line in block.drain(..) {
            out.push_str(line);
            out.push('\n');
        }
    };
    for line in text.lines() {
        if line.starts_with('#') {
            flush(&mut block, &mut out);
            out.push_str(line);
            out.push('\n');
        } else {
            block.push(line);
        }
    }
    flush(&mut block, &mut out);
    out
}
