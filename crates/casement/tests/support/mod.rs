//! A `casement serve` child process for the tests that need the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A `casement serve` child process on a data directory and a port.
pub struct Serve {
    pub child: Child,
    pub port: u16,
    log: PathBuf,
    pub pem: String,
    pub token: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Serve {
    /// Starts `casement serve` with `env` and waits (at most 60 s) until `/healthz` answers.
    pub async fn start(dir: &Path, port: u16, env: &[(&str, &str)]) -> Serve {
        Serve::start_wrapped(dir, port, env, &[]).await
    }

    /// [`Serve::start`] under `wrapper` (a command and its arguments, e.g. `prlimit
    /// --nofile=512:512`).
    pub async fn start_wrapped(
        dir: &Path,
        port: u16,
        env: &[(&str, &str)],
        wrapper: &[&str],
    ) -> Serve {
        let log = dir.join(format!("serve-{port}-{}.log", std::process::id()));
        let exe = env!("CARGO_BIN_EXE_casement");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        command
            .arg("serve")
            .env("CASEMENT_DATA_DIR", dir.join("data"))
            .env("CASEMENT_LISTEN", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ));
        for (k, v) in env {
            command.env(k, v);
        }
        let mut serve = Serve {
            child: command.spawn().unwrap(),
            port,
            log,
            pem: String::new(),
            token: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!("casement serve exited ({status}):\n{}", serve.log());
            }
            if let (Ok(pem), Ok(token)) = (
                std::fs::read_to_string(dir.join("data/tls.pem")),
                std::fs::read_to_string(dir.join("data/admin-token")),
            ) && !token.trim().is_empty()
            {
                serve.pem = pem;
                serve.token = token.trim().to_owned();
                if serve.http().get(serve.url("/healthz")).send().await.is_ok() {
                    return serve;
                }
            }
            assert!(
                Instant::now() < deadline,
                "serve did not come up:\n{}",
                serve.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.pem.as_bytes()).unwrap()])
            .resolve("localhost", std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http()
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// SIGKILL: no shutdown, nothing flushed.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
