//! Session retention (docs/retention.md): everything a session left — its row and messages, or
//! an idle session's compact record — is deleted once it is older than
//! `session_retention_days`, in the background, in bounded batches so that a sweep never holds
//! the database (SQLite's one writer) for long.

use casement_store::{Pruned, StoreError};

use crate::state::AppState;

/// Rows of each kind one batch deletes (one transaction).
pub const PRUNE_BATCH: u32 = 1000;
/// How often the sweep runs.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// Pause between two batches of one sweep: the writers of management messages go first.
const BETWEEN_BATCHES: std::time::Duration = std::time::Duration::from_millis(20);

/// Deletes what is older than the retention age, batch after batch, until a batch finds less
/// than a full one; returns the total. Nothing when retention is off (`None`).
pub async fn sweep(state: &AppState) -> Result<Pruned, StoreError> {
    let Some(age_ms) = state.config.session_retention_ms else {
        return Ok(Pruned::default());
    };
    let before = state.clock.now_ms() - age_ms;
    let mut total = Pruned::default();
    loop {
        let p = state.store.prune_sessions(before, PRUNE_BATCH).await?;
        total.sessions += p.sessions;
        total.messages += p.messages;
        total.idle_sessions += p.idle_sessions;
        if p.sessions < u64::from(PRUNE_BATCH) && p.idle_sessions < u64::from(PRUNE_BATCH) {
            break;
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
    if total != Pruned::default() {
        tracing::info!(
            sessions = total.sessions,
            messages = total.messages,
            idle_sessions = total.idle_sessions,
            "retention: pruned what is older than the retention age"
        );
    }
    Ok(total)
}

/// Longest investigation one request starts (30 days).
pub const MAX_RECORDING_HOURS: u32 = 720;

/// Puts a device under investigation for `hours` from now (every session keeps its messages),
/// or ends it (`None`), audited as `actor`; returns until when, or `None` for an unknown
/// device. `hours` must be 1 to [`MAX_RECORDING_HOURS`] (the callers say so to the user).
pub async fn record_sessions(
    state: &AppState,
    actor: &str,
    device_id: &str,
    hours: Option<u32>,
) -> Result<Option<Option<i64>>, StoreError> {
    let until = hours.map(|h| state.clock.now_ms() + i64::from(h) * 3_600_000);
    if !state.store.set_recording(device_id, until).await? {
        return Ok(None);
    }
    let action = if until.is_some() {
        "device.recording.start"
    } else {
        "device.recording.stop"
    };
    crate::services::audit::record(
        state,
        actor,
        action,
        Some(device_id),
        serde_json::json!({ "record_sessions_until": until }),
    )
    .await;
    Ok(Some(until))
}

/// Runs [`sweep`] now and every minute until aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = sweep(&state).await {
                tracing::warn!(error = %e, "retention sweep: storage unavailable");
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    })
}
