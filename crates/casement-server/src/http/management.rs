//! The management endpoint (`POST /ManagementServer/MDM.svc?mode=…&Platform=WoA`): device
//! identity from the client certificate (or, from a trusted proxy only, from its header), then
//! the body (at most [`super::MAX_MANAGEMENT_BODY_BYTES`]: a request that cannot be
//! authenticated is answered before its body is read), then the management service.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_server::tls::TlsInfo;
use casement_ca::VerifiedDevice;

use crate::services::management::{self, RequestFacts};
use crate::state::AppState;

/// The header a trusted reverse proxy puts the verified client certificate in (PEM, URL-encoded,
/// as nginx's `$ssl_client_escaped_cert`).
pub const CLIENT_CERT_HEADER: &str = "x-client-cert";

pub async fn post(
    State(state): State<AppState>,
    tls: Option<Extension<Arc<TlsInfo>>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr);
    let response = handle(&state, tls, peer, &query, &headers, body).await;
    state
        .metrics
        .observe_latency("management", started.elapsed().as_secs_f64());
    response
}

async fn handle(
    state: &AppState,
    tls: Option<Extension<Arc<TlsInfo>>>,
    peer: Option<SocketAddr>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("wbxml") {
        state.metrics.refusal("wbxml");
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "WBXML is not supported; provision DEFAULTENCODING application/vnd.syncml.dm+xml",
        );
    }
    let device = match identify(state, tls.as_deref().map(Arc::as_ref), peer, headers) {
        Ok(device) => device,
        Err((status, reason)) => return refuse(status, &reason),
    };
    let body = match axum::body::to_bytes(body, super::MAX_MANAGEMENT_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) => {
            state.metrics.refusal("management-body");
            tracing::warn!(device = %device.device_id(), error = %e, "management: body not read");
            // Over the limit (a chunked body: a declared one was refused before) or too slow.
            return refuse(
                StatusCode::BAD_REQUEST,
                "the request body is over the limit or did not arrive in time",
            );
        }
    };
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let facts = RequestFacts {
        mode: param("mode"),
        platform: param("Platform"),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let reply = management::handle_message(state, &device, &facts, &body).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if reply.syncml {
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(casement_syncml::CONTENT_TYPE),
            )],
            reply.body,
        )
            .into_response()
    } else {
        refuse(status, &reply.body)
    }
}

/// The device behind the request: its TLS client certificate, or — only when the TCP peer is a
/// configured trusted proxy — the certificate the proxy verified and forwarded.
fn identify(
    state: &AppState,
    tls: Option<&TlsInfo>,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Result<VerifiedDevice, (StatusCode, String)> {
    let Some(der) = client_certificate(state, tls, peer, headers)? else {
        state.metrics.refusal("no-certificate");
        return Err((
            StatusCode::UNAUTHORIZED,
            "a client certificate is required".into(),
        ));
    };
    // A certificate presented in this TLS connection was verified against our CA by the
    // handshake (tls::server_config); one forwarded by a proxy is verified here in full.
    let verified = match tls.and_then(|t| t.peer_certificates.first()) {
        Some(_) => state
            .ca
            .accept_tls_verified_client_certificate(&der, state.clock.now_utc()),
        None => state
            .ca
            .verify_client_certificate(&der, state.clock.now_utc()),
    };
    verified.map_err(|e| {
        tracing::warn!(error = %e, "management: client certificate refused");
        state.metrics.refusal("foreign-certificate");
        (
            StatusCode::FORBIDDEN,
            "the client certificate was not issued by this server or has expired".to_owned(),
        )
    })
}

/// The client certificate (DER) a request came with, not yet verified: the TLS peer's, or —
/// only when the TCP peer is a configured trusted proxy — the one in [`CLIENT_CERT_HEADER`].
/// A header from anyone else is ignored (and logged). A forwarded value that is not a PEM
/// certificate is refused.
pub(crate) fn client_certificate(
    state: &AppState,
    tls: Option<&TlsInfo>,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Result<Option<Vec<u8>>, (StatusCode, String)> {
    if let Some(der) = tls.and_then(|t| t.peer_certificates.first()) {
        return Ok(Some(der.clone()));
    }
    let forwarded = headers
        .get(CLIENT_CERT_HEADER)
        .and_then(|v| v.to_str().ok());
    let from_proxy = peer.is_some_and(|p| state.config.trusted_proxies.contains(&p.ip()));
    match (forwarded, from_proxy) {
        (Some(escaped), true) => proxy_certificate(escaped).map(Some).ok_or_else(|| {
            state.metrics.refusal("bad-proxy-certificate");
            (
                StatusCode::FORBIDDEN,
                "the forwarded client certificate is not a PEM certificate".to_owned(),
            )
        }),
        (Some(_), false) => {
            tracing::warn!(peer = ?peer, "client certificate header from an untrusted address ignored");
            Ok(None)
        }
        (None, _) => Ok(None),
    }
}

fn proxy_certificate(escaped: &str) -> Option<Vec<u8>> {
    let pem = percent_encoding::percent_decode_str(escaped)
        .decode_utf8()
        .ok()?;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).ok()
}

fn refuse(status: StatusCode, reason: &str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        reason.to_owned(),
    )
        .into_response()
}
