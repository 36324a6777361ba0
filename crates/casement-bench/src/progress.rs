//! A progress bar on stderr while a phase runs: done/total, rate and time left.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A running progress bar; [`Progress::finish`] clears it.
#[derive(Debug)]
pub struct Progress {
    done: Arc<AtomicU64>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Draws `what` with `total` steps, redrawn five times a second.
    pub fn start(what: String, total: u64) -> Self {
        let done = Arc::new(AtomicU64::new(0));
        let counter = done.clone();
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let n = counter.load(Ordering::Relaxed);
                eprint!("\r{}", line(&what, n, total, started.elapsed()));
                let _ = std::io::stderr().flush();
            }
        });
        Self { done, ticker }
    }

    /// The counter to add finished steps to.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.done.clone()
    }

    /// Stops drawing and clears the line.
    pub fn finish(self) {
        self.ticker.abort();
        eprint!("\r{:100}\r", "");
        let _ = std::io::stderr().flush();
    }
}

fn line(what: &str, done: u64, total: u64, elapsed: Duration) -> String {
    const WIDTH: u64 = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH) as usize;
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    let left = if rate > 0.0 {
        format!("{:.0}s left", total.saturating_sub(done) as f64 / rate)
    } else {
        String::new()
    };
    format!(
        "{what:<28} [{}{}] {done}/{total} {rate:.0}/s {left}   ",
        "#".repeat(filled),
        "-".repeat(WIDTH as usize - filled)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_line_shows_progress_rate_and_time_left() {
        let l = super::line("idle", 50, 100, std::time::Duration::from_secs(1));
        assert!(
            l.contains("[###############---------------] 50/100 50/s 1s left"),
            "{l}"
        );
    }
}
