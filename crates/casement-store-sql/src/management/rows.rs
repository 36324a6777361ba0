//! Rows of the queue and of sessions read into the store's types, and the statements that read
//! them; enums through [`crate::names`] (an unknown name is corrupt data, never a default).

use casement_store::*;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::devices::device_columns_of_d;
use crate::{corrupt, map_err, names};

pub(super) const COMMAND_COLUMNS: &str = "id, device_id, kind, class, label, payload, secret, state, status_code, original_error, results, attempts, max_attempts, created_at, updated_at, expires_at, created_by";
pub(super) const SESSION_COLUMNS: &str = "id, device_id, session_id, context, reason, evidence, started_at, updated_at, ended_at, outcome, core_state, version, message_count, commands_sent, warnings";

pub(super) fn command(row: &AnyRow) -> StoreResult<CommandRow> {
    let secret: i64 = row.try_get("secret").map_err(map_err)?;
    let attempts: i64 = row.try_get("attempts").map_err(map_err)?;
    let max_attempts: i64 = row.try_get("max_attempts").map_err(map_err)?;
    Ok(CommandRow {
        id: row.try_get("id").map_err(map_err)?,
        device_id: row.try_get("device_id").map_err(map_err)?,
        kind: names::get(row, "kind")?,
        class: names::get(row, "class")?,
        label: row.try_get("label").map_err(map_err)?,
        payload: row.try_get("payload").map_err(map_err)?,
        secret: secret != 0,
        state: names::get(row, "state")?,
        status_code: row.try_get("status_code").map_err(map_err)?,
        original_error: row.try_get("original_error").map_err(map_err)?,
        results: row.try_get("results").map_err(map_err)?,
        attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
        max_attempts: max_attempts.clamp(0, i64::from(u32::MAX)) as u32,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
        expires_at: row.try_get("expires_at").map_err(map_err)?,
        created_by: row.try_get("created_by").map_err(map_err)?,
    })
}

pub(super) fn session(row: &AnyRow) -> StoreResult<SessionRow> {
    session_as(row, "")
}

/// A session from columns named `<prefix><column>` (a join's aliases).
pub(super) fn session_as(row: &AnyRow, prefix: &str) -> StoreResult<SessionRow> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(SessionRow {
        id: row.try_get(col("id").as_str()).map_err(map_err)?,
        device_id: row.try_get(col("device_id").as_str()).map_err(map_err)?,
        session_id: row.try_get(col("session_id").as_str()).map_err(map_err)?,
        context: names::get(row, &col("context"))?,
        reason: row.try_get(col("reason").as_str()).map_err(map_err)?,
        evidence: row.try_get(col("evidence").as_str()).map_err(map_err)?,
        started_at: row.try_get(col("started_at").as_str()).map_err(map_err)?,
        updated_at: row.try_get(col("updated_at").as_str()).map_err(map_err)?,
        ended_at: row.try_get(col("ended_at").as_str()).map_err(map_err)?,
        outcome: row.try_get(col("outcome").as_str()).map_err(map_err)?,
        core_state: row.try_get(col("core_state").as_str()).map_err(map_err)?,
        version: row.try_get(col("version").as_str()).map_err(map_err)?,
        message_count: row
            .try_get(col("message_count").as_str())
            .map_err(map_err)?,
        commands_sent: row
            .try_get(col("commands_sent").as_str())
            .map_err(map_err)?,
        warnings: warnings_from_column(row.try_get(col("warnings").as_str()).map_err(map_err)?)?,
        messages_kept: true,
    })
}

/// `sessions.warnings`: a JSON array of sentences, NULL when empty.
pub(super) fn warnings_from_column(column: Option<String>) -> StoreResult<Vec<String>> {
    column.map_or(Ok(Vec::new()), |json| {
        serde_json::from_str(&json).map_err(|e| corrupt(format!("session warnings: {e}")))
    })
}

pub(super) fn warnings_to_column(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| serde_json::to_string(warnings).unwrap_or_default())
}

pub(super) fn conflict(what: impl Into<String>) -> StoreError {
    StoreError::Conflict(what.into())
}

/// The snapshot's one-row query (see `management_snapshot`).
pub(super) fn snapshot_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let session: Vec<String> = SESSION_COLUMNS
            .split(", ")
            .map(|c| format!("s.{c} AS s_{c}"))
            .collect();
        format!(
            "SELECT {}, {}, \
             ch.state AS ch_state, ch.uri AS ch_uri, ch.expires_at AS ch_expires_at, ch.status AS ch_status, \
             ch.last_error AS ch_last_error, ch.reason AS ch_reason, ch.updated_at AS ch_updated_at, \
             c.serial_hex AS c_serial_hex, c.device_id AS c_device_id, c.thumbprint AS c_thumbprint, \
             c.not_before AS c_not_before, c.not_after AS c_not_after, c.issued_at AS c_issued_at, c.revoked_at AS c_revoked_at, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM commands p WHERE p.device_id = d.id AND p.state = 'pending') THEN 1 ELSE 0 END AS BIGINT) AS has_pending, \
             (SELECT MIN(dp.due_at) FROM device_profiles dp WHERE dp.device_id = d.id) AS profiles_due_at \
             FROM devices d \
             LEFT JOIN sessions s ON s.device_id = d.id AND s.ended_at IS NULL \
             LEFT JOIN push_channels ch ON ch.device_id = d.id \
             LEFT JOIN certificates c ON c.serial_hex = $2 \
             WHERE d.id = $1",
            device_columns_of_d(),
            session.join(", ")
        )
    })
}

/// The columns an idle session is read back from (`i`: idle_sessions, `e`: session_evidence).
pub(super) const IDLE_COLUMNS: &str =
    "i.device_id, i.session_id, i.started_at, e.context, e.reason, e.evidence";

/// An idle session's compact record read back as a session whose messages were not kept.
pub(super) fn idle_session(row: &AnyRow) -> StoreResult<SessionRow> {
    let device_id: String = row.try_get("device_id").map_err(map_err)?;
    let started_at: i64 = row.try_get("started_at").map_err(map_err)?;
    Ok(SessionRow {
        id: IdleSessionRow::id(&device_id, started_at),
        device_id,
        session_id: row.try_get("session_id").map_err(map_err)?,
        context: names::get(row, "context")?,
        reason: row.try_get("reason").map_err(map_err)?,
        evidence: row.try_get("evidence").map_err(map_err)?,
        started_at,
        updated_at: started_at,
        ended_at: Some(started_at),
        outcome: Some("completed".into()),
        core_state: None,
        version: 1,
        message_count: 2,
        commands_sent: 0,
        warnings: Vec::new(),
        messages_kept: false,
    })
}
