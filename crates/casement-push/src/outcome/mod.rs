//! [`PushOutcome`]: what WNS answered to a push, and what the caller should do about it.
//!
//! Status codes, headers and recommended actions: windows-dev-docs
//! `hub/apps/design/shell/tiles-and-notifications/push-request-response-headers.md`
//! ("Send notification response", "Response codes"), summarised in docs/protocol.md §3.3.
//!
//! Layout: `headers` (the WNS response headers and their parsed forms), `push_outcome`
//! ([`PushOutcome`] and its retry policy), `classify` (status + headers → outcome).

mod classify;
mod headers;
mod push_outcome;

pub(crate) use classify::classify;
pub use headers::{DeviceConnectionStatus, WnsDiagnostics, WnsStatus};
pub use push_outcome::{
    MAX_SERVER_DELAY, PushOutcome, SERVER_ERROR_BACKOFF_BASE, SERVER_ERROR_BACKOFF_CAP,
    THROTTLE_BACKOFF_BASE, THROTTLE_BACKOFF_CAP,
};

#[cfg(test)]
mod tests;
