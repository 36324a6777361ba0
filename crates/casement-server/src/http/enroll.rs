//! Enrollment endpoints: SOAP 1.2 in and out, always with a Content-Length (Windows refuses
//! chunked enrollment responses), and the STS pages.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_server::tls::TlsInfo;

use crate::services::enrollment::{self, SoapReply, StsPage};
use crate::services::signin;
use crate::state::AppState;

/// `GET Discovery.svc`: the client checks the endpoint exists ([MS-MDE] §1.3): 200, empty body.
pub async fn discovery_probe() -> StatusCode {
    StatusCode::OK
}

pub async fn discovery(State(state): State<AppState>, body: Bytes) -> Response {
    soap(enrollment::discover(&state, &body).await)
}

pub async fn policies(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = address(&state, peer, &headers);
    soap(enrollment::get_policies(&state, &body, &address).await)
}

/// `POST Enrollment.svc`: a new enrollment, or a renewal authenticated by the device's current
/// certificate (over mutual TLS, or forwarded by a trusted proxy as for management).
pub async fn enrollment(
    State(state): State<AppState>,
    tls: Option<Extension<Arc<TlsInfo>>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = address(&state, peer, &headers);
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr);
    let client_cert = match super::management::client_certificate(
        &state,
        tls.as_deref().map(Arc::as_ref),
        peer,
        &headers,
    ) {
        Ok(der) => der,
        Err((status, reason)) => return (status, reason).into_response(),
    };
    soap(enrollment::request_security_token(&state, &body, client_cert.as_deref(), &address).await)
}

pub async fn sts_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    html(enrollment::sign_in(&state, query.as_deref().unwrap_or("")))
}

pub async fn sts_submit(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = address(&state, peer, &headers);
    match std::str::from_utf8(&body) {
        Ok(form) => html(enrollment::sign_in_submit(&state, form, &address).await),
        Err(_) => (StatusCode::BAD_REQUEST, "form is not UTF-8").into_response(),
    }
}

/// The sign-in throttle's key of the client (see `signin::client_address`).
fn address(
    state: &AppState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
) -> String {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    signin::address_key(signin::client_address(
        peer,
        headers,
        &state.config.trusted_proxies,
    ))
}

fn soap(reply: SoapReply) -> Response {
    let status = if reply.is_fault {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let content_type = HeaderValue::from_static(casement_enroll::SOAP_CONTENT_TYPE);
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        reply.message.into_string(),
    )
        .into_response()
}

fn html(page: StsPage) -> Response {
    let status = StatusCode::from_u16(page.status).unwrap_or(StatusCode::OK);
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(casement_enroll::HTML_CONTENT_TYPE),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    (status, headers, page.html).into_response()
}
