//! The push outbox.

use async_trait::async_trait;
use casement_store::{PushResult, PushRow, PushState, PushStore, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{SqlStore, map_err, names};

const PUSH_COLUMNS: &str =
    "id, device_id, reason, state, attempts, next_attempt_at, last_outcome, created_at, updated_at";

fn push(row: &AnyRow) -> StoreResult<PushRow> {
    let columns = || -> Result<_, sqlx::Error> {
        let attempts: i64 = row.try_get("attempts")?;
        Ok(PushRow {
            id: row.try_get("id")?,
            device_id: row.try_get("device_id")?,
            reason: row.try_get("reason")?,
            state: PushState::Queued,
            attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
            next_attempt_at: row.try_get("next_attempt_at")?,
            last_outcome: row.try_get("last_outcome")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    };
    let mut push = columns().map_err(map_err)?;
    push.state = names::get(row, "state")?;
    Ok(push)
}

/// Queues a push inside a transaction unless one is queued for the device already.
pub(crate) async fn enqueue_in(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    device_id: &str,
    reason: &str,
    now: i64,
    min_interval_ms: i64,
) -> StoreResult<bool> {
    // Rate limit per channel: a new push is due no sooner than MIN_PUSH_INTERVAL_MS after the
    // device's last one was sent (WNS throttles channels that get too many; one wake-up is enough).
    let done = sqlx::query(
        "INSERT INTO push_outbox (id, device_id, reason, state, attempts, next_attempt_at, created_at, updated_at) \
         SELECT $1, $2, $3, 'queued', 0, \
           COALESCE((SELECT CASE WHEN MAX(updated_at) + $5 > $4 THEN MAX(updated_at) + $5 END FROM push_outbox WHERE device_id = $2 AND state = 'sent'), $4), \
           $4, $4 \
         WHERE NOT EXISTS (SELECT 1 FROM push_outbox WHERE device_id = $2 AND state = 'queued')",
    )
    .bind(id)
    .bind(device_id)
    .bind(reason)
    .bind(now)
    .bind(min_interval_ms)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() > 0)
}

#[async_trait]
impl PushStore for SqlStore {
    async fn enqueue_push(
        &self,
        id: &str,
        device_id: &str,
        reason: &str,
        now: i64,
        min_interval_ms: i64,
    ) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let added = enqueue_in(&mut tx, id, device_id, reason, now, min_interval_ms).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(added)
    }

    async fn claim_pushes(&self, now: i64, lease_ms: i64, limit: u32) -> StoreResult<Vec<PushRow>> {
        let _turn = self.write_turn().await;
        // PostgreSQL: the candidate rows are locked with `FOR UPDATE SKIP LOCKED`, so concurrent
        // claimers on other nodes take disjoint rows without waiting for each other (PostgreSQL
        // docs, SELECT "The Locking Clause": SKIP LOCKED suits queue-like tables). The
        // due-condition is repeated outside the subquery as well: should a row be changed between
        // the subquery and the update, READ COMMITTED re-checks it against the committed row.
        // SQLite has a single writer, so the subquery needs no lock.
        let due = "((state = 'queued' AND next_attempt_at <= $1) OR (state = 'sending' AND claimed_until < $1))";
        let lock = match self.backend {
            crate::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE push_outbox SET state = 'sending', claimed_until = $2, attempts = attempts + 1, updated_at = $1 \
             WHERE id IN (SELECT id FROM push_outbox WHERE {due} ORDER BY next_attempt_at, id LIMIT $3 {lock}) AND {due} \
             RETURNING {PUSH_COLUMNS}"
        )))
        .bind(now)
        .bind(now + lease_ms)
        .bind(i64::from(limit.max(1)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(push).collect()
    }

    async fn finish_push(
        &self,
        id: &str,
        result: &PushResult,
        outcome: &str,
        now: i64,
    ) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let (state, next) = match result {
            PushResult::Sent => (PushState::Sent, None),
            PushResult::Retry { at } => (PushState::Queued, Some(*at)),
            PushResult::Failed => (PushState::Failed, None),
        };
        sqlx::query("UPDATE push_outbox SET state = $2, next_attempt_at = COALESCE($3, next_attempt_at), claimed_until = NULL, last_outcome = $4, updated_at = $5 WHERE id = $1 AND state = 'sending'")
            .bind(id)
            .bind(state.as_str())
            .bind(next)
            .bind(outcome)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn pushes_of_device(&self, device_id: &str, limit: u32) -> StoreResult<Vec<PushRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PUSH_COLUMNS} FROM push_outbox WHERE device_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")))
            .bind(device_id)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(push).collect()
    }
}
