//! Action requests waiting for a second administrator's approval (migration 0012).

use async_trait::async_trait;
use casement_store::{
    ActionRequest, ActionRequestState, ActionRequestStore, StoreError, StoreResult,
};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{SqlStore, map_err};

const COLUMNS: &str =
    "id, device_id, action, payload, requested_by, requested_at, decided_by, decided_at, state";

fn request(row: &AnyRow) -> Result<ActionRequest, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(ActionRequest {
        id: row.try_get("id")?,
        device_id: row.try_get("device_id")?,
        action: row.try_get("action")?,
        payload: row.try_get("payload")?,
        requested_by: row.try_get("requested_by")?,
        requested_at: row.try_get("requested_at")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
        state: ActionRequestState::from_name(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown action request state {state:?}").into())
        })?,
    })
}

#[async_trait]
impl ActionRequestStore for SqlStore {
    async fn create_action_request(&self, r: &ActionRequest) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO action_requests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(&r.id)
        .bind(&r.device_id)
        .bind(&r.action)
        .bind(&r.payload)
        .bind(&r.requested_by)
        .bind(r.requested_at)
        .bind(&r.decided_by)
        .bind(r.decided_at)
        .bind(r.state.as_str())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn action_request(&self, id: &str) -> StoreResult<Option<ActionRequest>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM action_requests WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(request).transpose().map_err(map_err)
    }

    async fn list_action_requests(&self, limit: u32) -> StoreResult<Vec<ActionRequest>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM action_requests ORDER BY requested_at DESC, id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(request)
            .collect::<Result<_, _>>()
            .map_err(map_err)
    }

    async fn decide_action_request(
        &self,
        id: &str,
        state: ActionRequestState,
        by: &str,
        now: i64,
    ) -> StoreResult<ActionRequest> {
        let _turn = self.write_turn().await;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE action_requests SET state = $2, decided_by = $3, decided_at = $4 \
             WHERE id = $1 AND state = 'pending' RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(state.as_str())
        .bind(by)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if let Some(row) = row {
            return request(&row).map_err(map_err);
        }
        match self.action_request(id).await? {
            None => Err(StoreError::NotFound(format!("action request {id}"))),
            Some(r) => Err(StoreError::Conflict(format!(
                "action request {id} is {} already",
                r.state.as_str()
            ))),
        }
    }
}
