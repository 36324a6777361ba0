//! What every handler shares: configuration, storage, the CA. No per-device state.

use std::sync::Arc;

use casement_ca::CertificateAuthority;
use casement_store::Store;

use crate::config::Config;

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// The device CA.
    pub ca: Arc<CertificateAuthority>,
    /// The admin API bearer token.
    pub admin_token: Arc<str>,
    /// Metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// What the services keep between requests (private to them).
    pub services: Arc<crate::services::ServiceState>,
    /// The only place passwords are hashed and verified (bounded threads and queue).
    pub hash_pool: Arc<crate::password::HashPool>,
    /// Where every request reads the time ([`crate::clock::SystemClock`] unless a test sets it).
    pub clock: Arc<dyn crate::clock::Clock>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("admin_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}
