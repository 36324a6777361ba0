//! Figures for issue 12 ("Hold up against hostile clients"), measured on the real `casement
//! serve` with its default settings. Ignored (they take a minute and print what they measure):
//!
//! ```sh
//! cargo test -p casement --test measure_limits -- --ignored --nocapture --test-threads 1
//! ```

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Serve, free_port};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn tls(serve: &Serve) -> std::io::Result<Tls> {
    tls_from(serve, None).await
}

/// A TLS connection from `local` (127.0.0.x: another client address on loopback).
async fn tls_from(serve: &Serve, local: Option<std::net::IpAddr>) -> std::io::Result<Tls> {
    let mut roots = rustls::RootCertStore::empty();
    let b64: String = serve
        .pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
    roots
        .add(rustls_pki_types::CertificateDer::from(der))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(ip) = local {
        socket.bind(std::net::SocketAddr::new(ip, 0))?;
    }
    let tcp = socket
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], serve.port)))
        .await?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// `GET /healthz` on a new connection from `local`: true for a 200 within 5 s.
async fn healthz(serve: &Serve, local: Option<std::net::IpAddr>) -> bool {
    let attempt = async {
        let mut stream = tls_from(serve, local).await.ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok();
        Some(answer.starts_with(b"HTTP/1.1 200"))
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints figures"]
async fn measure_server_memory_during_250_concurrent_wrong_password_sign_ins() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), free_port(), &[]).await;
    let pid = serve.child.id();
    serve
        .api(
            reqwest::Method::POST,
            "/users",
            Some(serde_json::json!({"upn": "alice@contoso.com", "password": "correct horse battery"})),
        )
        .await;
    let sign_in = |password: &'static str| {
        let (client, url) = (serve.http(), serve.url("/EnrollmentServer/Sts"));
        async move {
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "username=alice%40contoso.com&password={password}&appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel"
                ))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    sign_in("correct+horse+battery").await;
    let idle = status_kib(pid, "VmRSS");
    let burst: Vec<_> = (0..250).map(|_| tokio::spawn(sign_in("wrong"))).collect();
    let mut statuses = Vec::new();
    for task in burst {
        statuses.push(task.await.unwrap());
    }
    let peak = status_kib(pid, "VmHWM");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = status_kib(pid, "VmRSS");
    println!(
        "server RSS idle {} MB, peak {} MB (+{} MB), 2 s after {} MB; {} wrong password (401), {} throttled or busy (429), {} other",
        idle / 1024,
        peak / 1024,
        (peak - idle) / 1024,
        after / 1024,
        statuses.iter().filter(|s| **s == 401).count(),
        statuses.iter().filter(|s| **s == 429).count(),
        statuses.iter().filter(|s| **s != 401 && **s != 429).count(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints figures"]
async fn measure_the_time_to_cut_a_slow_header() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), free_port(), &[]).await;
    let stream = tls(&serve).await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let started = Instant::now();
    writer
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    // One header byte every 10 s, as the prober did.
    let writing = tokio::spawn(async move {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_secs(10)).await;
            if writer.write_all(b"X").await.is_err() {
                return;
            }
        }
    });
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(180), async {
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    writing.abort();
    println!(
        "slow header (a byte every 10 s): {} after {:.1} s",
        if closed.is_ok() { "cut" } else { "still open" },
        started.elapsed().as_secs_f64()
    );
}

/// Idle TLS connections opened one by one from `attacker` (kept open: returned) until one is
/// refused or `most`; `/healthz` asked from `checker` on a new connection every 16. Also
/// returns the most idle connections `/healthz` answered with.
async fn idle_connections_until_healthz_fails(
    serve: &Serve,
    most: usize,
    attacker: Option<std::net::IpAddr>,
    checker: Option<std::net::IpAddr>,
) -> (Vec<Tls>, usize) {
    let mut idle = Vec::new();
    let mut last_answered = 0;
    while idle.len() < most {
        match tls_from(serve, attacker).await {
            Ok(stream) => idle.push(stream),
            Err(_) => break,
        }
        if idle.len() % 16 == 0 {
            if !healthz(serve, checker).await {
                break;
            }
            last_answered = idle.len();
        }
    }
    if healthz(serve, checker).await {
        last_answered = idle.len();
    }
    (idle, last_answered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints figures"]
async fn measure_idle_connections_that_leave_healthz_answering() {
    let (attacker, other) = (
        Some(std::net::IpAddr::from([127, 0, 0, 1])),
        Some(std::net::IpAddr::from([127, 0, 0, 2])),
    );
    // The prober's case: a server whose file-descriptor limit is 512, one attacking address.
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_wrapped(
        dir.path(),
        free_port(),
        &[],
        &["prlimit", "--nofile=512:512"],
    )
    .await;
    let (idle, answered) = idle_connections_until_healthz_fails(&serve, 600, attacker, other).await;
    println!(
        "fd limit 512: {} idle connections accepted from one address; /healthz from another address answered with {answered} open; from the attacker's address: {}",
        idle.len(),
        if healthz(&serve, attacker).await {
            "answered"
        } else {
            "refused"
        }
    );
    // More addresses: they fill the whole limit, and then everyone waits for the header timeout.
    let (more, _) =
        idle_connections_until_healthz_fails(&serve, 600, Some([127, 0, 0, 3].into()), other).await;
    let started = Instant::now();
    let mut back = false;
    while started.elapsed() < Duration::from_secs(90) {
        if healthz(&serve, other).await {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "fd limit 512, {} idle connections from two addresses (the limit): /healthz {} after {:.1} s (idle connections are cut by the header timeout)",
        idle.len() + more.len(),
        if back {
            "answers again"
        } else {
            "still refused"
        },
        started.elapsed().as_secs_f64()
    );
    drop((idle, more, serve));
    // The defaults on this machine's limits.
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), free_port(), &[]).await;
    let (idle, answered) =
        idle_connections_until_healthz_fails(&serve, 3_000, attacker, other).await;
    println!(
        "defaults: {} idle connections from one address accepted; /healthz from another answered with {answered} open",
        idle.len()
    );
}
