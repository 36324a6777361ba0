//! The app catalog and install requests.

use async_trait::async_trait;
use casement_store::{AppRow, AppStore, InstallRow, StoreResult};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{SqlStore, map_err};

fn app(r: &AnyRow) -> Result<AppRow, sqlx::Error> {
    Ok(AppRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        payloads: r.try_get("payloads")?,
        created_at: r.try_get("created_at")?,
    })
}

fn install(r: &AnyRow) -> Result<InstallRow, sqlx::Error> {
    Ok(InstallRow {
        id: r.try_get("id")?,
        app_id: r.try_get("app_id")?,
        device_id: r.try_get("device_id")?,
        command_ids: r.try_get("command_ids")?,
        requested_by: r.try_get("requested_by")?,
        created_at: r.try_get("created_at")?,
    })
}

#[async_trait]
impl AppStore for SqlStore {
    async fn create_app(&self, a: &AppRow) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query("INSERT INTO apps (id, name, version, payloads, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&a.id)
            .bind(&a.name)
            .bind(&a.version)
            .bind(&a.payloads)
            .bind(a.created_at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn app(&self, id: &str) -> StoreResult<Option<AppRow>> {
        let row =
            sqlx::query("SELECT id, name, version, payloads, created_at FROM apps WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.as_ref().map(app).transpose().map_err(map_err)
    }

    async fn list_apps(&self) -> StoreResult<Vec<AppRow>> {
        let rows = sqlx::query(
            "SELECT id, name, version, payloads, created_at FROM apps ORDER BY name, version",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(app)
            .collect::<Result<_, _>>()
            .map_err(map_err)
    }

    async fn create_install(&self, i: &InstallRow) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query("INSERT INTO installs (id, app_id, device_id, command_ids, requested_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&i.id)
            .bind(&i.app_id)
            .bind(&i.device_id)
            .bind(&i.command_ids)
            .bind(&i.requested_by)
            .bind(i.created_at)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn install(&self, id: &str) -> StoreResult<Option<InstallRow>> {
        let row = sqlx::query("SELECT id, app_id, device_id, command_ids, requested_by, created_at FROM installs WHERE id = $1").bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(install).transpose().map_err(map_err)
    }

    async fn installs_of_device(&self, device_id: &str) -> StoreResult<Vec<InstallRow>> {
        let rows = sqlx::query("SELECT id, app_id, device_id, command_ids, requested_by, created_at FROM installs WHERE device_id = $1 ORDER BY created_at DESC, id DESC")
            .bind(device_id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(install)
            .collect::<Result<_, _>>()
            .map_err(map_err)
    }
}
