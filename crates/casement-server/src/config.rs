//! Configuration in two stages: raw layered settings (defaults → `--config` TOML file →
//! `CASEMENT_*` environment → command-line flags), then one validated [`Config`].

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

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

    /// Validates and resolves defaults that depend on other fields.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let this = self.with_wns_simulator()?;
        this.validate_resolved()
    }

    /// Fills the `wns_*` settings not given from `<wns_simulator>/wns-simulator.json` (the
    /// `server` object, written by `casement sim wns`); adds its `host:port` to
    /// `wns_local_hosts`.
    fn with_wns_simulator(mut self) -> Result<Self, ConfigError> {
        let Some(dir) = self.wns_simulator.clone() else {
            return Ok(self);
        };
        let path = dir.join(WNS_SIMULATOR_FILE);
        let json = std::fs::read(&path).map_err(|e| {
            ConfigError(format!(
                "wns_simulator: {}: {e} (start `casement sim wns --dir {}` first)",
                path.display(),
                dir.display()
            ))
        })?;
        let file: WnsSimulatorFile = serde_json::from_slice(&json)
            .map_err(|e| ConfigError(format!("wns_simulator: {}: {e}", path.display())))?;
        let sim = file.server;
        self.wns_package_family_name
            .get_or_insert(sim.wns_package_family_name);
        if self.wns_client_id.is_none() && self.wns_client_secret.is_none() {
            self.wns_client_id = Some(sim.wns_client_id);
            self.wns_client_secret = Some(sim.wns_client_secret);
        }
        self.wns_token_url.get_or_insert(sim.wns_token_url);
        for host in sim.wns_local_hosts {
            if !self.wns_local_hosts.contains(&host) {
                self.wns_local_hosts.push(host);
            }
        }
        let trust = if sim.wns_trust_pem.is_absolute() {
            sim.wns_trust_pem
        } else {
            dir.join(sim.wns_trust_pem)
        };
        self.wns_trust_pem.get_or_insert(trust);
        Ok(self)
    }

    fn validate_resolved(self) -> Result<Config, ConfigError> {
        let listen: SocketAddr = self
            .listen
            .parse()
            .map_err(|e| ConfigError(format!("listen {:?}: {e}", self.listen)))?;
        let public_url = self
            .public_url
            .unwrap_or_else(|| format!("https://localhost:{}", listen.port()));
        let public_url = public_url.trim_end_matches('/').to_owned();
        if !public_url.starts_with("https://") {
            return Err(ConfigError(format!(
                "public_url {public_url:?} must be https://"
            )));
        }
        if self.device_cert_days == 0 || self.device_cert_days > 3650 {
            return Err(ConfigError("device_cert_days must be 1..=3650".into()));
        }
        if self.provider_id.is_empty()
            || !self
                .provider_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError(
                "provider_id must be ASCII letters, digits, '-' or '_'".into(),
            ));
        }
        let mut auth_policies = Vec::new();
        for p in &self.auth_policies {
            match p.as_str() {
                "Federated" => auth_policies.push(casement_enroll::AuthPolicy::Federated),
                "OnPremise" => auth_policies.push(casement_enroll::AuthPolicy::OnPremise),
                other => {
                    return Err(ConfigError(format!(
                        "auth_policies: unknown policy {other:?} (Federated, OnPremise)"
                    )));
                }
            }
        }
        if auth_policies.is_empty() {
            return Err(ConfigError("auth_policies must not be empty".into()));
        }
        let pair = |a: &Option<PathBuf>, b: &Option<PathBuf>, what: &str| match (a, b) {
            (Some(a), Some(b)) => Ok(Some((a.clone(), b.clone()))),
            (None, None) => Ok(None),
            _ => Err(ConfigError(format!(
                "{what}_cert and {what}_key must be given together"
            ))),
        };
        let webhook_roots = match &self.webhook_ca_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("webhook_ca_file {}: {e}", path.display())))?,
            ),
            None => None,
        };
        let webhooks = WebhookPolicy {
            allow_private: self.webhook_allow_private,
            extra_roots_pem: webhook_roots,
            retry_base_ms: self.webhook_retry_base_ms.clamp(1, 3_600_000) as i64,
            max_attempts: self.webhook_max_attempts.max(1),
            timeout: seconds(self.webhook_timeout_seconds, "webhook_timeout_seconds")?,
        };
        let database = self.database.unwrap_or_else(|| {
            casement_store_sql::SqlStore::sqlite_url(&self.data_dir.join("casement.db"))
        });
        Ok(Config {
            tls_files: pair(&self.tls_cert, &self.tls_key, "tls")?,
            ca_files: pair(&self.ca_cert, &self.ca_key, "ca")?,
            data_dir: self.data_dir,
            listen,
            public_url,
            database,
            device_cert_days: self.device_cert_days,
            max_devices_per_user: self.max_devices_per_user,
            provider_id: self.provider_id,
            auth_policies,
            sts_token_seconds: self.sts_token_seconds,
            trusted_proxies: self.trusted_proxies,
            auto_push_config: self.auto_push_config,
            disable_bootstrap_token: self.disable_bootstrap_token,
            webhooks,
            push_interval_ms: i64::from(self.push_interval_seconds) * 1000,
            network: NetworkLimits {
                header_timeout: seconds(self.header_timeout_seconds, "header_timeout_seconds")?,
                body_timeout: seconds(self.body_timeout_seconds, "body_timeout_seconds")?,
                max_connections: (self.max_connections as usize).max(1),
                max_connections_per_address: (self.max_connections_per_address as usize).max(1),
                metrics_listen: self
                    .metrics_listen
                    .as_deref()
                    .map(|a| {
                        a.parse()
                            .map_err(|e| ConfigError(format!("metrics_listen {a:?}: {e}")))
                    })
                    .transpose()?,
            },
            password_pool: PasswordPoolSize {
                workers: match self.password_workers {
                    0 => std::thread::available_parallelism().map_or(2, usize::from),
                    n => n as usize,
                },
                queue: self.password_queue as usize,
            },
            signin: SigninPolicy {
                failures_per_address: u64::from(self.signin_failures_per_address.max(1)),
                failures_per_account: u64::from(self.signin_failures_per_account.max(1)),
                delay_ms: i64::from(self.signin_delay_seconds) * 1000,
                max_delay_ms: i64::from(
                    self.signin_max_delay_seconds.max(self.signin_delay_seconds),
                ) * 1000,
            },
            wns_client: wns_client(
                &self.wns_client_id,
                &self.wns_client_secret,
                &self.wns_token_url,
                &self.wns_allowed_hosts,
                &self.wns_local_hosts,
                &self.wns_trust_pem,
            )?,
            wns: self
                .wns_package_family_name
                .filter(|p| !p.trim().is_empty())
                .map(|package_family_name| casement_dm::catalog::WnsIdentity {
                    app_id: self.wns_app_id,
                    package_family_name,
                }),
        })
    }
}

/// The file `casement sim wns --dir DIR` writes into `DIR`.
pub const WNS_SIMULATOR_FILE: &str = "wns-simulator.json";

/// What the server reads of [`WNS_SIMULATOR_FILE`] (other keys are the simulator's own).
#[derive(Debug, Deserialize)]
struct WnsSimulatorFile {
    server: WnsSimulatorSettings,
}

/// Settings named as in [`RawConfig`].
#[derive(Debug, Deserialize)]
struct WnsSimulatorSettings {
    wns_package_family_name: String,
    wns_client_id: String,
    wns_client_secret: String,
    wns_token_url: String,
    wns_local_hosts: Vec<String>,
    wns_trust_pem: PathBuf,
}

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
    /// The bootstrap token is refused.
    pub disable_bootstrap_token: bool,
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

fn seconds(value: u32, name: &str) -> Result<std::time::Duration, ConfigError> {
    if value == 0 {
        return Err(ConfigError(format!("{name} must be at least 1")));
    }
    Ok(std::time::Duration::from_secs(u64::from(value)))
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

/// The WNS client configuration from the raw settings; `None` without credentials.
fn wns_client(
    id: &Option<String>,
    secret: &Option<String>,
    token_url: &Option<String>,
    allowed: &[String],
    local: &[String],
    trust: &Option<PathBuf>,
) -> Result<Option<casement_push::WnsConfig>, ConfigError> {
    let (Some(id), Some(secret)) = (id, secret) else {
        if id.is_some() != secret.is_some() {
            return Err(ConfigError(
                "wns_client_id and wns_client_secret must be given together".into(),
            ));
        }
        return Ok(None);
    };
    let mut config = casement_push::WnsConfig::new(id.clone(), secret.clone());
    if let Some(url) = token_url {
        config.token_url = url.clone();
    }
    config.allowed_host_suffixes = allowed.to_vec();
    config.allow_insecure_hosts = local.to_vec();
    if let Some(path) = trust {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("wns_trust_pem {}: {e}", path.display())))?;
        config.extra_root_certificates_pem = vec![pem];
    }
    Ok(Some(config))
}

/// A configuration that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_to_the_embedded_setup() {
        let config = RawConfig::default().validate().unwrap();
        assert_eq!(config.listen, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(config.public_url, "https://localhost:8443");
        assert_eq!(
            config.management_url(),
            "https://localhost:8443/ManagementServer/MDM.svc"
        );
        assert!(
            config
                .database
                .starts_with("sqlite://casement-data/casement.db")
        );
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let bad = RawConfig {
            listen: "nowhere".into(),
            ..RawConfig::default()
        };
        assert!(bad.validate().unwrap_err().0.contains("listen"));
        let bad = RawConfig {
            auth_policies: vec!["Certificate".into()],
            ..RawConfig::default()
        };
        assert!(bad.validate().unwrap_err().0.contains("Certificate"));
        let bad = RawConfig {
            tls_cert: Some("a.pem".into()),
            ..RawConfig::default()
        };
        assert!(bad.validate().unwrap_err().0.contains("together"));
        let bad = RawConfig {
            public_url: Some("http://x".into()),
            ..RawConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn a_wns_simulator_directory_fills_the_wns_settings_not_given() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("wns.pem"), "not read here").unwrap();
        let settings = serde_json::json!({
            "base_url": "https://127.0.0.1:9444",
            "server": {
                "wns_package_family_name": "Casement.Sim_8wekyb3d8bbwe",
                "wns_client_id": "ms-app://S-1-15-2-9",
                "wns_client_secret": "s",
                "wns_token_url": "https://127.0.0.1:9444/accesstoken.srf",
                "wns_local_hosts": ["127.0.0.1:9444"],
                "wns_trust_pem": "wns.pem"
            }
        });
        std::fs::write(dir.path().join(WNS_SIMULATOR_FILE), settings.to_string()).unwrap();
        let raw = RawConfig {
            wns_simulator: Some(dir.path().to_owned()),
            wns_package_family_name: Some("Contoso.Given_8wekyb3d8bbwe".into()),
            ..RawConfig::default()
        };
        let resolved = raw.with_wns_simulator().unwrap();
        assert_eq!(
            resolved.wns_package_family_name.as_deref(),
            Some("Contoso.Given_8wekyb3d8bbwe"),
            "a setting given wins"
        );
        assert_eq!(
            resolved.wns_client_id.as_deref(),
            Some("ms-app://S-1-15-2-9")
        );
        assert_eq!(resolved.wns_local_hosts, vec!["127.0.0.1:9444".to_owned()]);
        assert_eq!(resolved.wns_trust_pem, Some(dir.path().join("wns.pem")));
        let missing = RawConfig {
            wns_simulator: Some(dir.path().join("nowhere")),
            ..RawConfig::default()
        };
        assert!(
            missing
                .validate()
                .unwrap_err()
                .0
                .contains("casement sim wns")
        );
    }

    #[test]
    fn file_then_flags_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("casement.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9443\"\nmax_devices_per_user = 2\n",
        )
        .unwrap();
        let raw = RawConfig::load(
            Some(&file),
            serde_json::json!({ "max_devices_per_user": 3 }),
        )
        .unwrap();
        assert_eq!(raw.listen, "127.0.0.1:9443");
        assert_eq!(raw.max_devices_per_user, 3);
        assert!(
            RawConfig::load(
                Some(&dir.path().join("missing.toml")),
                serde_json::json!({})
            )
            .is_err()
        );
    }
}
