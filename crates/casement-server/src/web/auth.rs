//! Who is signed in: server-side browser sessions, their cookies, anti-forgery tokens and the
//! sign-in rate limit.
//!
//! - A session cookie holds 32 random bytes; the database holds only their SHA-256, so a copy of
//!   the database signs nobody in. Cookies are `__Host-` prefixed, `Secure`, `HttpOnly`,
//!   `SameSite` (Lax for the portal, so a link from an e-mail opens it signed in; Strict for the
//!   console) and expire with the session (absolute lifetime, RFC 6265 `Max-Age`).
//! - Every state-changing request carries the session's CSRF token (a hidden `csrf` form field or
//!   an `X-CSRF-Token` header), checked by [`require_csrf`] before any handler runs. Sign-in
//!   forms, which have no session yet, carry a token that must equal a short-lived cookie (the
//!   "double submit" pattern).
//! - Sign-ins go through the one throttle of every password door (`services::signin`): per
//!   client address first, then per account, slowed down but never locked.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use casement_store::{Admin, User, WebSessionKind, WebSessionRow};
use sha2::Digest;

use super::page::WebError;
use crate::services::signin::{self, SignInError};
use crate::state::AppState;

/// The portal's session cookie.
pub const PORTAL_COOKIE: &str = "__Host-casement-portal";
/// The console's session cookie.
pub const CONSOLE_COOKIE: &str = "__Host-casement-console";
/// The sign-in forms' anti-forgery cookie (double submit).
pub const LOGIN_COOKIE: &str = "__Host-casement-signin";
/// The header a script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How long a portal session lasts.
pub const PORTAL_SESSION_MS: i64 = 12 * 3_600_000;
/// How long a console session lasts.
pub const CONSOLE_SESSION_MS: i64 = 8 * 3_600_000;
/// Largest form body the CSRF check reads.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// A signed-in end user.
#[derive(Debug, Clone)]
pub struct PortalSession {
    /// The user.
    pub user: User,
    /// The session.
    pub session: WebSessionRow,
}

/// A signed-in administrator.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The account.
    pub admin: Admin,
    /// The session.
    pub session: WebSessionRow,
}

impl ConsoleSession {
    /// The actor recorded in the audit log.
    pub fn actor(&self) -> String {
        format!("admin:{}", self.admin.username)
    }

    /// Who this is, for [`crate::authz::require`].
    pub fn principal(&self) -> crate::authz::Principal {
        crate::authz::Principal::Console {
            username: self.admin.username.clone(),
            role: self.admin.role,
        }
    }
}

/// Not signed in: pages redirect to the sign-in page, the JSON API answers 401.
#[derive(Debug)]
pub enum AuthRejection {
    /// A page: go and sign in.
    SignIn(&'static str),
    /// The API: 401.
    Api,
    /// Signed in, but the role lacks the permission the console route needs (403, audited).
    Forbidden(crate::authz::Forbidden),
    /// Storage failed.
    Error(WebError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(to) => Redirect::to(to).into_response(),
            Self::Api => (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({ "error": "unauthorized", "reason": "sign in to the portal first" })),
            )
                .into_response(),
            Self::Forbidden(f) => WebError::from(f).into_response(),
            Self::Error(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for PortalSession {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let api = parts.uri.path().starts_with("/api/");
        let rejection = || {
            if api {
                AuthRejection::Api
            } else {
                AuthRejection::SignIn("/portal/login")
            }
        };
        let session = current(state, &parts.headers, WebSessionKind::Portal)
            .await
            .map_err(AuthRejection::Error)?
            .ok_or_else(rejection)?;
        let user = state
            .store
            .user_by_id(&session.subject_id)
            .await
            .map_err(|e| AuthRejection::Error(e.into()))?
            .ok_or_else(rejection)?;
        Ok(Self { user, session })
    }
}

impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = current(state, &parts.headers, WebSessionKind::Console)
            .await
            .map_err(AuthRejection::Error)?
            .ok_or(AuthRejection::SignIn("/console/login"))?;
        let admin = state
            .store
            .admin_by_id(&session.subject_id)
            .await
            .map_err(|e| AuthRejection::Error(e.into()))?
            .ok_or(AuthRejection::SignIn("/console/login"))?;
        let this = Self { admin, session };
        // The one permission check of the console (crate::authz::CONSOLE_ROUTES): every
        // console handler takes a ConsoleSession, so none runs without it.
        let route = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map_or_else(|| parts.uri.path().to_owned(), |m| m.as_str().to_owned());
        let door = format!("{} {route}", parts.method);
        let principal = this.principal();
        let checked = match crate::authz::need(crate::authz::CONSOLE_ROUTES, &parts.method, &route)
        {
            Some(crate::authz::Need::Permission(p)) => {
                crate::authz::require(state, &principal, p, &door).await
            }
            Some(_) => Ok(()),
            None => crate::authz::refuse(state, &principal, crate::authz::UNLISTED, &door).await,
        };
        checked.map_err(AuthRejection::Forbidden)?;
        Ok(this)
    }
}

/// The session of this kind the request's cookie names, if it exists and has not expired. A
/// session of the other kind under this cookie name is no session.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
    kind: WebSessionKind,
) -> Result<Option<WebSessionRow>, WebError> {
    let Some(token) = cookie(headers, cookie_name(kind)) else {
        return Ok(None);
    };
    let session = state
        .store
        .web_session(&token_hash(&token), state.clock.now_ms())
        .await?;
    Ok(session.filter(|s| s.kind == kind))
}

/// Starts a session for `subject_id`; returns the `Set-Cookie` value.
pub async fn sign_in(
    state: &AppState,
    kind: WebSessionKind,
    subject_id: &str,
) -> Result<HeaderValue, WebError> {
    let token = random_token();
    let now = state.clock.now_ms();
    let lifetime = match kind {
        WebSessionKind::Portal => PORTAL_SESSION_MS,
        WebSessionKind::Console => CONSOLE_SESSION_MS,
    };
    state
        .store
        .create_web_session(&WebSessionRow {
            token_hash: token_hash(&token),
            kind,
            subject_id: subject_id.to_owned(),
            csrf_token: random_token(),
            created_at: now,
            expires_at: now + lifetime,
        })
        .await?;
    // Housekeeping on the way: expired sessions and old failures go.
    if let Err(e) = state
        .store
        .purge_web_sessions(now, now - crate::services::signin::WINDOW_MS)
        .await
    {
        tracing::warn!(error = %e, "purging expired web sessions failed");
    }
    Ok(set_cookie(
        cookie_name(kind),
        &token,
        lifetime / 1000,
        same_site(kind),
    ))
}

/// Ends the request's session of this kind (if any); returns the `Set-Cookie` value that clears
/// the cookie.
pub async fn sign_out(
    state: &AppState,
    headers: &HeaderMap,
    kind: WebSessionKind,
) -> Result<HeaderValue, WebError> {
    if let Some(token) = cookie(headers, cookie_name(kind)) {
        state.store.delete_web_session(&token_hash(&token)).await?;
    }
    Ok(set_cookie(cookie_name(kind), "", 0, same_site(kind)))
}

/// The sign-in form's anti-forgery token: the one in the request's cookie, or a new one with the
/// `Set-Cookie` value to send.
pub fn login_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, LOGIN_COOKIE).filter(|t| t.len() >= 32) {
        Some(token) => (token, None),
        None => {
            let token = random_token();
            let set = set_cookie(LOGIN_COOKIE, &token, 3600, "Strict");
            (token, Some(set))
        }
    }
}

/// The status and sentence of a sign-in refused before its password was checked (throttled:
/// 429; the password pool is full: 429); a storage failure stays an error.
pub fn refusal(e: SignInError) -> Result<(StatusCode, String), WebError> {
    match e {
        SignInError::Throttled {
            retry_after_seconds,
        } => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. Wait {} seconds, then try again.",
                retry_after_seconds
            ),
        )),
        SignInError::Busy(_) => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            "The server is busy. Try again in a few seconds.".into(),
        )),
        SignInError::Store(e) => Err(e.into()),
    }
}

/// The sign-in throttle's key of the client's address (see `signin::client_address`).
pub fn address_key(state: &AppState, request: &Request) -> String {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    signin::address_key(signin::client_address(
        peer,
        request.headers(),
        &state.config.trusted_proxies,
    ))
}

/// Middleware on every portal and console route and the portal API: a request that may change
/// something (any method but GET/HEAD) must carry the right anti-forgery token, or it is refused
/// with 403 before any handler runs.
pub async fn require_csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    // The token from the header, or else from the form body (read, then handed on unchanged).
    let (presented, body) = match parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        Some(token) => (Some(token.to_owned()), body),
        None => match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(bytes) => (form_field(&bytes, "csrf"), Body::from(bytes)),
            Err(_) => return WebError::forbidden("The form is too large.").into_response(),
        },
    };
    let expected = if path.ends_with("/login") {
        cookie(&parts.headers, LOGIN_COOKIE)
    } else {
        let kind = if path.starts_with("/console") {
            WebSessionKind::Console
        } else {
            WebSessionKind::Portal
        };
        match current(&state, &parts.headers, kind).await {
            Ok(session) => session.map(|s| s.csrf_token),
            Err(e) => return e.into_response(),
        }
    };
    let valid = matches!((&presented, &expected), (Some(p), Some(e)) if !e.is_empty() && constant_time_eq(p.as_bytes(), e.as_bytes()));
    if !valid {
        tracing::info!(
            path,
            "web: state-changing request without a valid anti-forgery token refused"
        );
        if path.starts_with("/api/") {
            return (
                StatusCode::FORBIDDEN,
                axum::Json(serde_json::json!({ "error": "forbidden", "reason": "a valid X-CSRF-Token header is required" })),
            )
                .into_response();
        }
        return WebError::forbidden(
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )
        .into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// A form, read after [`require_csrf`] has checked it.
pub async fn read_form<T: serde::de::DeserializeOwned>(
    state: &AppState,
    request: Request,
) -> Result<T, WebError> {
    axum::extract::Form::<T>::from_request(request, state)
        .await
        .map(|axum::extract::Form(f)| f)
        .map_err(|e| WebError::bad_request(e.body_text()))
}

fn cookie_name(kind: WebSessionKind) -> &'static str {
    match kind {
        WebSessionKind::Portal => PORTAL_COOKIE,
        WebSessionKind::Console => CONSOLE_COOKIE,
    }
}

fn same_site(kind: WebSessionKind) -> &'static str {
    match kind {
        WebSessionKind::Portal => "Lax",
        WebSessionKind::Console => "Strict",
    }
}

/// A `Set-Cookie` value (RFC 6265bis: the `__Host-` prefix requires `Secure`, `Path=/` and no
/// `Domain`).
fn set_cookie(name: &str, value: &str, max_age_seconds: i64, same_site: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age_seconds}; Secure; HttpOnly; SameSite={same_site}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The value of a cookie the request carries.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// SHA-256 (hex) of a cookie value: what the database stores.
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    hex::encode(bytes)
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    // `application/x-www-form-urlencoded` (WHATWG URL §5): pairs split on '&', then on '='.
    body.split(|b| *b == b'&')
        .filter_map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            Some((it.next()?, it.next().unwrap_or_default()))
        })
        .find(|(n, _)| decode(n) == name)
        .map(|(_, v)| decode(v))
}

fn decode(raw: &[u8]) -> String {
    let plus: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_form_fields_are_read_exactly() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-casement-portal=abc; b="),
        );
        assert_eq!(cookie(&headers, PORTAL_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "b"), None, "empty is absent");
        assert_eq!(cookie(&headers, CONSOLE_COOKIE), None);
        assert_eq!(
            form_field(b"x=1&csrf=a%2Bb+c&csrf=second", "csrf").as_deref(),
            Some("a+b c"),
            "the first occurrence, decoded"
        );
        assert_eq!(form_field(b"x=1", "csrf"), None);
    }

    #[test]
    fn session_cookies_carry_every_safety_attribute() {
        let v = set_cookie(CONSOLE_COOKIE, "t", 60, "Strict");
        let v = v.to_str().unwrap();
        for part in [
            "__Host-casement-console=t",
            "Path=/",
            "Max-Age=60",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
        ] {
            assert!(v.contains(part), "{v} lacks {part}");
        }
        assert!(!v.contains("Domain"), "__Host- cookies have no Domain");
    }
}
