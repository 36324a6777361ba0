//! A benchmark's report: how it was run, one row per measured phase, as a table and as JSON.

use serde::Serialize;

use crate::cluster::ServerUsage;
use crate::fleet::Measurement;

/// The whole report of one `casement bench` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was measured.
    pub title: String,
    /// The command line that ran it.
    pub command: String,
    /// How the server side and the load were set up.
    pub setup: serde_json::Value,
    /// The measured phases, in order.
    pub rows: Vec<Row>,
    /// Things the reader should know (what limits the figures, caveats).
    pub notes: Vec<String>,
}

/// One measured phase.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What was done once per operation.
    pub scenario: String,
    /// Successful operations (sessions, requests, enrollments, queued commands).
    pub operations: usize,
    /// Failed operations.
    pub errors: usize,
    /// Wall time of the timed part.
    pub seconds: f64,
    /// Operations per second.
    pub per_second: f64,
    /// Latency percentiles of one operation, ms.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// HTTP requests per operation.
    pub requests_per_operation: f64,
    /// TLS handshakes made, and the share that resumed a session.
    pub tls_handshakes: u64,
    /// See `tls_handshakes`.
    pub tls_resumed_share: f64,
    /// Server CPU per operation, ms: nodes + database server + nginx.
    pub server_cpu_ms: f64,
    /// Of which the `casement serve` nodes.
    pub node_cpu_ms: f64,
    /// Of which the PostgreSQL server.
    pub database_cpu_ms: f64,
    /// Of which nginx.
    pub nginx_cpu_ms: f64,
    /// Server CPU in cores while the phase ran (CPU seconds / wall seconds).
    pub server_cores: f64,
    /// Largest peak resident memory of a node so far, MiB.
    pub node_peak_rss_mib: f64,
    /// Rate as a fraction of the transport ceiling measured in the same run.
    pub ratio_to_ceiling: Option<f64>,
    /// Rate as a fraction of the idle check-in measured in the same run (the rows that compare
    /// a check-in with more state, e.g. verified profiles, with the idle one).
    pub ratio_to_idle: Option<f64>,
    /// The first few errors.
    pub first_errors: Vec<String>,
}

impl Row {
    /// A row from a measurement and the server's usage before and after it.
    pub fn new(
        scenario: impl Into<String>,
        m: &Measurement,
        before: &ServerUsage,
        after: &ServerUsage,
    ) -> Row {
        Row::with_cpu(scenario, m, after.cpu_since(before), after)
    }

    /// A row with the server CPU given (seconds: nodes, database, nginx).
    pub fn with_cpu(
        scenario: impl Into<String>,
        m: &Measurement,
        (nodes, database, nginx): (f64, f64, f64),
        after: &ServerUsage,
    ) -> Row {
        let ops = m.latencies.len();
        let per = |seconds: f64| seconds * 1000.0 / (ops.max(1) as f64);
        let seconds = m.elapsed.as_secs_f64();
        Row {
            scenario: scenario.into(),
            operations: ops,
            errors: m.errors.len(),
            seconds,
            per_second: m.rate(),
            p50_ms: m.percentile_ms(0.50),
            p99_ms: m.percentile_ms(0.99),
            max_ms: m.percentile_ms(1.0),
            requests_per_operation: m.requests as f64 / ops.max(1) as f64,
            tls_handshakes: m.handshakes,
            tls_resumed_share: m.resumed as f64 / m.handshakes.max(1) as f64,
            server_cpu_ms: per(nodes + database + nginx),
            node_cpu_ms: per(nodes),
            database_cpu_ms: per(database),
            nginx_cpu_ms: per(nginx),
            server_cores: (nodes + database + nginx) / seconds.max(1e-9),
            node_peak_rss_mib: after.nodes.peak_rss_bytes as f64 / (1024.0 * 1024.0),
            ratio_to_ceiling: None,
            ratio_to_idle: None,
            first_errors: m.errors.iter().take(3).cloned().collect(),
        }
    }

    /// Sets the ratio to a ceiling row's rate.
    pub fn against(mut self, ceiling: Option<&Row>) -> Row {
        self.ratio_to_ceiling = ceiling
            .filter(|c| c.per_second > 0.0)
            .map(|c| self.per_second / c.per_second);
        self
    }

    /// Sets the ratio to the idle check-in row's rate.
    pub fn against_idle(mut self, idle: Option<&Row>) -> Row {
        self.ratio_to_idle = idle
            .filter(|c| c.per_second > 0.0)
            .map(|c| self.per_second / c.per_second);
        self
    }
}

impl Report {
    /// The report as a table (for a terminal or a closing note).
    pub fn table(&self) -> String {
        let mut out = format!("{}\n  {}\n", self.title, self.command);
        out.push_str(&format!(
            "{:<40} {:>7} {:>4} {:>9} {:>7} {:>7} {:>7} {:>5} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7} {:>5}\n",
            "scenario",
            "ops",
            "err",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "req",
            "resum",
            "cpu ms",
            "node",
            "db",
            "nginx",
            "RSS MB",
            "ceiling",
            "idle",
        ));
        for r in &self.rows {
            out.push_str(&format!(
                "{:<40} {:>7} {:>4} {:>9.1} {:>7.2} {:>7.2} {:>7.1} {:>5.1} {:>6} {:>7.3} {:>6.3} {:>6.3} {:>6.3} {:>6.0} {:>7} {:>5}\n",
                truncate(&r.scenario, 40),
                r.operations,
                r.errors,
                r.per_second,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.requests_per_operation,
                if r.tls_handshakes == 0 {
                    "-".to_owned()
                } else {
                    format!("{:.0}%", r.tls_resumed_share * 100.0)
                },
                r.server_cpu_ms,
                r.node_cpu_ms,
                r.database_cpu_ms,
                r.nginx_cpu_ms,
                r.node_peak_rss_mib,
                r.ratio_to_ceiling
                    .map_or_else(|| "-".to_owned(), |x| format!("{:.0}%", x * 100.0)),
                r.ratio_to_idle
                    .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}")),
            ));
            for e in &r.first_errors {
                out.push_str(&format!("    error: {}\n", truncate(e, 200)));
            }
        }
        out.push_str(
            "  req: HTTP requests per operation; resum: TLS handshakes that resumed a session; cpu ms: server\n  CPU per operation (node + db + nginx); ceiling: ops/s as a share of the transport ceiling (a\n  trivial mTLS request over the same kind of connection) measured in this run; idle: ops/s as a\n  ratio to the idle check-in measured in this run.\n",
        );
        for note in &self.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
