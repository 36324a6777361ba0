//! What the endpoint remembers: issued tokens, channel states, received pushes, subscribers.

use std::collections::{HashMap, VecDeque};

use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;

use super::{ChannelState, MAX_PUSHES_KEPT, ReceivedPush};

/// The endpoint's mutable state, behind one mutex (every operation is short and never awaits).
#[derive(Debug)]
pub(crate) struct Inner {
    /// Issued tokens and their expiry.
    pub(crate) tokens: HashMap<String, OffsetDateTime>,
    /// How many tokens were issued since the start.
    pub(crate) tokens_issued: usize,
    /// `Some(description)`: every token request fails with it.
    pub(crate) refusal: Option<String>,
    /// Channels configured explicitly.
    pub(crate) channels: HashMap<String, ChannelState>,
    /// The state of channels not configured.
    pub(crate) default_state: ChannelState,
    /// Recorded pushes per device, oldest first.
    pub(crate) pushes: HashMap<String, VecDeque<ReceivedPush>>,
    /// Told the device ID of every delivered push.
    pub(crate) subscribers: Vec<UnboundedSender<String>>,
    /// Told every recorded push, whatever the channel answered.
    pub(crate) observers: Vec<UnboundedSender<ReceivedPush>>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            tokens: HashMap::new(),
            tokens_issued: 0,
            refusal: None,
            channels: HashMap::new(),
            default_state: ChannelState::Active,
            pushes: HashMap::new(),
            subscribers: Vec::new(),
            observers: Vec::new(),
        }
    }
}

impl Inner {
    /// Whether `token` was issued and has not expired at `now`. Expired tokens are forgotten.
    pub(crate) fn token_valid(&mut self, token: &str, now: OffsetDateTime) -> bool {
        match self.tokens.get(token) {
            Some(expiry) if now < *expiry => true,
            Some(_) => {
                self.tokens.remove(token);
                false
            }
            None => false,
        }
    }

    /// Remembers a new token; expired ones are dropped on the way.
    pub(crate) fn issue(&mut self, token: String, expiry: OffsetDateTime, now: OffsetDateTime) {
        self.tokens.retain(|_, e| now < *e);
        self.tokens.insert(token, expiry);
        self.tokens_issued += 1;
    }

    pub(crate) fn channel_state(&self, device_id: &str) -> ChannelState {
        self.channels
            .get(device_id)
            .copied()
            .unwrap_or(self.default_state)
    }

    /// Records `push`, tells the observers and, if it was delivered, the subscribers (dropping
    /// closed ones).
    pub(crate) fn record(&mut self, push: ReceivedPush) {
        let device_id = push.device_id.clone();
        let delivered = push.delivered;
        self.observers.retain(|tx| tx.send(push.clone()).is_ok());
        let list = self.pushes.entry(device_id.clone()).or_default();
        if list.len() >= MAX_PUSHES_KEPT {
            list.pop_front();
        }
        list.push_back(push);
        if delivered {
            self.subscribers
                .retain(|tx| tx.send(device_id.clone()).is_ok());
        }
    }
}
