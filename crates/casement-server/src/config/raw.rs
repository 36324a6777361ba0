//! [`RawConfig`]: the raw layered settings, their defaults, and the layering itself
//! ([`RawConfig::load`]).
//!
//! Contract: every field has a default; layers apply in the order defaults → `--config` TOML file
//! → `CASEMENT_*` environment (minus [`FOREIGN_ENV`]) → command-line flags; unknown keys are
//! refused. Nothing is validated here.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use super::resolved::ConfigError;

/// Raw settings as layered; every field has a default. Field names are the TOML keys and, upper
/// case with the `CASEMENT_` prefix, the environment variables (e.g. `CASEMENT_LISTEN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    /// Data directory: database, CA, TLS identity, admin token.
    pub data_dir: PathBuf,
    /// HTTPS listen address.
    pub listen: String,
    /// The URL devices use to reach this server (enrollment URLs and the management ADDR are
    /// built from it). Default: `https://localhost:<port of listen>`.
    pub public_url: Option<String>,
    /// Database URL; default the embedded SQLite file `<data_dir>/casement.db`.
    pub database: Option<String>,
    /// TLS certificate and key (PEM); default a self-signed one for localhost in the data dir.
    pub tls_cert: Option<PathBuf>,
    /// See `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// CA certificate and key (PEM); default one created in the data dir.
    pub ca_cert: Option<PathBuf>,
    /// See `ca_cert`.
    pub ca_key: Option<PathBuf>,
    /// Validity of device certificates, in days.
    pub device_cert_days: u32,
    /// Most active devices one user may enroll.
    pub max_devices_per_user: u32,
    /// The MDM provider ID (w7 PROVIDER-ID, DMClient provider).
    pub provider_id: String,
    /// Enrollment auth policies offered, in order of preference: `OnPremise` (user name and
    /// password in the enrollment wizard), `Federated` (our sign-in page). Windows 8.1 supports
    /// only Federated and gets it whatever the order.
    pub auth_policies: Vec<String>,
    /// Lifetime of a sign-in (STS) token, in seconds.
    pub sts_token_seconds: u32,
    /// Addresses of reverse proxies trusted to forward a verified client certificate.
    pub trusted_proxies: Vec<IpAddr>,
    /// The `MDM_WNSConfiguration` AppId Windows 8.1 devices are configured with (the server's
    /// choice: [MS-MDM] leaves it open).
    pub wns_app_id: String,
    /// The Store package family name of the MDM app whose WNS identity pushes use; push
    /// configuration cannot be queued without it.
    pub wns_package_family_name: Option<String>,
    /// Queue push configuration for every newly enrolled device (when WNS is configured).
    pub auto_push_config: bool,
    /// WNS credentials (the package SID, `ms-app://S-1-15-2-…`): without them nothing is pushed
    /// and installs are delivered in the next allowed session only.
    pub wns_client_id: Option<String>,
    /// The WNS client secret.
    pub wns_client_secret: Option<String>,
    /// The OAuth token endpoint (default the documented login.live.com one).
    pub wns_token_url: Option<String>,
    /// Host suffixes channel URIs may be under (default `notify.windows.com`).
    pub wns_allowed_hosts: Vec<String>,
    /// `host:port` of local WNS-compatible endpoints allowed explicitly (the simulator's); never
    /// needed in production.
    pub wns_local_hosts: Vec<String>,
    /// PEM file of extra certificates to trust for WNS (the simulator's endpoint).
    pub wns_trust_pem: Option<PathBuf>,
    /// Least time between two pushes to one device, in seconds (a rate limit per channel).
    pub push_interval_seconds: u32,
    /// How often a device's verified profile settings are read again for drift, in seconds
    /// (`profile_check_interval`, default 8 hours; docs/profiles.md).
    pub profile_check_interval_seconds: u32,
    /// Days a session's record (its messages, or an idle session's compact record) is kept;
    /// older ones are pruned in the background. 0 keeps them forever (docs/retention.md).
    pub session_retention_days: u32,
    /// Seconds a client has to send a complete request head, counted from the moment the
    /// server waits for it: after the TLS handshake, and after each response on a kept-alive
    /// connection. It is therefore also the idle timeout: an idle connection is closed after it.
    pub header_timeout_seconds: u32,
    /// Seconds a client has to send a whole request body.
    pub body_timeout_seconds: u32,
    /// Most connections open at once (TLS handshakes included); past it new connections are
    /// closed at once. Lowered at start to fit the file-descriptor limit.
    pub max_connections: u32,
    /// Most connections open at once from one client address (trusted proxies excepted), so one
    /// address cannot take every connection; at most half of `max_connections`.
    pub max_connections_per_address: u32,
    /// Password checks run at once (argon2, about 19 MiB each); 0 = the number of cores.
    pub password_workers: u32,
    /// Password checks that may wait for a worker; past it a sign-in is answered "busy" (HTTP
    /// 429, or a SOAP fault for enrollment) at once.
    pub password_queue: u32,
    /// Failed sign-ins from one client address within 15 minutes after which that address is
    /// refused for the rest of the window.
    pub signin_failures_per_address: u32,
    /// Failed sign-ins of one account within 15 minutes after which the account is slowed
    /// down: each further attempt must wait `signin_delay_seconds`, doubled per failure.
    pub signin_failures_per_account: u32,
    /// The first wait imposed on a slowed-down account, in seconds.
    pub signin_delay_seconds: u32,
    /// The longest wait imposed on an account, in seconds (the account is never locked).
    pub signin_max_delay_seconds: u32,
    /// A separate plain-HTTP listener serving only `/metrics` (e.g. `127.0.0.1:9469`); without
    /// it `/metrics` on the HTTPS listener requires the admin token.
    pub metrics_listen: Option<String>,
    /// The directory of a running `casement sim wns --dir DIR`: its `wns-simulator.json` fills
    /// every `wns_*` setting not given otherwise (package family name, client id and secret,
    /// token URL, the endpoint's `host:port`, its certificate), so pushes go to simulated
    /// devices. Never for production.
    pub wns_simulator: Option<PathBuf>,
    /// Refuse the bootstrap token of the data directory (`admin-token`) on the API once personal
    /// tokens exist (`CASEMENT_DISABLE_BOOTSTRAP_TOKEN=true`).
    pub disable_bootstrap_token: bool,
    /// A wipe needs a second administrator's approval: it is recorded as a request and queued
    /// only when a different administrator or token approves it (issue 15 part 1).
    pub wipe_approval: bool,
    /// Allow webhook URLs that resolve to loopback, private, link-local or metadata addresses
    /// (tests; an internal receiver on a private network). Off by default.
    pub webhook_allow_private: bool,
    /// PEM file of extra root certificates webhook receivers may present (a test receiver, an
    /// internal CA); the public roots are trusted always.
    pub webhook_ca_file: Option<PathBuf>,
    /// The wait before a webhook delivery's second attempt, in milliseconds; doubled per
    /// further attempt (at most an hour).
    pub webhook_retry_base_ms: u64,
    /// Attempts of a webhook delivery before it is given up.
    pub webhook_max_attempts: u32,
    /// Seconds a webhook receiver has to answer.
    pub webhook_timeout_seconds: u32,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("casement-data"),
            listen: "127.0.0.1:8443".into(),
            public_url: None,
            database: None,
            tls_cert: None,
            tls_key: None,
            ca_cert: None,
            ca_key: None,
            device_cert_days: 365,
            max_devices_per_user: 5,
            provider_id: "Casement".into(),
            auth_policies: vec!["OnPremise".into(), "Federated".into()],
            sts_token_seconds: 600,
            trusted_proxies: Vec::new(),
            wns_app_id: "Casement".into(),
            wns_package_family_name: None,
            auto_push_config: true,
            wns_client_id: None,
            wns_client_secret: None,
            wns_token_url: None,
            wns_allowed_hosts: vec!["notify.windows.com".into()],
            wns_local_hosts: Vec::new(),
            wns_trust_pem: None,
            push_interval_seconds: 10,
            profile_check_interval_seconds: 8 * 3600,
            session_retention_days: 30,
            header_timeout_seconds: 30,
            body_timeout_seconds: 60,
            max_connections: 10_000,
            max_connections_per_address: 1_000,
            password_workers: 0,
            password_queue: 32,
            signin_failures_per_address: 30,
            signin_failures_per_account: 5,
            signin_delay_seconds: 2,
            signin_max_delay_seconds: 60,
            metrics_listen: None,
            wns_simulator: None,
            disable_bootstrap_token: false,
            wipe_approval: false,
            webhook_allow_private: false,
            webhook_ca_file: None,
            webhook_retry_base_ms: 10_000,
            webhook_max_attempts: 10,
            webhook_timeout_seconds: 10,
        }
    }
}

/// `CASEMENT_*` variables that belong to other subcommands (`casement admin`, `casement sim`) or
/// to logging, not to the server's settings: ignored when loading them.
pub const FOREIGN_ENV: &[&str] = &[
    "url",
    "admin_token",
    "sim_password",
    "log_format",
    "screenshots",
];

impl RawConfig {
    /// Layers defaults, the optional TOML file, `CASEMENT_*` environment variables and `overrides`
    /// (command-line flags, already a partial map), in that order.
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment
            .merge(Env::prefixed("CASEMENT_").split("__").ignore(FOREIGN_ENV))
            .merge(Serialized::defaults(overrides));
        figment.extract().map_err(|e| ConfigError(e.to_string()))
    }
}
