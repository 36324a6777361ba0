//! Issue 12 ("Hold up against hostile clients"), the network rows, over real TLS against
//! `Server::start`: timeouts, the connection limit, bodies refused before they are read,
//! `/metrics` and the bearer scheme. Timeouts are configured short (1 s) and every wait is
//! bounded generously ([`BOUND`]): nothing here asserts a speed.

mod common;

use std::time::Duration;

use casement_server::RawConfig;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any test waits for the server to act.
const BOUND: Duration = Duration::from_secs(15);

fn short_timeouts() -> RawConfig {
    RawConfig {
        header_timeout_seconds: 1,
        body_timeout_seconds: 1,
        ..RawConfig::default()
    }
}

/// Reads until the end of a response head (or the connection closes), at most [`BOUND`].
async fn read_head<R: tokio::io::AsyncRead + Unpin>(stream: &mut R) -> Option<String> {
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        while !received.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(BOUND, read).await.ok()?;
    Some(String::from_utf8_lossy(&received).into_owned())
}

/// Writes `bytes` one at a time, every 300 ms, until the server closes (or [`BOUND`]).
fn trickle<W: tokio::io::AsyncWrite + Unpin + Send + 'static>(
    mut writer: W,
    bytes: Vec<u8>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for byte in bytes.iter().cycle().take(50) {
            if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
}

#[tokio::test]
async fn regression_issue_12_slow_headers_slow_bodies_and_idle_connections_are_cut() {
    let h = start(short_timeouts()).await;

    // One header byte at a time: cut by the header timeout.
    let stream = tls_connect(&h.server, None).await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    writer
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let writing = trickle(writer, b"X-Slow: a\r\n".to_vec());
    assert!(
        read_until_closed(&mut reader, BOUND).await.is_some(),
        "a slow header is cut"
    );
    writing.abort();

    // A whole head, then a body one byte at a time: cut by the body timeout.
    let stream = tls_connect(&h.server, None).await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    writer
        .write_all(
            b"POST /EnrollmentServer/Discovery.svc HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/soap+xml\r\nContent-Length: 1000\r\n\r\n<",
        )
        .await
        .unwrap();
    let writing = trickle(writer, b"a".to_vec());
    let answer = read_until_closed(&mut reader, BOUND).await;
    assert!(answer.is_some(), "a slow body is cut");
    writing.abort();

    // A kept-alive connection that asks nothing more: closed after the idle (header) timeout.
    let mut stream = tls_connect(&h.server, None).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut stream).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        read_until_closed(&mut stream, BOUND).await.is_some(),
        "an idle keep-alive connection is closed"
    );

    // A handshake and then nothing at all.
    let mut stream = tls_connect(&h.server, None).await.unwrap();
    assert!(read_until_closed(&mut stream, BOUND).await.is_some());
    h.server.shutdown().await;
}

/// True when a connection from `local` is refused (closed before its handshake completes).
async fn refused(h: &Harness, local: Option<std::net::IpAddr>) -> bool {
    let attempt = tokio::time::timeout(BOUND, tls_connect(&h.server, local))
        .await
        .expect("refused at once, not left hanging");
    attempt.is_err()
}

#[tokio::test]
async fn regression_issue_12_past_the_connection_limit_connections_are_refused_cleanly() {
    let h = start(RawConfig {
        max_connections: 4,
        max_connections_per_address: 2,
        ..RawConfig::default()
    })
    .await;
    let ip = |last: u8| Some(std::net::IpAddr::from([127, 0, 0, last]));
    // One address gets its share (half the limit), no more.
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(tls_connect(&h.server, ip(2)).await.unwrap());
    }
    assert!(refused(&h, ip(2)).await, "over the address's share");
    // Others fill the rest; past the limit everyone is refused.
    for _ in 0..2 {
        idle.push(tls_connect(&h.server, ip(3)).await.unwrap());
    }
    assert!(refused(&h, ip(4)).await, "over the limit");
    // A connection closed frees its place: the server answers again.
    drop(idle.pop());
    let mut answered = false;
    for _ in 0..50 {
        if let Ok(mut stream) = tls_connect(&h.server, None).await {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            if read_head(&mut stream)
                .await
                .is_some_and(|head| head.starts_with("HTTP/1.1 200"))
            {
                answered = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(answered, "/healthz answers once a connection is free");
    drop(idle);
    let metrics = h
        .http
        .get(format!("{}/metrics", h.server.local_url()))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in ["connection-limit", "connection-limit-address"] {
        assert!(
            metrics.contains(&format!(
                "casement_management_refusals_total{{reason=\"{reason}\"}}"
            )),
            "{reason}: {metrics}"
        );
    }
    h.server.shutdown().await;
}

#[tokio::test]
async fn regression_issue_12_unauthenticated_bodies_are_refused_before_they_are_read() {
    let h = start(RawConfig::default()).await;
    let cases: [(&str, &str, u64, &str); 3] = [
        // Management without a client certificate: 401 before 4 MB are read.
        (
            "/ManagementServer/MDM.svc",
            "application/vnd.syncml.dm+xml",
            4_000_000,
            "HTTP/1.1 401",
        ),
        // The admin API without a token.
        ("/api/v1/users", "application/json", 900_000, "HTTP/1.1 401"),
        // Enrollment over its parser's limit (256 KiB), declared.
        (
            "/EnrollmentServer/Discovery.svc",
            "application/soap+xml",
            300_000,
            "HTTP/1.1 413",
        ),
    ];
    for (path, content_type, length, expected) in cases {
        let mut stream = tls_connect(&h.server, None).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n\
             Content-Length: {length}\r\n\r\n<"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // Nothing more is sent: the answer must come without the body.
        let answer = read_head(&mut stream).await.unwrap_or_default();
        assert!(answer.starts_with(expected), "{path}: {answer:?}");
    }
    // A chunked enrollment body over the limit is refused too, whatever it declares.
    let mut stream = tls_connect(&h.server, None).await.unwrap();
    let chunk = "x".repeat(64 * 1024);
    let mut request = String::from(
        "POST /EnrollmentServer/Discovery.svc HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for _ in 0..5 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let answer = read_head(&mut stream).await.unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    h.server.shutdown().await;
}

#[tokio::test]
async fn regression_issue_12_metrics_are_not_anonymous_and_bearer_is_case_insensitive() {
    let h = start(RawConfig {
        metrics_listen: Some("127.0.0.1:0".into()),
        ..RawConfig::default()
    })
    .await;
    let url = format!("{}/metrics", h.server.local_url());
    let anonymous = h.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let metrics = h
            .http
            .get(&url)
            .header("authorization", format!("{scheme} {}", h.token))
            .send()
            .await
            .unwrap();
        assert_eq!(metrics.status(), 200, "{scheme}");
        let api = h
            .http
            .get(format!("{}/api/v1/users", h.server.local_url()))
            .header("authorization", format!("{scheme} {}", h.token))
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), 200, "{scheme} on the API");
    }
    let wrong = h
        .http
        .get(&url)
        .header("authorization", "bearer not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // The separate listener (loopback, plain HTTP) needs no token.
    let addr = h.server.metrics_addr().expect("metrics listener");
    assert!(addr.ip().is_loopback());
    let scraped = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("casement_"));
    h.server.shutdown().await;
}
