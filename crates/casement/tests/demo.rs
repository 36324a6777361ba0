//! `casement demo --exit` (issue 16): the seed's story on one laptop finishes in time, exits 0,
//! and its timeline shows what the product contract promises (docs/product.md §2, §3 flows 5–6).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_casement");
/// The demo must finish in under a minute.
const DEADLINE: Duration = Duration::from_secs(60);

/// One timeline entry: its first line (`HH:MM  PC-xx  …`) and the indented lines after it.
#[derive(Debug)]
struct Entry {
    head: String,
    body: Vec<String>,
}

impl Entry {
    fn has(&self, needle: &str) -> bool {
        self.head.contains(needle) || self.body.iter().any(|l| l.contains(needle))
    }
    fn line(&self, prefix: &str) -> Option<&str> {
        self.body
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with(prefix))
    }
}

#[test]
fn the_demo_plays_the_day_and_its_timeline_shows_contexts_pushes_and_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("demo.out");
    let out = std::fs::File::create(&out_path).unwrap();
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["demo", "--exit", "--dir"])
        .arg(dir.path().join("demo"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "casement demo --exit took more than {DEADLINE:?}:\n{}",
                std::fs::read_to_string(&out_path).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(status.success(), "exit {status}:\n{text}");
    let entries = timeline(&text);
    let find = |what: &str, check: &dyn Fn(&Entry) -> bool| {
        entries
            .iter()
            .position(check)
            .unwrap_or_else(|| panic!("no entry: {what}\n{text}"))
    };

    // A Machine session carried inventory while a settings command waited for Maintenance.
    let reboot = find("8.1 reboot in Machine", &|e| {
        e.head.contains("PC-81") && e.head.contains("reboot") && e.head.contains("mode=Machine")
    });
    let e = &entries[reboot];
    assert!(e.has("the server recorded a Machine session"), "{e:?}");
    assert!(
        e.line("carried:")
            .is_some_and(|l| l.contains("Win32_OperatingSystem")),
        "{e:?}"
    );
    assert!(
        e.body.iter().any(|l| l.contains("waiting:")
            && l.contains("MDM_EASPolicy")
            && l.contains("waits for a Maintenance session")),
        "{e:?}"
    );

    // The nightly run: Maintenance with the user locked, Machine with the user logged off.
    let locked = find("nightly, user locked", &|e| {
        e.head.contains("nightly (user locked)") && e.head.contains("mode=Maintenance")
    });
    assert!(entries[locked].has("the server recorded a Maintenance session"));
    let logged_off = find("nightly, user logged off", &|e| {
        e.head.contains("nightly (user logged-off)") && e.head.contains("mode=Machine")
    });
    assert!(entries[logged_off].has("the server recorded a Machine session"));

    // Push → Apps → installed.
    let picked = find("the first install", &|e| {
        e.head.contains("Contoso Notes for alice@contoso.com")
    });
    let pushed = picked
        + entries[picked..]
            .iter()
            .position(|e| e.head.contains("pushes through WNS → 200 received"))
            .expect("a push");
    assert!(
        entries[pushed + 1].head.contains("mode=Apps")
            && entries[pushed + 1].has("the server recorded an Apps session"),
        "{:?}",
        entries[pushed + 1]
    );
    let installed = pushed
        + entries[pushed..]
            .iter()
            .position(|e| e.head.contains(": installed — the app is installed"))
            .expect("installed");
    assert!(
        installed < locked,
        "the first install completes during the day"
    );

    // Revoked channel → push configuration in the next Maintenance session → push again.
    let revoked = find("a refused push", &|e| {
        e.head.contains("404: the channel was revoked")
    });
    assert!(entries[revoked + 1].head.contains("channel: revoked"));
    assert!(
        entries[revoked + 1]
            .body
            .iter()
            .any(|l| l.contains("Configure WNS push")
                && l.contains("waits for a Maintenance session")),
        "{:?}",
        entries[revoked + 1]
    );
    assert!(revoked < locked);
    let nightly = &entries[locked];
    assert!(nightly.has("registered a new channel"), "{nightly:?}");
    assert!(
        nightly
            .line("carried:")
            .is_some_and(|l| l.contains("Configure WNS push")),
        "{nightly:?}"
    );
    let again = locked
        + entries[locked..]
            .iter()
            .position(|e| e.head.contains("pushes through WNS → 200 received"))
            .expect("a push after the recovery");
    assert!(entries[again + 1].head.contains("mode=Apps"));
    assert!(
        entries[again..].iter().any(|e| e
            .head
            .contains(": installed — the app is installed (version 2.1.0.0)")),
        "{text}"
    );

    // What the person gets afterwards.
    assert!(
        text.contains("/console   administrator: admin / "),
        "{text}"
    );
    assert!(text.contains("/portal"), "{text}");
}

fn timeline(text: &str) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for line in text.lines() {
        let is_head = line.len() > 6
            && line.as_bytes()[2] == b':'
            && line[..2].bytes().all(|b| b.is_ascii_digit());
        if is_head {
            entries.push(Entry {
                head: line.to_owned(),
                body: Vec::new(),
            });
        } else if line.starts_with("    ")
            && let Some(last) = entries.last_mut()
        {
            last.body.push(line.to_owned());
        }
    }
    entries
}
