//! The WNS response headers and their parsed forms: [`WnsStatus`], [`DeviceConnectionStatus`],
//! [`WnsDiagnostics`], plus the header readers used by classification.
//!
//! Contract: every header value is read lossily as UTF-8, trimmed, and cut to at most 1024 bytes
//! at a character boundary; an absent or empty header is `None`. Unknown status values are kept
//! verbatim (`Other`), never rejected.

use std::time::Duration;

use reqwest::header::HeaderMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// `X-WNS-Status`: how WNS handled the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WnsStatus {
    /// `received`: "received and processed by WNS" — not a guarantee the device got it.
    Received,
    /// `dropped`: "explicitly dropped because of an error or because the client has explicitly
    /// rejected these notifications".
    Dropped,
    /// `channelthrottled`: "dropped because the app server exceeded the rate limit for this
    /// specific channel".
    ChannelThrottled,
    /// Any other value, kept verbatim.
    Other(String),
}

impl WnsStatus {
    pub(super) fn parse(v: &str) -> Self {
        match v.trim().to_ascii_lowercase().as_str() {
            "received" => WnsStatus::Received,
            "dropped" => WnsStatus::Dropped,
            "channelthrottled" => WnsStatus::ChannelThrottled,
            _ => WnsStatus::Other(v.trim().to_owned()),
        }
    }
}

/// `X-WNS-DeviceConnectionStatus` (sent because we set `X-WNS-RequestForStatus: true`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceConnectionStatus {
    /// `connected`: "The device is online and connected to WNS."
    Connected,
    /// `disconnected`: "The device is offline and not connected to WNS."
    Disconnected,
    /// `tempdisconnected` (the doc's value table spells it `tempconnected`; both are accepted):
    /// the device temporarily lost its connection to WNS.
    TempDisconnected,
    /// Any other value, kept verbatim.
    Other(String),
}

impl DeviceConnectionStatus {
    pub(super) fn parse(v: &str) -> Self {
        match v.trim().to_ascii_lowercase().as_str() {
            "connected" => Self::Connected,
            "disconnected" => Self::Disconnected,
            "tempdisconnected" | "tempconnected" => Self::TempDisconnected,
            _ => Self::Other(v.trim().to_owned()),
        }
    }
}

/// The diagnostic headers WNS asks to be logged and quoted when reporting a problem
/// ("This header, together with the X-WNS-Msg-ID header and MS-CV, are required when reporting an
/// issue to WNS").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WnsDiagnostics {
    /// `X-WNS-Msg-ID`: identifier of the notification (≤ 16 characters).
    pub msg_id: Option<String>,
    /// `X-WNS-Debug-Trace`: opaque debugging information.
    pub debug_trace: Option<String>,
    /// `X-WNS-Error-Description`: human-readable error string.
    pub error_description: Option<String>,
    /// `MS-CV`: correlation vector of the request.
    pub ms_cv: Option<String>,
}

impl WnsDiagnostics {
    /// Reads the four diagnostic headers (lossy UTF-8, trimmed, at most 1024 bytes each).
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            msg_id: header_string(headers, "x-wns-msg-id"),
            debug_trace: header_string(headers, "x-wns-debug-trace"),
            error_description: header_string(headers, "x-wns-error-description"),
            ms_cv: header_string(headers, "ms-cv"),
        }
    }
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is 0.
pub(super) fn retry_after_header(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    let v = header_string(headers, "retry-after")?;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = OffsetDateTime::parse(&v, &Rfc2822).ok()?;
    Some((at - now).try_into().unwrap_or(Duration::ZERO))
}

pub(super) fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    const MAX: usize = 1024;
    let v = headers.get(name)?;
    let bytes = v.as_bytes();
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]);
    let mut s = s.trim();
    // Each invalid byte became U+FFFD (3 bytes): cut again, at a character boundary.
    if s.len() > MAX {
        let end = (0..=MAX)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s = s[..end].trim_end();
    }
    (!s.is_empty()).then(|| s.to_owned())
}
