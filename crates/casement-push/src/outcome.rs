//! [`PushOutcome`]: what WNS answered to a push, and what the caller should do about it.
//!
//! Status codes, headers and recommended actions: windows-dev-docs
//! `hub/apps/design/shell/tiles-and-notifications/push-request-response-headers.md`
//! ("Send notification response", "Response codes"), summarised in docs/protocol.md §3.3.

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
    fn parse(v: &str) -> Self {
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
    fn parse(v: &str) -> Self {
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

/// Classifies one WNS answer. `now` resolves an HTTP-date `Retry-After`.
pub(crate) fn classify(status: u16, headers: &HeaderMap, now: OffsetDateTime) -> PushOutcome {
    let diagnostics = WnsDiagnostics::from_headers(headers);
    let wns_status = header_string(headers, "x-wns-status").map(|s| WnsStatus::parse(&s));
    let device_connection_status = header_string(headers, "x-wns-deviceconnectionstatus")
        .map(|s| DeviceConnectionStatus::parse(&s));
    let continue_after = || {
        header_string(headers, "x-wns-continue-after")
            .and_then(|v| v.parse::<u64>().ok().map(Duration::from_secs))
            .or_else(|| retry_after_header(headers, now))
    };
    match status {
        200 => match wns_status {
            Some(WnsStatus::Dropped) => PushOutcome::Dropped {
                device_connection_status,
                diagnostics,
            },
            Some(WnsStatus::ChannelThrottled) => PushOutcome::Throttled {
                http_status: status,
                continue_after: continue_after(),
                diagnostics,
            },
            status => PushOutcome::Received {
                status,
                device_connection_status,
                diagnostics,
            },
        },
        400 => PushOutcome::BadRequest { diagnostics },
        401 => PushOutcome::TokenRejected { diagnostics },
        403 => PushOutcome::Forbidden { diagnostics },
        404 => PushOutcome::ChannelGone {
            expired: false,
            diagnostics,
        },
        406 | 429 => PushOutcome::Throttled {
            http_status: status,
            continue_after: continue_after(),
            diagnostics,
        },
        410 => PushOutcome::ChannelGone {
            expired: true,
            diagnostics,
        },
        413 => PushOutcome::TooLarge { diagnostics },
        500..=599 => PushOutcome::ServerError {
            status,
            retry_after: retry_after_header(headers, now),
            diagnostics,
        },
        _ => PushOutcome::Unexpected {
            status,
            diagnostics,
        },
    }
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is 0.
fn retry_after_header(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    let v = header_string(headers, "retry-after")?;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = OffsetDateTime::parse(&v, &Rfc2822).ok()?;
    Some((at - now).try_into().unwrap_or(Duration::ZERO))
}

fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).map_or(cap, |d| d.min(cap))
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    /// Issue 18 (fuzz target `push_wns`): an `X-WNS-Msg-ID` of 1024+ bytes that are not UTF-8
    /// came out as 1024 U+FFFD characters, 3072 bytes, over the documented 1024.
    #[test]
    fn regression_issue_18_diagnostics_stay_within_1024_bytes() {
        let input =
            include_bytes!("../testdata/fuzz-regressions/push_wns/msg-id-1024-invalid-bytes.http");
        let name = b"X-WNS-Msg-ID: ";
        let at = input.windows(name.len()).position(|w| w == name).unwrap() + name.len();
        let end = at + input[at..].windows(2).position(|w| w == b"\r\n").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-wns-msg-id"),
            HeaderValue::from_bytes(&input[at..end]).unwrap(),
        );
        let outcome = classify(200, &headers, t0());
        let msg_id = outcome.diagnostics().msg_id.as_deref().unwrap();
        assert!(msg_id.len() <= 1024, "{} bytes", msg_id.len());
        assert!(msg_id.chars().all(|c| c == char::REPLACEMENT_CHARACTER));
        assert_eq!(msg_id.chars().count(), 1024 / 3);
    }

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_445_412_480).unwrap() // 2015-10-21 07:28:00 UTC
    }

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    fn diag_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            ("X-WNS-Msg-ID", "1ACF4C5C7B0D11E2"),
            ("X-WNS-Debug-Trace", "DB5SCH101"),
            ("X-WNS-Error-Description", "Channel expired"),
            ("MS-CV", "cv.1.2"),
        ]
    }

    fn full_diag() -> WnsDiagnostics {
        WnsDiagnostics {
            msg_id: Some("1ACF4C5C7B0D11E2".into()),
            debug_trace: Some("DB5SCH101".into()),
            error_description: Some("Channel expired".into()),
            ms_cv: Some("cv.1.2".into()),
        }
    }

    #[test]
    fn fixture_success_response_is_received_connected() {
        // fixtures/wns/04-raw-push-response-example.http
        let o = classify(
            200,
            &h(&[
                ("X-WNS-Status", "received"),
                ("X-WNS-DeviceConnectionStatus", "connected"),
                ("X-WNS-Msg-ID", "1ACF4C5C7B0D11E2"),
                ("X-WNS-Debug-Trace", "<opaque>"),
                ("MS-CV", "<correlation vector>"),
            ]),
            t0(),
        );
        assert_eq!(
            o,
            PushOutcome::Received {
                status: Some(WnsStatus::Received),
                device_connection_status: Some(DeviceConnectionStatus::Connected),
                diagnostics: WnsDiagnostics {
                    msg_id: Some("1ACF4C5C7B0D11E2".into()),
                    debug_trace: Some("<opaque>".into()),
                    error_description: None,
                    ms_cv: Some("<correlation vector>".into()),
                },
            }
        );
        assert!(o.is_received());
        assert_eq!(o.retry_after(0), None);
    }

    #[test]
    fn every_documented_status_is_classified() {
        let d = diag_headers();
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = d.clone();
            v.extend_from_slice(extra);
            h(&v)
        };
        let diagnostics = full_diag();
        let cases: Vec<(u16, HeaderMap, PushOutcome)> = vec![
            (
                200,
                with(&[
                    ("X-WNS-Status", "dropped"),
                    ("X-WNS-DeviceConnectionStatus", "disconnected"),
                ]),
                PushOutcome::Dropped {
                    device_connection_status: Some(DeviceConnectionStatus::Disconnected),
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                200,
                with(&[
                    ("X-WNS-Status", "channelthrottled"),
                    ("X-WNS-CONTINUE-AFTER", "60"),
                ]),
                PushOutcome::Throttled {
                    http_status: 200,
                    continue_after: Some(Duration::from_secs(60)),
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                200,
                with(&[]),
                PushOutcome::Received {
                    status: None,
                    device_connection_status: None,
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                400,
                with(&[]),
                PushOutcome::BadRequest {
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                401,
                with(&[]),
                PushOutcome::TokenRejected {
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                403,
                with(&[]),
                PushOutcome::Forbidden {
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                404,
                with(&[]),
                PushOutcome::ChannelGone {
                    expired: false,
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                405,
                with(&[]),
                PushOutcome::Unexpected {
                    status: 405,
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                406,
                with(&[("X-WNS-CONTINUE-AFTER", "120")]),
                PushOutcome::Throttled {
                    http_status: 406,
                    continue_after: Some(Duration::from_secs(120)),
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                406,
                with(&[]),
                PushOutcome::Throttled {
                    http_status: 406,
                    continue_after: None,
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                410,
                with(&[]),
                PushOutcome::ChannelGone {
                    expired: true,
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                413,
                with(&[]),
                PushOutcome::TooLarge {
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                429,
                with(&[("Retry-After", "7")]),
                PushOutcome::Throttled {
                    http_status: 429,
                    continue_after: Some(Duration::from_secs(7)),
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                500,
                with(&[]),
                PushOutcome::ServerError {
                    status: 500,
                    retry_after: None,
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                503,
                with(&[("Retry-After", "30")]),
                PushOutcome::ServerError {
                    status: 503,
                    retry_after: Some(Duration::from_secs(30)),
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                502,
                with(&[]),
                PushOutcome::ServerError {
                    status: 502,
                    retry_after: None,
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                302,
                with(&[]),
                PushOutcome::Unexpected {
                    status: 302,
                    diagnostics: diagnostics.clone(),
                },
            ),
            (
                204,
                with(&[]),
                PushOutcome::Unexpected {
                    status: 204,
                    diagnostics: diagnostics.clone(),
                },
            ),
        ];
        for (status, headers, want) in cases {
            let got = classify(status, &headers, t0());
            assert_eq!(got, want, "HTTP {status}");
            assert_eq!(got.diagnostics(), &diagnostics);
        }
    }

    #[test]
    fn status_header_values_are_case_insensitive_and_unknown_ones_kept() {
        let o = classify(
            200,
            &h(&[
                ("X-WNS-Status", "Received"),
                ("X-WNS-DeviceConnectionStatus", "TempDisconnected"),
            ]),
            t0(),
        );
        assert_eq!(
            o,
            PushOutcome::Received {
                status: Some(WnsStatus::Received),
                device_connection_status: Some(DeviceConnectionStatus::TempDisconnected),
                diagnostics: WnsDiagnostics::default(),
            }
        );
        let o = classify(
            200,
            &h(&[
                ("X-WNS-Status", "queued"),
                ("X-WNS-DeviceConnectionStatus", "tempconnected"),
            ]),
            t0(),
        );
        assert_eq!(
            o,
            PushOutcome::Received {
                status: Some(WnsStatus::Other("queued".into())),
                device_connection_status: Some(DeviceConnectionStatus::TempDisconnected),
                diagnostics: WnsDiagnostics::default(),
            }
        );
    }

    #[test]
    fn retry_after_http_date_is_resolved_against_now() {
        let o = classify(
            503,
            &h(&[("Retry-After", "Wed, 21 Oct 2015 07:30:00 GMT")]),
            t0(),
        );
        assert_eq!(o.retry_after(0), Some(Duration::from_secs(120)));
        let past = classify(
            503,
            &h(&[("Retry-After", "Wed, 21 Oct 2015 07:00:00 GMT")]),
            t0(),
        );
        assert_eq!(past.retry_after(3), Some(Duration::ZERO));
        let junk = classify(503, &h(&[("Retry-After", "soon")]), t0());
        assert_eq!(junk.retry_after(0), Some(SERVER_ERROR_BACKOFF_BASE));
    }

    #[test]
    fn non_numeric_continue_after_falls_back_to_backoff() {
        let o = classify(406, &h(&[("X-WNS-CONTINUE-AFTER", "later")]), t0());
        assert_eq!(o.retry_after(0), Some(THROTTLE_BACKOFF_BASE));
    }

    #[test]
    fn backoff_is_exponential_and_capped() {
        let o = PushOutcome::ServerError {
            status: 500,
            retry_after: None,
            diagnostics: WnsDiagnostics::default(),
        };
        let got: Vec<u64> = (0..10)
            .map(|a| o.retry_after(a).unwrap().as_secs())
            .collect();
        assert_eq!(got, vec![2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(o.retry_after(u32::MAX), Some(SERVER_ERROR_BACKOFF_CAP));

        let t = PushOutcome::Throttled {
            http_status: 406,
            continue_after: None,
            diagnostics: WnsDiagnostics::default(),
        };
        let got: Vec<u64> = (0..9)
            .map(|a| t.retry_after(a).unwrap().as_secs())
            .collect();
        assert_eq!(got, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(t.retry_after(1000), Some(THROTTLE_BACKOFF_CAP));
    }

    #[test]
    fn server_given_delays_win_but_are_bounded() {
        let t = PushOutcome::Throttled {
            http_status: 200,
            continue_after: Some(Duration::from_secs(7200)),
            diagnostics: WnsDiagnostics::default(),
        };
        assert_eq!(t.retry_after(0), Some(Duration::from_secs(7200)));
        assert_eq!(t.retry_after(5), Some(Duration::from_secs(7200)));
        let s = PushOutcome::ServerError {
            status: 503,
            retry_after: Some(Duration::from_secs(10 * 86_400)),
            diagnostics: WnsDiagnostics::default(),
        };
        assert_eq!(s.retry_after(0), Some(MAX_SERVER_DELAY));
    }

    #[test]
    fn terminal_outcomes_have_no_retry_and_gone_is_flagged() {
        let d = WnsDiagnostics::default;
        for (o, gone) in [
            (
                PushOutcome::Received {
                    status: None,
                    device_connection_status: None,
                    diagnostics: d(),
                },
                false,
            ),
            (
                PushOutcome::Dropped {
                    device_connection_status: None,
                    diagnostics: d(),
                },
                false,
            ),
            (
                PushOutcome::ChannelGone {
                    expired: true,
                    diagnostics: d(),
                },
                true,
            ),
            (
                PushOutcome::ChannelGone {
                    expired: false,
                    diagnostics: d(),
                },
                true,
            ),
            (PushOutcome::TokenRejected { diagnostics: d() }, false),
            (PushOutcome::Forbidden { diagnostics: d() }, false),
            (PushOutcome::BadRequest { diagnostics: d() }, false),
            (PushOutcome::TooLarge { diagnostics: d() }, false),
            (
                PushOutcome::Unexpected {
                    status: 405,
                    diagnostics: d(),
                },
                false,
            ),
        ] {
            assert_eq!(o.retry_after(0), None, "{o:?}");
            assert_eq!(o.is_channel_gone(), gone, "{o:?}");
        }
    }

    #[test]
    fn labels_are_distinct() {
        let d = WnsDiagnostics::default;
        let all = [
            PushOutcome::Received {
                status: None,
                device_connection_status: None,
                diagnostics: d(),
            },
            PushOutcome::Dropped {
                device_connection_status: None,
                diagnostics: d(),
            },
            PushOutcome::Throttled {
                http_status: 406,
                continue_after: None,
                diagnostics: d(),
            },
            PushOutcome::ChannelGone {
                expired: true,
                diagnostics: d(),
            },
            PushOutcome::ChannelGone {
                expired: false,
                diagnostics: d(),
            },
            PushOutcome::TokenRejected { diagnostics: d() },
            PushOutcome::Forbidden { diagnostics: d() },
            PushOutcome::BadRequest { diagnostics: d() },
            PushOutcome::TooLarge { diagnostics: d() },
            PushOutcome::ServerError {
                status: 500,
                retry_after: None,
                diagnostics: d(),
            },
            PushOutcome::Unexpected {
                status: 405,
                diagnostics: d(),
            },
        ];
        let mut labels: Vec<_> = all.iter().map(PushOutcome::label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), all.len());
    }
}
