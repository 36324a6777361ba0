//! The admin API's error mapping, tested on the router itself (`tower::ServiceExt::oneshot`, no
//! TLS, no sockets on the request path) beside the end-to-end HTTPS tests: every refusal is a
//! status with a stable code and a reason.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use casement_server::RawConfig;
use common::*;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    h: &Harness,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = casement_server::http::app(h.server.state.clone())
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_api_maps_every_refusal_to_a_status_a_code_and_a_reason() {
    let h = start(RawConfig::default()).await;
    let bearer = format!("Bearer {}", h.token);

    let (status, body) = call(&h, "GET", "/api/v1/devices", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = call(&h, "GET", "/api/v1/devices", Some("Bearer wrong"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let lower = format!("bearer {}", h.token);
    let (status, body) = call(&h, "GET", "/api/v1/devices", Some(&lower), None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the scheme is case-insensitive: {body}"
    );

    let (status, body) = call(&h, "GET", "/api/v1/devices/NOPE", Some(&bearer), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not-found", "{body}");
    assert!(body["reason"].as_str().unwrap().contains("NOPE"), "{body}");

    let (status, body) = call(
        &h,
        "POST",
        "/api/v1/commands/NOPE/cancel",
        Some(&bearer),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "not-found");

    h.enroll("ROUTER-PC").await;
    let (status, body) = call(
        &h,
        "POST",
        "/api/v1/devices/ROUTER-PC/commands",
        Some(&bearer),
        Some(json!({ "kind": "no-such-kind" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad-request");

    // A request the catalog cannot build for the device's platform: 422, with the reason.
    let (status, body) = call(
        &h,
        "POST",
        "/api/v1/devices/ROUTER-PC/commands",
        Some(&bearer),
        Some(json!({ "kind": "inventory", "sets": ["os"] })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "refused");
    assert!(
        body["reason"].as_str().unwrap().contains("Windows 10/11"),
        "{body}"
    );

    let (status, queued) = call(
        &h,
        "POST",
        "/api/v1/devices/ROUTER-PC/commands",
        Some(&bearer),
        Some(json!({ "kind": "inventory", "sets": ["devinfo"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{queued}");
    let id = queued["commands"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id: {queued}"))
        .to_owned();
    let cancel = format!("/api/v1/commands/{id}/cancel");
    let (status, body) = call(&h, "POST", &cancel, Some(&bearer), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "cancelled");
    let (status, body) = call(&h, "POST", &cancel, Some(&bearer), Some(json!({}))).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "only a pending command: {body}"
    );
    assert_eq!(body["error"], "not-pending");

    let log = call(&h, "GET", "/api/v1/audit", Some(&bearer), None)
        .await
        .1;
    let cancels = log["entries"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["action"] == "command.cancel").count());
    assert_eq!(cancels, Some(1), "audited once: {log}");
    h.server.shutdown().await;
}
