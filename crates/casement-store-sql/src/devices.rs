//! Devices and certificates.

use async_trait::async_trait;
use casement_store::{
    Certificate, Device, DeviceFilter, DeviceStore, NewCertificate, NewDevice, Platform,
    StoreError, StoreResult,
};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{SqlStore, corrupt, map_err, names};

pub(crate) const DEVICE_COLUMNS: &str = "id, platform, user_id, upn, user_sid, name, enrollment_context, enrolled_at, updated_at, retired_at, retired_reason, last_session_at, last_context, devinfo, record_sessions_until";

/// [`DEVICE_COLUMNS`] of the table aliased `d` (`d.id, d.platform, …`), for joins: one list,
/// so that a column added to devices is read everywhere a [`Device`] is.
pub(crate) fn device_columns_of_d() -> &'static str {
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        DEVICE_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

const CERT_COLUMNS: &str =
    "serial_hex, device_id, thumbprint, not_before, not_after, issued_at, revoked_at";

pub(crate) fn device(row: &AnyRow) -> StoreResult<Device> {
    let context: String = row.try_get("enrollment_context").map_err(map_err)?;
    Ok(Device {
        id: row.try_get("id").map_err(map_err)?,
        platform: names::get(row, "platform")?,
        user_id: row.try_get("user_id").map_err(map_err)?,
        upn: row.try_get("upn").map_err(map_err)?,
        user_sid: row.try_get("user_sid").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        enrollment_context: serde_json::from_str(&context).map_err(corrupt)?,
        enrolled_at: row.try_get("enrolled_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
        retired_at: row.try_get("retired_at").map_err(map_err)?,
        retired_reason: row.try_get("retired_reason").map_err(map_err)?,
        last_session_at: row.try_get("last_session_at").map_err(map_err)?,
        last_context: names::get_opt(row, "last_context")?,
        devinfo: row.try_get("devinfo").map_err(map_err)?,
        record_sessions_until: row.try_get("record_sessions_until").map_err(map_err)?,
    })
}

fn certificate(row: &AnyRow) -> StoreResult<Certificate> {
    Ok(Certificate {
        serial_hex: row.try_get("serial_hex").map_err(map_err)?,
        device_id: row.try_get("device_id").map_err(map_err)?,
        thumbprint: row.try_get("thumbprint").map_err(map_err)?,
        not_before: row.try_get("not_before").map_err(map_err)?,
        not_after: row.try_get("not_after").map_err(map_err)?,
        issued_at: row.try_get("issued_at").map_err(map_err)?,
        revoked_at: row.try_get("revoked_at").map_err(map_err)?,
    })
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn record_enrollment(&self, d: &NewDevice, c: &NewCertificate) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        enrollment_in(&mut tx, d, c).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn record_renewal(&self, c: &NewCertificate) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let updated =
            sqlx::query("UPDATE devices SET updated_at = $2 WHERE id = $1 AND retired_at IS NULL")
                .bind(&c.device_id)
                .bind(c.issued_at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "active device {}",
                c.device_id
            )));
        }
        insert_certificate(&mut tx, c).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn device(&self, id: &str) -> StoreResult<Option<Device>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(device).transpose()
    }

    async fn list_devices(&self, f: &DeviceFilter) -> StoreResult<Vec<Device>> {
        let limit = i64::from(f.limit.unwrap_or(100).clamp(1, 1000));
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE ($1 IS NULL OR platform = $1) AND ($2 IS NULL OR user_id = $2) \
             AND ($3 = 1 OR retired_at IS NULL) AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5"
        )))
        .bind(f.platform.map(Platform::as_str))
        .bind(f.user_id.as_deref())
        .bind(i64::from(f.include_retired))
        .bind(f.after_id.as_deref())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(device).collect()
    }

    async fn count_active_devices_of_user(&self, user_id: &str) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM devices WHERE user_id = $1 AND retired_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let n: i64 = row.try_get("n").map_err(map_err)?;
        Ok(n.max(0) as u64)
    }

    async fn certificate(&self, serial_hex: &str) -> StoreResult<Option<Certificate>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE serial_hex = $1"
        )))
        .bind(serial_hex)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(certificate).transpose()
    }

    async fn certificates_of_device(&self, device_id: &str) -> StoreResult<Vec<Certificate>> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {CERT_COLUMNS} FROM certificates WHERE device_id = $1 ORDER BY issued_at DESC, serial_hex"))).bind(device_id).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(certificate).collect()
    }

    async fn retire_device(&self, id: &str, reason: &str, now: i64) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let exists = sqlx::query("SELECT id FROM devices WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("device {id}")));
        }
        crate::management::retire_in(&mut tx, id, reason, now).await?;
        tx.commit().await.map_err(map_err)
    }
}

async fn insert_certificate(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    c: &NewCertificate,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO certificates (serial_hex, device_id, thumbprint, not_before, not_after, pem, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&c.serial_hex)
        .bind(&c.device_id)
        .bind(&c.thumbprint)
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(&c.pem)
        .bind(c.issued_at)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// The writes of an enrollment (the device created or re-enrolled, its new certificate) inside
/// a transaction.
pub(crate) async fn enrollment_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    d: &NewDevice,
    c: &NewCertificate,
) -> StoreResult<()> {
    let context = serde_json::to_string(&d.enrollment_context).map_err(corrupt)?;
    sqlx::query(
        "INSERT INTO devices (id, platform, user_id, upn, user_sid, name, enrollment_context, enrolled_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (id) DO UPDATE SET platform = excluded.platform, user_id = excluded.user_id, upn = excluded.upn, \
         user_sid = excluded.user_sid, name = excluded.name, enrollment_context = excluded.enrollment_context, \
         updated_at = excluded.updated_at, retired_at = NULL, retired_reason = NULL",
    )
    .bind(&d.id)
    .bind(d.platform.as_str())
    .bind(&d.user_id)
    .bind(&d.upn)
    .bind(&d.user_sid)
    .bind(&d.name)
    .bind(&context)
    .bind(d.enrolled_at)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    insert_certificate(tx, c).await
}
