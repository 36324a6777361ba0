//! Validation: [`RawConfig::validate`] turns the raw settings into one [`Config`], resolving the
//! defaults that depend on other fields.
//!
//! Contract: every refusal is a [`ConfigError`] naming the setting at fault; the WNS simulator's
//! settings are merged first; timeouts must be at least 1 s; certificate/key and WNS
//! id/secret pairs must be given together.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::raw::RawConfig;
use super::resolved::{
    Config, ConfigError, NetworkLimits, PasswordPoolSize, SigninPolicy, WebhookPolicy,
};

impl RawConfig {
    /// Validates and resolves defaults that depend on other fields.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let this = self.with_wns_simulator()?;
        this.validate_resolved()
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
            wipe_approval: self.wipe_approval,
            webhooks,
            push_interval_ms: i64::from(self.push_interval_seconds) * 1000,
            profile_check_interval_ms: i64::from(self.profile_check_interval_seconds.max(1)) * 1000,
            session_retention_ms: (self.session_retention_days > 0)
                .then(|| i64::from(self.session_retention_days) * 86_400_000),
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

fn seconds(value: u32, name: &str) -> Result<std::time::Duration, ConfigError> {
    if value == 0 {
        return Err(ConfigError(format!("{name} must be at least 1")));
    }
    Ok(std::time::Duration::from_secs(u64::from(value)))
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
