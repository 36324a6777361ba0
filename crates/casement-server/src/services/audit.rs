//! The audit log, written the same way for every door (API, console, portal, devices).

use crate::state::AppState;

/// Appends an audit entry: who (`actor`, e.g. `admin-token`, `admin:root`, `portal:<upn>`) did
/// `action` to `target`, with `detail`. A failure to write it is logged and never hides the
/// result of the action itself.
pub async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: serde_json::Value,
) {
    let entry = casement_store::AuditEntry {
        id: uuid::Uuid::new_v4().to_string(),
        at: state.clock.now_ms(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.map(str::to_owned),
        detail: detail.to_string(),
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        tracing::error!(error = %e, action, "audit log write failed");
    }
}
