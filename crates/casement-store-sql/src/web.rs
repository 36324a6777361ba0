//! Browser sessions, failed sign-ins, and the read-only queries of the web pages.

use async_trait::async_trait;
use casement_store::{
    BrowseStore, ContextCount, DeviceListRow, DevicePage, DeviceQuery, FleetCounts, InstallRow,
    Platform, StoreResult, WebSessionKind, WebSessionRow, WebSessionStore,
};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row};

use crate::devices::device;
use crate::{SqlStore, corrupt, map_err, names};

#[async_trait]
impl WebSessionStore for SqlStore {
    async fn create_web_session(&self, s: &WebSessionRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO web_sessions (token_hash, kind, subject_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&s.token_hash)
            .bind(s.kind.as_str())
            .bind(&s.subject_id)
            .bind(&s.csrf_token)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn web_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<WebSessionRow>> {
        let row = sqlx::query("SELECT token_hash, kind, subject_id, csrf_token, created_at, expires_at FROM web_sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind").map_err(map_err)?;
        Ok(Some(WebSessionRow {
            token_hash: row.try_get("token_hash").map_err(map_err)?,
            kind: WebSessionKind::from_name(&kind)
                .ok_or_else(|| corrupt(format!("web session kind {kind:?}")))?,
            subject_id: row.try_get("subject_id").map_err(map_err)?,
            csrf_token: row.try_get("csrf_token").map_err(map_err)?,
            created_at: row.try_get("created_at").map_err(map_err)?,
            expires_at: row.try_get("expires_at").map_err(map_err)?,
        }))
    }

    async fn delete_web_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn purge_web_sessions(&self, now: i64, failures_before: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(failures_before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn record_login_failure(&self, key: &str, at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO login_failures (login_key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn login_failures_since(&self, key: &str, since: i64) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM login_failures WHERE login_key = $1 AND at >= $2",
        )
        .bind(key)
        .bind(since)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let n: i64 = row.try_get("n").map_err(map_err)?;
        Ok(n.max(0) as u64)
    }

    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE login_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

/// The filter of [`DeviceQuery`] as SQL over `devices d LEFT JOIN push_channels c`, with its
/// parameters `$1`..`$6` (bound by [`bind_filter`]).
const FILTER: &str = "($1 IS NULL OR LOWER(d.id) LIKE $1 ESCAPE '!' OR LOWER(COALESCE(d.name, '')) LIKE $1 ESCAPE '!' OR LOWER(d.upn) LIKE $1 ESCAPE '!') \
     AND ($2 IS NULL OR d.platform = $2) \
     AND ($3 IS NULL OR ($3 = 'none' AND d.last_context IS NULL) OR d.last_context = $3) \
     AND ($4 IS NULL OR COALESCE(c.state, 'unconfigured') = $4) \
     AND ($5 IS NULL OR d.last_session_at IS NULL OR d.last_session_at < $5) \
     AND ($6 = 1 OR d.retired_at IS NULL)";

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

fn bind_filter<'q>(
    query: AnyQuery<'q>,
    q: &'q DeviceQuery,
    pattern: &'q Option<String>,
) -> AnyQuery<'q> {
    query
        .bind(pattern.as_deref())
        .bind(q.platform.map(Platform::as_str))
        .bind(q.last_context.as_deref())
        .bind(q.channel_state.as_deref())
        .bind(q.stale_before)
        .bind(i64::from(q.include_retired))
}

/// `%needle%` for `LIKE … ESCAPE '!'`, lower-cased, with `%`, `_` and `!` taken literally.
fn like_pattern(search: &str) -> String {
    let mut out = String::with_capacity(search.len() + 2);
    out.push('%');
    for ch in search.trim().to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

fn list_row(row: &AnyRow) -> StoreResult<DeviceListRow> {
    Ok(DeviceListRow {
        device: device(row)?,
        channel_state: names::get_opt(row, "channel_state")?,
    })
}

#[async_trait]
impl BrowseStore for SqlStore {
    async fn query_devices(&self, q: &DeviceQuery) -> StoreResult<DevicePage> {
        let limit = i64::from(q.limit.unwrap_or(50).clamp(1, 500));
        let pattern = q
            .search
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(like_pattern);
        let from = "FROM devices d LEFT JOIN push_channels c ON c.device_id = d.id";
        let count = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n {from} WHERE {FILTER}"
        )));
        let total: i64 = bind_filter(count, q, &pattern)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?
            .try_get("n")
            .map_err(map_err)?;
        // One more row than the page tells whether another page follows in that direction.
        let backwards = q.after_id.is_none() && q.before_id.is_some();
        let (cursor, op, direction) = if backwards {
            (q.before_id.as_deref(), "<", "DESC")
        } else {
            (q.after_id.as_deref(), ">", "ASC")
        };
        let page = sqlx::query(AssertSqlSafe(format!(
            "SELECT {}, c.state AS channel_state {from} WHERE {FILTER} AND ($7 IS NULL OR d.id {op} $7) ORDER BY d.id {direction} LIMIT $8",
            crate::devices::device_columns_of_d()
        )));
        let rows = bind_filter(page, q, &pattern)
            .bind(cursor)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let more = rows.len() as i64 > limit;
        let mut rows: Vec<DeviceListRow> = rows
            .iter()
            .take(limit as usize)
            .map(list_row)
            .collect::<StoreResult<_>>()?;
        if backwards {
            rows.reverse();
        }
        // The other direction: does any matching device lie beyond the page's first (or last) id?
        let (edge, beyond) = if backwards {
            (rows.last().map(|r| r.device.id.clone()), "d.id > $7")
        } else {
            (rows.first().map(|r| r.device.id.clone()), "d.id < $7")
        };
        let other = match edge {
            None => false,
            Some(edge) => {
                let exists = sqlx::query(AssertSqlSafe(format!(
                    "SELECT d.id {from} WHERE {FILTER} AND {beyond} LIMIT 1"
                )));
                bind_filter(exists, q, &pattern)
                    .bind(edge)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?
                    .is_some()
            }
        };
        let (has_before, has_after) = if backwards {
            (more, other)
        } else {
            (other, more)
        };
        Ok(DevicePage {
            rows,
            total: total.max(0) as u64,
            has_before,
            has_after,
        })
    }

    async fn fleet_counts(&self, stale_before: i64) -> StoreResult<FleetCounts> {
        let rows = sqlx::query(
            "SELECT COALESCE(c.state, 'unconfigured') AS state, COUNT(*) AS n, \
             SUM(CASE WHEN d.last_session_at IS NULL OR d.last_session_at < $1 THEN 1 ELSE 0 END) AS stale \
             FROM devices d LEFT JOIN push_channels c ON c.device_id = d.id WHERE d.retired_at IS NULL \
             GROUP BY COALESCE(c.state, 'unconfigured') ORDER BY state",
        )
        .bind(stale_before)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut counts = FleetCounts::default();
        for r in &rows {
            let n: i64 = r.try_get("n").map_err(map_err)?;
            let stale: i64 = r.try_get("stale").map_err(map_err)?;
            counts.devices += n.max(0) as u64;
            counts.stale += stale.max(0) as u64;
            counts
                .by_channel
                .push((r.try_get("state").map_err(map_err)?, n.max(0) as u64));
        }
        Ok(counts)
    }

    async fn sessions_per_context(
        &self,
        since: i64,
        bucket_ms: i64,
    ) -> StoreResult<Vec<ContextCount>> {
        let rows = sqlx::query(
            // Sessions with their row and idle sessions' compact records (from their first day
            // on: the day leads their key).
            "SELECT bucket, context, CAST(SUM(n) AS BIGINT) AS n FROM ( \
               SELECT (started_at / $2) * $2 AS bucket, context, COUNT(*) AS n FROM sessions WHERE started_at >= $1 \
               GROUP BY (started_at / $2) * $2, context \
               UNION ALL \
               SELECT (i.started_at / $2) * $2 AS bucket, e.context, COUNT(*) AS n FROM idle_sessions i \
               JOIN session_evidence e ON e.id = i.evidence_id WHERE i.day >= $3 AND i.started_at >= $1 \
               GROUP BY (i.started_at / $2) * $2, e.context) AS both_kinds \
             GROUP BY bucket, context ORDER BY bucket, context",
        )
        .bind(since)
        .bind(bucket_ms.max(1))
        .bind(since.div_euclid(86_400_000))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("n").map_err(map_err)?;
                Ok(ContextCount {
                    bucket_start: r.try_get("bucket").map_err(map_err)?,
                    context: names::get(r, "context")?,
                    sessions: n.max(0) as u64,
                })
            })
            .collect()
    }

    async fn installs_of_user(&self, user_id: &str, limit: u32) -> StoreResult<Vec<InstallRow>> {
        let rows = sqlx::query(
            "SELECT i.id, i.app_id, i.device_id, i.command_ids, i.requested_by, i.created_at FROM installs i \
             JOIN devices d ON d.id = i.device_id WHERE d.user_id = $1 ORDER BY i.created_at DESC, i.id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(i64::from(limit.clamp(1, 10_000)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(InstallRow {
                    id: r.try_get("id")?,
                    app_id: r.try_get("app_id")?,
                    device_id: r.try_get("device_id")?,
                    command_ids: r.try_get("command_ids")?,
                    requested_by: r.try_get("requested_by")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(map_err)
    }
}
