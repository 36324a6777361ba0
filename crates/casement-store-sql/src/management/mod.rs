//! The command queue, sessions, inventory and audit log.
//!
//! Layout: `rows` reads rows into the store's types; this module answers the traits' reads and
//! small writes; `apply` writes one message's changes in one transaction; `placeholders` builds
//! the many-row statements both use.

mod apply;
mod placeholders;
mod rows;

use async_trait::async_trait;
use casement_store::*;
use sqlx::{AssertSqlSafe, Row};

use crate::devices::device;
use crate::{SqlStore, map_err, names};

use apply::insert_audit;
pub(crate) use apply::{apply_changes, retire_in};
use placeholders::insert_commands;
use rows::{
    COMMAND_COLUMNS, IDLE_COLUMNS, SESSION_COLUMNS, command, conflict, idle_session, session,
    session_as, snapshot_sql,
};

#[async_trait]
impl CommandStore for SqlStore {
    async fn enqueue_commands(&self, commands: &[NewCommand]) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_commands(&mut tx, commands).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn enqueue_bulk(&self, bulk: &BulkEnqueue) -> StoreResult<Vec<(Platform, u64)>> {
        let _turn = self.write_turn().await;
        let (selection, user) = match &bulk.selection {
            DeviceSelection::All => ("", None),
            DeviceSelection::User(user) => (" AND d.user_id = $11", Some(user.as_str())),
        };
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let mut queued = Vec::new();
        for (platform, commands) in &bulk.by_platform {
            let mut devices = 0;
            for c in commands {
                // Every parameter is cast: PostgreSQL cannot infer the type of a bare parameter
                // in a select list.
                let (prefix, uuid) = crate::bulk_ids(self.backend, c.created_at, "$12", "n.rn");
                let done = sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO commands (id, device_id, kind, class, label, payload, secret, state, attempts, max_attempts, created_at, updated_at, expires_at, created_by) \
                     SELECT {uuid}, n.id, CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS BIGINT), 'pending', 0, CAST($6 AS BIGINT), \
                     CAST($7 AS BIGINT), CAST($7 AS BIGINT), CAST($8 AS BIGINT), CAST($9 AS TEXT) \
                     FROM (SELECT d.id, ROW_NUMBER() OVER () AS rn FROM devices d \
                           WHERE d.retired_at IS NULL AND d.platform = $10{selection}{}) AS n",
                    if user.is_none() { " AND CAST($11 AS TEXT) IS NULL" } else { "" }
                )))
                .bind(c.kind.as_str())
                .bind(c.class.as_str())
                .bind(&c.label)
                .bind(&c.payload)
                .bind(i64::from(c.secret))
                .bind(i64::from(c.max_attempts))
                .bind(c.created_at)
                .bind(c.expires_at)
                .bind(&c.created_by)
                .bind(platform.as_str())
                .bind(user)
                .bind(prefix)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                devices = done.rows_affected();
            }
            if let (Some((reason, now, interval)), false) = (&bulk.push, commands.is_empty()) {
                let (prefix, uuid) = crate::bulk_ids(self.backend, *now, "$6", "n.rn");
                sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO push_outbox (id, device_id, reason, state, attempts, next_attempt_at, created_at, updated_at) \
                     SELECT {uuid}, n.id, CAST($1 AS TEXT), 'queued', 0, \
                       COALESCE((SELECT CASE WHEN MAX(p.updated_at) + CAST($3 AS BIGINT) > CAST($2 AS BIGINT) THEN MAX(p.updated_at) + CAST($3 AS BIGINT) END \
                                 FROM push_outbox p WHERE p.device_id = n.id AND p.state = 'sent'), CAST($2 AS BIGINT)), \
                       CAST($2 AS BIGINT), CAST($2 AS BIGINT) \
                     FROM (SELECT d.id, ROW_NUMBER() OVER () AS rn FROM devices d \
                           WHERE d.retired_at IS NULL AND d.platform = $4{} \
                           AND NOT EXISTS (SELECT 1 FROM push_outbox q WHERE q.device_id = d.id AND q.state = 'queued')) AS n",
                    if user.is_some() { " AND d.user_id = $5" } else { " AND CAST($5 AS TEXT) IS NULL" }
                )))
                .bind(reason)
                .bind(now)
                .bind(interval)
                .bind(platform.as_str())
                .bind(user)
                .bind(prefix)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
            queued.push((*platform, devices));
        }
        tx.commit().await.map_err(map_err)?;
        Ok(queued)
    }

    async fn command(&self, id: &str) -> StoreResult<Option<CommandRow>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COMMAND_COLUMNS} FROM commands WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(command).transpose()
    }

    async fn commands_of_device(
        &self,
        device_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<CommandRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE device_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")))
            .bind(device_id)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(command).collect()
    }

    async fn cancel_command(&self, id: &str, now: i64) -> StoreResult<CommandRow> {
        let _turn = self.write_turn().await;
        let updated = sqlx::query("UPDATE commands SET state = 'cancelled', updated_at = $2 WHERE id = $1 AND state = 'pending'").bind(id).bind(now).execute(&self.pool).await.map_err(map_err)?;
        let row = self
            .command(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("command {id}")))?;
        if updated.rows_affected() == 0 {
            return Err(conflict(format!(
                "command {id} is {}, only a pending command can be cancelled",
                row.state.as_str()
            )));
        }
        Ok(row)
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn management_snapshot(
        &self,
        device_id: &str,
        certificate_serial: Option<&str>,
        pending_limit: u32,
    ) -> StoreResult<Option<ManagementSnapshot>> {
        // One row: the device, the certificate asked for, the channel, the session not ended
        // (found through the partial unique index one_active_session_per_device) and whether
        // any command is pending, and when its next profile row is due (the index
        // device_profiles_due); the pending commands themselves only if there are some.
        let row = sqlx::query(AssertSqlSafe(snapshot_sql()))
            .bind(device_id)
            .bind(certificate_serial)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let device = device(&row)?;
        let active_session = match row.try_get::<Option<String>, _>("s_id").map_err(map_err)? {
            Some(_) => Some(session_as(&row, "s_")?),
            None => None,
        };
        let channel = match row
            .try_get::<Option<String>, _>("ch_state")
            .map_err(map_err)?
        {
            Some(state) => Some(ChannelRow {
                device_id: device.id.clone(),
                state: names::parse(&state)?,
                uri: row.try_get("ch_uri").map_err(map_err)?,
                expires_at: row.try_get("ch_expires_at").map_err(map_err)?,
                status: row.try_get("ch_status").map_err(map_err)?,
                last_error: row.try_get("ch_last_error").map_err(map_err)?,
                reason: row.try_get("ch_reason").map_err(map_err)?,
                updated_at: row.try_get("ch_updated_at").map_err(map_err)?,
            }),
            None => None,
        };
        let certificate = match row
            .try_get::<Option<String>, _>("c_serial_hex")
            .map_err(map_err)?
        {
            Some(serial_hex) => Some(Certificate {
                serial_hex,
                device_id: row.try_get("c_device_id").map_err(map_err)?,
                thumbprint: row.try_get("c_thumbprint").map_err(map_err)?,
                not_before: row.try_get("c_not_before").map_err(map_err)?,
                not_after: row.try_get("c_not_after").map_err(map_err)?,
                issued_at: row.try_get("c_issued_at").map_err(map_err)?,
                revoked_at: row.try_get("c_revoked_at").map_err(map_err)?,
            }),
            None => None,
        };
        let has_pending: i64 = row.try_get("has_pending").map_err(map_err)?;
        let pending = if has_pending != 0 {
            sqlx::query(AssertSqlSafe(format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE device_id = $1 AND state = 'pending' ORDER BY created_at, id LIMIT $2")))
                .bind(device_id)
                .bind(i64::from(pending_limit.max(1)))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?
                .iter()
                .map(command)
                .collect::<StoreResult<_>>()?
        } else {
            Vec::new()
        };
        Ok(Some(ManagementSnapshot {
            channel,
            device,
            active_session,
            pending,
            certificate,
            profiles_due_at: row.try_get("profiles_due_at").map_err(map_err)?,
        }))
    }

    async fn apply_message(&self, c: &MessageChanges) -> StoreResult<()> {
        if let Some(writes) = &self.sqlite {
            return writes.apply(c.clone()).await;
        }
        if let Some(idle) = apply::idle_only(c) {
            // One statement, no transaction around it: one round trip.
            return apply::write_idle_alone(&self.pool, c, idle).await;
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        apply_changes(&mut tx, self.backend, c)
            .await
            .map_err(|(e, _)| e)?;
        tx.commit().await.map_err(map_err)
    }

    async fn sessions_of_device(
        &self,
        device_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<SessionRow>> {
        let limit = i64::from(limit.clamp(1, 10_000));
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE device_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2")))
            .bind(device_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut sessions: Vec<SessionRow> = rows.iter().map(session).collect::<StoreResult<_>>()?;
        // Idle sessions: one seek per day of the (day, device, start) key, newest day first.
        let idle = sqlx::query(AssertSqlSafe(format!(
            "WITH RECURSIVE days(d) AS (SELECT MAX(day) FROM idle_sessions \
               UNION ALL SELECT d - 1 FROM days WHERE d > (SELECT MIN(day) FROM idle_sessions)) \
             SELECT {IDLE_COLUMNS} FROM days CROSS JOIN idle_sessions i \
             JOIN session_evidence e ON e.id = i.evidence_id \
             WHERE i.day = days.d AND i.device_id = $1 ORDER BY i.started_at DESC LIMIT $2"
        )))
        .bind(device_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        for row in &idle {
            sessions.push(idle_session(row)?);
        }
        sessions.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        sessions.truncate(limit as usize);
        Ok(sessions)
    }

    async fn session(&self, id: &str) -> StoreResult<Option<SessionRow>> {
        if let Some((device_id, started_at)) = IdleSessionRow::parse_id(id) {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {IDLE_COLUMNS} FROM idle_sessions i JOIN session_evidence e ON e.id = i.evidence_id \
                 WHERE i.day = $1 AND i.device_id = $2 AND i.started_at = $3"
            )))
            .bind(started_at.div_euclid(86_400_000))
            .bind(device_id)
            .bind(started_at)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
            return row.as_ref().map(idle_session).transpose();
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(session).transpose()
    }

    async fn session_messages(&self, id: &str) -> StoreResult<Vec<MessageRow>> {
        let rows = sqlx::query("SELECT session_row, seq, direction, body, truncated, at FROM session_messages WHERE session_row = $1 ORDER BY seq").bind(id).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let truncated: i64 = r.try_get("truncated")?;
                Ok(MessageRow {
                    session_row: r.try_get("session_row")?,
                    seq: r.try_get("seq")?,
                    direction: r.try_get("direction")?,
                    body: r.try_get("body")?,
                    truncated: truncated != 0,
                    at: r.try_get("at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(map_err)
    }

    async fn session_deliveries(&self, id: &str) -> StoreResult<Vec<DeliveryRow>> {
        let rows = sqlx::query("SELECT session_row, command_id, msg_id, cmd_id FROM session_commands WHERE session_row = $1 ORDER BY msg_id, cmd_id").bind(id).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRow {
                    session_row: r.try_get("session_row")?,
                    command_id: r.try_get("command_id")?,
                    msg_id: r.try_get("msg_id")?,
                    cmd_id: r.try_get("cmd_id")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(map_err)
    }

    async fn set_recording(&self, device_id: &str, until: Option<i64>) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let done = sqlx::query("UPDATE devices SET record_sessions_until = $2 WHERE id = $1")
            .bind(device_id)
            .bind(until)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn prune_sessions(&self, before: i64, batch: u32) -> StoreResult<Pruned> {
        let _turn = self.write_turn().await;
        let batch = i64::from(batch.max(1));
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Ended sessions started before the cut, oldest first (index sessions_by_start).
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM sessions WHERE started_at < $1 AND ended_at IS NOT NULL ORDER BY started_at LIMIT $2",
        )
        .bind(before)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()
        .map_err(map_err)?;
        let mut pruned = Pruned::default();
        if !ids.is_empty() {
            let list = serde_json::to_string(&ids).unwrap_or_default();
            let values = self.json_values(1);
            for (table, column) in [
                ("session_commands", "session_row"),
                ("session_messages", "session_row"),
                ("sessions", "id"),
            ] {
                let done = sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE {column} IN ({values})"
                )))
                .bind(&list)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                match table {
                    "session_messages" => pruned.messages = done.rows_affected(),
                    "sessions" => pruned.sessions = done.rows_affected(),
                    _ => {}
                }
            }
        }
        // Idle records: from the front of their (day, device, start) key.
        let done = sqlx::query(
            "DELETE FROM idle_sessions WHERE (day, device_id, started_at) IN \
             (SELECT day, device_id, started_at FROM idle_sessions WHERE day <= $1 AND started_at < $2 ORDER BY day LIMIT $3)",
        )
        .bind(before.div_euclid(86_400_000))
        .bind(before)
        .bind(batch)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        pruned.idle_sessions = done.rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(pruned)
    }

    async fn inventory_of_device(&self, device_id: &str) -> StoreResult<Vec<InventoryRow>> {
        let rows = sqlx::query("SELECT device_id, loc_uri, value, format, read_at FROM inventory WHERE device_id = $1 ORDER BY loc_uri").bind(device_id).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(InventoryRow {
                    device_id: r.try_get("device_id")?,
                    loc_uri: r.try_get("loc_uri")?,
                    value: r.try_get("value")?,
                    format: r.try_get("format")?,
                    read_at: r.try_get("read_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(map_err)
    }
}

#[async_trait]
impl ChannelStore for SqlStore {
    async fn push_channel(&self, device_id: &str) -> StoreResult<Option<ChannelRow>> {
        let row = sqlx::query("SELECT device_id, state, uri, expires_at, status, last_error, reason, updated_at FROM push_channels WHERE device_id = $1")
            .bind(device_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            Ok(ChannelRow {
                device_id: r.try_get("device_id").map_err(map_err)?,
                state: names::get(&r, "state")?,
                uri: r.try_get("uri").map_err(map_err)?,
                expires_at: r.try_get("expires_at").map_err(map_err)?,
                status: r.try_get("status").map_err(map_err)?,
                last_error: r.try_get("last_error").map_err(map_err)?,
                reason: r.try_get("reason").map_err(map_err)?,
                updated_at: r.try_get("updated_at").map_err(map_err)?,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT $1").bind(i64::from(limit.clamp(1, 10_000))).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(map_err)
    }
}
