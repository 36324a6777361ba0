//! The command queue, sessions, inventory and audit log.

use async_trait::async_trait;
use casement_store::*;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use crate::devices::{DEVICE_COLUMNS, device};
use crate::{SqlStore, corrupt, map_err, names};

const COMMAND_COLUMNS: &str = "id, device_id, kind, class, label, payload, secret, state, status_code, original_error, results, attempts, max_attempts, created_at, updated_at, expires_at, created_by";
const SESSION_COLUMNS: &str = "id, device_id, session_id, context, reason, evidence, started_at, updated_at, ended_at, outcome, core_state, version, message_count, commands_sent, warnings";

fn command(row: &AnyRow) -> StoreResult<CommandRow> {
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

fn session(row: &AnyRow) -> StoreResult<SessionRow> {
    session_as(row, "")
}

/// A session from columns named `<prefix><column>` (a join's aliases).
fn session_as(row: &AnyRow, prefix: &str) -> StoreResult<SessionRow> {
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
    })
}

/// `sessions.warnings`: a JSON array of sentences, NULL when empty.
fn warnings_from_column(column: Option<String>) -> StoreResult<Vec<String>> {
    column.map_or(Ok(Vec::new()), |json| {
        serde_json::from_str(&json).map_err(|e| corrupt(format!("session warnings: {e}")))
    })
}

fn warnings_to_column(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| serde_json::to_string(warnings).unwrap_or_default())
}

fn conflict(what: impl Into<String>) -> StoreError {
    StoreError::Conflict(what.into())
}

/// The snapshot's one-row query (see `management_snapshot`).
fn snapshot_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let device: Vec<String> = DEVICE_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect();
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
             CAST(CASE WHEN EXISTS (SELECT 1 FROM commands p WHERE p.device_id = d.id AND p.state = 'pending') THEN 1 ELSE 0 END AS BIGINT) AS has_pending \
             FROM devices d \
             LEFT JOIN sessions s ON s.device_id = d.id AND s.ended_at IS NULL \
             LEFT JOIN push_channels ch ON ch.device_id = d.id \
             LEFT JOIN certificates c ON c.serial_hex = $2 \
             WHERE d.id = $1",
            device.join(", "),
            session.join(", ")
        )
    })
}

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
        // any command is pending; the pending commands themselves only if there are some.
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
        }))
    }

    async fn apply_message(&self, c: &MessageChanges) -> StoreResult<()> {
        if let Some(writes) = &self.sqlite {
            return writes.apply(c.clone()).await;
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        apply_changes(&mut tx, c).await.map_err(|(e, _)| e)?;
        tx.commit().await.map_err(map_err)
    }

    async fn sessions_of_device(
        &self,
        device_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<SessionRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE device_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2")))
            .bind(device_id)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(session).collect()
    }

    async fn session(&self, id: &str) -> StoreResult<Option<SessionRow>> {
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

/// Moves commands from their expected state to the next, all in one statement; returns how
/// many moved (fewer than given means some were no longer in the state expected: the caller
/// undoes the message). A command that runs out of attempts on a retry is failed instead.
async fn transition_commands(
    tx: &mut Transaction<'_, Any>,
    transitions: &[CommandTransition],
    now: i64,
) -> Result<u64, sqlx::Error> {
    // The update joins a VALUES list (UPDATE … FROM: SQLite ≥ 3.33, PostgreSQL); its columns
    // are column1… in SQLite, so PostgreSQL's are given the same names. Parameters are cast:
    // PostgreSQL does not infer types inside VALUES.
    // `now` comes first in the text (SET before FROM), so it is the first parameter: `?`s bind in
    // the order they appear.
    let mut p = Placeholders::for_connection(tx);
    let now_param = p.next();
    let mut values = String::new();
    for i in 0..transitions.len() {
        if i > 0 {
            values.push_str(", ");
        }
        values.push_str(&format!(
            "(CAST({} AS TEXT), CAST({} AS TEXT), CAST({} AS TEXT), CAST({} AS BIGINT), CAST({} AS TEXT), CAST({} AS TEXT), CAST({} AS BIGINT), CAST({} AS BIGINT))",
            p.next(), p.next(), p.next(), p.next(), p.next(), p.next(), p.next(), p.next()
        ));
    }
    let names = if tx.backend_name().eq_ignore_ascii_case("sqlite") {
        ""
    } else {
        "(column1, column2, column3, column4, column5, column6, column7, column8)"
    };
    let sql = format!(
        "UPDATE commands AS c SET \
         state = CASE WHEN v.column8 = 1 AND c.attempts >= c.max_attempts THEN 'failed' ELSE v.column3 END, \
         status_code = COALESCE(v.column4, c.status_code), original_error = COALESCE(v.column5, c.original_error), \
         results = COALESCE(v.column6, c.results), attempts = c.attempts + v.column7, updated_at = CAST({now_param} AS BIGINT) \
         FROM (VALUES {values}) AS v{names} \
         WHERE c.id = v.column1 AND c.state = v.column2"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(now);
    for t in transitions {
        query = query
            .bind(&t.id)
            .bind(t.from.as_str())
            .bind(t.to.as_str())
            .bind(t.status_code)
            .bind(&t.original_error)
            .bind(&t.results)
            .bind(i64::from(t.count_attempt))
            .bind(i64::from(t.retry));
    }
    Ok(query.execute(&mut **tx).await?.rows_affected())
}

/// Placeholders of a statement with many parameters: `$1, $2, …` for PostgreSQL, and `?` for
/// SQLite, where numbered names cost a lookup per parameter that grows with their count
/// (`sqlite3_bind_parameter_name` scans the statement's parameter list); `?` binds in order.
pub(crate) struct Placeholders {
    numbered: bool,
    next: usize,
}

impl Placeholders {
    /// Placeholders for the backend of `conn`.
    pub(crate) fn for_connection(conn: &sqlx::AnyConnection) -> Self {
        Placeholders {
            numbered: !conn.backend_name().eq_ignore_ascii_case("sqlite"),
            next: 0,
        }
    }

    /// The next parameter's placeholder (bind in the same order).
    pub(crate) fn next(&mut self) -> String {
        self.next += 1;
        if self.numbered {
            format!("${}", self.next)
        } else {
            "?".to_owned()
        }
    }

    /// `n` placeholders in parentheses: one row of a VALUES list.
    pub(crate) fn row(&mut self, n: usize) -> String {
        let mut row = String::from("(");
        for i in 0..n {
            if i > 0 {
                row.push_str(", ");
            }
            row.push_str(&self.next());
        }
        row.push(')');
        row
    }
}

/// `INSERT … VALUES (…), (…), …` for `rows` rows of `columns` parameters, then `suffix`.
pub(crate) fn multi_row_insert(
    conn: &sqlx::AnyConnection,
    head: &str,
    columns: usize,
    rows: usize,
    suffix: &str,
) -> String {
    let mut p = Placeholders::for_connection(conn);
    let mut sql = String::with_capacity(head.len() + rows * columns * 5 + suffix.len());
    sql.push_str(head);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&p.row(columns));
    }
    sql.push_str(suffix);
    sql
}

pub(crate) async fn insert_commands(
    tx: &mut Transaction<'_, Any>,
    commands: &[NewCommand],
) -> StoreResult<()> {
    // Many rows per statement (a fleet's enrollment, a bulk queue by ids): 14 parameters a row,
    // well under SQLite's 32766 and PostgreSQL's 65535 parameters per statement.
    const ROWS: usize = 256;
    for chunk in commands.chunks(ROWS) {
        let sql = multi_row_insert(
            tx,
            "INSERT INTO commands (id, device_id, kind, class, label, payload, secret, max_attempts, created_at, updated_at, expires_at, created_by, state, attempts) VALUES ",
            14,
            chunk.len(),
            "",
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for c in chunk {
            query = query
                .bind(&c.id)
                .bind(&c.device_id)
                .bind(c.kind.as_str())
                .bind(c.class.as_str())
                .bind(&c.label)
                .bind(&c.payload)
                .bind(i64::from(c.secret))
                .bind(i64::from(c.max_attempts))
                .bind(c.created_at)
                .bind(c.created_at)
                .bind(c.expires_at)
                .bind(&c.created_by)
                .bind(CommandState::Pending.as_str())
                .bind(0i64);
        }
        query.execute(&mut **tx).await.map_err(map_err)?;
    }
    Ok(())
}

/// Applies one message's changes inside a transaction. On failure, says whether anything of it
/// was written before (the batch writer then knows if a savepoint was needed).
pub(crate) async fn apply_changes(
    tx: &mut Transaction<'_, Any>,
    c: &MessageChanges,
) -> Result<(), (StoreError, bool)> {
    // The checked writes come first (session versions, then command states): a conflict on the
    // first one leaves nothing written.
    let mut written = false;
    let fail = |written: bool| move |e: sqlx::Error| (map_err(e), written);
    for write in &c.sessions {
        write_session(tx, write).await.map_err(|e| (e, written))?;
        written = true;
    }
    insert_commands(tx, &c.enqueue)
        .await
        .map_err(|e| (e, written))?;
    written |= !c.enqueue.is_empty();
    if !c.commands.is_empty() {
        // One statement for all, unless a command moves twice (then one at a time, in order).
        let mut ids: Vec<&str> = c.commands.iter().map(|t| t.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let done = if ids.len() == c.commands.len() {
            transition_commands(tx, &c.commands, c.now)
                .await
                .map_err(fail(written))?
        } else {
            let mut done = 0;
            for t in &c.commands {
                done += transition_commands(tx, std::slice::from_ref(t), c.now)
                    .await
                    .map_err(fail(written))?;
            }
            done
        };
        if done != c.commands.len() as u64 {
            let what = format!(
                "{} of {} commands are no longer in the state expected",
                c.commands.len() as u64 - done,
                c.commands.len()
            );
            return Err((conflict(what), written));
        }
        written = true;
    }
    // The rest is not checked: rows of several kinds, many per statement.
    if !c.deliveries.is_empty() {
        let mut query = sqlx::query(AssertSqlSafe(multi_row_insert(
            tx,
            "INSERT INTO session_commands (session_row, command_id, msg_id, cmd_id) VALUES ",
            4,
            c.deliveries.len(),
            "",
        )));
        for d in &c.deliveries {
            query = query
                .bind(&d.session_row)
                .bind(&d.command_id)
                .bind(d.msg_id)
                .bind(d.cmd_id);
        }
        query.execute(&mut **tx).await.map_err(fail(written))?;
        written = true;
    }
    if !c.messages.is_empty() {
        let mut query = sqlx::query(AssertSqlSafe(multi_row_insert(
            tx,
            "INSERT INTO session_messages (session_row, seq, direction, body, truncated, at) VALUES ",
            6,
            c.messages.len(),
            "",
        )));
        for m in &c.messages {
            query = query
                .bind(&m.session_row)
                .bind(m.seq)
                .bind(&m.direction)
                .bind(&m.body)
                .bind(i64::from(m.truncated))
                .bind(m.at);
        }
        query.execute(&mut **tx).await.map_err(fail(written))?;
        written = true;
    }
    // Latest value per LocURI: a message may carry the same node twice; the last one wins.
    let mut inventory: Vec<&InventoryRow> = Vec::with_capacity(c.inventory.len());
    for i in c.inventory.iter().rev() {
        if !inventory
            .iter()
            .any(|seen| seen.device_id == i.device_id && seen.loc_uri == i.loc_uri)
        {
            inventory.push(i);
        }
    }
    for chunk in inventory.chunks(200) {
        let mut query = sqlx::query(AssertSqlSafe(multi_row_insert(
            tx,
            "INSERT INTO inventory (device_id, loc_uri, value, format, read_at) VALUES ",
            5,
            chunk.len(),
            " ON CONFLICT (device_id, loc_uri) DO UPDATE SET value = excluded.value, format = excluded.format, read_at = excluded.read_at",
        )));
        for i in chunk {
            query = query
                .bind(&i.device_id)
                .bind(&i.loc_uri)
                .bind(&i.value)
                .bind(&i.format)
                .bind(i.read_at);
        }
        query.execute(&mut **tx).await.map_err(fail(written))?;
        written = true;
    }
    if c.devinfo.is_some() || c.last_context.is_some() {
        sqlx::query("UPDATE devices SET devinfo = COALESCE($2, devinfo), last_context = COALESCE($3, last_context), last_session_at = CASE WHEN $3 IS NULL THEN last_session_at ELSE $4 END WHERE id = $1")
            .bind(&c.device_id)
            .bind(&c.devinfo)
            .bind(c.last_context.map(Context::as_str))
            .bind(c.now)
            .execute(&mut **tx)
            .await
            .map_err(fail(written))?;
        written = true;
    }
    if let Some(ch) = &c.channel {
        sqlx::query(
            "INSERT INTO push_channels (device_id, state, uri, expires_at, status, last_error, reason, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, uri = COALESCE(excluded.uri, push_channels.uri), \
             expires_at = COALESCE(excluded.expires_at, push_channels.expires_at), status = COALESCE(excluded.status, push_channels.status), \
             last_error = COALESCE(excluded.last_error, push_channels.last_error), reason = excluded.reason, updated_at = excluded.updated_at",
        )
        .bind(&ch.device_id)
        .bind(ch.state.as_str())
        .bind(&ch.uri)
        .bind(ch.expires_at)
        .bind(&ch.status)
        .bind(&ch.last_error)
        .bind(&ch.reason)
        .bind(ch.updated_at)
        .execute(&mut **tx)
        .await
        .map_err(fail(written))?;
        written = true;
    }
    if let Some((id, reason, interval)) = &c.push {
        crate::push::enqueue_in(tx, id, &c.device_id, reason, c.now, *interval)
            .await
            .map_err(|e| (e, written))?;
        written = true;
    }
    if let Some(reason) = &c.retire {
        retire_in(tx, &c.device_id, reason, c.now)
            .await
            .map_err(|e| (e, written))?;
        written = true;
    }
    for a in &c.audit {
        insert_audit(tx, a).await.map_err(|e| (e, written))?;
    }
    Ok(())
}

async fn write_session(tx: &mut Transaction<'_, Any>, write: &SessionWrite) -> StoreResult<()> {
    match write {
        SessionWrite::Insert(s) => {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            )))
            .bind(&s.id)
            .bind(&s.device_id)
            .bind(&s.session_id)
            .bind(s.context.as_str())
            .bind(&s.reason)
            .bind(&s.evidence)
            .bind(s.started_at)
            .bind(s.updated_at)
            .bind(s.ended_at)
            .bind(&s.outcome)
            .bind(&s.core_state)
            .bind(s.version)
            .bind(s.message_count)
            .bind(s.commands_sent)
            .bind(warnings_to_column(&s.warnings))
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        }
        SessionWrite::Update {
            row: s,
            expected_version,
        } => {
            let done = sqlx::query(
                "UPDATE sessions SET updated_at = $2, ended_at = $3, outcome = $4, core_state = $5, version = $6, message_count = $7, commands_sent = $8, warnings = $10 \
                 WHERE id = $1 AND version = $9",
            )
            .bind(&s.id)
            .bind(s.updated_at)
            .bind(s.ended_at)
            .bind(&s.outcome)
            .bind(&s.core_state)
            .bind(s.version)
            .bind(s.message_count)
            .bind(s.commands_sent)
            .bind(expected_version)
            .bind(warnings_to_column(&s.warnings))
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
            if done.rows_affected() == 0 {
                return Err(conflict(format!(
                    "session {} changed since it was read",
                    s.id
                )));
            }
        }
    }
    Ok(())
}

/// Retires a device inside a transaction: retired once, certificates revoked, pending commands
/// cancelled.
pub(crate) async fn retire_in(
    tx: &mut Transaction<'_, Any>,
    device_id: &str,
    reason: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE devices SET retired_at = $2, retired_reason = $3 WHERE id = $1 AND retired_at IS NULL").bind(device_id).bind(now).bind(reason).execute(&mut **tx).await.map_err(map_err)?;
    sqlx::query(
        "UPDATE certificates SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
    )
    .bind(device_id)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    sqlx::query("UPDATE commands SET state = 'cancelled', updated_at = $2 WHERE device_id = $1 AND state = 'pending'").bind(device_id).bind(now).execute(&mut **tx).await.map_err(map_err)?;
    Ok(())
}

async fn insert_audit(tx: &mut Transaction<'_, Any>, a: &AuditEntry) -> StoreResult<()> {
    sqlx::query("INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&a.id)
        .bind(a.at)
        .bind(&a.actor)
        .bind(&a.action)
        .bind(&a.target)
        .bind(&a.detail)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}
