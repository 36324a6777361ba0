//! Prometheus metrics, rendered in the text exposition format at `GET /metrics`. Counters live in
//! memory per process (each node reports its own).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use casement_dm::server::{Effect, SessionOutcome};
use casement_dm::{CommandClass, Context};

/// Upper bounds (seconds) of the request latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// A counter's name and labels.
type CounterKey = (&'static str, Vec<(&'static str, String)>);

#[derive(Debug, Default)]
struct Inner {
    counters: BTreeMap<CounterKey, u64>,
    latency: BTreeMap<String, Histogram>,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    fn add(&self, name: &'static str, labels: Vec<(&'static str, String)>, n: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *inner.counters.entry((name, labels)).or_default() += n;
    }

    /// A refused management request, by reason.
    pub fn refusal(&self, reason: &str) {
        self.add(
            "casement_management_refusals_total",
            vec![("reason", reason.to_owned())],
            1,
        );
    }

    /// One handled management message and what it did.
    pub fn message(&self, context: Context, effects: &[Effect]) {
        self.add(
            "casement_management_messages_total",
            vec![("context", context.as_str().to_owned())],
            1,
        );
        for effect in effects {
            match effect {
                Effect::SessionStarted { .. } => self.add(
                    "casement_sessions_started_total",
                    vec![("context", context.as_str().to_owned())],
                    1,
                ),
                Effect::CommandSent { .. } => self.add(
                    "casement_commands_delivered_total",
                    vec![("context", context.as_str().to_owned())],
                    1,
                ),
                Effect::SessionEnded { outcome } => {
                    let outcome = match outcome {
                        SessionOutcome::Completed => "completed",
                        SessionOutcome::AbortedByDevice => "aborted",
                        SessionOutcome::Abandoned => "abandoned",
                        SessionOutcome::ProtocolError(_) => "protocol-error",
                    };
                    self.add(
                        "casement_sessions_ended_total",
                        vec![
                            ("context", context.as_str().to_owned()),
                            ("outcome", outcome.to_owned()),
                        ],
                        1,
                    );
                }
                Effect::UnmatchedStatus { .. } | Effect::UnmatchedResults { .. } => {
                    self.refusal("unmatched-status")
                }
                _ => {}
            }
        }
    }

    /// A delivered command by class and context.
    pub fn delivered(&self, class: CommandClass, context: Context) {
        self.add(
            "casement_commands_delivered_by_class_total",
            vec![
                ("class", class.as_str().to_owned()),
                ("context", context.as_str().to_owned()),
            ],
            1,
        );
    }

    /// A push handled by the worker, by outcome.
    pub fn push(&self, outcome: &str) {
        let label = outcome
            .split([';', ':', '('])
            .next()
            .unwrap_or(outcome)
            .trim()
            .to_owned();
        self.add("casement_pushes_total", vec![("outcome", label)], 1);
    }

    /// An HTTP request's latency on a route.
    pub fn observe_latency(&self, route: &str, seconds: f64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let h = inner.latency.entry(route.to_owned()).or_default();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let mut last = "";
        for ((name, labels), value) in &inner.counters {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
        }
        let _ = writeln!(
            out,
            "# TYPE casement_http_request_duration_seconds histogram"
        );
        for (route, h) in &inner.latency {
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "casement_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "casement_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "casement_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "casement_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_the_exposition_format() {
        let m = Metrics::default();
        m.refusal("no-certificate");
        m.refusal("no-certificate");
        m.observe_latency("management", 0.003);
        let text = m.render();
        assert!(
            text.contains("casement_management_refusals_total{reason=\"no-certificate\"} 2"),
            "{text}"
        );
        assert!(text.contains(
            "casement_http_request_duration_seconds_bucket{route=\"management\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "casement_http_request_duration_seconds_bucket{route=\"management\",le=\"0.0025\"} 0"
        ));
        assert!(
            text.contains("casement_http_request_duration_seconds_count{route=\"management\"} 1")
        );
    }
}
