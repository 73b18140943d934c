//! Calling AE titles as label values: sanitised, and capped in number.
//!
//! AE titles come from the network: any peer can put any 16 bytes in an A-ASSOCIATE-RQ, and a
//! scanner can cycle through thousands of them. A label value per title would let it grow the
//! metrics without bound, so the first [`MetricsOptions::ae_limit`](crate::MetricsOptions::ae_limit)
//! distinct titles of *accepted* associations get their own series and every other title is
//! counted under `(other)`. Rejected requests never claim a slot (they are counted under their
//! title only if it already has one), so a peer that the AE allow-lists refuse cannot use up the
//! slots. Slots are never given back: a title keeps its series for the life of the process,
//! which is what a Prometheus counter needs.

/// The label value of every title beyond the cap, and of rejected titles without a slot.
pub const OTHER_AE: &str = "(other)";

/// The label value of connections that ended before an A-ASSOCIATE-RQ named a calling AE.
pub const NO_AE: &str = "(none)";

/// The label value of a blank calling AE title.
pub const EMPTY_AE: &str = "(empty)";

/// The longest AE title (PS3.5 6.2, AE: 16 characters).
const AE_MAX_CHARS: usize = 16;

/// Turns a calling AE title as received into a label value.
///
/// Leading and trailing spaces (and NULs) are dropped, as DICOM pads AE titles; at most 16
/// characters are kept; every character outside printable ASCII, and `\` and `"`, becomes
/// `_`. A result that would start with `(` starts with `_` instead, so no title can pose as
/// [`OTHER_AE`], [`NO_AE`] or [`EMPTY_AE`]. A blank title is [`EMPTY_AE`].
///
/// ```
/// use dcmrecv_metrics::sanitize_ae_title;
///
/// assert_eq!(sanitize_ae_title("  CT_SCANNER_1 "), "CT_SCANNER_1");
/// assert_eq!(sanitize_ae_title("A\"B\\C\nD"), "A_B_C_D");
/// assert_eq!(sanitize_ae_title("(other)"), "_other)");
/// assert_eq!(sanitize_ae_title(""), "(empty)");
/// ```
pub fn sanitize_ae_title(raw: &str) -> String {
    let trimmed = raw.trim_matches([' ', '\0']);
    let mut out: String = trimmed
        .chars()
        .take(AE_MAX_CHARS)
        .map(|c| match c {
            '\\' | '"' => '_',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect();
    let kept = out.trim_end_matches([' ', '\0']).len();
    out.truncate(kept);
    if out.is_empty() {
        return EMPTY_AE.to_string();
    }
    if out.starts_with('(') {
        out.replace_range(..1, "_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize_ae_title;
    use expect_test::{Expect, expect};

    fn check(raw: &str, expect: Expect) {
        expect.assert_eq(&sanitize_ae_title(raw));
    }

    #[test]
    fn sanitising() {
        check("STORESCU", expect!["STORESCU"]);
        check("  PADDED  ", expect!["PADDED"]);
        check("INNER SPACE", expect!["INNER SPACE"]);
        check("ABCDEFGHIJKLMNOPQRSTUVWXYZ", expect!["ABCDEFGHIJKLMNOP"]);
        check("\0\0NUL\0", expect!["NUL"]);
        check("ÄÖÜ-é", expect!["___-_"]);
        check("a\tb\rc\u{7f}d", expect!["a_b_c_d"]);
        check("x\"} 1\n# EOF", expect!["x_} 1_# EOF"]);
        check("(none)", expect!["_none)"]);
        check("   ", expect!["(empty)"]);
        check("", expect!["(empty)"]);
        // Only the first 16 characters are looked at, however long the input.
        check(&"Z".repeat(1 << 20), expect!["ZZZZZZZZZZZZZZZZ"]);
    }
}
