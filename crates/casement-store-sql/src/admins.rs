//! Administrator accounts of the console.

use async_trait::async_trait;
use casement_store::{Admin, AdminStore, NewAdmin, Role, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{SqlStore, map_err};

const ADMIN_COLUMNS: &str = "id, username, display_name, password_hash, role, created_at";

fn admin(row: &AnyRow) -> Result<Admin, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Admin {
        role: Role::from_name(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl AdminStore for SqlStore {
    async fn create_admin(&self, new: &NewAdmin) -> StoreResult<Admin> {
        sqlx::query("INSERT INTO admins (id, username, username_lower, display_name, password_hash, created_at, role) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&new.id)
            .bind(&new.username)
            .bind(new.username.to_lowercase())
            .bind(&new.display_name)
            .bind(&new.password_hash)
            .bind(new.created_at)
            .bind(new.role.as_str())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(Admin {
            id: new.id.clone(),
            username: new.username.clone(),
            display_name: new.display_name.clone(),
            password_hash: new.password_hash.clone(),
            role: new.role,
            created_at: new.created_at,
        })
    }

    async fn admin_by_username(&self, username: &str) -> StoreResult<Option<Admin>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ADMIN_COLUMNS} FROM admins WHERE username_lower = $1"
        )))
        .bind(username.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(admin).transpose().map_err(map_err)
    }

    async fn admin_by_id(&self, id: &str) -> StoreResult<Option<Admin>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ADMIN_COLUMNS} FROM admins WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(admin).transpose().map_err(map_err)
    }

    async fn list_admins(&self) -> StoreResult<Vec<Admin>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ADMIN_COLUMNS} FROM admins ORDER BY username_lower"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(admin)
            .collect::<Result<_, _>>()
            .map_err(map_err)
    }
}
