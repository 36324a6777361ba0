//! What the server side costs, read from `/proc` (Linux, proc(5)): CPU time from
//! `/proc/<pid>/stat` (utime + stime, fields 14 and 15, in clock ticks) and peak resident memory
//! from `/proc/<pid>/status` (`VmHWM`). A process group is a process and its descendants (a
//! PostgreSQL postmaster and its backends, an nginx master and its workers).

use std::collections::HashMap;
use std::path::Path;

/// CPU seconds and peak RSS of some processes at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// utime + stime, seconds, summed over the processes (and exited children they waited for).
    pub cpu_seconds: f64,
    /// Largest `VmHWM` among them, bytes.
    pub peak_rss_bytes: u64,
}

impl Usage {
    /// CPU spent between `earlier` and `self`.
    pub fn cpu_since(&self, earlier: &Usage) -> f64 {
        (self.cpu_seconds - earlier.cpu_seconds).max(0.0)
    }
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless the kernel says otherwise).
pub fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// `(ppid, utime + stime + cutime + cstime in ticks)` of a process, or `None` once it is gone.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    let ppid = fields.get(1)?.parse().ok()?;
    let ticks = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .sum();
    Some((ppid, ticks))
}

fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The usage of `pid` alone.
pub fn usage(pid: u32) -> Usage {
    usage_of(&[pid])
}

/// The usage of these processes (each alone).
pub fn usage_of(pids: &[u32]) -> Usage {
    let ticks = clock_ticks();
    let mut total = Usage::default();
    for &pid in pids {
        if let Some((_, t)) = stat(pid) {
            total.cpu_seconds += t as f64 / ticks;
            total.peak_rss_bytes = total.peak_rss_bytes.max(peak_rss(pid));
        }
    }
    total
}

/// The usage of `root` and all its living descendants.
pub fn group_usage(root: u32) -> Usage {
    usage_of(&descendants(root))
}

/// `root` and the processes below it.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some((ppid, _)) = stat(pid) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(c) = children.get(&out[i]) {
            out.extend(c);
        }
        i += 1;
    }
    out
}

/// The pid in a pid file (nginx, PostgreSQL's `postmaster.pid` first line).
pub fn pid_file(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let me = usage(std::process::id());
        assert!(me.peak_rss_bytes > 0);
        assert!(me.cpu_seconds >= 0.0);
        assert!(descendants(std::process::id()).contains(&std::process::id()));
    }
}
