//! Configuration in two stages: raw layered settings (defaults → `--config` TOML file →
//! `CASEMENT_*` environment → command-line flags), then one validated [`Config`].
//!
//! Layout: `raw` (the layered settings and their defaults), `wns_simulator` (filling the `wns_*`
//! settings from a running simulator), `validate` (raw → validated), `resolved` (the validated
//! [`Config`] and [`ConfigError`]).

mod raw;
mod resolved;
mod validate;
mod wns_simulator;

pub use raw::{FOREIGN_ENV, RawConfig};
pub use resolved::{
    Config, ConfigError, NetworkLimits, PasswordPoolSize, SigninPolicy, WebhookPolicy,
};
pub use wns_simulator::WNS_SIMULATOR_FILE;

#[cfg(test)]
mod tests;
