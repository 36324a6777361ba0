//! One message's changes, written in one transaction: the checked writes first (session
//! versions, command states), then the rest, many rows per statement.

use casement_store::*;
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::placeholders::{Placeholders, insert_commands, multi_row_insert};
use super::rows::{SESSION_COLUMNS, conflict, warnings_to_column};
use crate::{Backend, map_err};

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

/// Applies one message's changes inside a transaction. On failure, says whether anything of it
/// was written before (the batch writer then knows if a savepoint was needed).
pub(crate) async fn apply_changes(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
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
    if let Some(idle) = &c.idle_session {
        write_idle(tx, idle).await.map_err(fail(written))?;
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
        written = true;
    }
    for e in &c.events {
        crate::team::append_in(tx, backend, e)
            .await
            .map_err(|e| (e, written))?;
        written = true;
    }
    if !c.profiles.is_empty() {
        crate::profiles::apply_progress(tx, &c.device_id, c.now, &c.profiles)
            .await
            .map_err(|e| (e, written))?;
    }
    Ok(())
}

/// The evidence (once per distinct value) and the compact record of an idle session.
async fn write_idle(
    tx: &mut Transaction<'_, Any>,
    idle: &IdleSessionRow,
) -> Result<(), sqlx::Error> {
    let evidence_id = idle.evidence_id();
    sqlx::query(
        "INSERT INTO session_evidence (id, context, reason, evidence) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
    )
    .bind(evidence_id)
    .bind(idle.context.as_str())
    .bind(&idle.reason)
    .bind(&idle.evidence)
    .execute(&mut **tx)
    .await?;
    // The same device cannot start two sessions in one millisecond (its messages are handled
    // one at a time); a replayed record is the same record.
    sqlx::query(
        "INSERT INTO idle_sessions (day, device_id, started_at, session_id, evidence_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(idle.day())
    .bind(&idle.device_id)
    .bind(idle.started_at)
    .bind(&idle.session_id)
    .bind(evidence_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The idle record of `c` when it is all `c` writes besides the device's last context and
/// DevInfo: then one statement does it (PostgreSQL: [`write_idle_alone`]).
pub(super) fn idle_only(c: &MessageChanges) -> Option<&IdleSessionRow> {
    let alone = c.sessions.is_empty()
        && c.enqueue.is_empty()
        && c.commands.is_empty()
        && c.deliveries.is_empty()
        && c.messages.is_empty()
        && c.inventory.is_empty()
        && c.retire.is_none()
        && c.channel.is_none()
        && c.push.is_none()
        && c.audit.is_empty()
        && c.events.is_empty()
        && c.profiles.is_empty();
    c.idle_session.as_ref().filter(|_| alone)
}

/// An idle session's whole write in one PostgreSQL statement (data-modifying CTEs run in the
/// statement's one implicit transaction): evidence, the device's last context and DevInfo, the
/// compact record — one round trip instead of BEGIN, three statements and COMMIT.
pub(super) async fn write_idle_alone(
    pool: &sqlx::AnyPool,
    c: &MessageChanges,
    idle: &IdleSessionRow,
) -> StoreResult<()> {
    sqlx::query(
        "WITH e AS (INSERT INTO session_evidence (id, context, reason, evidence) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING), \
         d AS (UPDATE devices SET devinfo = COALESCE($5, devinfo), last_context = $6, last_session_at = $7 WHERE id = $8) \
         INSERT INTO idle_sessions (day, device_id, started_at, session_id, evidence_id) VALUES ($9, $8, $10, $11, $1) ON CONFLICT DO NOTHING",
    )
    .bind(idle.evidence_id())
    .bind(idle.context.as_str())
    .bind(&idle.reason)
    .bind(&idle.evidence)
    .bind(&c.devinfo)
    .bind(c.last_context.unwrap_or(idle.context).as_str())
    .bind(c.now)
    .bind(&c.device_id)
    .bind(idle.day())
    .bind(idle.started_at)
    .bind(&idle.session_id)
    .execute(pool)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn write_session(
    tx: &mut Transaction<'_, Any>,
    write: &SessionWrite,
) -> StoreResult<()> {
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

pub(super) async fn insert_audit(tx: &mut Transaction<'_, Any>, a: &AuditEntry) -> StoreResult<()> {
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
