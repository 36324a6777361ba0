//! Users and STS tokens.

use async_trait::async_trait;
use casement_store::{NewUser, StoreResult, TokenStore, User, UserStore};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{SqlStore, map_err};

const USER_COLUMNS: &str = "id, upn, display_name, password_hash, created_at";

fn user(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        upn: row.try_get("upn")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, new: &NewUser) -> StoreResult<User> {
        let _turn = self.write_turn().await;
        sqlx::query("INSERT INTO users (id, upn, upn_lower, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&new.id)
            .bind(&new.upn)
            .bind(new.upn.to_lowercase())
            .bind(&new.display_name)
            .bind(&new.password_hash)
            .bind(new.created_at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(User {
            id: new.id.clone(),
            upn: new.upn.clone(),
            display_name: new.display_name.clone(),
            password_hash: new.password_hash.clone(),
            created_at: new.created_at,
        })
    }

    async fn user_by_upn(&self, upn: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE upn_lower = $1"
        )))
        .bind(upn.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(user).transpose().map_err(map_err)
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(user).transpose().map_err(map_err)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY upn_lower"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(user)
            .collect::<Result<_, _>>()
            .map_err(map_err)
    }
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn put_sts_token(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query("INSERT INTO sts_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn sts_token_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT user_id FROM sts_tokens WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| r.try_get::<String, _>("user_id"))
            .transpose()
            .map_err(map_err)
    }

    async fn consume_sts_token(&self, token_hash: &str, now: i64) -> StoreResult<Option<String>> {
        let _turn = self.write_turn().await;
        // One statement: two concurrent consumers cannot both see it unconsumed.
        let row = sqlx::query("UPDATE sts_tokens SET consumed_at = $2 WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > $2 RETURNING user_id")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| r.try_get::<String, _>("user_id"))
            .transpose()
            .map_err(map_err)
    }
}
