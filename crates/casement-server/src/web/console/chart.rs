//! The dashboard's chart: sessions per context over time as stacked bars in server-rendered SVG
//! (no script), with the numbers also in a table for screen readers and for copying.

use casement_store::ContextCount;
use maud::{Markup, html};

use crate::web::words;

/// The contexts in stacking order, with their colour class (`c0`..`c3` in the stylesheet; the
/// SVG repeats the colours as attributes since the policy allows no inline styles).
const SERIES: [(&str, &str); 4] = [
    ("Machine", "#1f5fbf"),
    ("Maintenance", "#2e8540"),
    ("Apps", "#c05a00"),
    ("Other", "#6b7280"),
];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// Stacked bars, one per bucket from `since` to `now`.
pub fn sessions_per_context(counts: &[ContextCount], since: i64, now: i64, bucket: i64) -> Markup {
    let buckets = usize::try_from((now - since) / bucket + 1)
        .unwrap_or(1)
        .clamp(1, 400);
    // table[bucket][series]
    let mut table = vec![[0u64; 4]; buckets];
    for c in counts {
        let Ok(i) = usize::try_from((c.bucket_start - since) / bucket) else {
            continue;
        };
        if i >= buckets {
            continue;
        }
        let series = SERIES
            .iter()
            .position(|(name, _)| *name == c.context.as_str())
            .unwrap_or(3);
        table[i][series] += c.sessions;
    }
    let totals: Vec<u64> = table.iter().map(|row| row.iter().sum()).collect();
    let max = nice_max(totals.iter().copied().max().unwrap_or(0));
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / buckets as f64;
    let bar = (slot * 0.75).max(1.0);
    let y = |v: u64| TOP + plot_h - plot_h * v as f64 / max as f64;
    let label_every = (buckets / 8).max(1);
    let daily = bucket >= 86_400_000;
    let label = |i: usize| {
        let at = since + i as i64 * bucket;
        let text = words::absolute(at);
        if daily {
            text[5..10].to_owned()
        } else {
            text[11..16].to_owned()
        }
    };
    let sum: [u64; 4] = table.iter().fold([0; 4], |mut acc, row| {
        for (a, v) in acc.iter_mut().zip(row) {
            *a += v;
        }
        acc
    });
    let description = SERIES
        .iter()
        .zip(sum)
        .map(|((name, _), n)| format!("{name}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rects = Vec::new();
    for (i, row) in table.iter().enumerate() {
        let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
        let mut base = 0;
        for (s, (name, colour)) in SERIES.iter().enumerate() {
            if row[s] == 0 {
                continue;
            }
            let top = base + row[s];
            rects.push(Rect {
                x,
                y: y(top),
                height: y(base) - y(top),
                colour,
                title: format!("{} — {name}: {}", label(i), row[s]),
            });
            base = top;
        }
    }
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg" {
                title #chart-title { "Sessions per context" }
                desc #chart-desc { "Sessions started in the period, by context. " (description) "." }
                @for step in [0, max / 2, max] {
                    line x1=(LEFT) x2=(WIDTH - 8.0) y1=(y(step)) y2=(y(step)) stroke="#d5d9e0" stroke-width="1" {}
                    text x=(LEFT - 6.0) y=(y(step) + 4.0) text-anchor="end" font-size="11" fill="#4a5361" { (step) }
                }
                @for r in &rects {
                    rect x=(format!("{:.1}", r.x)) y=(format!("{:.1}", r.y)) width=(format!("{bar:.1}")) height=(format!("{:.1}", r.height)) fill=(r.colour) {
                        title { (r.title) }
                    }
                }
                @for (i, x) in (0..buckets).step_by(label_every).map(|i| (i, LEFT + i as f64 * slot + slot / 2.0)) {
                    text x=(format!("{x:.1}")) y=(HEIGHT - 8.0) text-anchor="middle" font-size="11" fill="#4a5361" { (label(i)) }
                }
            }
            figcaption {
                ul.legend {
                    @for (i, (name, _)) in SERIES.iter().enumerate() {
                        li { span class=(format!("swatch c{i}")) aria-hidden="true" {} (name) " (" (sum[i]) ")" }
                    }
                }
            }
        }
        details {
            summary { "The numbers" }
            div.table-wrap {
                table {
                    thead { tr { th scope="col" { "From (UTC)" } @for (name, _) in SERIES { th scope="col" { (name) } } } }
                    tbody {
                        @for (i, row) in table.iter().enumerate() {
                            @if totals[i] > 0 {
                                tr { td { (words::absolute(since + i as i64 * bucket)) } @for v in row { td { (v) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

struct Rect {
    x: f64,
    y: f64,
    height: f64,
    colour: &'static str,
    title: String,
}

/// The axis maximum: at least 2 (so the middle line is a whole number), rounded up to 1, 2 or 5
/// times a power of ten, and even.
fn nice_max(v: u64) -> u64 {
    let v = v.max(2);
    let mut unit = 1;
    loop {
        for m in [2, 4, 10] {
            if m * unit >= v {
                return m * unit;
            }
        }
        unit *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casement_store::Context;

    #[test]
    fn bars_stack_per_context_and_the_axis_is_round() {
        assert_eq!(nice_max(0), 2);
        assert_eq!(nice_max(3), 4);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(390), 400);
        let h = 3_600_000;
        let counts = [
            ContextCount {
                bucket_start: 0,
                context: Context::Machine,
                sessions: 2,
            },
            ContextCount {
                bucket_start: 0,
                context: Context::Apps,
                sessions: 1,
            },
            ContextCount {
                bucket_start: 2 * h,
                context: Context::Maintenance,
                sessions: 3,
            },
        ];
        let svg = sessions_per_context(&counts, 0, 3 * h, h).into_string();
        assert_eq!(
            svg.matches("<rect").count(),
            3,
            "one rectangle per non-zero count"
        );
        assert!(
            svg.contains("Machine: 2, Maintenance: 3, Apps: 1, Other: 0"),
            "{svg}"
        );
        assert!(svg.contains("00:00 — Apps: 1"));
    }
}
