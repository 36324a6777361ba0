//! `WnsClient` against a real local HTTP server (wiremock) standing in for the token endpoint and
//! WNS. wiremock serves plain HTTP, so the mock's `127.0.0.1:PORT` is put on the explicit
//! allow-list with the http flag — the opt-in meant for tests and the simulator.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use casement_push::{
    ChannelRefused, ConfigError, DeviceConnectionStatus, MAX_PAYLOAD_LEN, ManualClock, PushError,
    PushOutcome, Pusher, TokenError, WnsClient, WnsConfig, WnsDiagnostics, WnsStatus,
};
use time::OffsetDateTime;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------------------------------------
// fixtures

/// One `.http` fixture: start line, headers, body (comment lines starting with `#` skipped).
struct HttpFixture {
    start_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpFixture {
    fn load(name: &str) -> Self {
        let p = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let start_line = lines.next().expect("start line").trim().to_owned();
        let mut headers = Vec::new();
        for l in lines.by_ref() {
            if l.trim().is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').expect("header line");
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let body = lines
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .as_bytes()
            .to_vec();
        Self {
            start_line,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("fixture has no {name}"))
    }

    /// The request target of a request fixture, e.g. `/?token=…`.
    fn target(&self) -> &str {
        self.start_line.split(' ').nth(1).expect("request target")
    }
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// client_id / client_secret of fixtures/wns/01-token-request.http.
fn fixture_credentials() -> (String, String) {
    let pairs = form_pairs(&HttpFixture::load("01-token-request.http").body);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).unwrap().1.clone();
    (get("client_id"), get("client_secret"))
}

// ---------------------------------------------------------------------------------------------
// harness

const TOKEN_PATH: &str = "/accesstoken.srf";

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

/// Configuration pointing the token URL at `server` and allowing its `127.0.0.1:PORT` over http.
fn test_config(server: &MockServer) -> WnsConfig {
    let (id, secret) = fixture_credentials();
    WnsConfig {
        token_url: format!("{}{TOKEN_PATH}", server.uri()),
        allow_insecure_hosts: vec![server.address().to_string()],
        allow_http_for_those: true,
        ..WnsConfig::new(id, secret)
    }
}

struct Harness {
    server: MockServer,
    clock: Arc<ManualClock>,
    client: WnsClient,
}

impl Harness {
    async fn new() -> Self {
        Self::with(|c| c).await
    }

    async fn with(tweak: impl FnOnce(WnsConfig) -> WnsConfig) -> Self {
        let server = MockServer::start().await;
        let clock = Arc::new(ManualClock::new(t0()));
        let client = WnsClient::builder(tweak(test_config(&server)))
            .clock(clock.clone())
            .build()
            .expect("client");
        Self {
            server,
            clock,
            client,
        }
    }

    /// The channel URI of fixture 03 (`/?token=AQE%bU%2fSjZOCvRjjpILow%3d%3d`) on the mock.
    fn channel(&self) -> String {
        let target = HttpFixture::load("03-raw-push-request.http")
            .target()
            .to_owned();
        format!("{}{target}", self.server.uri())
    }

    async fn token_ok(&self, token: &str, expires_in: u64) {
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": token, "token_type": "bearer", "expires_in": expires_in
            })))
            .mount(&self.server)
            .await;
    }

    async fn push_responds(&self, template: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path("/"))
            .respond_with(template)
            .mount(&self.server)
            .await;
    }

    async fn requests(&self, p: &str) -> Vec<Request> {
        requests_to(&self.server, p).await
    }

    async fn push(&self) -> Result<PushOutcome, PushError> {
        self.client.push(&self.channel(), b"fleet").await
    }
}

async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("recording on")
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

async fn all_requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("recording on")
        .len()
}

fn hval<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers
        .get(name)
        .map(|v| v.to_str().expect("ascii header"))
}

fn diag() -> WnsDiagnostics {
    WnsDiagnostics {
        msg_id: Some("1ACF4C5C7B0D11E2".into()),
        debug_trace: Some("BN1WNS2011828".into()),
        error_description: Some("some error".into()),
        ms_cv: Some("kWYM5fC3JE2mD3nA.0".into()),
    }
}

fn with_diag(t: ResponseTemplate) -> ResponseTemplate {
    t.insert_header("X-WNS-Msg-ID", "1ACF4C5C7B0D11E2")
        .insert_header("X-WNS-Debug-Trace", "BN1WNS2011828")
        .insert_header("X-WNS-Error-Description", "some error")
        .insert_header("MS-CV", "kWYM5fC3JE2mD3nA.0")
}

// ---------------------------------------------------------------------------------------------
// wire format against the fixtures

#[tokio::test]
async fn token_request_matches_fixture_01() {
    let h = Harness::new().await;
    h.token_ok("tok", 86_400).await;
    h.push_responds(ResponseTemplate::new(200)).await;
    h.push().await.unwrap();

    let fx = HttpFixture::load("01-token-request.http");
    let reqs = h.requests(TOKEN_PATH).await;
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method.as_str(), "POST");
    assert!(fx.start_line.starts_with(&format!("POST {TOKEN_PATH} ")));
    assert_eq!(hval(r, "content-type"), Some(fx.header("Content-Type")));
    // Same fields, same order, same values once decoded. (Percent-encoding hex case may differ:
    // the doc writes `%3a`, the form encoder `%3A`; RFC 3986 §2.1 makes them equivalent.)
    assert_eq!(form_pairs(&r.body), form_pairs(&fx.body));
    assert_eq!(
        form_pairs(&r.body),
        vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            (
                "client_id".to_owned(),
                "ms-app://S-1-15-2-2972962901-2322836549-3722629029-1345238579-3987825745-2155616079-650196962".to_owned()
            ),
            ("client_secret".to_owned(), "Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7".to_owned()),
            ("scope".to_owned(), "notify.windows.com".to_owned()),
        ]
    );
    assert_eq!(
        String::from_utf8(r.body.clone())
            .unwrap()
            .to_ascii_lowercase(),
        String::from_utf8(fx.body.clone())
            .unwrap()
            .to_ascii_lowercase()
    );
    assert_eq!(hval(r, "content-length"), Some(fx.header("Content-Length")));
}

#[tokio::test]
async fn raw_push_request_matches_fixture_03() {
    let h = Harness::new().await;
    // The token endpoint answers with fixture 02's body, so the bearer token matches fixture 03.
    let token_fx = HttpFixture::load("02-token-response.http");
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(token_fx.body.clone(), token_fx.header("Content-Type")),
        )
        .mount(&h.server)
        .await;
    h.push_responds(ResponseTemplate::new(200).insert_header("X-WNS-Status", "received"))
        .await;

    let fx = HttpFixture::load("03-raw-push-request.http");
    let out = h.client.push(&h.channel(), &fx.body).await.unwrap();
    assert!(out.is_received(), "{out:?}");

    let reqs = h.requests("/").await;
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method.as_str(), "POST");
    let target = match r.url.query() {
        Some(q) => format!("{}?{q}", r.url.path()),
        None => r.url.path().to_owned(),
    };
    assert_eq!(target, fx.target(), "channel URI sent unchanged");
    for (name, want) in &fx.headers {
        if name.eq_ignore_ascii_case("host") {
            continue; // the mock's address, not cloud.notify.windows.com
        }
        assert_eq!(hval(r, name), Some(want.as_str()), "header {name}");
    }
    assert_eq!(r.body, fx.body);
    assert_eq!(r.body, b"fleet");
    // WNS supports neither chunking nor (usefully) Expect: 100-continue.
    assert_eq!(hval(r, "transfer-encoding"), None);
    assert_eq!(hval(r, "expect"), None);
    assert_eq!(hval(r, "x-wns-ttl"), None);
}

#[tokio::test]
async fn ttl_header_is_sent_when_configured_or_asked_for() {
    let h = Harness::with(|c| WnsConfig {
        notification_ttl: Some(Duration::from_secs(600)),
        ..c
    })
    .await;
    h.token_ok("tok", 86_400).await;
    h.push_responds(ResponseTemplate::new(200)).await;
    h.push().await.unwrap();
    h.client
        .push_with_ttl(&h.channel(), b"x", Some(Duration::from_millis(1500)))
        .await
        .unwrap();
    h.client
        .push_with_ttl(&h.channel(), b"x", None)
        .await
        .unwrap();
    let reqs = h.requests("/").await;
    let ttls: Vec<_> = reqs.iter().map(|r| hval(r, "x-wns-ttl")).collect();
    assert_eq!(ttls, vec![Some("600"), Some("1"), None]);
}

// ---------------------------------------------------------------------------------------------
// every response code

async fn outcome_for(template: ResponseTemplate) -> PushOutcome {
    let h = Harness::new().await;
    h.token_ok("tok", 86_400).await;
    h.push_responds(template).await;
    let out = h.push().await.expect("an answer");
    // Only 401 is ever retried; everything else is exactly one push and one token request.
    assert_eq!(h.requests("/").await.len(), 1, "{out:?}");
    assert_eq!(h.requests(TOKEN_PATH).await.len(), 1);
    out
}

#[tokio::test]
async fn status_200_received_from_fixture_04() {
    let fx = HttpFixture::load("04-raw-push-response-example.http");
    assert!(fx.start_line.starts_with("HTTP/1.1 200"));
    let mut t = ResponseTemplate::new(200);
    for (k, v) in &fx.headers {
        if !k.eq_ignore_ascii_case("content-length") {
            t = t.insert_header(k.as_str(), v.as_str());
        }
    }
    assert_eq!(
        outcome_for(t).await,
        PushOutcome::Received {
            status: Some(WnsStatus::Received),
            device_connection_status: Some(DeviceConnectionStatus::Connected),
            diagnostics: WnsDiagnostics {
                msg_id: Some("1ACF4C5C7B0D11E2".into()),
                debug_trace: Some("<opaque>".into()),
                error_description: None,
                ms_cv: Some("<correlation vector>".into()),
            },
        }
    );
}

#[tokio::test]
async fn status_200_dropped() {
    let t = with_diag(ResponseTemplate::new(200))
        .insert_header("X-WNS-Status", "dropped")
        .insert_header("X-WNS-DeviceConnectionStatus", "disconnected");
    let out = outcome_for(t).await;
    assert_eq!(
        out,
        PushOutcome::Dropped {
            device_connection_status: Some(DeviceConnectionStatus::Disconnected),
            diagnostics: diag(),
        }
    );
    assert_eq!(out.retry_after(0), None);
}

#[tokio::test]
async fn status_200_channelthrottled() {
    let t = with_diag(ResponseTemplate::new(200))
        .insert_header("X-WNS-Status", "channelthrottled")
        .insert_header("X-WNS-CONTINUE-AFTER", "45");
    let out = outcome_for(t).await;
    assert_eq!(
        out,
        PushOutcome::Throttled {
            http_status: 200,
            continue_after: Some(Duration::from_secs(45)),
            diagnostics: diag(),
        }
    );
    assert_eq!(out.retry_after(0), Some(Duration::from_secs(45)));
}

#[tokio::test]
async fn status_400_bad_request() {
    let out = outcome_for(with_diag(ResponseTemplate::new(400))).await;
    assert_eq!(
        out,
        PushOutcome::BadRequest {
            diagnostics: diag()
        }
    );
    assert_eq!(out.retry_after(0), None);
}

#[tokio::test]
async fn status_403_forbidden() {
    let out = outcome_for(with_diag(ResponseTemplate::new(403))).await;
    assert_eq!(
        out,
        PushOutcome::Forbidden {
            diagnostics: diag()
        }
    );
    assert_eq!(out.retry_after(0), None);
}

#[tokio::test]
async fn status_404_channel_invalid() {
    let out = outcome_for(with_diag(ResponseTemplate::new(404))).await;
    assert_eq!(
        out,
        PushOutcome::ChannelGone {
            expired: false,
            diagnostics: diag()
        }
    );
    assert!(out.is_channel_gone());
    assert_eq!(out.retry_after(0), None);
}

#[tokio::test]
async fn status_406_throttled_with_continue_after() {
    let t = with_diag(ResponseTemplate::new(406)).insert_header("X-WNS-CONTINUE-AFTER", "300");
    let out = outcome_for(t).await;
    assert_eq!(
        out,
        PushOutcome::Throttled {
            http_status: 406,
            continue_after: Some(Duration::from_secs(300)),
            diagnostics: diag(),
        }
    );
    assert_eq!(out.retry_after(4), Some(Duration::from_secs(300)));
}

#[tokio::test]
async fn status_410_channel_expired() {
    let out = outcome_for(with_diag(ResponseTemplate::new(410))).await;
    assert_eq!(
        out,
        PushOutcome::ChannelGone {
            expired: true,
            diagnostics: diag()
        }
    );
    assert!(out.is_channel_gone());
}

#[tokio::test]
async fn status_413_too_large() {
    let out = outcome_for(with_diag(ResponseTemplate::new(413))).await;
    assert_eq!(
        out,
        PushOutcome::TooLarge {
            diagnostics: diag()
        }
    );
}

#[tokio::test]
async fn status_500_server_error() {
    let out = outcome_for(with_diag(ResponseTemplate::new(500))).await;
    assert_eq!(
        out,
        PushOutcome::ServerError {
            status: 500,
            retry_after: None,
            diagnostics: diag()
        }
    );
    assert_eq!(out.retry_after(0), Some(Duration::from_secs(2)));
    assert_eq!(out.retry_after(3), Some(Duration::from_secs(16)));
}

#[tokio::test]
async fn status_503_server_error_with_retry_after() {
    let t = with_diag(ResponseTemplate::new(503)).insert_header("Retry-After", "120");
    let out = outcome_for(t).await;
    assert_eq!(
        out,
        PushOutcome::ServerError {
            status: 503,
            retry_after: Some(Duration::from_secs(120)),
            diagnostics: diag()
        }
    );
    assert_eq!(out.retry_after(0), Some(Duration::from_secs(120)));
}

#[tokio::test]
async fn status_405_is_unexpected() {
    let out = outcome_for(with_diag(ResponseTemplate::new(405))).await;
    assert_eq!(
        out,
        PushOutcome::Unexpected {
            status: 405,
            diagnostics: diag()
        }
    );
}

// ---------------------------------------------------------------------------------------------
// 401: refresh once, retry once

#[tokio::test]
async fn status_401_once_refreshes_the_token_once_and_retries_once() {
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": "tok-1", "token_type": "bearer", "expires_in": 86400}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    h.token_ok("tok-2", 86_400).await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(with_diag(ResponseTemplate::new(401)))
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-WNS-Status", "received"))
        .mount(&h.server)
        .await;

    let out = h.push().await.unwrap();
    assert!(out.is_received(), "{out:?}");
    assert_eq!(
        h.requests(TOKEN_PATH).await.len(),
        2,
        "token refreshed exactly once"
    );
    let pushes = h.requests("/").await;
    assert_eq!(pushes.len(), 2, "push retried exactly once");
    assert_eq!(hval(&pushes[0], "authorization"), Some("Bearer tok-1"));
    assert_eq!(hval(&pushes[1], "authorization"), Some("Bearer tok-2"));

    // The refreshed token is the cached one from now on.
    h.push().await.unwrap();
    assert_eq!(h.requests(TOKEN_PATH).await.len(), 2);
    assert_eq!(h.requests("/").await.len(), 3);
}

#[tokio::test]
async fn status_401_twice_is_token_rejected_without_further_retries() {
    let h = Harness::new().await;
    h.token_ok("tok", 86_400).await;
    h.push_responds(with_diag(ResponseTemplate::new(401))).await;
    let out = h.push().await.unwrap();
    assert_eq!(
        out,
        PushOutcome::TokenRejected {
            diagnostics: diag()
        }
    );
    assert_eq!(out.retry_after(0), None);
    assert_eq!(h.requests(TOKEN_PATH).await.len(), 2);
    assert_eq!(h.requests("/").await.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// token cache

#[tokio::test]
async fn token_is_cached_across_pushes() {
    let h = Harness::new().await;
    h.token_ok("tok", 86_400).await;
    h.push_responds(ResponseTemplate::new(200)).await;
    for _ in 0..5 {
        h.push().await.unwrap();
    }
    assert_eq!(h.requests(TOKEN_PATH).await.len(), 1);
    assert_eq!(h.requests("/").await.len(), 5);
}

#[tokio::test]
async fn concurrent_pushes_share_one_token_request() {
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "tok", "expires_in": 86400}))
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&h.server)
        .await;
    h.push_responds(ResponseTemplate::new(200)).await;
    let pusher: Arc<dyn Pusher> = Arc::new(h.client);
    let channel = format!(
        "{}{}",
        h.server.uri(),
        HttpFixture::load("03-raw-push-request.http").target()
    );
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let p = pusher.clone();
        let c = channel.clone();
        set.spawn(async move { p.push(&c, b"fleet").await });
    }
    while let Some(r) = set.join_next().await {
        assert!(r.unwrap().unwrap().is_received());
    }
    assert_eq!(requests_to(&h.server, TOKEN_PATH).await.len(), 1);
    assert_eq!(requests_to(&h.server, "/").await.len(), 8);
}

#[tokio::test]
async fn token_is_refreshed_five_minutes_before_expiry() {
    let h = Harness::new().await;
    h.token_ok("tok", 3_600).await;
    h.push_responds(ResponseTemplate::new(200)).await;
    h.push().await.unwrap();
    h.clock.advance(Duration::from_secs(3_299));
    h.push().await.unwrap();
    assert_eq!(
        h.requests(TOKEN_PATH).await.len(),
        1,
        "still fresh at expiry − 5 min − 1 s"
    );
    h.clock.advance(Duration::from_secs(1));
    h.push().await.unwrap();
    assert_eq!(
        h.requests(TOKEN_PATH).await.len(),
        2,
        "refreshed at expiry − 5 min"
    );
    h.clock.advance(Duration::from_secs(3_299));
    h.push().await.unwrap();
    assert_eq!(h.requests(TOKEN_PATH).await.len(), 2);
    assert_eq!(h.requests("/").await.len(), 4);
}

#[tokio::test]
async fn short_lived_token_is_kept_thirty_seconds() {
    let h = Harness::new().await;
    h.token_ok("tok", 120).await;
    h.push_responds(ResponseTemplate::new(200)).await;
    h.push().await.unwrap();
    h.clock.advance(Duration::from_secs(29));
    h.push().await.unwrap();
    assert_eq!(h.requests(TOKEN_PATH).await.len(), 1);
    h.clock.advance(Duration::from_secs(1));
    h.push().await.unwrap();
    assert_eq!(h.requests(TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn oauth_error_from_token_endpoint_is_surfaced_verbatim_and_nothing_is_pushed() {
    let h = Harness::new().await;
    let description = "Client credential flows against login.live.com are no longer supported. \
                       New clients should use login.microsoftonline.com instead";
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_request",
            "error_description": description,
        })))
        .mount(&h.server)
        .await;
    h.push_responds(ResponseTemplate::new(200)).await;

    let err = h.push().await.unwrap_err();
    match &err {
        PushError::Token(TokenError::Rejected {
            status: 400,
            error,
            description: Some(d),
        }) => {
            assert_eq!(error, "invalid_request");
            assert_eq!(d, description);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains(description), "{err}");
    assert!(!err.is_transient());
    assert_eq!(h.requests("/").await.len(), 0);

    // A failure is not cached: the next push asks again.
    let _ = h.push().await.unwrap_err();
    assert_eq!(h.requests(TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn access_token_can_be_checked_directly() {
    let h = Harness::new().await;
    h.token_ok("tok-direct", 86_400).await;
    let t = h.client.access_token().await.unwrap();
    assert_eq!(t.secret(), "tok-direct");
    assert_eq!(t.expires_in(), Some(Duration::from_secs(86_400)));
    assert!(!format!("{t:?}").contains("tok-direct"));
}

// ---------------------------------------------------------------------------------------------
// refused channel URIs never reach the server

#[tokio::test]
async fn refused_channel_uris_never_reach_the_server() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": "t"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let addr: SocketAddr = *server.address();
    let port = addr.port();

    // Every name below is pinned to the mock, and the token endpoint is reachable (as
    // `wns-token.test:PORT`, the only explicitly allowed host), so a channel URI that got through
    // the check would be requested and recorded by the mock.
    let pinned = [
        "wns-token.test",
        "evilnotify.windows.com",
        "notify.windows.com.evil.com",
        "cloud.notify.windows.com",
        "cloud.notify.windows.com.",
        "localhost",
    ];
    let build = |cfg: WnsConfig| {
        let mut b = WnsClient::builder(cfg);
        for host in pinned {
            b = b.resolve(host, addr);
        }
        b.build().unwrap()
    };
    let lax_cfg = WnsConfig {
        token_url: format!("http://wns-token.test:{port}{TOKEN_PATH}"),
        allow_insecure_hosts: vec![format!("wns-token.test:{port}")],
        allow_http_for_those: true,
        ..test_config(&server)
    };
    // Same allowed host, but https only (so its token URL cannot be the plain-http mock).
    let https_only_cfg = WnsConfig {
        allow_http_for_those: false,
        token_url: "https://login.live.com/accesstoken.srf".into(),
        ..lax_cfg.clone()
    };
    let lax = build(lax_cfg.clone());
    let https_only = build(https_only_cfg);

    fn ip(e: &ChannelRefused) -> bool {
        matches!(e, ChannelRefused::IpLiteral(_))
    }
    fn host(e: &ChannelRefused) -> bool {
        matches!(e, ChannelRefused::HostNotAllowed(_))
    }
    fn insecure(e: &ChannelRefused) -> bool {
        *e == ChannelRefused::InsecureScheme
    }
    fn userinfo(e: &ChannelRefused) -> bool {
        *e == ChannelRefused::UserInfo
    }
    fn port_refused(e: &ChannelRefused) -> bool {
        matches!(e, ChannelRefused::NonDefaultPort(_))
    }
    fn malformed(e: &ChannelRefused) -> bool {
        *e == ChannelRefused::Malformed
    }
    fn scheme(e: &ChannelRefused) -> bool {
        matches!(e, ChannelRefused::UnsupportedScheme(_))
    }
    type Check = fn(&ChannelRefused) -> bool;
    let cases: Vec<(&WnsClient, String, Check)> = vec![
        // IP literals (the mock's own address, in several spellings), not explicitly allowed
        (&lax, format!("http://127.0.0.1:{port}/?token=x"), ip),
        (&lax, format!("http://0x7f.0.0.1:{port}/?token=x"), ip),
        (&lax, format!("http://2130706433:{port}/?token=x"), ip),
        // foreign hosts and suffix tricks
        (&lax, format!("http://localhost:{port}/?token=x"), host),
        (
            &lax,
            format!("http://evilnotify.windows.com:{port}/?token=x"),
            host,
        ),
        (
            &lax,
            format!("http://notify.windows.com.evil.com:{port}/?token=x"),
            host,
        ),
        (
            &lax,
            format!("http://cloud.notify.windows.com.:{port}/?token=x"),
            host,
        ),
        (
            &lax,
            format!("http://notify.windows.com%2eevil.com:{port}/"),
            host,
        ),
        // a real WNS name over plain http (the http flag never applies to WNS hosts)
        (
            &lax,
            format!("http://cloud.notify.windows.com:{port}/?token=x"),
            insecure,
        ),
        // user information, even on the allowed host
        (
            &lax,
            format!("http://user:pw@wns-token.test:{port}/?token=x"),
            userinfo,
        ),
        (
            &lax,
            format!("http://wns-token.test@evilnotify.windows.com:{port}/"),
            userinfo,
        ),
        // not a URL / other schemes
        (&lax, "wns-token.test/?token=x".to_owned(), malformed),
        (&lax, format!("ftp://wns-token.test:{port}/"), scheme),
        // These two could not reach a plain-http mock even if let through (TLS), so for them
        // the refusal itself is the proof; the unit tests in channel.rs cover them too.
        (
            &lax,
            format!("https://cloud.notify.windows.com:{port}/?token=x"),
            port_refused,
        ),
        (
            &https_only,
            format!("http://wns-token.test:{port}/?token=x"),
            insecure,
        ),
    ];
    for (client, uri, expected) in &cases {
        match client.push(uri, b"fleet").await {
            Err(PushError::ChannelRefused(e)) => assert!(expected(&e), "{uri}: {e:?}"),
            other => panic!("{uri}: not refused: {other:?}"),
        }
    }
    assert_eq!(
        all_requests(&server).await,
        0,
        "a refused URI reached the server"
    );

    // Control: the pins and the token endpoint work, so the zero above means something. The
    // same kind of URI, for a name that is explicitly allowed, reaches the mock through its pin.
    let control = build(WnsConfig {
        allow_insecure_hosts: vec![
            format!("wns-token.test:{port}"),
            format!("evilnotify.windows.com:{port}"),
        ],
        ..lax_cfg
    });
    let out = control
        .push(
            &format!("http://evilnotify.windows.com:{port}/?token=x"),
            b"fleet",
        )
        .await
        .unwrap();
    assert!(out.is_received(), "{out:?}");
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 1);
    let pushes = requests_to(&server, "/").await;
    assert_eq!(pushes.len(), 1);
    assert_eq!(
        hval(&pushes[0], "host"),
        Some(format!("evilnotify.windows.com:{port}").as_str())
    );
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let h = Harness::new().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;
    h.token_ok("tok", 86_400).await;
    h.push_responds(
        ResponseTemplate::new(307).insert_header("Location", format!("{}/stolen", elsewhere.uri())),
    )
    .await;
    let out = h.push().await.unwrap();
    assert!(
        matches!(out, PushOutcome::Unexpected { status: 307, .. }),
        "{out:?}"
    );
    assert_eq!(out.retry_after(0), None);
    assert_eq!(all_requests(&elsewhere).await, 0);
}

// ---------------------------------------------------------------------------------------------
// payload limits, transport failures, configuration

#[tokio::test]
async fn payload_over_5000_bytes_is_refused_before_sending() {
    let h = Harness::new().await;
    h.token_ok("tok", 86_400).await;
    h.push_responds(ResponseTemplate::new(200)).await;

    let too_big = vec![b'x'; MAX_PAYLOAD_LEN + 1];
    match h.client.push(&h.channel(), &too_big).await {
        Err(PushError::PayloadTooLarge { len }) => assert_eq!(len, 5001),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        h.client.push(&h.channel(), b"").await,
        Err(PushError::EmptyPayload)
    ));
    assert_eq!(
        all_requests(&h.server).await,
        0,
        "nothing sent, not even a token request"
    );

    let max = vec![b'x'; MAX_PAYLOAD_LEN];
    assert!(
        h.client
            .push(&h.channel(), &max)
            .await
            .unwrap()
            .is_received()
    );
    let pushes = h.requests("/").await;
    assert_eq!(pushes.len(), 1);
    assert_eq!(hval(&pushes[0], "content-length"), Some("5000"));
    assert_eq!(pushes[0].body.len(), 5000);
}

#[tokio::test]
async fn unreachable_channel_host_is_a_transient_transport_error() {
    let h = Harness::new().await;
    h.token_ok("tok", 86_400).await;
    // A port nobody listens on (bound, then released).
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let client = WnsClient::new(WnsConfig {
        allow_insecure_hosts: vec![h.server.address().to_string(), format!("127.0.0.1:{port}")],
        ..test_config(&h.server)
    })
    .unwrap();
    let err = client
        .push(
            &format!("http://127.0.0.1:{port}/?token=secret-channel-token"),
            b"x",
        )
        .await
        .unwrap_err();
    match &err {
        PushError::Transport(t) => assert!(t.is_connect(), "{t}"),
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
    assert!(!err.to_string().contains("secret-channel-token"), "{err}");
}

#[tokio::test]
async fn slow_wns_hits_the_request_timeout() {
    let h = Harness::with(|c| WnsConfig {
        request_timeout: Duration::from_millis(300),
        ..c
    })
    .await;
    h.token_ok("tok", 86_400).await;
    h.push_responds(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .await;
    match h.push().await {
        Err(PushError::Transport(t)) => assert!(t.is_timeout(), "{t}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn configuration_is_validated() {
    let server = MockServer::start().await;
    let ok = test_config(&server);
    WnsClient::new(ok.clone()).unwrap();

    let insecure_token = WnsConfig {
        allow_http_for_those: false,
        ..ok.clone()
    };
    assert!(matches!(
        WnsClient::new(insecure_token),
        Err(ConfigError::InsecureTokenUrl)
    ));
    let public_http = WnsConfig {
        token_url: "http://login.live.com/accesstoken.srf".into(),
        ..ok.clone()
    };
    assert!(matches!(
        WnsClient::new(public_http),
        Err(ConfigError::InsecureTokenUrl)
    ));
    assert!(matches!(
        WnsClient::new(WnsConfig {
            client_secret: String::new(),
            ..ok.clone()
        }),
        Err(ConfigError::MissingCredentials)
    ));
    assert!(matches!(
        WnsClient::new(WnsConfig {
            allow_insecure_hosts: vec!["http://127.0.0.1:80".into()],
            ..ok.clone()
        }),
        Err(ConfigError::InvalidAllowedHost(_))
    ));
    assert!(matches!(
        WnsClient::new(WnsConfig {
            extra_root_certificates_pem: vec!["not a pem".into()],
            ..ok.clone()
        }),
        Err(ConfigError::InvalidCertificate { index: 0 })
    ));
    let pem = std::fs::read_to_string(format!(
        "{}/testdata/selfsigned-localhost.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    WnsClient::new(WnsConfig {
        extra_root_certificates_pem: vec![pem],
        ..ok.clone()
    })
    .expect("a self-signed root loads");

    // The production defaults build (nothing is contacted at construction).
    let public = WnsClient::new(WnsConfig::new("ms-app://S-1-15-2-1", "secret")).unwrap();
    assert!(
        public
            .check_channel_uri("https://cloud.notify.windows.com/?token=x")
            .is_ok()
    );
}
