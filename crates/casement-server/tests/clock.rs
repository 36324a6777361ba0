//! The server reads time only through its injectable clock (issue 13): with a manual clock, what
//! a request records carries the clock's time, and moves only when the clock does.

use std::sync::Arc;

use casement_server::clock::{Clock, ManualClock};
use casement_server::{RawConfig, Server};
use serde_json::{Value, json};

#[tokio::test]
async fn what_a_request_records_carries_the_injected_clocks_time() {
    let dir = tempfile::tempdir().unwrap();
    let start = time::macros::datetime!(2030-01-01 08:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let raw = RawConfig {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".into(),
        ..RawConfig::default()
    };
    let server = Server::start_with_clock(raw, clock.clone()).await.unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(server.tls_certificate_pem.as_bytes()).unwrap(),
        ])
        .build()
        .unwrap();
    let token = std::fs::read_to_string(&server.admin_token_path).unwrap();
    let api = |path: &str| format!("{}/api/v1{path}", server.local_url());
    let create = |upn: &str| {
        http.post(api("/users"))
            .bearer_auth(token.trim())
            .json(&json!({ "upn": upn, "password": "a long password" }))
            .send()
    };
    assert_eq!(create("ann@contoso.com").await.unwrap().status(), 201);
    clock.advance(time::Duration::hours(3));
    assert_eq!(create("bob@contoso.com").await.unwrap().status(), 201);

    let log: Value = http
        .get(api("/audit"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = log["entries"].as_array().unwrap();
    let at: Vec<i64> = entries
        .iter()
        .filter(|e| e["action"] == "user.create")
        .map(|e| e["at"].as_i64().unwrap())
        .collect();
    let ms = |t: time::OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    assert_eq!(
        at,
        [ms(start + time::Duration::hours(3)), ms(start)],
        "newest first, each at the clock's time"
    );
    assert_eq!(clock.now_ms(), ms(start + time::Duration::hours(3)));
    server.shutdown().await;
}
