//! The README is tested (issue 16): the shell examples of its "Try it" and "Push on one laptop"
//! sections run, as written, against the real binary, so the front door cannot drift from the
//! code.
//!
//! How the README's text is run:
//! - the `casement() { … }` line (which builds with cargo) is replaced by one that calls the
//!   binary under test;
//! - each section's ```sh blocks run in order in one temporary directory (the reader's working
//!   directory), under `bash -euo pipefail`, with a deadline;
//! - a line marked `# runs until Ctrl-C` is a process the reader starts in another terminal: the
//!   test starts it itself, waits until it is ready (the server: `GET /healthz` answers; the WNS
//!   simulator: its `wns-simulator.json` exists), and stops it at the end; "Try it" runs with the
//!   server the README's set-up command starts (`casement serve`);
//! - ports are chosen free on 127.0.0.1 and given as the reader's defaults would be: the server's
//!   `CASEMENT_LISTEN`, the tools' `CASEMENT_URL`, and `--listen` for `sim wns`.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_casement");
const README: &str = include_str!("../../../README.md");
const LONG_RUNNING: &str = "# runs until Ctrl-C";
/// The most a section's commands may take (the push flow waits for one confirmation push,
/// 10 s apart by default).
const SCRIPT_DEADLINE: Duration = Duration::from_secs(180);
/// The most a process may take to be ready.
const READY_DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn the_readme_try_it_and_push_sections_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let server_port = free_port();
    let wns_port = free_port();
    let url = format!("https://127.0.0.1:{server_port}");

    // "Try it": with the server running (the README's first command).
    let try_it = section("Try it");
    assert!(
        !try_it.is_empty(),
        "README has a \"Try it\" section with sh blocks"
    );
    let mut processes = Processes::default();
    processes.start_server(work, server_port, &[]);
    let out = run_script(work, &url, &try_it);
    assert!(
        out.contains("waits for a Maintenance session"),
        "the settings command waits, as the README says:\n{out}"
    );
    assert!(out.contains("\"context\": \"Maintenance\""), "{out}");
    processes.stop_all();

    // "Push on one laptop": the long-running commands first, then the rest.
    let push = section("Push on one laptop");
    let (long, script): (Vec<String>, Vec<String>) = push
        .into_iter()
        .partition(|line| line.contains(LONG_RUNNING));
    assert_eq!(long.len(), 2, "sim wns and serve: {long:?}");
    for line in &long {
        let command = line.split('#').next().unwrap().trim();
        let args: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(args[0], "casement", "{line}");
        match args[1] {
            "serve" => processes.start_server(work, server_port, &args[2..]),
            "sim" if args.get(2) == Some(&"wns") => processes.start_wns(work, &args[1..], wns_port),
            other => panic!("unexpected long-running command {other}: {line}"),
        }
    }
    let out = run_script(work, &url, &script);
    assert!(out.contains("\"status\": \"installed\""), "{out}");
    let wns_log = std::fs::read_to_string(work.join("sim-wns.log")).unwrap();
    assert!(
        wns_log.contains("200 received"),
        "sim wns printed the push:\n{wns_log}"
    );
    assert!(
        wns_log.contains("mode=Apps"),
        "and the Apps session:\n{wns_log}"
    );
    processes.stop_all();
}

/// The demo's section names a command the binary has (the demo itself runs in tests/demo.rs).
#[test]
fn the_readme_demo_command_exists() {
    let lines = section("First: the demo");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let args = lines[0]
        .strip_prefix("cargo run --release -p casement -- ")
        .expect("the demo runs through cargo, like the server");
    let status = Command::new(BIN)
        .args(args.split_whitespace())
        .arg("--help")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "casement {args} --help");
}

/// The lines of the ```sh blocks under the `## <title…>` heading, in order.
fn section(title: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    let mut in_block = false;
    for line in README.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            inside = heading.starts_with(title);
            in_block = false;
            continue;
        }
        if !inside {
            continue;
        }
        let trimmed = line.trim_start();
        if in_block {
            if trimmed.starts_with("```") {
                in_block = false;
            } else {
                lines.push(line.to_owned());
            }
        } else if trimmed.starts_with("```sh") {
            in_block = true;
        }
    }
    lines
}

/// Runs README lines under bash in `work`, `casement` being the binary; returns stdout and
/// stderr. Fails the test on a non-zero exit or past the deadline.
fn run_script(work: &Path, url: &str, lines: &[String]) -> String {
    let mut script = String::from("set -euo pipefail\n");
    script.push_str(&format!("casement() {{ '{BIN}' \"$@\"; }}\n"));
    for line in lines {
        if line.trim_start().starts_with("casement()") {
            continue;
        }
        script.push_str(line);
        script.push('\n');
    }
    let out_path = work.join("script.out");
    let out = File::create(&out_path).unwrap();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(work)
        .env("CASEMENT_URL", url)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("bash");
    let deadline = Instant::now() + SCRIPT_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the README's commands took more than {SCRIPT_DEADLINE:?}:\n{script}\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    assert!(
        status.success(),
        "the README's commands failed ({status}):\n{script}\n--- output ---\n{output}"
    );
    output
}

/// Processes the reader would run in other terminals; killed when dropped.
#[derive(Default)]
struct Processes(Vec<Child>);

impl Processes {
    fn start_server(&mut self, work: &Path, port: u16, args: &[&str]) {
        let log = File::create(work.join(format!("serve-{}.log", self.0.len()))).unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .current_dir(work)
            .env("CASEMENT_LISTEN", format!("127.0.0.1:{port}"))
            .env_remove("CASEMENT_URL")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("casement serve");
        self.0.push(child);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::builder()
            // A readiness probe only: the certificate is created as the server starts.
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let url = format!("https://127.0.0.1:{port}/healthz");
        self.wait_until(work, "casement serve", || {
            runtime.block_on(async {
                client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            })
        });
    }

    fn start_wns(&mut self, work: &Path, args: &[&str], port: u16) {
        let log = File::create(work.join("sim-wns.log")).unwrap();
        let dir_arg = args
            .iter()
            .position(|a| *a == "--dir")
            .map(|i| PathBuf::from(args[i + 1]))
            .unwrap_or_else(|| PathBuf::from("wns"));
        let settings = work.join(dir_arg).join("wns-simulator.json");
        let child = Command::new(BIN)
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .current_dir(work)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("casement sim wns");
        self.0.push(child);
        self.wait_until(work, "casement sim wns", || settings.is_file());
    }

    /// Polls `ready` until it holds, with a deadline; fails if the last process exited.
    fn wait_until(&mut self, work: &Path, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + READY_DEADLINE;
        while !ready() {
            let last = self.0.last_mut().unwrap();
            if let Some(status) = last.try_wait().unwrap() {
                panic!("{what} exited ({status}): {}", logs(work));
            }
            assert!(
                Instant::now() < deadline,
                "{what} not ready within {READY_DEADLINE:?}: {}",
                logs(work)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop_all(&mut self) {
        for mut child in self.0.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn logs(work: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(work).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") {
            all.push_str(&format!(
                "\n--- {} ---\n{}",
                path.display(),
                std::fs::read_to_string(&path).unwrap_or_default()
            ));
        }
    }
    all
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
