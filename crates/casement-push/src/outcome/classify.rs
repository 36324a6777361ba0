//! [`classify`]: maps one WNS answer (HTTP status + headers) to a [`PushOutcome`].
//!
//! Contract: total over every status code (anything undocumented is
//! [`PushOutcome::Unexpected`]); every outcome carries the diagnostic headers; an HTTP-date
//! `Retry-After` is resolved against the given `now`.

use std::time::Duration;

use reqwest::header::HeaderMap;
use time::OffsetDateTime;

use super::headers::{
    DeviceConnectionStatus, WnsDiagnostics, WnsStatus, header_string, retry_after_header,
};
use super::push_outcome::PushOutcome;

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
