//! A small grouped horizontal bar chart in SVG, with no dependencies.

use std::fmt::Write as _;

/// One bar: its group (scenario), label (receiver) and value (MB/s).
pub(crate) struct Bar {
    pub(crate) group: String,
    pub(crate) label: String,
    pub(crate) value: f64,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders the bars grouped by scenario, scaled to the largest value.
pub(crate) fn render(bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).fold(1.0_f64, f64::max);
    let (left, width, bar_h, gap) = (330.0, 420.0, 16.0, 4.0);
    let mut y = 30.0;
    let mut body = String::new();
    let mut last_group = "";
    for b in bars {
        if b.group != last_group {
            y += 14.0;
            let _ = writeln!(
                body,
                r#"<text x="10" y="{y}" font-weight="bold">{}</text>"#,
                escape(&b.group)
            );
            y += 6.0;
            last_group = &b.group;
        }
        let w = width * b.value / max;
        let color = if b.label.starts_with("ours") {
            "#2b7bb9"
        } else {
            "#999999"
        };
        let _ = writeln!(
            body,
            r#"<text x="20" y="{}">{}</text><rect x="{left}" y="{y}" width="{w:.1}" height="{bar_h}" fill="{color}"/><text x="{:.1}" y="{}">{:.0} MB/s</text>"#,
            y + 12.0,
            escape(&b.label),
            left + w + 5.0,
            y + 12.0,
            b.value
        );
        y += bar_h + gap;
    }
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="860" height="{}" font-family="sans-serif" font-size="12">
<text x="10" y="18" font-size="14">dcmrecv-rs vs DCMTK dcmrecv: throughput (MB/s, median)</text>
{body}</svg>
"#,
        y + 20.0
    )
}
