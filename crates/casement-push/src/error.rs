//! [`PushError`]: a push that produced no WNS answer to classify, grouped by who is at fault.

use std::fmt;

use crate::channel::ChannelRefused;
use crate::token::TokenError;

/// The largest payload WNS accepts, in bytes (push-request-response-headers.md, response code 413:
/// "The notification payload exceeds the 5000 byte size limit").
pub const MAX_PAYLOAD_LEN: usize = 5000;

/// A push that was not sent, or sent without an answer. A WNS answer, even an error status, is a
/// [`crate::PushOutcome`] instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    // --- the device (or whoever stored the channel URI) is at fault; nothing was sent ---
    /// The channel URI is not one the server may contact; it was not contacted.
    #[error("channel URI refused: {0}")]
    ChannelRefused(#[from] ChannelRefused),

    // --- the caller is at fault; nothing was sent ---
    /// The payload exceeds [`MAX_PAYLOAD_LEN`]; it was not sent.
    #[error("push payload of {len} bytes exceeds the WNS limit of {MAX_PAYLOAD_LEN} bytes")]
    PayloadTooLarge {
        /// Payload length in bytes.
        len: usize,
    },
    /// The payload is empty; MDM pushes need a small non-empty body (docs/protocol.md §3.2).
    #[error("push payload is empty")]
    EmptyPayload,

    // --- the operator's WNS credentials or the token endpoint are at fault; nothing was sent ---
    /// No access token could be obtained.
    #[error(transparent)]
    Token(#[from] TokenError),

    // --- the network or WNS is at fault; the push may or may not have arrived ---
    /// The channel's host could not be reached, or did not answer in time.
    #[error("WNS unreachable: {0}")]
    Transport(#[source] TransportError),
}

impl PushError {
    /// Whether trying the same push again later may help.
    pub fn is_transient(&self) -> bool {
        match self {
            PushError::Transport(_) => true,
            PushError::Token(t) => t.is_transient(),
            PushError::ChannelRefused(_)
            | PushError::PayloadTooLarge { .. }
            | PushError::EmptyPayload => false,
        }
    }
}

/// A network-level failure (connect, TLS, timeout, broken connection), opaque so that the HTTP
/// library is not part of this crate's API.
#[derive(Debug)]
pub struct TransportError(reqwest::Error);

impl TransportError {
    pub(crate) fn new(e: reqwest::Error) -> Self {
        // reqwest errors carry the URL, whose query holds the channel token: keep it out of logs.
        Self(e.without_url())
    }

    /// The exchange hit the configured `request_timeout`.
    pub fn is_timeout(&self) -> bool {
        self.0.is_timeout()
    }

    /// No connection could be established (DNS, refused, TLS handshake).
    pub fn is_connect(&self) -> bool {
        self.0.is_connect()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)?;
        let mut src = std::error::Error::source(&self.0);
        while let Some(s) = src {
            write!(f, ": {s}")?;
            src = s.source();
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {}
