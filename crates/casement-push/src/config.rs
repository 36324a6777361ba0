//! [`WnsConfig`]: credentials, endpoints and the host allow-list of the WNS client.

use std::fmt;
use std::time::Duration;

/// The token endpoint Microsoft documents for WNS
/// (windows-dev-docs `push-request-response-headers.md`, "Access token request").
pub const DEFAULT_TOKEN_URL: &str = "https://login.live.com/accesstoken.srf";

/// The OAuth scope for Windows channels (same doc: "Windows: notify.windows.com").
pub const DEFAULT_SCOPE: &str = "notify.windows.com";

/// The only domain a channel URI may point to by default. WNS overview
/// (`windows-push-notification-services--wns--overview.md`, "Requesting a notification channel"):
/// "the cloud service always ensures that the channel URI uses the domain notify.windows.com.
/// The service should never push notifications to a channel on any other domain."
pub const DEFAULT_ALLOWED_HOST_SUFFIX: &str = "notify.windows.com";

/// Default timeout of one HTTP exchange (token request or push).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Configuration of a [`crate::WnsClient`].
///
/// `Debug` never prints `client_secret`.
#[derive(Clone, PartialEq, Eq)]
pub struct WnsConfig {
    /// OAuth 2.0 client-credentials token endpoint. Must be HTTPS unless its `host[:port]` is in
    /// [`allow_insecure_hosts`](Self::allow_insecure_hosts) and
    /// [`allow_http_for_those`](Self::allow_http_for_those) is set.
    pub token_url: String,
    /// The app's Package SID as the token request's `client_id`, e.g. `ms-app://S-1-15-2-…`.
    /// It must belong to the same Store registration as the PFN the devices were configured with,
    /// otherwise pushes answer 403.
    pub client_id: String,
    /// The client secret of that registration (never logged, never printed by `Debug`).
    pub client_secret: String,
    /// OAuth scope; `notify.windows.com` for Windows.
    pub scope: String,
    /// Domain suffixes a channel URI's host must equal or be a subdomain of (`x.<suffix>`).
    /// A leading `.` or `*.` is ignored. Default: `["notify.windows.com"]`.
    pub allowed_host_suffixes: Vec<String>,
    /// **For tests and the device simulator only.** Explicit `host[:port]` values (e.g.
    /// `127.0.0.1:8444`, `[::1]:9000`, `sim.local`) that are allowed although they are not under
    /// [`allowed_host_suffixes`](Self::allowed_host_suffixes). An entry without a port matches
    /// that host on any port. IP literals are refused unless listed here. These hosts still need
    /// HTTPS unless [`allow_http_for_those`](Self::allow_http_for_those) is also set.
    /// Leave empty in production.
    pub allow_insecure_hosts: Vec<String>,
    /// **For tests and the device simulator only.** Lets plain `http://` reach the hosts of
    /// [`allow_insecure_hosts`](Self::allow_insecure_hosts) (channel URIs and the token URL).
    /// Hosts under the WNS suffixes always require HTTPS.
    pub allow_http_for_those: bool,
    /// Timeout of one HTTP exchange (connect + request + response headers and body).
    pub request_timeout: Duration,
    /// Extra trusted root certificates (PEM; each entry may hold several certificates), added to
    /// the platform's roots, e.g. the simulator's self-signed WNS endpoint certificate.
    pub extra_root_certificates_pem: Vec<String>,
    /// `X-WNS-TTL` sent with every push (whole seconds, at least 1); `None` sends no TTL, so the
    /// notification does not expire in WNS's cache (push-request-response-headers.md, X-WNS-TTL).
    pub notification_ttl: Option<Duration>,
}

impl WnsConfig {
    /// A configuration for the public WNS service with all defaults and these credentials.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ..Self::default()
        }
    }
}

impl Default for WnsConfig {
    /// Public WNS endpoints, empty credentials, no insecure hosts.
    fn default() -> Self {
        Self {
            token_url: DEFAULT_TOKEN_URL.to_owned(),
            client_id: String::new(),
            client_secret: String::new(),
            scope: DEFAULT_SCOPE.to_owned(),
            allowed_host_suffixes: vec![DEFAULT_ALLOWED_HOST_SUFFIX.to_owned()],
            allow_insecure_hosts: Vec::new(),
            allow_http_for_those: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            extra_root_certificates_pem: Vec::new(),
            notification_ttl: None,
        }
    }
}

impl fmt::Debug for WnsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WnsConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &if self.client_secret.is_empty() {
                    "<empty>"
                } else {
                    "<redacted>"
                },
            )
            .field("scope", &self.scope)
            .field("allowed_host_suffixes", &self.allowed_host_suffixes)
            .field("allow_insecure_hosts", &self.allow_insecure_hosts)
            .field("allow_http_for_those", &self.allow_http_for_those)
            .field("request_timeout", &self.request_timeout)
            .field(
                "extra_root_certificates_pem",
                &format_args!("[{} PEM entries]", self.extra_root_certificates_pem.len()),
            )
            .field("notification_ttl", &self.notification_ttl)
            .finish()
    }
}

/// Why a [`WnsConfig`] cannot be used (the operator's configuration is at fault).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `token_url` is not an absolute http(s) URL.
    #[error("WNS token URL is not a valid absolute URL")]
    InvalidTokenUrl,
    /// `token_url` uses plain HTTP for a host that is not explicitly allowed to.
    #[error(
        "WNS token URL must use https (plain http only for allow_insecure_hosts with allow_http_for_those)"
    )]
    InsecureTokenUrl,
    /// `client_id` or `client_secret` is empty.
    #[error("WNS client_id and client_secret must not be empty")]
    MissingCredentials,
    /// An `allow_insecure_hosts` entry is not a `host[:port]`.
    #[error("allow_insecure_hosts entry {0:?} is not a host[:port]")]
    InvalidAllowedHost(String),
    /// An `extra_root_certificates_pem` entry holds no valid certificate.
    #[error("extra_root_certificates_pem entry #{index} is not a valid PEM certificate")]
    InvalidCertificate {
        /// Index of the entry in the list.
        index: usize,
    },
    /// The HTTP client could not be built (TLS back-end initialisation).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_wns_values() {
        let c = WnsConfig::default();
        assert_eq!(c.token_url, "https://login.live.com/accesstoken.srf");
        assert_eq!(c.scope, "notify.windows.com");
        assert_eq!(c.allowed_host_suffixes, vec!["notify.windows.com"]);
        assert!(c.allow_insecure_hosts.is_empty());
        assert!(!c.allow_http_for_those);
        assert_eq!(c.notification_ttl, None);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let c = WnsConfig::new("ms-app://S-1-15-2-1", "Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7");
        let s = format!("{c:?}");
        assert!(!s.contains("Vex8L9"), "{s}");
        assert!(s.contains("<redacted>"), "{s}");
        assert!(s.contains("ms-app://S-1-15-2-1"), "{s}");
    }
}
