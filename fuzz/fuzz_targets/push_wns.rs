//! Arbitrary HTTP answers from WNS (or anything posing as it) into the push client's readers: the
//! classification of a push answer (status + headers) and the token endpoint's answer (status +
//! JSON body), then the token cache and the retry schedule built from them.
//!
//! The input is an HTTP/1.1 response as in `crates/casement-push/testdata/*.http`: optional `#`
//! comment lines, a status line (an unreadable status reads as 200), header lines, a blank line,
//! the body. Header names and values the HTTP stack would refuse are skipped, as it never hands
//! them over.
//!
//! Besides "no panic", it asserts: the classification is the documented one for the status
//! (404/410 gone, 401 token rejected, 5xx server error, 200 + `dropped` dropped…) and carries the
//! status it was given; every diagnostic value is trimmed, non-empty and at most 1024 bytes; a
//! retry delay never exceeds 24 h, backoff never decreases with the attempt number, terminal
//! outcomes never retry; an accepted token is a non-empty header-safe string whose cache lifetime
//! is within its announced lifetime and which is fresh right after it was fetched (when it lives
//! at all).

#![no_main]

use std::time::Duration;

use casement_push::fuzzing::{cache_lifetime, cache_token, classify, parse_token_response};
use casement_push::{
    MAX_SERVER_DELAY, PushOutcome, SERVER_ERROR_BACKOFF_CAP, THROTTLE_BACKOFF_CAP, TokenError,
    WnsStatus,
};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

struct Response<'a> {
    status: u16,
    headers: Vec<(&'a [u8], &'a [u8])>,
    body: &'a [u8],
}

fn read(input: &[u8]) -> Response<'_> {
    let mut status = 200;
    let mut headers = Vec::new();
    let mut offset = 0;
    let mut seen_status = false;
    for raw in input.split_inclusive(|b| *b == b'\n') {
        offset += raw.len();
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !seen_status {
            if line.starts_with(b"#") {
                continue;
            }
            seen_status = true;
            status = std::str::from_utf8(line)
                .ok()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|s| s.parse().ok())
                .unwrap_or(200);
            continue;
        }
        if line.is_empty() {
            break;
        }
        if let Some(colon) = line.iter().position(|b| *b == b':') {
            headers.push((&line[..colon], trim(&line[colon + 1..])));
        }
    }
    Response {
        status,
        headers,
        body: &input[offset..],
    }
}

fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &value[start..end.max(start)]
}

fn check_text(what: &str, value: &Option<String>) {
    if let Some(v) = value {
        assert!(!v.is_empty(), "{what} is empty");
        assert_eq!(v.trim(), v, "{what} is not trimmed");
        assert!(v.len() <= 1024, "{what} is {} bytes, over 1024", v.len());
    }
}

fn check_outcome(status: u16, outcome: &PushOutcome) {
    let d = outcome.diagnostics();
    check_text("X-WNS-Msg-ID", &d.msg_id);
    check_text("X-WNS-Debug-Trace", &d.debug_trace);
    check_text("X-WNS-Error-Description", &d.error_description);
    check_text("MS-CV", &d.ms_cv);
    assert!(!outcome.label().is_empty());
    assert_eq!(outcome.is_channel_gone(), matches!(status, 404 | 410));
    match outcome {
        PushOutcome::Received { status: s, .. } => {
            assert_eq!(status, 200);
            if let Some(WnsStatus::Other(v)) = s {
                assert!(!v.is_empty() && v.trim() == v, "{v:?}");
            }
        }
        PushOutcome::Dropped { .. } => assert_eq!(status, 200),
        PushOutcome::Throttled { http_status, .. } => {
            assert_eq!(*http_status, status);
            assert!(matches!(status, 200 | 406 | 429));
        }
        PushOutcome::ChannelGone { expired, .. } => assert_eq!(*expired, status == 410),
        PushOutcome::TokenRejected { .. } => assert_eq!(status, 401),
        PushOutcome::Forbidden { .. } => assert_eq!(status, 403),
        PushOutcome::BadRequest { .. } => assert_eq!(status, 400),
        PushOutcome::TooLarge { .. } => assert_eq!(status, 413),
        PushOutcome::ServerError { status: s, .. } => {
            assert_eq!(*s, status);
            assert!((500..=599).contains(&status));
        }
        PushOutcome::Unexpected { status: s, .. } => {
            assert_eq!(*s, status);
            assert!(!matches!(
                status,
                200 | 400 | 401 | 403 | 404 | 406 | 410 | 413 | 429 | 500..=599
            ));
        }
        _ => {}
    }
    let server_given = match outcome {
        PushOutcome::ServerError { retry_after, .. } => retry_after.is_some(),
        PushOutcome::Throttled { continue_after, .. } => continue_after.is_some(),
        _ => false,
    };
    let cap = match outcome {
        PushOutcome::ServerError { .. } => SERVER_ERROR_BACKOFF_CAP,
        _ => THROTTLE_BACKOFF_CAP,
    };
    let mut previous = Duration::ZERO;
    for attempt in [0, 1, 2, 3, 5, 8, 16, 30, 31, 32, 33, 64, 1000, u32::MAX] {
        let delay = outcome.retry_after(attempt);
        let retries = matches!(
            outcome,
            PushOutcome::ServerError { .. } | PushOutcome::Throttled { .. }
        );
        assert_eq!(delay.is_some(), retries, "{outcome:?}");
        if let Some(delay) = delay {
            assert!(delay <= MAX_SERVER_DELAY, "{delay:?}");
            if !server_given {
                assert!(
                    delay <= cap && delay >= previous,
                    "attempt {attempt}: {delay:?}"
                );
            }
            previous = delay;
        }
    }
}

fn check_token(status: u16, body: &[u8], now: OffsetDateTime) {
    match parse_token_response(status, body) {
        Ok(token) => {
            assert_eq!(status, 200);
            let secret = token.secret();
            assert!(!secret.is_empty());
            assert!(
                secret.bytes().all(|b| b.is_ascii_graphic()),
                "the token is not header-safe"
            );
            let lifetime = cache_lifetime(token.expires_in());
            if let Some(announced) = token.expires_in() {
                assert!(lifetime <= announced);
            }
            let (refresh_at, fresh) = cache_token(token, now);
            assert!(refresh_at >= now);
            assert_eq!(fresh, !lifetime.is_zero());
        }
        Err(
            TokenError::Rejected { status: s, .. } | TokenError::UnexpectedStatus { status: s, .. },
        ) => {
            assert_eq!(s, status);
            assert_ne!(status, 200);
        }
        Err(TokenError::InvalidResponse(_)) => assert_eq!(status, 200),
        Err(e) => panic!("no transport here, yet {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let response = read(data);
    // 2026-12-06T00:00:00Z: a Retry-After date resolves against the server's clock.
    let now = OffsetDateTime::from_unix_timestamp(1_796_515_200).expect("fixed time");
    let outcome = classify(response.status, &response.headers, now);
    assert_eq!(
        outcome,
        classify(response.status, &response.headers, now),
        "classification is not deterministic"
    );
    check_outcome(response.status, &outcome);
    check_token(response.status, response.body, now);
});
