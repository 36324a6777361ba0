//! The WNS access token: OAuth 2.0 client-credentials request, response parsing, caching policy.
//!
//! Request and response per windows-dev-docs `push-request-response-headers.md` ("Requesting and
//! receiving an access token"): form-urlencoded `grant_type=client_credentials`, `client_id`
//! (Package SID), `client_secret`, `scope`; 200 → JSON `access_token`, `token_type` ("bearer"),
//! `expires_in` (newer doc version); 400 → OAuth error JSON (`error`, `error_description`).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::TransportError;

/// Refresh this long before the token's announced expiry.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A token is kept at least this long (unless it lives shorter), so a short `expires_in` does not
/// turn into one token request per push.
pub const TOKEN_MIN_CACHE: Duration = Duration::from_secs(30);

/// Longest a token is cached, whatever `expires_in` says (WNS tokens live 24 h: `expires_in`
/// 86400 in the documentation's sample, cached 23 h 55 min).
pub(crate) const TOKEN_MAX_CACHE: Duration = Duration::from_secs(24 * 60 * 60);

/// Lifetime assumed when the response has no `expires_in` (older doc samples have none). Our own
/// conservative choice; a token rejected earlier is caught by the 401 → refresh-once path.
pub const TOKEN_DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// A WNS access token. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    value: String,
    expires_in: Option<Duration>,
}

impl AccessToken {
    /// The bearer token, for the `Authorization` header.
    pub fn secret(&self) -> &str {
        &self.value
    }

    /// Lifetime announced by the token endpoint (`expires_in`), if any.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why no access token could be obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token endpoint refused the credentials with an OAuth error (operator at fault: wrong
    /// SID/secret, or a registration the endpoint no longer serves — e.g. 2026's HTTP 400
    /// `invalid_request` "Client credential flows against login.live.com are no longer supported.
    /// New clients should use login.microsoftonline.com instead", see docs/protocol.md §3.1).
    /// `error` and `description` are the endpoint's words, verbatim.
    #[error("WNS token request refused (HTTP {status}): {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Rejected {
        /// HTTP status (400 per the WNS docs).
        status: u16,
        /// OAuth `error` code, e.g. `invalid_client`, `invalid_request`.
        error: String,
        /// OAuth `error_description`, if any.
        description: Option<String>,
    },
    /// A non-200 answer without an OAuth error body (endpoint or proxy at fault).
    #[error("WNS token endpoint answered HTTP {status}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
        /// Start of the response body (at most 512 bytes, lossy UTF-8), for the log.
        body: String,
    },
    /// 200 but no usable token in the body (endpoint at fault).
    #[error("WNS token response is unusable: {0}")]
    InvalidResponse(String),
    /// The token endpoint could not be reached or did not answer in time (network; transient).
    #[error("WNS token endpoint unreachable: {0}")]
    Transport(#[source] TransportError),
}

impl TokenError {
    /// Whether trying again later may help (network trouble, 5xx, 429) as opposed to a
    /// configuration problem the operator must fix.
    pub fn is_transient(&self) -> bool {
        match self {
            TokenError::Transport(_) => true,
            TokenError::UnexpectedStatus { status, .. } => *status >= 500 || *status == 429,
            TokenError::Rejected { .. } | TokenError::InvalidResponse(_) => false,
        }
    }
}

/// How long a token fetched now stays in the cache: `expires_in − 5 min`, but at least 30 s
/// (or the whole lifetime if that is shorter than 30 s).
pub(crate) fn cache_lifetime(expires_in: Option<Duration>) -> Duration {
    let e = expires_in.unwrap_or(TOKEN_DEFAULT_LIFETIME);
    e.saturating_sub(TOKEN_REFRESH_MARGIN)
        .max(TOKEN_MIN_CACHE.min(e))
}

/// A token with the instant it must be refreshed at.
#[derive(Debug, Clone)]
pub(crate) struct CachedToken {
    pub(crate) token: AccessToken,
    pub(crate) refresh_at: OffsetDateTime,
}

impl CachedToken {
    pub(crate) fn new(token: AccessToken, now: OffsetDateTime) -> Self {
        // The endpoint's `expires_in` can be any u64: cap it, so that `now + lifetime` stays a
        // date (an unchecked add panics past year 9999).
        let refresh_at = now + cache_lifetime(token.expires_in).min(TOKEN_MAX_CACHE);
        Self { token, refresh_at }
    }

    pub(crate) fn is_fresh(&self, now: OffsetDateTime) -> bool {
        now < self.refresh_at
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    token_type: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    error_description: Option<String>,
}

/// Interprets the token endpoint's answer.
pub(crate) fn parse_token_response(status: u16, body: &[u8]) -> Result<AccessToken, TokenError> {
    if status != 200 {
        if let Ok(e) = serde_json::from_slice::<OAuthErrorBody>(body) {
            return Err(TokenError::Rejected {
                status,
                error: e.error,
                description: e.error_description,
            });
        }
        let cut = &body[..body.len().min(512)];
        return Err(TokenError::UnexpectedStatus {
            status,
            body: String::from_utf8_lossy(cut).into_owned(),
        });
    }
    let parsed: TokenBody = serde_json::from_slice(body)
        .map_err(|e| TokenError::InvalidResponse(format!("not the expected JSON: {e}")))?;
    let value = match parsed.access_token {
        Some(t) if !t.trim().is_empty() => t,
        _ => return Err(TokenError::InvalidResponse("no access_token".into())),
    };
    if value.bytes().any(|b| b.is_ascii_control() || b == b' ') || !value.is_ascii() {
        return Err(TokenError::InvalidResponse(
            "access_token is not a header-safe string".into(),
        ));
    }
    if let Some(tt) = parsed.token_type.as_deref()
        && !tt.eq_ignore_ascii_case("bearer")
    {
        // The doc says it is "always returned as bearer"; we only send it as a bearer token.
        tracing::warn!(
            token_type = tt,
            "WNS token_type is not bearer; using it as one"
        );
    }
    Ok(AccessToken {
        value,
        expires_in: parsed.expires_in.map(Duration::from_secs),
    })
}

/// `expires_in` as a JSON number or a numeric string (both occur among OAuth servers).
fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    Ok(match Option::<NumOrStr>::deserialize(d)? {
        None => None,
        Some(NumOrStr::Num(n)) => Some(n),
        Some(NumOrStr::Str(s)) => s.trim().parse().ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of a saved fuzz input (`.http`: status line, headers, blank line, body).
    fn http_body(input: &[u8]) -> &[u8] {
        let at = input.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        &input[at + 4..]
    }

    /// Issue 18 (fuzz target `push_wns`): `"expires_in": 18446744073709551615` made caching the
    /// token panic ("overflow adding duration to date"); the cache lifetime is now capped.
    #[test]
    fn regression_issue_18_huge_expires_in_is_capped() {
        let input =
            include_bytes!("../testdata/fuzz-regressions/push_wns/token-expires-in-u64-max.http");
        let token = parse_token_response(200, http_body(input)).unwrap();
        assert_eq!(token.expires_in(), Some(Duration::from_secs(u64::MAX)));
        let now = OffsetDateTime::from_unix_timestamp(1_796_515_200).unwrap();
        let cached = CachedToken::new(token, now);
        assert_eq!(cached.refresh_at, now + TOKEN_MAX_CACHE);
        assert!(cached.is_fresh(now));
        // The documented 24 h token is cached as before: 24 h minus the 5 min margin.
        let usual = parse_token_response(200, br#"{"access_token":"a","expires_in":86400}"#);
        let cached = CachedToken::new(usual.unwrap(), now);
        assert_eq!(cached.refresh_at, now + Duration::from_secs(86_400 - 300));
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn cache_lifetime_is_expiry_minus_five_minutes_but_at_least_thirty_seconds() {
        assert_eq!(cache_lifetime(Some(S(86_400))), S(86_100));
        assert_eq!(cache_lifetime(Some(S(3_600))), S(3_300));
        assert_eq!(cache_lifetime(Some(S(330))), S(30));
        assert_eq!(cache_lifetime(Some(S(331))), S(31));
        assert_eq!(cache_lifetime(Some(S(300))), S(30));
        assert_eq!(cache_lifetime(Some(S(60))), S(30));
        assert_eq!(cache_lifetime(Some(S(10))), S(10));
        assert_eq!(cache_lifetime(Some(S(0))), S(0));
        assert_eq!(cache_lifetime(None), S(3_300));
    }

    #[test]
    fn fixture_token_response_parses() {
        // fixtures/wns/02-token-response.http body.
        let body = br#"{
    "access_token":"EgAcAQMAAAAALYAAY/c+Huwi3Fv4Ck10UrKNmtxRO6Njk2MgA=",
    "token_type":"bearer",
    "expires_in": 86400
}"#;
        let t = parse_token_response(200, body).unwrap();
        assert_eq!(
            t.secret(),
            "EgAcAQMAAAAALYAAY/c+Huwi3Fv4Ck10UrKNmtxRO6Njk2MgA="
        );
        assert_eq!(t.expires_in(), Some(S(86_400)));
        assert!(!format!("{t:?}").contains("EgAc"));
    }

    #[test]
    fn token_response_variants() {
        let t = parse_token_response(200, br#"{"access_token":"a","expires_in":"120"}"#).unwrap();
        assert_eq!(t.expires_in(), Some(S(120)));
        let t =
            parse_token_response(200, br#"{"access_token":"a","token_type":"bearer"}"#).unwrap();
        assert_eq!(t.expires_in(), None);
        for bad in [
            &br#"{"token_type":"bearer"}"#[..],
            br#"{"access_token":""}"#,
            br#"{"access_token":"a\nb"}"#,
            b"<html>",
            b"",
        ] {
            assert!(
                matches!(
                    parse_token_response(200, bad),
                    Err(TokenError::InvalidResponse(_))
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn oauth_error_is_surfaced_verbatim() {
        let body = br#"{"error":"invalid_request","error_description":"Client credential flows against login.live.com are no longer supported. New clients should use login.microsoftonline.com instead"}"#;
        let e = parse_token_response(400, body).unwrap_err();
        match &e {
            TokenError::Rejected {
                status,
                error,
                description,
            } => {
                assert_eq!(*status, 400);
                assert_eq!(error, "invalid_request");
                assert_eq!(
                    description.as_deref(),
                    Some(
                        "Client credential flows against login.live.com are no longer supported. New clients should use login.microsoftonline.com instead"
                    )
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            e.to_string(),
            "WNS token request refused (HTTP 400): invalid_request: Client credential flows against login.live.com are no longer supported. New clients should use login.microsoftonline.com instead"
        );
        assert!(!e.is_transient());
    }

    #[test]
    fn non_oauth_error_bodies_are_unexpected_status() {
        let e = parse_token_response(503, b"<html>busy</html>").unwrap_err();
        assert!(matches!(
            e,
            TokenError::UnexpectedStatus { status: 503, .. }
        ));
        assert!(e.is_transient());
        let e = parse_token_response(400, &[b'x'; 2000]).unwrap_err();
        match e {
            TokenError::UnexpectedStatus { status: 400, body } => assert_eq!(body.len(), 512),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cached_token_freshness_follows_the_lifetime() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let tok = parse_token_response(200, br#"{"access_token":"a","expires_in":3600}"#).unwrap();
        let c = CachedToken::new(tok, t0);
        assert!(c.is_fresh(t0));
        assert!(c.is_fresh(t0 + S(3_299)));
        assert!(!c.is_fresh(t0 + S(3_300)));
    }
}
