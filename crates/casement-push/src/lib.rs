//! WNS (Windows Push Notification Services) client for waking managed devices.
//!
//! The server sends a raw push to a device's channel URI; the device then starts a management
//! session (docs/product.md §3 flows 5–6; docs/protocol.md §3). This crate:
//!
//! - checks every channel URI before use — only `https://` hosts under the configured WNS
//!   suffixes (default `notify.windows.com`) are ever contacted ([`check_channel_uri`]);
//! - obtains and caches the OAuth access token ([`WnsClient::access_token`]);
//! - sends the raw notification and classifies the answer ([`PushOutcome`]), refreshing the
//!   token once and retrying once on 401.
//!
//! The server holds an `Arc<dyn Pusher>`; [`WnsClient`] is the real implementation.
//!
//! Sources: windows-dev-docs `push-request-response-headers.md` (headers, status codes) and
//! `windows-push-notification-services--wns--overview.md` (authentication, domain rule).

mod channel;
mod client;
mod clock;
mod config;
mod error;
mod outcome;
mod token;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use channel::{ChannelRefused, ChannelUri, MAX_CHANNEL_URI_LEN, check_channel_uri};
pub use client::{WnsClient, WnsClientBuilder};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    ConfigError, DEFAULT_ALLOWED_HOST_SUFFIX, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SCOPE,
    DEFAULT_TOKEN_URL, WnsConfig,
};
pub use error::{MAX_PAYLOAD_LEN, PushError, TransportError};
pub use outcome::{
    DeviceConnectionStatus, MAX_SERVER_DELAY, PushOutcome, SERVER_ERROR_BACKOFF_BASE,
    SERVER_ERROR_BACKOFF_CAP, THROTTLE_BACKOFF_BASE, THROTTLE_BACKOFF_CAP, WnsDiagnostics,
    WnsStatus,
};
pub use token::{
    AccessToken, TOKEN_DEFAULT_LIFETIME, TOKEN_MIN_CACHE, TOKEN_REFRESH_MARGIN, TokenError,
};

/// A small non-empty body for MDM wake-up pushes. The MDM client ignores raw payload content
/// (windows-itpro-docs `push-notification-windows-mdm.md`), but WNS needs a body with a
/// Content-Length.
pub const WAKE_PAYLOAD: &[u8] = b"casement";

/// Sends a wake-up notification to a device's channel. Object-safe: hold it as `Arc<dyn Pusher>`.
#[async_trait::async_trait]
pub trait Pusher: Send + Sync + std::fmt::Debug {
    /// Sends `payload` (1..=5000 bytes) as a raw notification to `channel_uri`.
    ///
    /// `Ok` carries WNS's answer, whatever it was (see [`PushOutcome`] for what to do with each);
    /// `Err` means no answer: the URI was refused and not contacted, the payload was refused, no
    /// token could be obtained, or the network failed ([`PushError`]).
    async fn push(&self, channel_uri: &str, payload: &[u8]) -> Result<PushOutcome, PushError>;
}
