//! [`PushOutcome`] itself, its backoff constants and the retry policy
//! ([`PushOutcome::retry_after`]).
//!
//! Contract: only [`PushOutcome::ServerError`] and [`PushOutcome::Throttled`] are retried; a
//! server-given delay wins (bounded by [`MAX_SERVER_DELAY`]), otherwise the delay is a
//! deterministic capped exponential backoff.

use std::time::Duration;

use super::headers::{DeviceConnectionStatus, WnsDiagnostics, WnsStatus};

/// What WNS answered to one push (after the single token-refresh retry on 401).
///
/// Every variant carries the [`WnsDiagnostics`]. Actions quoted from the WNS "Response codes"
/// table; the MDM mapping (what Casement does) is docs/protocol.md §3.3 and docs/product.md §3 flow 6.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// 200 with `X-WNS-Status: received` (or no status header): "The notification was accepted by
    /// WNS." Not a delivery guarantee: wait for the device's push-triggered session; the install
    /// is delivered in the next allowed session anyway.
    Received {
        /// The `X-WNS-Status` value: [`WnsStatus::Received`], an unknown value, or `None` if
        /// absent.
        status: Option<WnsStatus>,
        /// `X-WNS-DeviceConnectionStatus`, if WNS sent it.
        device_connection_status: Option<DeviceConnectionStatus>,
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
    /// 200 with `X-WNS-Status: dropped`: dropped "because of an error or because the client has
    /// explicitly rejected these notifications". Not retried; rely on the next session.
    Dropped {
        /// `X-WNS-DeviceConnectionStatus`, if WNS sent it.
        device_connection_status: Option<DeviceConnectionStatus>,
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
    /// 200 with `X-WNS-Status: channelthrottled` (this channel's rate limit), 406 Not Acceptable
    /// ("The cloud service exceeded its throttle limit. … Reduce the rate"), or 429: back off,
    /// honouring `X-WNS-CONTINUE-AFTER` ("number of seconds to wait until sending another
    /// notification without being throttled") when present.
    Throttled {
        /// HTTP status (200, 406 or 429).
        http_status: u16,
        /// `X-WNS-CONTINUE-AFTER` (or `Retry-After` if that is absent).
        continue_after: Option<Duration>,
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
    /// 404 Not Found ("The channel URI is not valid or is not recognized by WNS", `expired:
    /// false`) or 410 Gone ("The channel expired", `expired: true`): "Do not send further
    /// notifications to this channel." Casement marks the channel revoked and re-queues
    /// `UpdateConfiguration` for the next Maintenance session.
    ChannelGone {
        /// `true` for 410 (expired), `false` for 404 (revoked / unknown).
        expired: bool,
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
    /// 401 Unauthorized twice: the token was refreshed once and the push retried once, and WNS
    /// still refused it ("do not try to re-send your notification more than once if the access
    /// token is rejected", WNS overview). Check the WNS credentials.
    TokenRejected {
        /// Diagnostic headers of the second 401.
        diagnostics: WnsDiagnostics,
    },
    /// 403 Forbidden: "The access token provided in the request does not match the credentials of
    /// the app that requested the channel URI." A configuration error (the PFN given to devices
    /// and the Package SID/secret belong to different registrations).
    Forbidden {
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
    /// 400 Bad Request: "One or more headers were specified incorrectly or conflict with another
    /// header." A bug in this client; log and do not retry.
    BadRequest {
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
    /// 413 Request Entity Too Large: "The notification payload exceeds the 5000 byte size limit."
    /// (Payloads above 5000 bytes are already refused before sending.)
    TooLarge {
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
    /// 500 Internal Server Error ("An internal failure caused notification delivery to fail") or
    /// 503 Service Unavailable ("The server is currently unavailable"); other 5xx are treated the
    /// same. Retry with backoff ([`PushOutcome::retry_after`]).
    ServerError {
        /// HTTP status.
        status: u16,
        /// `Retry-After` (seconds or HTTP date), if sent.
        retry_after: Option<Duration>,
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
    /// Any other status (e.g. 405 Method Not Allowed, a 3xx redirect — never followed — or a
    /// non-200 2xx). Logged; not retried.
    Unexpected {
        /// HTTP status.
        status: u16,
        /// Diagnostic headers.
        diagnostics: WnsDiagnostics,
    },
}

/// First delay of the 5xx backoff.
pub const SERVER_ERROR_BACKOFF_BASE: Duration = Duration::from_secs(2);
/// Cap of the 5xx backoff.
pub const SERVER_ERROR_BACKOFF_CAP: Duration = Duration::from_secs(5 * 60);
/// First delay of the throttling backoff (when WNS gives no `X-WNS-CONTINUE-AFTER`).
pub const THROTTLE_BACKOFF_BASE: Duration = Duration::from_secs(30);
/// Cap of the throttling backoff.
pub const THROTTLE_BACKOFF_CAP: Duration = Duration::from_secs(60 * 60);
/// Upper bound applied to a server-given delay (`X-WNS-CONTINUE-AFTER`, `Retry-After`).
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

impl PushOutcome {
    /// How long to wait before push attempt number `attempt + 1`, where `attempt` counts the
    /// attempts made so far starting at 0 (so `retry_after(0)` follows the first failure), or
    /// `None` if this outcome must not be retried.
    ///
    /// - [`ServerError`](Self::ServerError): `Retry-After` if given, else 2 s · 2^attempt, capped
    ///   at 5 min;
    /// - [`Throttled`](Self::Throttled): `X-WNS-CONTINUE-AFTER` if given, else 30 s · 2^attempt,
    ///   capped at 1 h;
    /// - server-given delays are honoured as given up to 24 h;
    /// - every other outcome is terminal for this push: `None`.
    ///
    /// Deterministic (no jitter); a caller pushing to many channels may add its own.
    pub fn retry_after(&self, attempt: u32) -> Option<Duration> {
        match self {
            PushOutcome::ServerError { retry_after, .. } => Some(match retry_after {
                Some(d) => (*d).min(MAX_SERVER_DELAY),
                None => backoff(SERVER_ERROR_BACKOFF_BASE, SERVER_ERROR_BACKOFF_CAP, attempt),
            }),
            PushOutcome::Throttled { continue_after, .. } => Some(match continue_after {
                Some(d) => (*d).min(MAX_SERVER_DELAY),
                None => backoff(THROTTLE_BACKOFF_BASE, THROTTLE_BACKOFF_CAP, attempt),
            }),
            PushOutcome::Received { .. }
            | PushOutcome::Dropped { .. }
            | PushOutcome::ChannelGone { .. }
            | PushOutcome::TokenRejected { .. }
            | PushOutcome::Forbidden { .. }
            | PushOutcome::BadRequest { .. }
            | PushOutcome::TooLarge { .. }
            | PushOutcome::Unexpected { .. } => None,
        }
    }

    /// 404 or 410: the channel must not be used again; a new one is needed.
    pub fn is_channel_gone(&self) -> bool {
        matches!(self, PushOutcome::ChannelGone { .. })
    }

    /// WNS accepted the notification (200 `received`).
    pub fn is_received(&self) -> bool {
        matches!(self, PushOutcome::Received { .. })
    }

    /// The diagnostic headers of the answer.
    pub fn diagnostics(&self) -> &WnsDiagnostics {
        match self {
            PushOutcome::Received { diagnostics, .. }
            | PushOutcome::Dropped { diagnostics, .. }
            | PushOutcome::Throttled { diagnostics, .. }
            | PushOutcome::ChannelGone { diagnostics, .. }
            | PushOutcome::TokenRejected { diagnostics }
            | PushOutcome::Forbidden { diagnostics }
            | PushOutcome::BadRequest { diagnostics }
            | PushOutcome::TooLarge { diagnostics }
            | PushOutcome::ServerError { diagnostics, .. }
            | PushOutcome::Unexpected { diagnostics, .. } => diagnostics,
        }
    }

    /// A stable short name for logs and metrics labels.
    pub fn label(&self) -> &'static str {
        match self {
            PushOutcome::Received { .. } => "received",
            PushOutcome::Dropped { .. } => "dropped",
            PushOutcome::Throttled { .. } => "throttled",
            PushOutcome::ChannelGone { expired: true, .. } => "channel_expired",
            PushOutcome::ChannelGone { expired: false, .. } => "channel_invalid",
            PushOutcome::TokenRejected { .. } => "token_rejected",
            PushOutcome::Forbidden { .. } => "forbidden",
            PushOutcome::BadRequest { .. } => "bad_request",
            PushOutcome::TooLarge { .. } => "too_large",
            PushOutcome::ServerError { .. } => "server_error",
            PushOutcome::Unexpected { .. } => "unexpected",
        }
    }
}

fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).map_or(cap, |d| d.min(cap))
}
