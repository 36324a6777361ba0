//! [`WnsEndpoint`]: the HTTPS server, its two routes and the controls tests and the CLI use.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use casement_ca::TlsIdentity;
use rand::RngCore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;

use super::state::Inner;
use super::{
    CHANNEL_PATH, CONTROL_PATH, ChannelState, ControlRequest, MAX_PAYLOAD, ReceivedPush, SCOPE,
    TOKEN_PATH, WnsEndpointConfig,
};

/// Validity of the endpoint's self-signed certificate.
const CERT_VALIDITY: time::Duration = time::Duration::days(365);
/// How long [`WnsEndpoint::shutdown`] lets requests in progress finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("WNS endpoint: {0}")]
pub struct StartError(String);

#[derive(Debug)]
struct Shared {
    client_id: String,
    client_secret: String,
    token_lifetime: Duration,
    control_token: Option<String>,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent even if a holder panicked: every change is one statement.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running WNS-compatible HTTPS endpoint (see the [module documentation](super)).
///
/// Dropping it stops the server at once; [`WnsEndpoint::shutdown`] stops it gracefully.
#[derive(Debug)]
pub struct WnsEndpoint {
    addr: SocketAddr,
    base_url: String,
    certificate_pem: String,
    shared: Arc<Shared>,
    handle: Handle<SocketAddr>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl WnsEndpoint {
    /// Generates a self-signed certificate for `127.0.0.1`, `localhost` (and the listening IP
    /// if it is another specific address), binds `config.listen` and serves in a spawned task.
    pub async fn start(config: WnsEndpointConfig) -> Result<Self, StartError> {
        let listener = std::net::TcpListener::bind(config.listen)
            .map_err(|e| StartError(format!("cannot listen on {}: {e}", config.listen)))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| StartError(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError(e.to_string()))?;
        let host_ip = match addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let host_ip_text = host_ip.to_string();
        let mut names = vec!["127.0.0.1", "localhost"];
        if host_ip != IpAddr::V4(Ipv4Addr::LOCALHOST) {
            names.push(&host_ip_text);
        }
        let identity = TlsIdentity::generate_self_signed(
            &names,
            OffsetDateTime::now_utc(),
            CERT_VALIDITY,
            &mut rand::rng(),
        )
        .map_err(|e| StartError(format!("certificate: {e}")))?;
        let tls = rustls_config(&identity)?;

        let shared = Arc::new(Shared {
            client_id: config.client_id,
            client_secret: config.client_secret,
            token_lifetime: config.token_lifetime,
            control_token: config.control_token,
            inner: Mutex::new(Inner::default()),
        });
        let mut app = Router::new()
            .route(TOKEN_PATH, post(token))
            .route(&format!("{CHANNEL_PATH}/{{device_id}}"), post(channel));
        if shared.control_token.is_some() {
            app = app.route(&format!("{CONTROL_PATH}/{{device_id}}"), post(control));
        }
        let app = app.with_state(shared.clone());
        let handle = Handle::new();
        let server = axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls))
            .map_err(|e| StartError(e.to_string()))?
            .handle(handle.clone());
        let task = tokio::spawn(async move { server.serve(app.into_make_service()).await });
        let base_url = match host_ip {
            IpAddr::V4(ip) => format!("https://{ip}:{}", addr.port()),
            IpAddr::V6(ip) => format!("https://[{ip}]:{}", addr.port()),
        };
        Ok(Self {
            addr,
            base_url,
            certificate_pem: identity.certificate_pem().to_owned(),
            shared,
            handle,
            task: Some(task),
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://<ip>:<port>` (`127.0.0.1` when listening on all addresses).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `host:port` of [`Self::base_url`], for `WnsConfig::allow_insecure_hosts`.
    pub fn host_port(&self) -> &str {
        self.base_url.trim_start_matches("https://")
    }

    /// `<base>/accesstoken.srf`, for `WnsConfig::token_url`.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.base_url)
    }

    /// `<base>/wns/channel`: the value of the agent's `AgentState::wns_endpoint`.
    pub fn channel_base(&self) -> String {
        format!("{}{CHANNEL_PATH}", self.base_url)
    }

    /// `<base>/wns/channel/<device_id>`: the channel URI the agent reports for that device.
    pub fn channel_uri(&self, device_id: &str) -> String {
        format!("{}/{device_id}", self.channel_base())
    }

    /// The self-signed certificate (PEM), for `WnsConfig::extra_root_certificates_pem`.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Makes every token request fail with HTTP 400 `invalid_request` and this
    /// `error_description` (e.g. 2026's "Client credential flows against login.live.com are no
    /// longer supported. …"). Tokens already issued stay valid.
    pub fn refuse_tokens(&self, description: impl Into<String>) {
        self.shared.lock().refusal = Some(description.into());
    }

    /// Undoes [`Self::refuse_tokens`].
    pub fn accept_tokens(&self) {
        self.shared.lock().refusal = None;
    }

    /// Forgets every token issued so far: pushes with them answer 401.
    pub fn invalidate_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// How many tokens were issued since the start.
    pub fn tokens_issued(&self) -> usize {
        self.shared.lock().tokens_issued
    }

    /// Pushes to `device_id` answer 404 from now on.
    pub fn revoke(&self, device_id: &str) {
        self.set_state(device_id, ChannelState::Revoked);
    }

    /// Pushes to `device_id` answer 410 from now on.
    pub fn expire(&self, device_id: &str) {
        self.set_state(device_id, ChannelState::Expired);
    }

    /// Sets how `device_id`'s channel answers (e.g. [`ChannelState::Active`] once the device
    /// registered a new channel).
    pub fn set_state(&self, device_id: &str, state: ChannelState) {
        self.shared
            .lock()
            .channels
            .insert(device_id.to_owned(), state);
    }

    /// How `device_id`'s channel answers now.
    pub fn state(&self, device_id: &str) -> ChannelState {
        self.shared.lock().channel_state(device_id)
    }

    /// Sets how channels never configured with [`Self::set_state`] answer (initially
    /// [`ChannelState::Active`]).
    pub fn set_default_state(&self, state: ChannelState) {
        self.shared.lock().default_state = state;
    }

    /// How channels never configured answer.
    pub fn default_state(&self) -> ChannelState {
        self.shared.lock().default_state
    }

    /// The pushes that reached `device_id`'s channel, oldest first (at most
    /// [`super::MAX_PUSHES_KEPT`]).
    pub fn pushes(&self, device_id: &str) -> Vec<ReceivedPush> {
        self.shared
            .lock()
            .pushes
            .get(device_id)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The device IDs of every push delivered from now on (channel [`ChannelState::Active`]),
    /// in arrival order. The receiver ends when the endpoint shuts down or is dropped.
    pub fn subscribe(&self) -> UnboundedReceiver<String> {
        let (tx, rx) = unbounded_channel();
        self.shared.lock().subscribers.push(tx);
        rx
    }

    /// Every push recorded from now on (whatever the channel answered: 404s too), in arrival
    /// order; `casement sim wns` prints one line for each. Ends like [`Self::subscribe`].
    pub fn observe(&self) -> UnboundedReceiver<ReceivedPush> {
        let (tx, rx) = unbounded_channel();
        self.shared.lock().observers.push(tx);
        rx
    }

    /// Stops accepting, lets requests in progress finish (up to 5 s), waits for the server,
    /// and ends the subscriptions.
    pub async fn shutdown(mut self) {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let mut inner = self.shared.lock();
        inner.subscribers.clear();
        inner.observers.clear();
    }
}

impl Drop for WnsEndpoint {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.handle.shutdown();
            let mut inner = self.shared.lock();
            inner.subscribers.clear();
            inner.observers.clear();
        }
    }
}

fn rustls_config(identity: &TlsIdentity) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        identity.private_key_pkcs8_der().to_vec(),
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(identity.certificate_der().to_vec())],
            key,
        )
        .map_err(|e| StartError(format!("TLS identity: {e}")))?;
    // WNS speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// 32 random bytes, base64: opaque like WNS's tokens.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

/// 16 upper-case hex digits (`X-WNS-Msg-ID` is at most 16 characters).
fn new_msg_id() -> String {
    format!("{:016X}", rand::rng().next_u64())
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `POST /accesstoken.srf`: OAuth 2.0 client credentials (docs/protocol.md §3.1). Every failure is
/// HTTP 400 with an OAuth error JSON, as login.live.com answers.
async fn token(
    State(shared): State<Arc<Shared>>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if let Some(description) = shared.lock().refusal.clone() {
        return oauth_error("invalid_request", &description);
    }
    let Ok(Form(form)) = form else {
        return oauth_error(
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded.",
        );
    };
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("grant_type") != Some("client_credentials") {
        return oauth_error(
            "unsupported_grant_type",
            "The grant_type must be client_credentials.",
        );
    }
    if field("scope") != Some(SCOPE) {
        return oauth_error("invalid_scope", "The scope must be notify.windows.com.");
    }
    if field("client_id") != Some(shared.client_id.as_str())
        || field("client_secret") != Some(shared.client_secret.as_str())
    {
        return oauth_error("invalid_client", "Invalid client id or client secret.");
    }
    let now = OffsetDateTime::now_utc();
    let token = new_token();
    shared
        .lock()
        .issue(token.clone(), now + shared.token_lifetime, now);
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": shared.token_lifetime.as_secs(),
        })),
    )
        .into_response()
}

/// `POST /control/channels/{device_id}` with a [`ControlRequest`] and the control token as a
/// bearer token: sets how that channel answers. 401 without the token, 400 for a body that is
/// not a [`ControlRequest`], else 200 with `{"device_id", "state"}`.
async fn control(
    State(shared): State<Arc<Shared>>,
    Path(device_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let presented = header_str(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let expected = shared.control_token.as_deref().unwrap_or_default();
    if expected.is_empty() || !same_bytes(presented.as_bytes(), expected.as_bytes()) {
        return (StatusCode::UNAUTHORIZED, "control token required\n").into_response();
    }
    let request: ControlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    shared
        .lock()
        .channels
        .insert(device_id.clone(), request.channel_state());
    axum::Json(serde_json::json!({ "device_id": device_id, "state": request })).into_response()
}

/// Compares in time independent of where the first difference is.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// An answer with the diagnostic headers WNS always sends.
fn wns_response(status: StatusCode, msg_id: &str, extra: &[(&str, String)]) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("x-wns-msg-id", msg_id);
    put("x-wns-debug-trace", "casement-sim");
    put("ms-cv", msg_id);
    for (name, value) in extra {
        if let Ok(name) = axum::http::HeaderName::from_bytes(name.as_bytes())
            && let Ok(v) = HeaderValue::from_str(value)
        {
            headers.insert(name, v);
        }
    }
    response
}

fn refused(status: StatusCode, msg_id: &str, description: &str) -> Response {
    wns_response(
        status,
        msg_id,
        &[("x-wns-error-description", description.to_owned())],
    )
}

/// `POST /wns/channel/{device_id}`: a raw notification (docs/protocol.md §3.2–3.3). Checked in
/// this order: chunked body (400), bearer token (401), `X-WNS-Type` / `Content-Type` (400), size
/// (413); then the channel's [`ChannelState`] decides.
async fn channel(
    State(shared): State<Arc<Shared>>,
    Path(device_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let msg_id = new_msg_id();
    let now = OffsetDateTime::now_utc();
    let chunked = headers.get_all(header::TRANSFER_ENCODING).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
    });
    if chunked {
        return refused(
            StatusCode::BAD_REQUEST,
            &msg_id,
            "Chunked requests are not supported.",
        );
    }
    let token = header_str(&headers, "authorization").and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    if !token.is_some_and(|t| shared.lock().token_valid(t, now)) {
        return refused(
            StatusCode::UNAUTHORIZED,
            &msg_id,
            "Invalid or expired access token.",
        );
    }
    if !header_str(&headers, "x-wns-type").is_some_and(|v| v.eq_ignore_ascii_case("wns/raw")) {
        return refused(
            StatusCode::BAD_REQUEST,
            &msg_id,
            "X-WNS-Type must be wns/raw.",
        );
    }
    let content_type_ok = header_str(&headers, "content-type").is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/octet-stream"))
    });
    if !content_type_ok {
        return refused(
            StatusCode::BAD_REQUEST,
            &msg_id,
            "Content-Type must be application/octet-stream.",
        );
    }
    if body.len() > MAX_PAYLOAD {
        return refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            &msg_id,
            "The notification payload exceeds the 5000 byte size limit.",
        );
    }

    let request_for_status = header_str(&headers, "x-wns-requestforstatus")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut inner = shared.lock();
    let state = inner.channel_state(&device_id);
    let (response, delivered) = match state {
        ChannelState::Active => {
            let mut extra = vec![("x-wns-status", "received".to_owned())];
            if request_for_status {
                extra.push(("x-wns-deviceconnectionstatus", "connected".to_owned()));
            }
            (wns_response(StatusCode::OK, &msg_id, &extra), true)
        }
        ChannelState::Dropped => (
            wns_response(
                StatusCode::OK,
                &msg_id,
                &[("x-wns-status", "dropped".to_owned())],
            ),
            false,
        ),
        ChannelState::Revoked => (
            refused(
                StatusCode::NOT_FOUND,
                &msg_id,
                "The channel URI is not valid.",
            ),
            false,
        ),
        ChannelState::Expired => (
            refused(StatusCode::GONE, &msg_id, "The channel expired."),
            false,
        ),
        ChannelState::Throttled { continue_after } => (
            wns_response(
                StatusCode::NOT_ACCEPTABLE,
                &msg_id,
                &[
                    ("x-wns-continue-after", continue_after.as_secs().to_string()),
                    (
                        "x-wns-error-description",
                        "Throttle limit exceeded.".to_owned(),
                    ),
                ],
            ),
            false,
        ),
        ChannelState::Failing(code) => {
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(StatusCode::is_server_error)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                refused(status, &msg_id, "The notification service is failing."),
                false,
            )
        }
    };
    inner.record(ReceivedPush {
        device_id,
        at: now,
        status: response.status().as_u16(),
        delivered,
        msg_id,
        cache_policy: header_str(&headers, "x-wns-cache-policy").map(str::to_owned),
        ttl: header_str(&headers, "x-wns-ttl").map(str::to_owned),
        request_for_status,
        payload: body.to_vec(),
    });
    response
}
