//! The pure functions that read what WNS and its token endpoint answer, for the fuzz targets in
//! `fuzz/` (feature `fuzzing`). Not a stable API.
//!
//! A hostile or broken WNS (or anything on the path to it) controls the status, the headers and
//! the body of these answers; the client must classify any of them without panicking.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;

use crate::outcome::PushOutcome;
use crate::token::{AccessToken, CachedToken, TokenError};

/// Classifies a push answer given as raw header lines. Names or values the HTTP stack would
/// refuse (and so never hand over) are skipped; repeated names are all kept, in order.
pub fn classify(status: u16, headers: &[(&[u8], &[u8])], now: OffsetDateTime) -> PushOutcome {
    crate::outcome::classify(status, &header_map(headers), now)
}

/// Builds the header map the HTTP stack would deliver for these raw lines.
pub fn header_map(headers: &[(&[u8], &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    map
}

/// Reads the token endpoint's answer.
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<AccessToken, TokenError> {
    crate::token::parse_token_response(status, body)
}

/// When a token fetched at `now` is refreshed, and whether it is fresh at `now`.
pub fn cache_token(token: AccessToken, now: OffsetDateTime) -> (OffsetDateTime, bool) {
    let cached = CachedToken::new(token, now);
    (cached.refresh_at, cached.is_fresh(now))
}

/// How long a token with this `expires_in` stays cached.
pub fn cache_lifetime(expires_in: Option<Duration>) -> Duration {
    crate::token::cache_lifetime(expires_in)
}
