//! The push worker: sends the outbox's due pushes through WNS and acts on each outcome
//! (docs/product.md §3 flows 5–6). Any node may run it: pushes are claimed with a lease in storage.
//!
//! - accepted (received, dropped) → sent; the device comes back in an Apps session;
//! - throttled, WNS 5xx, transport trouble → retried with backoff, bounded;
//! - channel gone (404/410) → the channel is marked revoked and push configuration is queued for
//!   the next Maintenance session; when a new channel is reported, pending installs are pushed
//!   again (management service);
//! - a channel URI outside the allowed WNS hosts → never contacted, recorded on the channel;
//! - anything else → failed. A push is never the only path: a pending install is also delivered
//!   in the next session whose context allows it.

use std::sync::Arc;
use std::time::Duration;

use casement_dm::catalog::CommandRequest;
use casement_dm::channel::ChannelState;
use casement_push::{PushError, PushOutcome, Pusher, WAKE_PAYLOAD};
use casement_store::{
    ChannelRow, CommandClass, CommandState, MessageChanges, PushResult, PushRow, StoreError,
};

use crate::services::commands;
use crate::state::AppState;

/// How long a claimed push is ours before another sender may take it.
pub const LEASE_MS: i64 = 60_000;
/// Sends tried before a push is failed for good.
pub const MAX_PUSH_ATTEMPTS: u32 = 8;
/// Pushes claimed per round.
const BATCH: u32 = 32;

/// Sends the pushes due now; returns how many were handled.
pub async fn run_once(state: &AppState, pusher: &dyn Pusher) -> Result<usize, StoreError> {
    let claimed = state
        .store
        .claim_pushes(state.clock.now_ms(), LEASE_MS, BATCH)
        .await?;
    for push in &claimed {
        let (result, outcome) = send(state, pusher, push).await?;
        state
            .store
            .finish_push(&push.id, &result, &outcome, state.clock.now_ms())
            .await?;
        state.metrics.push(&outcome);
    }
    Ok(claimed.len())
}

/// Runs [`run_once`] until the task is aborted, pausing when there is nothing to send.
pub fn spawn(state: AppState, pusher: Arc<dyn Pusher>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_once(&state, pusher.as_ref()).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "push worker: storage unavailable"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}

async fn send(
    state: &AppState,
    pusher: &dyn Pusher,
    push: &PushRow,
) -> Result<(PushResult, String), StoreError> {
    let now = state.clock.now_ms();
    let channel = state.store.push_channel(&push.device_id).await?;
    let Some(uri) = channel
        .as_ref()
        .filter(|c| c.state.can_push())
        .and_then(|c| c.uri.clone())
    else {
        let state_name = channel
            .as_ref()
            .map_or("unconfigured", |c| c.state.as_str())
            .to_owned();
        return Ok((
            PushResult::Failed,
            format!(
                "no usable channel ({state_name}); the command waits for the next allowed session"
            ),
        ));
    };
    let retry = |attempt: u32, after: Option<Duration>, what: String| {
        if attempt >= MAX_PUSH_ATTEMPTS {
            return (
                PushResult::Failed,
                format!("{what}; gave up after {attempt} attempts"),
            );
        }
        let delay = after.unwrap_or_else(|| Duration::from_secs(2u64 << attempt.min(10)));
        (
            PushResult::Retry {
                at: now + delay.as_millis() as i64,
            },
            format!("{what}; retried in {} s", delay.as_secs()),
        )
    };
    Ok(match pusher.push(&uri, WAKE_PAYLOAD).await {
        Ok(outcome @ (PushOutcome::Received { .. } | PushOutcome::Dropped { .. })) => {
            (PushResult::Sent, outcome.label().to_owned())
        }
        Ok(outcome @ (PushOutcome::Throttled { .. } | PushOutcome::ServerError { .. })) => retry(
            push.attempts,
            outcome.retry_after(push.attempts),
            format!("WNS: {}", outcome.label()),
        ),
        Ok(PushOutcome::ChannelGone { expired, .. }) => {
            let reason = if expired {
                "WNS answered 410: the channel expired"
            } else {
                "WNS answered 404: the channel was revoked or is unknown"
            };
            channel_gone(state, &push.device_id, reason).await?;
            (PushResult::Failed, reason.to_owned())
        }
        Ok(outcome) => (PushResult::Failed, format!("WNS: {}", outcome.label())),
        Err(PushError::ChannelRefused(refused)) => {
            let reason = format!(
                "the channel URI is not under an allowed WNS host and was never contacted ({refused})"
            );
            set_channel(state, &push.device_id, ChannelState::Failed, &reason).await?;
            (PushResult::Failed, reason)
        }
        Err(e) if e.is_transient() => retry(push.attempts, None, format!("push: {e}")),
        Err(e) => (PushResult::Failed, format!("push: {e}")),
    })
}

/// 404/410: the channel is revoked and push configuration is queued for the next Maintenance
/// session (unless one is pending already), as the MDMAgent blog prescribes.
async fn channel_gone(state: &AppState, device_id: &str, reason: &str) -> Result<(), StoreError> {
    // Push configuration is queued before the channel is marked revoked, so that whoever sees
    // the channel revoked (the console, the API, a test) also sees what will repair it.
    let pending = state.store.commands_of_device(device_id, 1000).await?;
    let waiting = pending
        .iter()
        .any(|c| c.class == CommandClass::PushConfiguration && c.state == CommandState::Pending);
    if !waiting
        && let Err(e) = commands::queue(
            state,
            device_id,
            &CommandRequest::PushConfig,
            None,
            "system",
        )
        .await
    {
        tracing::warn!(device = device_id, error = %e, "could not queue push configuration after the channel was revoked");
    }
    set_channel(state, device_id, ChannelState::Revoked, reason).await
}

async fn set_channel(
    state: &AppState,
    device_id: &str,
    channel_state: ChannelState,
    reason: &str,
) -> Result<(), StoreError> {
    let now = state.clock.now_ms();
    let channel = ChannelRow {
        device_id: device_id.to_owned(),
        state: channel_state,
        uri: None,
        expires_at: None,
        status: None,
        last_error: None,
        reason: Some(reason.to_owned()),
        updated_at: now,
    };
    let changes = MessageChanges {
        device_id: device_id.to_owned(),
        now,
        channel: Some(channel),
        ..MessageChanges::default()
    };
    crate::services::events::apply_message(state, changes, &[]).await?;
    Ok(())
}
