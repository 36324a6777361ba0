//! Services: the code that drives the protocol cores against storage. Handlers call these.

pub mod actions;
pub mod admins;
pub mod audit;
pub mod commands;
pub mod enrollment;
pub mod events;
pub mod installs;
pub mod management;
pub mod package1;
pub mod profiles;
pub mod push;
pub mod reports;
pub mod retention;
pub mod signin;
pub mod tokens;
pub mod users;
pub mod webhooks;

/// What the services keep between requests. `AppState` carries it for them, opaquely: only the
/// services read or change it, so the HTTP and web layers cannot reach around a service.
#[derive(Debug, Default)]
pub struct ServiceState {
    /// Per-device serialization of management messages.
    pub(in crate::services) device_locks: management::DeviceLocks,
    /// Recently verified passwords (one argon2 hash per OnPremise enrollment, not two).
    pub(in crate::services) verified_credentials: users::VerifiedCredentials,
}
