//! Issue 15, parts 2 and 3: roles enforced from one table for the API and the console, personal
//! API tokens, the event log with its cursor, signed webhooks delivered at least once through
//! the outbox, and the device list as CSV.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use casement_server::authz::{self, API_ROUTES, CONSOLE_ROUTES, Need, Permission};
use casement_server::clock::ManualClock;
use casement_server::{AppState, RawConfig};
use casement_store::Role;
use common::*;
use serde_json::{Value, json};

use common::router_api as api;

/// A personal token of `role`, made with the bootstrap token.
async fn token_of(state: &AppState, bootstrap: &str, role: Role) -> String {
    let (status, body) = api(
        state,
        "POST",
        "/api/v1/tokens",
        bootstrap,
        Some(json!({ "name": format!("{} token", role.as_str()), "role": role.as_str(), "service_account": "matrix" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// A concrete request for a route of the tables: `{id}` filled in, a body that names the
/// command kind for [`Need::CommandKind`] routes.
fn concrete(path: &str) -> String {
    path.replace("{id}", "ISSUE15-NOPE")
}

/// Issue 15: every admin API route × every role is allowed or refused (403 naming the missing
/// permission, audited) exactly as the one table says; queueing a command needs the permission
/// of its kind.
#[tokio::test]
async fn issue_15_every_api_route_and_role_is_allowed_or_refused_by_the_one_table() {
    let h = start(RawConfig::default()).await;
    let state = h.server.state.clone();
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((role, token_of(&state, &h.token, role).await));
    }
    let mut refusals = 0;
    for rule in API_ROUTES {
        let path = concrete(rule.path);
        let cases: Vec<(Option<Value>, Permission)> = match rule.need {
            Need::Open => continue,
            Need::Permission(p) => {
                let body = (rule.method != "GET" && rule.method != "DELETE").then(|| json!({}));
                vec![(body, p)]
            }
            Need::CommandKind => {
                let wrap = |command: Value| {
                    if rule.path == "/api/v1/commands" {
                        json!({ "devices": { "ids": ["ISSUE15-NOPE"] }, "command": command })
                    } else {
                        command
                    }
                };
                vec![
                    (
                        Some(wrap(json!({ "kind": "inventory", "sets": ["devinfo"] }))),
                        Permission::InventoryQueue,
                    ),
                    (
                        Some(wrap(json!({ "kind": "unenroll" }))),
                        Permission::CommandsQueue,
                    ),
                ]
            }
        };
        for (body, permission) in cases {
            for (role, token) in &tokens {
                let (status, answer) = api(&state, rule.method, &path, token, body.clone()).await;
                let what = format!("{} {} as {}", rule.method, rule.path, role.as_str());
                if authz::grants(*role, permission) {
                    assert_ne!(status, StatusCode::FORBIDDEN, "{what}: {answer}");
                    assert_ne!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
                } else {
                    refusals += 1;
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {answer}");
                    assert_eq!(answer["error"], "forbidden", "{what}");
                    assert_eq!(
                        answer["missing_permission"],
                        permission.name(),
                        "{what}: {answer}"
                    );
                }
            }
        }
    }
    assert!(refusals > 20, "the matrix refuses something: {refusals}");
    // Every refusal is in the audit log, with the door and the missing permission.
    let (_, log) = api(&state, "GET", "/api/v1/audit?limit=2000", &h.token, None).await;
    let refused: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "authz.refused")
        .collect();
    assert_eq!(refused.len(), refusals, "each refusal audited once");
    assert!(
        refused
            .iter()
            .all(|e| e["actor"].as_str().unwrap().starts_with("token:")),
        "{refused:?}"
    );
    // Every route the API documents is in the permission table (the OpenAPI test checks the
    // converse), so none is refused as unlisted for an administrator.
    for (path, methods) in casement_server::http::openapi::ROUTES {
        for method in *methods {
            let method = method.to_uppercase();
            let (status, answer) = api(&state, &method, &concrete(path), &h.token, None).await;
            assert!(
                answer["missing_permission"] != authz::UNLISTED,
                "{method} {path} is not in authz::API_ROUTES: {status} {answer}"
            );
        }
    }
    h.server.shutdown().await;
}

/// A console session for a new account of `role`: the cookie header and the CSRF token.
async fn console_as(state: &AppState, role: Role) -> (String, String) {
    let admin = state
        .store
        .create_admin(&casement_store::NewAdmin {
            id: format!("a-{}", role.as_str()),
            username: format!("{}-admin", role.as_str()),
            display_name: role.as_str().into(),
            password_hash: "$argon2id$unused".into(),
            role,
            created_at: 1,
        })
        .await
        .unwrap();
    let set = casement_server::web::auth::sign_in(
        state,
        casement_store::WebSessionKind::Console,
        &admin.id,
    )
    .await
    .unwrap();
    let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
    let token = pair.split_once('=').unwrap().1;
    let csrf = state
        .store
        .web_session(
            &casement_server::web::auth::token_hash(token),
            casement_server::clock::now_ms(),
        )
        .await
        .unwrap()
        .expect("the session just made")
        .csrf_token;
    (pair, csrf)
}

/// Issue 15: every console action × every role, from the same kind of table, enforced by the
/// same function: a refusal is a 403 page naming the missing permission.
#[tokio::test]
async fn issue_15_every_console_action_and_role_is_allowed_or_refused_by_the_one_table() {
    let h = start(RawConfig::default()).await;
    let state = h.server.state.clone();
    let mut sessions = Vec::new();
    for role in Role::ALL {
        sessions.push((role, console_as(&state, role).await));
    }
    for rule in CONSOLE_ROUTES {
        let path = concrete(rule.path);
        let cases: Vec<(&str, Permission)> = match rule.need {
            Need::Open => continue,
            Need::Permission(p) => vec![("x=1", p)],
            Need::CommandKind => vec![
                ("kind=inventory&set=devinfo", Permission::InventoryQueue),
                ("kind=push-config", Permission::CommandsQueue),
            ],
        };
        for (form, permission) in cases {
            for (role, (cookie, csrf)) in &sessions {
                let headers = [
                    ("cookie", cookie.as_str()),
                    ("x-csrf-token", csrf.as_str()),
                    ("content-type", "application/x-www-form-urlencoded"),
                ];
                let body = (rule.method == "POST").then(|| Body::from(form.to_owned()));
                let (status, _, page) = oneshot(&state, rule.method, &path, &headers, body).await;
                let what = format!("{} {} as {}", rule.method, rule.path, role.as_str());
                if authz::grants(*role, permission) {
                    assert_ne!(status, StatusCode::FORBIDDEN, "{what}: {page}");
                    assert!(
                        !(status.is_redirection() && page.contains("/console/login")),
                        "{what}: signed in"
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                    assert!(page.contains(permission.name()), "{what}: {page}");
                }
            }
        }
    }
    h.server.shutdown().await;
}

/// Issue 15: a personal token works until it is revoked (401) or expires (401); its last use
/// is recorded; the bootstrap token can be switched off by configuration.
#[tokio::test]
async fn issue_15_tokens_work_until_revoked_or_expired_and_the_bootstrap_token_can_be_disabled() {
    let h = start(RawConfig::default()).await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let state = AppState {
        clock: clock.clone(),
        ..h.server.state.clone()
    };
    let (status, created) = api(
        &state,
        "POST",
        "/api/v1/tokens",
        &h.token,
        Some(json!({ "name": "ci", "role": "operator", "expires_in_days": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cst_") && secret.len() > 60, "{secret}");
    assert_eq!(created["owner"], "admin-token", "the creator's own");
    assert!(created["last_used_at"].is_null());

    // It works, and its use is recorded; it was stored hashed (never shown again).
    let (status, _) = api(&state, "GET", "/api/v1/devices", &secret, None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = api(&state, "GET", "/api/v1/tokens", &h.token, None).await;
    let row = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["last_used_at"].as_i64(), Some(clock.now_ms_for_test()));
    assert_eq!(row["status"], "active");
    assert!(
        !list.to_string().contains(&secret),
        "the value is never listed"
    );
    let stored = state
        .store
        .api_token_by_hash(&authz::token_hash(&secret))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.token_hash, secret);

    // An operator cannot make tokens; the refusal names the permission.
    let (status, body) = api(
        &state,
        "POST",
        "/api/v1/tokens",
        &secret,
        Some(json!({ "name": "x", "role": "administrator" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["missing_permission"], "tokens.manage");

    // Expired: 401.
    clock.advance(time::Duration::days(2));
    let (status, _) = api(&state, "GET", "/api/v1/devices", &secret, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");

    // Revoked: 401 (a fresh token, so expiry is not what refuses it).
    let (_, fresh) = api(
        &state,
        "POST",
        "/api/v1/tokens",
        &h.token,
        Some(json!({ "name": "svc", "role": "auditor", "service_account": "siem" })),
    )
    .await;
    let fresh_secret = fresh["token"].as_str().unwrap().to_owned();
    assert_eq!(fresh["owner"], "service:siem");
    let (status, _) = api(&state, "GET", "/api/v1/events", &fresh_secret, None).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/tokens/{}", fresh["id"].as_str().unwrap());
    let (status, revoked) = api(&state, "DELETE", &path, &h.token, None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let (status, _) = api(&state, "GET", "/api/v1/events", &fresh_secret, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    let (status, _) = api(&state, "GET", "/api/v1/devices", "cst_unknown", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The bootstrap token disabled by configuration: 401 over HTTPS, a personal token works.
    let (_, kept) = api(
        &h.server.state,
        "POST",
        "/api/v1/tokens",
        &h.token,
        Some(json!({ "name": "kept", "role": "administrator" })),
    )
    .await;
    let kept = kept["token"].as_str().unwrap().to_owned();
    let data_dir = h.dir.path().to_path_buf();
    let bootstrap = h.token.clone();
    h.server.shutdown().await;
    let server = casement_server::Server::start(RawConfig {
        data_dir: data_dir.clone(),
        listen: "127.0.0.1:0".into(),
        disable_bootstrap_token: true,
        ..RawConfig::default()
    })
    .await
    .unwrap();
    let http = client(&server, None);
    let url = format!("{}/api/v1/devices", server.local_url());
    let refused = http.get(&url).bearer_auth(&bootstrap).send().await.unwrap();
    assert_eq!(refused.status(), 401, "the bootstrap token is disabled");
    let metrics = http
        .get(format!("{}/metrics", server.local_url()))
        .bearer_auth(&bootstrap)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 401, "everywhere");
    let accepted = http.get(&url).bearer_auth(&kept).send().await.unwrap();
    assert_eq!(accepted.status(), 200);
    server.shutdown().await;
    drop(h.dir);
}

trait NowForTest {
    fn now_ms_for_test(&self) -> i64;
}

impl NowForTest for ManualClock {
    fn now_ms_for_test(&self) -> i64 {
        casement_server::clock::Clock::now_ms(self)
    }
}

/// Issue 15: events page with a cursor; every event is seen once, in order; the cursor stays
/// put when nothing is new.
#[tokio::test]
async fn issue_15_events_are_read_page_by_page_with_a_cursor() {
    let h = start(RawConfig::default()).await;
    for id in ["EV-PC-1", "EV-PC-2", "EV-PC-3"] {
        h.enroll(id).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/events?limit=2&after={c}"),
            None => "/events?limit=2".to_owned(),
        };
        let page = h.api_get(&path).await;
        let events = page["events"].as_array().unwrap().clone();
        let next = page["next"].as_str().unwrap().to_owned();
        if events.is_empty() {
            assert_eq!(Some(&next), cursor.as_ref(), "nothing new: the same cursor");
            break;
        }
        assert!(events.len() <= 2);
        pages += 1;
        seen.extend(events);
        cursor = Some(next);
    }
    assert_eq!(pages, 2);
    let enrolled: Vec<&str> = seen
        .iter()
        .filter(|e| e["kind"] == "device.enrolled")
        .map(|e| e["device_id"].as_str().unwrap())
        .collect();
    assert_eq!(enrolled, ["EV-PC-1", "EV-PC-2", "EV-PC-3"]);
    assert!(seen.iter().all(|e| e["data"]["user"] == "demio"));
    let response = h
        .http
        .get(format!("{}/api/v1/events?after=nope", h.server.local_url()))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    h.server.shutdown().await;
}

/// Issue 15: `GET /api/v1/devices.csv` lists every device with the columns named, quoted as
/// CSV requires.
#[tokio::test]
async fn issue_15_the_device_list_downloads_as_csv() {
    let h = start(RawConfig::default()).await;
    h.enroll("CSV-PC-1").await;
    h.enroll("CSV-PC-2").await;
    let response = h
        .http
        .get(format!("{}/api/v1/devices.csv", h.server.local_url()))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,name,platform,user,enrolled_at,last_session_at,last_context,channel_state,retired_at"
    );
    assert_eq!(
        lines.len(),
        4,
        "a header, two devices, the final CRLF: {text:?}"
    );
    for (line, id) in lines[1..3].iter().zip(["CSV-PC-1", "CSV-PC-2"]) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 9, "{line}");
        assert_eq!(fields[0], id);
        assert_eq!(fields[2], "windows-10");
        assert_eq!(fields[3], "demio");
        assert!(fields[4].ends_with('Z'), "RFC 3339 UTC: {line}");
        assert_eq!(fields[7], "unconfigured");
        assert_eq!(fields[8], "", "not retired");
    }
    h.server.shutdown().await;
}

/// What the test receiver saw: each request's event id, whether its signature verified, and
/// the answer it gave.
#[derive(Debug, Default)]
struct Seen {
    requests: Vec<(String, bool, u16)>,
}

/// HMAC-SHA256 written here again (RFC 2104), independent of the server's.
fn hmac(key: &[u8], message: &[u8]) -> String {
    use sha2::Digest;
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let inner = sha2::Sha256::digest(&ipad);
    let opad: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner.iter().copied())
        .collect();
    hex::encode(sha2::Sha256::digest(&opad))
}

/// An HTTPS receiver on 127.0.0.1 with its own certificate: answers 500 to the first
/// `failures` requests, then 204; verifies every signature with `secret`.
async fn receiver(
    secret: &'static str,
    failures: usize,
) -> (
    String,
    String,
    Arc<Mutex<Seen>>,
    axum_server::Handle<std::net::SocketAddr>,
) {
    let identity = casement_ca::TlsIdentity::generate_self_signed(
        &["127.0.0.1", "localhost"],
        time::OffsetDateTime::now_utc(),
        time::Duration::days(1),
        &mut rand::rng(),
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let record = record.clone();
                async move {
                    let timestamp = headers
                        .get("x-casement-timestamp")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let signature = headers
                        .get("x-casement-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let mut message = timestamp.clone().into_bytes();
                    message.push(b'.');
                    message.extend_from_slice(&body);
                    let fresh = timestamp.parse::<i64>().is_ok_and(|t| {
                        (t - time::OffsetDateTime::now_utc().unix_timestamp()).abs() < 300
                    });
                    let valid = fresh
                        && signature == format!("sha256={}", hmac(secret.as_bytes(), &message));
                    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let mut seen = record.lock().unwrap();
                    let status = if seen.requests.len() < failures {
                        500
                    } else {
                        204
                    };
                    seen.requests.push((
                        event["id"].as_str().unwrap_or("").to_owned(),
                        valid,
                        status,
                    ));
                    StatusCode::from_u16(status).unwrap()
                }
            },
        ),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        identity.certificate_pem().as_bytes().to_vec(),
        identity.private_key_pem().into_bytes(),
    )
    .await
    .unwrap();
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, config)
        .unwrap()
        .handle(handle.clone());
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    (
        format!("https://127.0.0.1:{}/hook", addr.port()),
        identity.certificate_pem().to_owned(),
        seen,
        handle,
    )
}

/// Polls `check` until it holds or `deadline` passes.
async fn until(deadline: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + deadline;
    while !check() {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Issue 15: a webhook receiver over HTTPS gets each event signed; one that answers 500 three
/// times gets it on the fourth try (backoff from the configuration); a server restart between
/// attempts loses nothing; every attempt is in the endpoint's delivery log.
#[tokio::test]
async fn issue_15_webhooks_are_signed_retried_and_survive_a_restart() {
    rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .ok();
    const SECRET: &str = "issue-15-shared-secret";
    let (url, ca_pem, seen, receiver_handle) = receiver(SECRET, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("receiver-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let config = RawConfig {
        webhook_allow_private: true,
        webhook_ca_file: Some(ca_file),
        webhook_retry_base_ms: 1_000,
        webhook_timeout_seconds: 2,
        ..RawConfig::default()
    };
    let h = start(config.clone()).await;
    let (status, hook) = h
        .api_post(
            "/webhooks",
            json!({ "url": url, "secret": SECRET, "kinds": ["device.enrolled"] }),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    assert_eq!(hook["secret"], SECRET);
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    h.enroll("HOOK-PC").await;

    // The first failure arrives; then the server stops.
    until(Duration::from_secs(30), "the first attempt", || {
        !seen.lock().unwrap().requests.is_empty()
    })
    .await;
    let data_dir = h.dir.path().to_path_buf();
    h.server.shutdown().await;
    let before_restart = seen.lock().unwrap().requests.len();
    assert!(before_restart < 4, "not delivered before the restart");

    // Another server on the same data: the delivery goes on from the outbox.
    let server = casement_server::Server::start(RawConfig {
        data_dir,
        listen: "127.0.0.1:0".into(),
        ..config
    })
    .await
    .unwrap();
    until(Duration::from_secs(60), "the fourth attempt", || {
        seen.lock().unwrap().requests.iter().any(|r| r.2 == 204)
    })
    .await;
    let requests = seen.lock().unwrap().requests.clone();
    assert_eq!(
        requests.iter().map(|r| r.2).collect::<Vec<_>>(),
        [500, 500, 500, 204],
        "delivered on the fourth try: {requests:?}"
    );
    assert!(
        requests.iter().all(|r| r.1),
        "every signature verified: {requests:?}"
    );
    let event_id = &requests[0].0;
    assert!(!event_id.is_empty());
    assert!(requests.iter().all(|r| &r.0 == event_id), "one event");

    // The delivery log says the same, once the worker has recorded the answer.
    let http = client(&server, None);
    let token = std::fs::read_to_string(&server.admin_token_path).unwrap();
    let url = format!(
        "{}/api/v1/webhooks/{hook_id}/deliveries",
        server.local_url()
    );
    let end = tokio::time::Instant::now() + Duration::from_secs(30);
    let log = loop {
        let log: Value = http
            .get(&url)
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if log["deliveries"][0]["state"] == "delivered" {
            break log;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "never recorded delivered: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let delivery = &log["deliveries"][0];
    assert_eq!(delivery["state"], "delivered", "{log}");
    assert_eq!(delivery["event_id"], event_id.as_str());
    assert_eq!(delivery["kind"], "device.enrolled");
    let statuses: Vec<i64> = delivery["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["status"].as_i64())
        .collect();
    assert!(
        statuses.contains(&204) && statuses.iter().filter(|s| **s == 500).count() >= 2,
        "{log}"
    );
    server.shutdown().await;
    receiver_handle.shutdown();
}

/// Issue 15: a webhook URL to loopback or the metadata address is refused unless the
/// configuration allows private addresses; only https.
#[tokio::test]
async fn issue_15_webhooks_to_loopback_or_metadata_addresses_are_refused() {
    let h = start(RawConfig::default()).await;
    for url in [
        "https://127.0.0.1:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://93.184.216.34/hook",
    ] {
        let (status, body) = h.api_post("/webhooks", json!({ "url": url })).await;
        assert_eq!(status, 400, "{url}: {body}");
    }
    let (_, body) = h
        .api_post(
            "/webhooks",
            json!({ "url": "https://169.254.169.254/latest/meta-data" }),
        )
        .await;
    assert!(
        body["reason"].as_str().unwrap().contains("refused"),
        "{body}"
    );
    h.server.shutdown().await;

    let allowed = start(RawConfig {
        webhook_allow_private: true,
        ..RawConfig::default()
    })
    .await;
    let (status, body) = allowed
        .api_post("/webhooks", json!({ "url": "https://127.0.0.1:9/hook" }))
        .await;
    assert_eq!(status, 201, "allowed by configuration: {body}");
    assert!(
        body["secret"].as_str().unwrap().len() >= 32,
        "a secret is made"
    );
    let (status, _) = allowed
        .api_post(
            "/webhooks",
            json!({ "url": "https://127.0.0.1:9/x", "kinds": ["no.such"] }),
        )
        .await;
    assert_eq!(status, 400, "unknown kinds are refused");
    allowed.server.shutdown().await;
}

/// Issue 15: sign-ins refused by the throttle are an event (once per account per window).
#[tokio::test]
async fn issue_15_a_throttled_sign_in_is_an_event() {
    let h = start(RawConfig::default()).await;
    let state = h.server.state.clone();
    let csrf = "c".repeat(40);
    let cookie = format!("__Host-casement-signin={csrf}");
    let form = format!("csrf={csrf}&upn=demio&password=wrong-password");
    let mut throttled = 0;
    for _ in 0..8 {
        let (status, _, _) = oneshot(
            &state,
            "POST",
            "/portal/login",
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Some(Body::from(form.clone())),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        }
    }
    assert!(throttled >= 2, "the account is slowed down: {throttled}");
    let events = h.api_get("/events").await;
    let signin: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "signin.throttled")
        .collect();
    assert_eq!(signin.len(), 1, "once per account per window: {events}");
    assert_eq!(signin[0]["subject"], "user:demio");
    h.server.shutdown().await;
}

/// Issue 15: what a management session changes is an event right after it commits: a command
/// the device failed, a device the user unenrolled.
#[tokio::test]
async fn issue_15_a_failed_command_and_a_retired_device_are_events() {
    use casement_dm::device::Platform;
    let h = start(RawConfig::default()).await;
    let device = h.enroll("EV-FAIL-PC").await;
    const TARGET: &str = "./Device/Vendor/MSFT/Issue15/Fails";
    let (status, queued) = h
        .api_post(
            "/devices/EV-FAIL-PC/commands",
            json!({
                "kind": "raw",
                "class": "settings",
                "syncml": format!("<Exec><CmdID>1</CmdID><Item><Target><LocURI>{TARGET}</LocURI></Target></Item></Exec>"),
            }),
        )
        .await;
    assert_eq!(status, 201, "{queued}");
    let command_id = queued["commands"][0]["id"].as_str().unwrap().to_owned();
    let mut tree = Tree::default();
    tree.failing
        .insert(TARGET.into(), casement_syncml::StatusCode::CommandFailed);
    session(
        &h,
        &device,
        Some("Maintenance"),
        1,
        Platform::Windows10,
        Some("user"),
        &mut tree,
    )
    .await;
    let command = h.api_get(&format!("/commands/{command_id}")).await;
    assert_eq!(command["state"], "failed", "{command}");
    session_with(
        &h,
        &device,
        Some("Maintenance"),
        2,
        Platform::Windows10,
        Some("user"),
        &mut tree,
        true,
    )
    .await;
    let events = h.api_get("/events?limit=100").await;
    let kinds: Vec<(&str, &str)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["subject"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let failed = kinds
        .iter()
        .position(|k| *k == ("command.failed", command_id.as_str()));
    let retired = kinds.iter().position(|k| k.0 == "device.retired");
    assert!(
        failed.is_some() && retired.is_some() && failed < retired,
        "enrolled, the command failed, then retired: {kinds:?}"
    );
    assert_eq!(kinds[0].0, "device.enrolled");
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_15_the_last_administrator_account_keeps_its_role() {
    let h = start(RawConfig::default()).await;
    let account =
        |name: &str| json!({ "username": name, "password": "correct horse battery staple" });
    let (status, ada) = h.api_post("/admins", account("ada")).await;
    assert_eq!(status, 201, "{ada}");
    let ada = ada["id"].as_str().unwrap().to_owned();
    let demote = json!({ "role": "auditor" });

    let (status, body) = h
        .api_post(&format!("/admins/{ada}/role"), demote.clone())
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "last-administrator", "{body}");

    let (status, grace) = h.api_post("/admins", account("grace")).await;
    assert_eq!(status, 201, "{grace}");
    let (status, body) = h.api_post(&format!("/admins/{ada}/role"), demote).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "auditor", "{body}");
    let grace = grace["id"].as_str().unwrap();
    let (status, body) = h
        .api_post(
            &format!("/admins/{grace}/role"),
            json!({ "role": "operator" }),
        )
        .await;
    assert_eq!(status, 409, "grace is now the last administrator: {body}");
}
