//! Team operations: roles of accounts, personal API tokens, the event log, webhooks and their
//! delivery outbox.

use async_trait::async_trait;
use casement_store::{
    ApiToken, ApiTokenStore, DeliveryResult, DeliveryState, EventRow, EventStore, NewCertificate,
    NewDevice, NewEvent, Role, StoreError, StoreResult, WebhookAttempt, WebhookDelivery,
    WebhookRow,
};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use crate::{Backend, SqlStore, map_err};

const TOKEN_COLUMNS: &str = "id, name, role, owner, token_hash, created_by, created_at, expires_at, revoked_at, last_used_at";
const EVENT_COLUMNS: &str = "seq, id, kind, at, device_id, subject, data";
const WEBHOOK_COLUMNS: &str = "id, url, secret, kinds, created_by, created_at, deleted_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event_seq, state, attempts, next_attempt_at, last_status, last_error, created_at, updated_at";
/// The PostgreSQL advisory lock every event append holds until it commits, so events are
/// numbered in commit order (a sequence alone hands out numbers in start order: a reader could
/// pass a number whose transaction commits later).
const EVENT_LOCK: i64 = 0x15_0015;

fn decode(e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(e.to_string().into())
}

fn token(row: &AnyRow) -> Result<ApiToken, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::from_name(&role).ok_or_else(|| decode(format!("unknown role {role:?}")))?,
        owner: row.try_get("owner")?,
        token_hash: row.try_get("token_hash")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

fn event(row: &AnyRow) -> Result<EventRow, sqlx::Error> {
    Ok(EventRow {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        at: row.try_get("at")?,
        device_id: row.try_get("device_id")?,
        subject: row.try_get("subject")?,
        data: row.try_get("data")?,
    })
}

fn webhook(row: &AnyRow) -> Result<WebhookRow, sqlx::Error> {
    let kinds: String = row.try_get("kinds")?;
    Ok(WebhookRow {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        kinds: kinds
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

fn delivery(row: &AnyRow) -> Result<WebhookDelivery, sqlx::Error> {
    let state: String = row.try_get("state")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        webhook_id: row.try_get("webhook_id")?,
        event_seq: row.try_get("event_seq")?,
        state: DeliveryState::from_name(&state)
            .ok_or_else(|| decode(format!("unknown delivery state {state:?}")))?,
        attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn attempt(row: &AnyRow) -> Result<WebhookAttempt, sqlx::Error> {
    let n: i64 = row.try_get("attempt")?;
    Ok(WebhookAttempt {
        delivery_id: row.try_get("delivery_id")?,
        webhook_id: row.try_get("webhook_id")?,
        attempt: n.clamp(0, i64::from(u32::MAX)) as u32,
        at: row.try_get("at")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
    })
}

fn all<T>(rows: &[AnyRow], f: impl Fn(&AnyRow) -> Result<T, sqlx::Error>) -> StoreResult<Vec<T>> {
    rows.iter()
        .map(f)
        .collect::<Result<_, _>>()
        .map_err(map_err)
}

/// Appends an event and queues its webhook deliveries inside a transaction; `None` when its
/// dedupe key was recorded already.
pub(crate) async fn append_in(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    e: &NewEvent,
) -> StoreResult<Option<i64>> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EVENT_LOCK)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
    }
    let row = sqlx::query(
        "INSERT INTO events (id, kind, at, device_id, subject, data, dedupe_key) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING seq",
    )
    .bind(&e.id)
    .bind(&e.kind)
    .bind(e.at)
    .bind(&e.device_id)
    .bind(&e.subject)
    .bind(&e.data)
    .bind(&e.dedupe_key)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let seq: i64 = row.try_get("seq").map_err(map_err)?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_seq, state, attempts, next_attempt_at, created_at, updated_at) \
         SELECT id || $4, id, $1, 'queued', 0, $2, $2, $2 FROM webhooks \
         WHERE deleted_at IS NULL AND (kinds = '' OR kinds LIKE $3)",
    )
    .bind(seq)
    .bind(e.at)
    .bind(format!("%,{},%", e.kind))
    .bind(format!(":{seq}"))
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(Some(seq))
}

/// The stored form of a kinds filter: `,a,b,` (empty: every kind).
fn kinds_column(kinds: &[String]) -> String {
    if kinds.is_empty() {
        String::new()
    } else {
        format!(",{},", kinds.join(","))
    }
}

#[async_trait]
impl ApiTokenStore for SqlStore {
    async fn create_api_token(&self, t: &ApiToken) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.role.as_str())
        .bind(&t.owner)
        .bind(&t.token_hash)
        .bind(&t.created_by)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.revoked_at)
        .bind(t.last_used_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(token).transpose().map_err(map_err)
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC, id DESC"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        all(&rows, token)
    }

    async fn revoke_api_token(&self, id: &str, now: i64) -> StoreResult<ApiToken> {
        let _turn = self.write_turn().await;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match row {
            Some(row) => token(&row).map_err(map_err),
            None => Err(StoreError::NotFound(format!("token {id}"))),
        }
    }

    async fn touch_api_token(&self, id: &str, now: i64, min_interval_ms: i64) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)")
            .bind(id)
            .bind(now)
            .bind(now - min_interval_ms)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn set_admin_role(&self, admin_id: &str, role: Role) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let done = sqlx::query("UPDATE admins SET role = $2 WHERE id = $1")
            .bind(admin_id)
            .bind(role.as_str())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("administrator {admin_id}")));
        }
        Ok(())
    }
}

#[async_trait]
impl EventStore for SqlStore {
    async fn append_event(&self, e: &NewEvent) -> StoreResult<Option<i64>> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let seq = append_in(&mut tx, self.backend, e).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(seq)
    }

    async fn record_enrollment_with_event(
        &self,
        device: &NewDevice,
        certificate: &NewCertificate,
        e: &NewEvent,
    ) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        crate::devices::enrollment_in(&mut tx, device, certificate).await?;
        append_in(&mut tx, self.backend, e).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn events_after(&self, after: i64, limit: u32) -> StoreResult<Vec<EventRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(i64::from(limit.clamp(1, 10_000)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        all(&rows, event)
    }

    async fn event(&self, seq: i64) -> StoreResult<Option<EventRow>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE seq = $1"
        )))
        .bind(seq)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(event).transpose().map_err(map_err)
    }

    async fn create_webhook(&self, w: &WebhookRow) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )))
        .bind(&w.id)
        .bind(&w.url)
        .bind(&w.secret)
        .bind(kinds_column(&w.kinds))
        .bind(&w.created_by)
        .bind(w.created_at)
        .bind(w.deleted_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn webhook(&self, id: &str) -> StoreResult<Option<WebhookRow>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(webhook).transpose().map_err(map_err)
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<WebhookRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        all(&rows, webhook)
    }

    async fn delete_webhook(&self, id: &str, now: i64) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done =
            sqlx::query("UPDATE webhooks SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("webhook {id}")));
        }
        sqlx::query("UPDATE webhook_deliveries SET state = 'failed', last_error = 'the webhook was deleted', updated_at = $2 WHERE webhook_id = $1 AND state = 'queued'")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn claim_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        // Most rounds find nothing: a read answers that without a write (and without waiting
        // for SQLite's writer turn), so an idle worker costs no writes.
        let any = sqlx::query(
            "SELECT 1 FROM webhook_deliveries WHERE (state = 'queued' AND next_attempt_at <= $1) OR (state = 'sending' AND claimed_until < $1) LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let _turn = self.write_turn().await;
        // As `claim_pushes`: PostgreSQL skips rows another node is claiming; the due-condition
        // is repeated outside the subquery so a row changed in between is re-checked.
        let due = "((state = 'queued' AND next_attempt_at <= $1) OR (state = 'sending' AND claimed_until < $1))";
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE webhook_deliveries SET state = 'sending', claimed_until = $2, attempts = attempts + 1, updated_at = $1 \
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE {due} ORDER BY next_attempt_at, id LIMIT $3 {lock}) AND {due} \
             RETURNING {DELIVERY_COLUMNS}"
        )))
        .bind(now)
        .bind(now + lease_ms)
        .bind(i64::from(limit.max(1)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        all(&rows, delivery)
    }

    async fn finish_delivery(
        &self,
        id: &str,
        result: &DeliveryResult,
        a: &WebhookAttempt,
        now: i64,
    ) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let (state, next) = match result {
            DeliveryResult::Delivered => (DeliveryState::Delivered, None),
            DeliveryResult::Retry { at } => (DeliveryState::Queued, Some(*at)),
            DeliveryResult::Failed => (DeliveryState::Failed, None),
        };
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("UPDATE webhook_deliveries SET state = $2, next_attempt_at = COALESCE($3, next_attempt_at), claimed_until = NULL, last_status = $4, last_error = $5, updated_at = $6 WHERE id = $1 AND state = 'sending'")
            .bind(id)
            .bind(state.as_str())
            .bind(next)
            .bind(a.status)
            .bind(&a.error)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("INSERT INTO webhook_attempts (delivery_id, webhook_id, attempt, at, status, error) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&a.delivery_id)
            .bind(&a.webhook_id)
            .bind(i64::from(a.attempt))
            .bind(a.at)
            .bind(a.status)
            .bind(&a.error)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn deliveries_of_webhook(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY event_seq DESC LIMIT $2"
        )))
        .bind(webhook_id)
        .bind(i64::from(limit.clamp(1, 10_000)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        all(&rows, delivery)
    }

    async fn attempts_of_webhook(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<WebhookAttempt>> {
        let rows = sqlx::query(
            "SELECT delivery_id, webhook_id, attempt, at, status, error FROM webhook_attempts WHERE webhook_id = $1 ORDER BY at DESC, attempt DESC LIMIT $2",
        )
        .bind(webhook_id)
        .bind(i64::from(limit.clamp(1, 10_000)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        all(&rows, attempt)
    }
}
