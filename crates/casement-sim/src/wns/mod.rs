//! The simulator's WNS: a WNS-compatible HTTPS endpoint that the server's WNS client
//! (`casement-push`) can push to, so that pushes reach simulated devices (docs/product.md §5, §3 flows
//! 5–6; docs/protocol.md §3).
//!
//! - [`WnsEndpoint`] serves `POST /accesstoken.srf` (the OAuth client-credentials token endpoint
//!   of login.live.com) and `POST /wns/channel/{device_id}` (a device's channel URI) over HTTPS
//!   with a self-signed certificate for `127.0.0.1` and `localhost`.
//! - Each channel has a [`ChannelState`] the test or the CLI controls: revoke it, expire it,
//!   throttle it, make it fail. Channels never configured answer as
//!   [`WnsEndpoint::default_state`] (initially [`ChannelState::Active`]): a device registered its
//!   channel when the server's push configuration (`UpdateConfiguration`, DMClient) ran in one of
//!   its sessions, and the endpoint does not know about sessions.
//! - Pushes accepted for an active channel are recorded ([`ReceivedPush`]) and announced to
//!   subscribers ([`WnsEndpoint::subscribe`]); [`run_push_driver`] turns each announcement into
//!   the device's push-triggered session ([`crate::agent::Event::Push`]).
//!
//! - As a process (`casement sim wns`), a control endpoint ([`CONTROL_PATH`], only with
//!   [`WnsEndpointConfig::control_token`]) lets another shell change a channel's state, and
//!   [`SimulatorInfo`] (`wns-simulator.json`, next to `wns.pem`) tells the server and the shell
//!   how to reach it; [`WnsEndpoint::observe`] sees every push, refused ones too; a
//!   [`ChannelWatch`] makes a revoked or expired channel answer again once the device registers a
//!   new one.
//!
//! The channel URIs it serves are exactly the ones the agent reports: the agent's
//! [`AgentState::wns_endpoint`](crate::agent::AgentState::wns_endpoint) is
//! [`WnsEndpoint::channel_base`] (`<base>/wns/channel`, default
//! `https://127.0.0.1:8444/wns/channel`), and a device's channel URI is `<that>/<device id>`.
//!
//! ```no_run
//! # async fn run() -> Result<(), casement_sim::wns::StartError> {
//! use casement_sim::wns::{ChannelState, WnsEndpoint, WnsEndpointConfig};
//!
//! let endpoint = WnsEndpoint::start(WnsEndpointConfig::new("ms-app://S-1-15-2-1", "secret")).await?;
//! let pushes = endpoint.subscribe();
//! endpoint.expire("6C4B1F0E2A3D4C5B"); // the next push to that device answers 410
//! # drop(pushes);
//! endpoint.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod driver;
mod files;
mod server;
mod state;

use std::net::SocketAddr;
use std::time::Duration;

use time::OffsetDateTime;

pub use driver::{ChannelWatch, DriverError, find_device_dir, run_push_driver};
pub use files::{CERTIFICATE_FILE, ControlRequest, SETTINGS_FILE, ServerSettings, SimulatorInfo};
pub use server::{StartError, WnsEndpoint};

/// The path of the token endpoint (as on `login.live.com`).
pub const TOKEN_PATH: &str = "/accesstoken.srf";
/// The path prefix of channel URIs: `<base>/wns/channel/<device id>`.
pub const CHANNEL_PATH: &str = "/wns/channel";
/// The path prefix of the control endpoint (only with [`WnsEndpointConfig::control_token`]):
/// `POST <base>/control/channels/<device id>` with a [`ControlRequest`] sets that channel's
/// [`ChannelState`].
pub const CONTROL_PATH: &str = "/control/channels";
/// The largest payload accepted, in bytes (WNS answers 413 above it).
pub const MAX_PAYLOAD: usize = 5000;
/// The scope the token request must ask for.
pub const SCOPE: &str = "notify.windows.com";
/// The default token lifetime (`expires_in` of the current WNS sample).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);
/// At most this many pushes are remembered per device (the oldest are forgotten first), so a
/// long-running simulator does not grow without bound.
pub const MAX_PUSHES_KEPT: usize = 1000;

/// How to start a [`WnsEndpoint`].
#[derive(Clone, PartialEq, Eq)]
pub struct WnsEndpointConfig {
    /// Where to listen (`127.0.0.1:0` in tests; default `127.0.0.1:8444`, where the agent's
    /// default channel URIs point).
    pub listen: SocketAddr,
    /// The `client_id` the token endpoint accepts (the server's Package SID,
    /// `ms-app://S-1-15-2-…`).
    pub client_id: String,
    /// The `client_secret` the token endpoint accepts.
    pub client_secret: String,
    /// `expires_in` of issued tokens; a token is refused (401) once it has lived this long.
    pub token_lifetime: Duration,
    /// `Some(token)`: serve the control endpoint ([`CONTROL_PATH`]) to requests bearing it
    /// (`casement sim wns revoke …` from another shell). `None`: no control endpoint.
    pub control_token: Option<String>,
}

impl WnsEndpointConfig {
    /// Listening on `127.0.0.1:8444` ([`crate::agent::DEFAULT_WNS_PORT`]), tokens valid
    /// [`DEFAULT_TOKEN_LIFETIME`].
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], crate::agent::DEFAULT_WNS_PORT)),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            control_token: None,
        }
    }
}

impl std::fmt::Debug for WnsEndpointConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WnsEndpointConfig")
            .field("listen", &self.listen)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_lifetime", &self.token_lifetime)
            .field(
                "control_token",
                &self.control_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// How a device's channel answers pushes (docs/protocol.md §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// 200, `X-WNS-Status: received`; the push is recorded and delivered to subscribers.
    Active,
    /// 404: the channel URI is not valid / not recognised by WNS.
    Revoked,
    /// 410: the channel expired.
    Expired,
    /// 406 with `X-WNS-CONTINUE-AFTER: <seconds>`.
    Throttled {
        /// The delay announced (whole seconds are sent).
        continue_after: Duration,
    },
    /// WNS failing: this HTTP status (500 or 503; any 5xx is sent as is, anything else as 500).
    Failing(u16),
    /// 200, `X-WNS-Status: dropped`; the push is recorded but not delivered.
    Dropped,
}

/// One push that reached a channel (authenticated, well-formed, at most [`MAX_PAYLOAD`] bytes),
/// whatever the channel answered. Requests refused before (401, 400, 413) are not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPush {
    /// The device ID (the channel URI's last segment).
    pub device_id: String,
    /// When it arrived (system time).
    pub at: OffsetDateTime,
    /// The HTTP status answered.
    pub status: u16,
    /// Whether it was delivered to the device (the channel was [`ChannelState::Active`]).
    pub delivered: bool,
    /// `X-WNS-Msg-ID` answered.
    pub msg_id: String,
    /// `X-WNS-Cache-Policy`, if sent.
    pub cache_policy: Option<String>,
    /// `X-WNS-TTL`, if sent.
    pub ttl: Option<String>,
    /// Whether `X-WNS-RequestForStatus: true` was sent.
    pub request_for_status: bool,
    /// The body.
    pub payload: Vec<u8>,
}

#[cfg(test)]
mod tests;
