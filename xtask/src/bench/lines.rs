//! A small-multiples line chart in SVG, with no dependencies: one panel per group (e.g. object
//! size), one line per series (e.g. receiver), the x values spaced evenly (1, 4, 16, 64
//! associations read as a log scale), each panel's y axis from 0 to its largest value.

use std::fmt::Write as _;

/// One line of one panel.
pub(crate) struct Series {
    pub(crate) panel: String,
    pub(crate) label: String,
    /// (x, y) points; x values are categories, shown in increasing order.
    pub(crate) points: Vec<(f64, f64)>,
}

const COLORS: [&str; 8] = [
    "#2b7bb9", "#d62728", "#7f7f7f", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round axis maximum at or above `v` (1, 2 or 5 times a power of ten).
pub(crate) fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * p)
}

/// Renders the panels side by side (two per row) with a shared legend.
pub(crate) fn render(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let mut panels: Vec<&str> = Vec::new();
    let mut labels: Vec<&str> = Vec::new();
    for s in series {
        if !panels.contains(&s.panel.as_str()) {
            panels.push(&s.panel);
        }
        if !labels.contains(&s.label.as_str()) {
            labels.push(&s.label);
        }
    }
    let (pw, ph, left, top, gap) = (380.0, 240.0, 60.0, 50.0, 40.0);
    let per_row = 2usize;
    let rows = panels.len().div_ceil(per_row).max(1);
    let width = left + per_row as f64 * (pw + gap) + 20.0;
    let legend_top = top + rows as f64 * (ph + 70.0);
    let height = legend_top + 20.0 * labels.len() as f64 + 20.0;
    let mut body = String::new();
    for (pi, panel) in panels.iter().enumerate() {
        let x0 = left + (pi % per_row) as f64 * (pw + gap);
        let y0 = top + (pi / per_row) as f64 * (ph + 70.0);
        let mine: Vec<&Series> = series.iter().filter(|s| s.panel == *panel).collect();
        let mut xs: Vec<f64> = mine
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let ymax = nice_max(
            mine.iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0, f64::max),
        );
        let xpos = |x: f64| {
            let i = xs.iter().position(|v| *v == x).unwrap_or(0) as f64;
            let n = (xs.len().max(2) - 1) as f64;
            x0 + 20.0 + i * (pw - 40.0) / n
        };
        let ypos = |y: f64| y0 + ph - ph * (y / ymax);
        let _ = writeln!(
            body,
            r##"<text x="{x0}" y="{}" font-weight="bold">{}</text><rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>"##,
            y0 - 8.0,
            escape(panel)
        );
        for k in 0..=4 {
            let v = ymax * f64::from(k) / 4.0;
            let y = ypos(v);
            let _ = writeln!(
                body,
                r##"<line x1="{x0}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end" font-size="10">{}</text>"##,
                x0 + pw,
                x0 - 4.0,
                y + 3.0,
                short(v)
            );
        }
        for x in &xs {
            let _ = writeln!(
                body,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="10">{x}</text>"#,
                xpos(*x),
                y0 + ph + 14.0
            );
        }
        let _ = writeln!(
            body,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
            x0 + pw / 2.0,
            y0 + ph + 30.0,
            escape(x_label)
        );
        for s in &mine {
            let li = labels.iter().position(|l| *l == s.label).unwrap_or(0);
            let color = COLORS[li % COLORS.len()];
            let mut pts = s.points.clone();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let path: Vec<String> = pts
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", xpos(*x), ypos(*y)))
                .collect();
            let _ = writeln!(
                body,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                path.join(" ")
            );
            for (x, y) in &pts {
                let _ = writeln!(
                    body,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                    xpos(*x),
                    ypos(*y)
                );
            }
        }
    }
    for (li, label) in labels.iter().enumerate() {
        let y = legend_top + 20.0 * li as f64;
        let _ = writeln!(
            body,
            r#"<rect x="{left}" y="{}" width="14" height="4" fill="{}"/><text x="{}" y="{y}">{}</text>"#,
            y - 6.0,
            COLORS[li % COLORS.len()],
            left + 20.0,
            escape(label)
        );
    }
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">
<text x="10" y="20" font-size="14">{}</text>
<text x="10" y="36" font-size="11">{}</text>
{body}</svg>
"#,
        escape(title),
        escape(y_label)
    )
}

/// 1500 → "1.5k", 20 → "20".
fn short(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", (v / 100.0).round() / 10.0)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.2), 5.0);
        assert_eq!(nice_max(10.0), 10.0);
        assert_eq!(nice_max(1234.0), 2000.0);
        assert_eq!(nice_max(16_000.0), 20_000.0);
        assert_eq!(short(1500.0), "1.5k");
        assert_eq!(short(20.0), "20");
        assert_eq!(short(2.5), "2.5");
    }

    #[test]
    fn one_polyline_per_series_and_a_legend_entry_per_label() {
        let s = |panel: &str, label: &str| Series {
            panel: panel.into(),
            label: label.into(),
            points: vec![(1.0, 10.0), (4.0, 30.0), (16.0, 20.0)],
        };
        let svg = render(
            "t",
            "associations",
            "files/s",
            &[s("2k", "ours"), s("2k", "dcmrecv"), s("512k", "ours")],
        );
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert_eq!(svg.matches(r#"width="14""#).count(), 2);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
