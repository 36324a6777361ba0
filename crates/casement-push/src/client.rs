//! [`WnsClient`]: the HTTP side — token requests and raw pushes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Certificate, Url, redirect};
use tokio::sync::Mutex;

use crate::Pusher;
use crate::channel::{ChannelUri, check_allowed_hosts, check_channel_uri, check_token_url};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, WnsConfig};
use crate::error::{MAX_PAYLOAD_LEN, PushError, TransportError};
use crate::outcome::{PushOutcome, classify};
use crate::token::{AccessToken, CachedToken, TokenError, parse_token_response};

/// Response bodies are read up to this many bytes (WNS push answers are empty, token answers
/// a few hundred bytes); the rest is discarded.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// A WNS client: one cached access token, raw pushes to checked channel URIs.
///
/// Cheap to share (`Arc<WnsClient>` or `Arc<dyn Pusher>`); concurrent pushes share one token and
/// one token refresh.
#[derive(Debug)]
pub struct WnsClient {
    config: WnsConfig,
    token_url: Url,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    token: Mutex<Option<CachedToken>>,
}

/// Builds a [`WnsClient`] with a non-default clock or host-name pins.
#[derive(Debug)]
pub struct WnsClientBuilder {
    config: WnsConfig,
    clock: Arc<dyn Clock>,
    resolve: Vec<(String, SocketAddr)>,
}

impl WnsClientBuilder {
    /// Uses `clock` for token expiry and `Retry-After` dates (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// **Tests and the simulator only**: resolves `host` to `addr` instead of asking DNS. The
    /// channel URI check is unaffected (it looks at the name, not the address).
    pub fn resolve(mut self, host: &str, addr: SocketAddr) -> Self {
        self.resolve.push((host.to_owned(), addr));
        self
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<WnsClient, ConfigError> {
        let config = self.config;
        if config.client_id.trim().is_empty() || config.client_secret.is_empty() {
            return Err(ConfigError::MissingCredentials);
        }
        check_allowed_hosts(&config)?;
        let token_url = check_token_url(&config.token_url, &config)?;

        let mut certs = Vec::new();
        for (index, pem) in config.extra_root_certificates_pem.iter().enumerate() {
            match Certificate::from_pem_bundle(pem.as_bytes()) {
                Ok(c) if !c.is_empty() => certs.extend(c),
                _ => return Err(ConfigError::InvalidCertificate { index }),
            }
        }

        let mut http = reqwest::Client::builder()
            // A redirect could lead anywhere: the channel check must be the last word on where a
            // request goes, so 3xx answers are classified, never followed.
            .redirect(redirect::Policy::none())
            // WNS "supports HTTP 1.1" and neither chunking nor pipelining
            // (push-request-response-headers.md, "Unsupported HTTP features"). Bodies are sent
            // from a Vec, so hyper writes a Content-Length and never `Expect: 100-continue`.
            .http1_only()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("casement-push/", env!("CARGO_PKG_VERSION")));
        if !certs.is_empty() {
            http = http.tls_certs_merge(certs);
        }
        for (host, addr) in &self.resolve {
            http = http.resolve(host, *addr);
        }
        let http = http
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;

        Ok(WnsClient {
            config,
            token_url,
            http,
            clock: self.clock,
            token: Mutex::new(None),
        })
    }
}

impl WnsClient {
    /// A client with the system clock.
    pub fn new(config: WnsConfig) -> Result<Self, ConfigError> {
        Self::builder(config).build()
    }

    /// A builder, to set a clock or host-name pins.
    pub fn builder(config: WnsConfig) -> WnsClientBuilder {
        WnsClientBuilder {
            config,
            clock: Arc::new(SystemClock),
            resolve: Vec::new(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &WnsConfig {
        &self.config
    }

    /// Checks `channel_uri` against this client's configuration (see [`check_channel_uri`]);
    /// for validating a URI when a device reports it.
    pub fn check_channel_uri(
        &self,
        channel_uri: &str,
    ) -> Result<ChannelUri, crate::ChannelRefused> {
        check_channel_uri(channel_uri, &self.config)
    }

    /// The cached access token, fetched first if there is none or it is due for refresh
    /// (`expires_in` − 5 min, at least 30 s). Concurrent callers wait for one shared fetch.
    /// Also a way to test the credentials at startup.
    pub async fn access_token(&self) -> Result<AccessToken, TokenError> {
        let mut slot = self.token.lock().await;
        let now = self.clock.now();
        if let Some(cached) = slot.as_ref()
            && cached.is_fresh(now)
        {
            return Ok(cached.token.clone());
        }
        *slot = None;
        // Lifetime counted from before the request: never later than the real expiry.
        let token = self.fetch_token().await?;
        *slot = Some(CachedToken::new(token.clone(), now));
        Ok(token)
    }

    /// Sends a raw notification with an explicit `X-WNS-TTL` (`None`: no TTL header), ignoring
    /// [`WnsConfig::notification_ttl`]. See [`Pusher::push`].
    pub async fn push_with_ttl(
        &self,
        channel_uri: &str,
        payload: &[u8],
        ttl: Option<Duration>,
    ) -> Result<PushOutcome, PushError> {
        let channel = match check_channel_uri(channel_uri, &self.config) {
            Ok(c) => c,
            Err(reason) => {
                tracing::warn!(%reason, "WNS push refused: channel URI not allowed; not contacted");
                return Err(reason.into());
            }
        };
        if payload.is_empty() {
            return Err(PushError::EmptyPayload);
        }
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(PushError::PayloadTooLarge { len: payload.len() });
        }

        let token = self.access_token().await?;
        let mut outcome = self.send_raw(&channel, payload, ttl, &token).await?;
        if matches!(outcome, PushOutcome::TokenRejected { .. }) {
            // 401: "Request a valid access token" (response codes table) and resend once only
            // ("do not try to re-send your notification more than once if the access token is
            // rejected", WNS overview). Dropping only the token we used lets concurrent 401s share
            // one refresh.
            log_outcome(&channel, &outcome, true);
            self.forget_token(&token).await;
            let token = self.access_token().await?;
            outcome = self.send_raw(&channel, payload, ttl, &token).await?;
        }
        log_outcome(&channel, &outcome, false);
        Ok(outcome)
    }

    async fn forget_token(&self, used: &AccessToken) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|c| &c.token == used) {
            *slot = None;
        }
    }

    async fn fetch_token(&self) -> Result<AccessToken, TokenError> {
        // Form fields per push-request-response-headers.md, "Access token request parameters";
        // reqwest's `form` URL-encodes them ("You must ensure that all parameters are URL
        // encoded").
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.as_str()),
            ("scope", self.config.scope.as_str()),
        ];
        let mut resp = self
            .http
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| TokenError::Transport(TransportError::new(e)))?;
        let status = resp.status().as_u16();
        let body = read_capped(&mut resp)
            .await
            .map_err(|e| TokenError::Transport(TransportError::new(e)))?;
        let result = parse_token_response(status, &body);
        match &result {
            Ok(t) => tracing::debug!(expires_in = ?t.expires_in(), "WNS access token obtained"),
            Err(e) => tracing::error!(error = %e, "WNS access token request failed"),
        }
        result
    }

    async fn send_raw(
        &self,
        channel: &ChannelUri,
        payload: &[u8],
        ttl: Option<Duration>,
        token: &AccessToken,
    ) -> Result<PushOutcome, PushError> {
        // Headers per push-request-response-headers.md "Request parameters" and
        // fixtures/wns/03-raw-push-request.http; `cache` so an offline device gets the wake-up
        // when it reconnects (raw default is no-cache; docs/protocol.md §3.2).
        let mut req = self
            .http
            .post(channel.clone().into_url())
            .header(AUTHORIZATION, format!("Bearer {}", token.secret()))
            .header(CONTENT_TYPE, "application/octet-stream")
            .header("X-WNS-Type", "wns/raw")
            .header("X-WNS-Cache-Policy", "cache")
            .header("X-WNS-RequestForStatus", "true");
        if let Some(ttl) = ttl {
            req = req.header("X-WNS-TTL", ttl.as_secs().max(1).to_string());
        }
        let mut resp = req
            .body(payload.to_vec())
            .send()
            .await
            .map_err(|e| PushError::Transport(TransportError::new(e)))?;
        let outcome = classify(resp.status().as_u16(), resp.headers(), self.clock.now());
        // Drain (a little of) the body so the connection can be reused; its content is unused.
        if let Err(e) = read_capped(&mut resp).await {
            tracing::debug!(error = %TransportError::new(e), "WNS response body not fully read");
        }
        Ok(outcome)
    }
}

#[async_trait::async_trait]
impl Pusher for WnsClient {
    async fn push(&self, channel_uri: &str, payload: &[u8]) -> Result<PushOutcome, PushError> {
        self.push_with_ttl(channel_uri, payload, self.config.notification_ttl)
            .await
    }
}

async fn read_capped(resp: &mut reqwest::Response) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_RESPONSE_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_RESPONSE_BODY {
            break;
        }
    }
    Ok(body)
}

/// Logs an outcome with the diagnostic headers WNS asks to be logged (never the channel token).
fn log_outcome(channel: &ChannelUri, outcome: &PushOutcome, will_retry: bool) {
    let d = outcome.diagnostics();
    let host = channel.host();
    let label = outcome.label();
    let msg_id = d.msg_id.as_deref().unwrap_or("");
    let debug_trace = d.debug_trace.as_deref().unwrap_or("");
    let error_description = d.error_description.as_deref().unwrap_or("");
    let ms_cv = d.ms_cv.as_deref().unwrap_or("");
    macro_rules! log {
        ($level:ident, $msg:literal) => {
            tracing::$level!(
                channel_host = host,
                outcome = label,
                will_retry,
                msg_id,
                debug_trace,
                error_description,
                ms_cv,
                $msg
            )
        };
    }
    match outcome {
        PushOutcome::Received { .. } => log!(info, "WNS push accepted"),
        PushOutcome::TokenRejected { .. } if will_retry => {
            log!(info, "WNS rejected the access token; refreshing it once")
        }
        PushOutcome::Dropped { .. }
        | PushOutcome::Throttled { .. }
        | PushOutcome::ChannelGone { .. }
        | PushOutcome::ServerError { .. } => log!(warn, "WNS push not delivered"),
        PushOutcome::TokenRejected { .. }
        | PushOutcome::Forbidden { .. }
        | PushOutcome::BadRequest { .. }
        | PushOutcome::TooLarge { .. }
        | PushOutcome::Unexpected { .. } => log!(error, "WNS push refused"),
    }
}
