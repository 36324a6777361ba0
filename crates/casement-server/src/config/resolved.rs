//! The validated configuration: [`Config`] and its parts ([`NetworkLimits`],
//! [`PasswordPoolSize`], [`SigninPolicy`]), plus [`ConfigError`].
//!
//! Contract: plain data, built only by [`RawConfig::validate`](super::RawConfig::validate); a
//! [`Config`] is always consistent (URLs, limits and credentials already checked).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// The validated configuration passed to constructors.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Public base URL, no trailing slash.
    pub public_url: String,
    /// Database URL.
    pub database: String,
    /// Configured TLS certificate and key files.
    pub tls_files: Option<(PathBuf, PathBuf)>,
    /// Configured CA certificate and key files.
    pub ca_files: Option<(PathBuf, PathBuf)>,
    /// Device certificate validity in days.
    pub device_cert_days: u32,
    /// Device limit per user.
    pub max_devices_per_user: u32,
    /// Provider ID.
    pub provider_id: String,
    /// Auth policies offered at discovery.
    pub auth_policies: Vec<casement_enroll::AuthPolicy>,
    /// STS token lifetime.
    pub sts_token_seconds: u32,
    /// Trusted reverse proxies.
    pub trusted_proxies: Vec<IpAddr>,
    /// The WNS identity devices are configured with, when push is set up.
    pub wns: Option<casement_dm::catalog::WnsIdentity>,
    /// Queue push configuration for new devices.
    pub auto_push_config: bool,
    /// The WNS client configuration, when credentials are given.
    pub wns_client: Option<casement_push::WnsConfig>,
    /// Least time between two pushes to one device.
    pub push_interval_ms: i64,
    /// How often verified profile settings are read again for drift.
    pub profile_check_interval_ms: i64,
    /// Sessions older than this are pruned (`None`: kept forever).
    pub session_retention_ms: Option<i64>,
    /// The bootstrap token is refused.
    pub disable_bootstrap_token: bool,
    /// Wipes wait for a second administrator's approval.
    pub wipe_approval: bool,
    /// Where and how webhooks are delivered.
    pub webhooks: WebhookPolicy,
    /// Timeouts and the connection limit of the HTTPS listener.
    pub network: NetworkLimits,
    /// The password-hashing pool's size.
    pub password_pool: PasswordPoolSize,
    /// The sign-in throttle.
    pub signin: SigninPolicy,
}

/// What one client may hold of the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkLimits {
    /// Time to send a request head (also the idle timeout of a kept-alive connection).
    pub header_timeout: std::time::Duration,
    /// Time to send a whole request body.
    pub body_timeout: std::time::Duration,
    /// Connections open at once (before the file-descriptor adjustment at start).
    pub max_connections: usize,
    /// Connections open at once from one address (at most half the connection limit in force).
    pub max_connections_per_address: usize,
    /// The plain-HTTP metrics listener, if any.
    pub metrics_listen: Option<SocketAddr>,
}

/// Webhook delivery settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Private, loopback, link-local and metadata addresses are allowed.
    pub allow_private: bool,
    /// Extra root certificates (PEM) receivers may present.
    pub extra_roots_pem: Option<String>,
    /// The first retry's wait, doubled per attempt.
    pub retry_base_ms: i64,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Time a receiver has to answer.
    pub timeout: std::time::Duration,
}

/// Password checks at once and waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPoolSize {
    /// Worker threads (each check holds about 19 MiB while it runs).
    pub workers: usize,
    /// Checks that may wait; more are refused as busy.
    pub queue: usize,
}

/// When sign-ins are refused without checking the password (see `services::signin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigninPolicy {
    /// Failures from one address within the window that refuse it for the window.
    pub failures_per_address: u64,
    /// Failures of one account within the window after which it is slowed down.
    pub failures_per_account: u64,
    /// The first imposed wait.
    pub delay_ms: i64,
    /// The longest imposed wait.
    pub max_delay_ms: i64,
}

impl Config {
    /// The management endpoint devices are provisioned with (`ADDR`, no query).
    pub fn management_url(&self) -> String {
        format!("{}{}", self.public_url, crate::paths::MANAGEMENT)
    }

    /// A full URL for a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// A configuration that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);
