//! Unit tests of the WNS answer classification, the header parsing and the retry policy.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;

use super::*;

/// Issue 18 (fuzz target `push_wns`): an `X-WNS-Msg-ID` of 1024+ bytes that are not UTF-8
/// came out as 1024 U+FFFD characters, 3072 bytes, over the documented 1024.
#[test]
fn regression_issue_18_diagnostics_stay_within_1024_bytes() {
    let input =
        include_bytes!("../../testdata/fuzz-regressions/push_wns/msg-id-1024-invalid-bytes.http");
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
