//! The reviewed allow-list of deliberate differences (`xtask/conformance/allowlist.txt`).

use dcmrecv_e2e::compare::Difference;

/// One allow-list entry: a difference kind, scenario and detail patterns, and the reason.
#[derive(Debug, Clone)]
pub(crate) struct Allowed {
    kind: String,
    scenario: String,
    detail: String,
    /// Why the difference is deliberate.
    pub(crate) reason: String,
}

/// Parses the allow-list: `kind | scenario | detail | reason` per line, `#` comments; `*`
/// matches anything, other patterns match as substrings.
pub(crate) fn parse(text: &str) -> Result<Vec<Allowed>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.splitn(4, '|').map(str::trim).collect();
        let [kind, scenario, detail, reason] = fields[..] else {
            return Err(format!(
                "allowlist line {}: expected `kind | scenario | detail | reason`",
                n + 1
            ));
        };
        if reason.is_empty() {
            return Err(format!(
                "allowlist line {}: every entry needs a reason",
                n + 1
            ));
        }
        out.push(Allowed {
            kind: kind.to_string(),
            scenario: scenario.to_string(),
            detail: detail.to_string(),
            reason: reason.to_string(),
        });
    }
    Ok(out)
}

fn matches(pattern: &str, text: &str) -> bool {
    pattern == "*" || text.contains(pattern)
}

/// The entry that allows `difference` in `scenario`, if any.
pub(crate) fn find<'a>(
    list: &'a [Allowed],
    scenario: &str,
    difference: &Difference,
) -> Option<&'a Allowed> {
    list.iter().find(|a| {
        a.kind == difference.kind
            && matches(&a.scenario, scenario)
            && matches(&a.detail, &difference.detail)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_by_kind_scenario_and_detail() {
        let list = parse("# c\ngroup-length | +B | * | kept as sent\n").unwrap();
        let d = Difference {
            kind: "group-length",
            detail: "(0008,0000): values differ".into(),
        };
        assert!(find(&list, "default +B dcmsend", &d).is_some());
        assert!(find(&list, "default dcmsend", &d).is_none());
        assert!(parse("a | b | c |").is_err());
        assert!(parse("a | b").is_err());
    }
}
