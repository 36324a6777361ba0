//! Configuration profiles, device groups, assignments and device × profile state (migration
//! 0013, docs/profiles.md).

use std::collections::HashSet;

use async_trait::async_trait;
use casement_store::{
    ALL_DEVICES_GROUP, Device, DeviceProfileRow, GroupMembers, GroupRow, Platform,
    ProfileProgressRow, ProfileRow, ProfileStore, Reconciled, StoreError, StoreResult,
};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::devices::{DEVICE_COLUMNS, device, device_columns_of_d};
use crate::{Backend, SqlStore, corrupt, map_err};

const PROFILE_COLUMNS: &str = "p.id, p.name, p.description, p.platforms, p.scope, p.settings, p.source_syncml, p.revision, p.created_at, p.updated_at";
const DP_COLUMNS: &str = "dp.device_id, dp.profile_id, dp.revision, dp.assigned, dp.status, dp.nodes, dp.due_at, dp.drift_count, dp.last_drift_at, dp.updated_at";
const GROUP_COLUMNS: &str = "id, name, description, members, created_at";

fn profile(row: &AnyRow) -> StoreResult<ProfileRow> {
    let platforms: String = row.try_get("platforms").map_err(map_err)?;
    Ok(ProfileRow {
        id: row.try_get("id").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        description: row.try_get("description").map_err(map_err)?,
        platforms: serde_json::from_str(&platforms).map_err(corrupt)?,
        scope: row.try_get("scope").map_err(map_err)?,
        settings: row.try_get("settings").map_err(map_err)?,
        source_syncml: row.try_get("source_syncml").map_err(map_err)?,
        revision: row.try_get("revision").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
    })
}

fn device_profile(row: &AnyRow) -> StoreResult<DeviceProfileRow> {
    let assigned: i64 = row.try_get("assigned").map_err(map_err)?;
    Ok(DeviceProfileRow {
        device_id: row.try_get("device_id").map_err(map_err)?,
        profile_id: row.try_get("profile_id").map_err(map_err)?,
        revision: row.try_get("revision").map_err(map_err)?,
        assigned: assigned != 0,
        status: row.try_get("status").map_err(map_err)?,
        nodes: row.try_get("nodes").map_err(map_err)?,
        due_at: row.try_get("due_at").map_err(map_err)?,
        drift_count: row.try_get("drift_count").map_err(map_err)?,
        last_drift_at: row.try_get("last_drift_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
    })
}

fn group(row: &AnyRow) -> StoreResult<GroupRow> {
    let members: String = row.try_get("members").map_err(map_err)?;
    Ok(GroupRow {
        id: row.try_get("id").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        description: row.try_get("description").map_err(map_err)?,
        members: serde_json::from_str(&members).map_err(corrupt)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}

fn platforms_json(p: &[Platform]) -> StoreResult<String> {
    serde_json::to_string(p).map_err(corrupt)
}

/// The rows a message's profile progress writes; in the message's transaction.
pub(crate) async fn apply_progress(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    device_id: &str,
    now: i64,
    rows: &[ProfileProgressRow],
) -> StoreResult<()> {
    for p in rows {
        // The status (and when it is due) only if the row is still at this revision: a
        // profile changed meanwhile stays pending, due now, for its new revision.
        sqlx::query(
            "UPDATE device_profiles SET nodes = $3, \
             status = CASE WHEN revision = $4 THEN $5 ELSE status END, \
             due_at = CASE WHEN revision = $4 THEN $6 ELSE $7 END, \
             drift_count = drift_count + $8, \
             last_drift_at = CASE WHEN $8 > 0 THEN $7 ELSE last_drift_at END, \
             updated_at = $7 \
             WHERE device_id = $1 AND profile_id = $2",
        )
        .bind(device_id)
        .bind(&p.profile_id)
        .bind(&p.nodes)
        .bind(p.revision)
        .bind(&p.status)
        .bind(p.due_at)
        .bind(now)
        .bind(p.drift_found)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

impl SqlStore {
    /// A query of one text column `value`: the elements of the JSON array of strings bound as
    /// parameter `$n` (SQLite `json_each`, PostgreSQL `json_array_elements_text`), so that a
    /// list of any length is one parameter.
    pub(crate) fn json_values(&self, n: usize) -> String {
        match self.backend() {
            Backend::Sqlite => format!("SELECT value FROM json_each(${n})"),
            Backend::Postgres => {
                format!("SELECT value FROM json_array_elements_text(CAST(${n} AS json))")
            }
        }
    }

    /// Makes the profile's rows follow `wanted_set` (a query of one column `value`, the wanted
    /// device ids, reading its one parameter `$4` = `param`), set-based in three statements
    /// whatever the number of devices: rows of devices no longer wanted being removed, rows of
    /// devices wanted again pending, a pending row for each wanted device without one.
    async fn reconcile_rows(
        &self,
        profile_id: &str,
        revision: i64,
        now: i64,
        wanted_set: &str,
        param: &str,
    ) -> StoreResult<Reconciled> {
        let not_wanted = match self.backend() {
            Backend::Sqlite => format!("device_id NOT IN ({wanted_set})"),
            // Written so that PostgreSQL hashes the set (an anti join).
            Backend::Postgres => format!(
                "NOT EXISTS (SELECT 1 FROM ({wanted_set}) AS w WHERE w.value = device_profiles.device_id)"
            ),
        };
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let gone = sqlx::query(AssertSqlSafe(format!(
            "UPDATE device_profiles SET assigned = 0, status = 'removing', revision = $2, due_at = $3, updated_at = $3 \
             WHERE profile_id = $1 AND assigned = 1 AND {not_wanted}"
        )))
        .bind(profile_id)
        .bind(revision)
        .bind(now)
        .bind(param)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        let back = sqlx::query(AssertSqlSafe(format!(
            "UPDATE device_profiles SET assigned = 1, status = 'pending', revision = $2, due_at = $3, updated_at = $3 \
             WHERE profile_id = $1 AND assigned = 0 AND device_id IN ({wanted_set})"
        )))
        .bind(profile_id)
        .bind(revision)
        .bind(now)
        .bind(param)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        let new = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO device_profiles (device_id, profile_id, revision, assigned, status, nodes, due_at, drift_count, updated_at) \
             SELECT DISTINCT w.value, $1, CAST($2 AS BIGINT), 1, 'pending', '[]', CAST($3 AS BIGINT), 0, CAST($3 AS BIGINT) FROM ({wanted_set}) AS w \
             WHERE NOT EXISTS (SELECT 1 FROM device_profiles dp WHERE dp.device_id = w.value AND dp.profile_id = $1)"
        )))
        .bind(profile_id)
        .bind(revision)
        .bind(now)
        .bind(param)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(Reconciled {
            added: new + back,
            removed: gone,
        })
    }

    async fn profile_pairs(
        &self,
        sql: String,
        device_id: &str,
        now: Option<i64>,
    ) -> StoreResult<Vec<(DeviceProfileRow, ProfileRow)>> {
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(device_id);
        if let Some(now) = now {
            q = q.bind(now);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((device_profile(r)?, profile(r)?)))
            .collect()
    }
}

#[async_trait]
impl ProfileStore for SqlStore {
    async fn create_profile(&self, p: &ProfileRow) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO profiles (id, name, name_lower, description, platforms, scope, settings, source_syncml, revision, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(p.name.to_lowercase())
        .bind(&p.description)
        .bind(platforms_json(&p.platforms)?)
        .bind(&p.scope)
        .bind(&p.settings)
        .bind(&p.source_syncml)
        .bind(p.revision)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_profile(&self, p: &ProfileRow) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE profiles SET name = $2, name_lower = $3, description = $4, platforms = $5, scope = $6, \
             settings = $7, source_syncml = $8, revision = $9, updated_at = $10 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(p.name.to_lowercase())
        .bind(&p.description)
        .bind(platforms_json(&p.platforms)?)
        .bind(&p.scope)
        .bind(&p.settings)
        .bind(&p.source_syncml)
        .bind(p.revision)
        .bind(p.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("profile {}", p.id)));
        }
        sqlx::query(
            "UPDATE device_profiles SET revision = $2, status = CASE WHEN assigned = 1 THEN 'pending' ELSE status END, \
             due_at = $3, updated_at = $3 WHERE profile_id = $1",
        )
        .bind(&p.id)
        .bind(p.revision)
        .bind(p.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_profile(&self, id: &str, now: i64) -> StoreResult<u64> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done =
            sqlx::query("UPDATE profiles SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("profile {id}")));
        }
        sqlx::query("DELETE FROM profile_assignments WHERE profile_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let removing = sqlx::query(
            "UPDATE device_profiles SET assigned = 0, status = 'removing', due_at = $2, updated_at = $2 \
             WHERE profile_id = $1 AND assigned = 1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(removing.rows_affected())
    }

    async fn profile(&self, id_or_name: &str) -> StoreResult<Option<ProfileRow>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles p WHERE p.deleted_at IS NULL AND (p.id = $1 OR p.name_lower = $2) \
             ORDER BY CASE WHEN p.id = $1 THEN 0 ELSE 1 END LIMIT 1"
        )))
        .bind(id_or_name)
        .bind(id_or_name.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(profile).transpose()
    }

    async fn list_profiles(&self) -> StoreResult<Vec<ProfileRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles p WHERE p.deleted_at IS NULL ORDER BY p.name_lower"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(profile).collect()
    }

    async fn profile_status_counts(&self) -> StoreResult<Vec<(String, String, u64)>> {
        let rows = sqlx::query(
            "SELECT profile_id, status, COUNT(*) AS n FROM device_profiles GROUP BY profile_id, status",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("n").map_err(map_err)?;
                Ok((
                    r.try_get("profile_id").map_err(map_err)?,
                    r.try_get("status").map_err(map_err)?,
                    n as u64,
                ))
            })
            .collect()
    }

    async fn profile_status_counts_of(&self, profile_id: &str) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM device_profiles WHERE profile_id = $1 GROUP BY status",
        )
        .bind(profile_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("n").map_err(map_err)?;
                Ok((r.try_get("status").map_err(map_err)?, n as u64))
            })
            .collect()
    }

    async fn devices_of_profile(
        &self,
        profile_id: &str,
        status: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(DeviceProfileRow, Device)>> {
        let device_columns = device_columns_of_d();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DP_COLUMNS}, {device_columns} FROM device_profiles dp JOIN devices d ON d.id = dp.device_id \
             WHERE dp.profile_id = $1 AND ($2 = '' OR dp.status = $2) ORDER BY d.name, d.id LIMIT $3"
        )))
        .bind(profile_id)
        .bind(status.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((device_profile(r)?, device(r)?)))
            .collect()
    }

    async fn profiles_of_device(
        &self,
        device_id: &str,
    ) -> StoreResult<Vec<(DeviceProfileRow, ProfileRow)>> {
        self.profile_pairs(
            format!(
                "SELECT {DP_COLUMNS}, {PROFILE_COLUMNS} FROM device_profiles dp JOIN profiles p ON p.id = dp.profile_id \
                 WHERE dp.device_id = $1 ORDER BY p.name_lower"
            ),
            device_id,
            None,
        )
        .await
    }

    async fn due_profiles(
        &self,
        device_id: &str,
        now: i64,
    ) -> StoreResult<Vec<(DeviceProfileRow, ProfileRow)>> {
        self.profile_pairs(
            format!(
                "SELECT {DP_COLUMNS}, {PROFILE_COLUMNS} FROM device_profiles dp JOIN profiles p ON p.id = dp.profile_id \
                 WHERE dp.device_id = $1 AND dp.due_at <= $2"
            ),
            device_id,
            Some(now),
        )
        .await
    }

    async fn create_group(&self, g: &GroupRow) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO device_groups (id, name, name_lower, description, members, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&g.id)
        .bind(&g.name)
        .bind(g.name.to_lowercase())
        .bind(&g.description)
        .bind(serde_json::to_string(&g.members).map_err(corrupt)?)
        .bind(g.created_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_group(&self, g: &GroupRow) -> StoreResult<()> {
        if g.id == ALL_DEVICES_GROUP {
            return Err(StoreError::Conflict(
                "the built-in group of all devices cannot be changed".into(),
            ));
        }
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE device_groups SET name = $2, name_lower = $3, description = $4, members = $5 WHERE id = $1",
        )
        .bind(&g.id)
        .bind(&g.name)
        .bind(g.name.to_lowercase())
        .bind(&g.description)
        .bind(serde_json::to_string(&g.members).map_err(corrupt)?)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("group {}", g.id)));
        }
        Ok(())
    }

    async fn delete_group(&self, id: &str) -> StoreResult<()> {
        if id == ALL_DEVICES_GROUP {
            return Err(StoreError::Conflict(
                "the built-in group of all devices cannot be deleted".into(),
            ));
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("DELETE FROM profile_assignments WHERE group_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let done = sqlx::query("DELETE FROM device_groups WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("group {id}")));
        }
        tx.commit().await.map_err(map_err)
    }

    async fn group(&self, id_or_name: &str) -> StoreResult<Option<GroupRow>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {GROUP_COLUMNS} FROM device_groups WHERE id = $1 OR name_lower = $2 \
             ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1"
        )))
        .bind(id_or_name)
        .bind(id_or_name.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(group).transpose()
    }

    async fn list_groups(&self) -> StoreResult<Vec<GroupRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {GROUP_COLUMNS} FROM device_groups ORDER BY CASE WHEN id = 'all-devices' THEN 0 ELSE 1 END, name_lower"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(group).collect()
    }

    async fn group_device_ids(
        &self,
        g: &GroupRow,
        platforms: Option<&[Platform]>,
    ) -> StoreResult<Vec<String>> {
        let platform_ok = |p: Platform| platforms.is_none_or(|ps| ps.contains(&p));
        match &g.members {
            GroupMembers::All | GroupMembers::Static { .. } => {
                let rows = sqlx::query(
                    "SELECT id, platform FROM devices WHERE retired_at IS NULL ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                let wanted: Option<HashSet<&str>> = match &g.members {
                    GroupMembers::Static { devices } => {
                        Some(devices.iter().map(String::as_str).collect())
                    }
                    _ => None,
                };
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let id: String = r.try_get("id").map_err(map_err)?;
                    let platform: Platform = crate::names::get(r, "platform")?;
                    if platform_ok(platform)
                        && wanted.as_ref().is_none_or(|w| w.contains(id.as_str()))
                    {
                        out.push(id);
                    }
                }
                Ok(out)
            }
            GroupMembers::Filter { .. } => {
                let rows = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices WHERE retired_at IS NULL ORDER BY id"
                )))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                let mut out = Vec::new();
                for r in &rows {
                    let d = device(r)?;
                    if platform_ok(d.platform) && g.contains(&d) {
                        out.push(d.id);
                    }
                }
                Ok(out)
            }
        }
    }

    async fn assignments_of(&self, profile_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT group_id FROM profile_assignments WHERE profile_id = $1 ORDER BY assigned_at, group_id",
        )
        .bind(profile_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| r.try_get("group_id").map_err(map_err))
            .collect()
    }

    async fn all_assignments(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT profile_id, group_id FROM profile_assignments")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("profile_id").map_err(map_err)?,
                    r.try_get("group_id").map_err(map_err)?,
                ))
            })
            .collect()
    }

    async fn add_assignment(&self, profile_id: &str, group_id: &str, now: i64) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO profile_assignments (profile_id, group_id, assigned_at) VALUES ($1, $2, $3) \
             ON CONFLICT (profile_id, group_id) DO NOTHING",
        )
        .bind(profile_id)
        .bind(group_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn remove_assignment(&self, profile_id: &str, group_id: &str) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let done =
            sqlx::query("DELETE FROM profile_assignments WHERE profile_id = $1 AND group_id = $2")
                .bind(profile_id)
                .bind(group_id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "profile {profile_id} is not assigned to group {group_id}"
            )));
        }
        Ok(())
    }

    async fn set_profile_devices(
        &self,
        profile_id: &str,
        revision: i64,
        devices: &[String],
        now: i64,
    ) -> StoreResult<Reconciled> {
        let wanted = serde_json::to_string(devices).map_err(corrupt)?;
        self.reconcile_rows(profile_id, revision, now, &self.json_values(4), &wanted)
            .await
    }

    async fn set_profile_all_devices(
        &self,
        profile_id: &str,
        revision: i64,
        platforms: &[Platform],
        now: i64,
    ) -> StoreResult<Reconciled> {
        let names: Vec<&str> = platforms.iter().map(|p| p.as_str()).collect();
        let platforms = serde_json::to_string(&names).map_err(corrupt)?;
        let wanted_set = format!(
            "SELECT id AS value FROM devices WHERE retired_at IS NULL AND platform IN ({})",
            self.json_values(4)
        );
        self.reconcile_rows(profile_id, revision, now, &wanted_set, &platforms)
            .await
    }

    async fn add_device_profiles(
        &self,
        device_id: &str,
        profiles: &[(String, i64)],
        now: i64,
    ) -> StoreResult<()> {
        if profiles.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for (profile_id, revision) in profiles {
            sqlx::query(
                "INSERT INTO device_profiles (device_id, profile_id, revision, assigned, status, nodes, due_at, drift_count, updated_at) \
                 VALUES ($1, $2, $3, 1, 'pending', '[]', $4, 0, $4) \
                 ON CONFLICT (device_id, profile_id) DO UPDATE SET assigned = 1, revision = excluded.revision, \
                 status = CASE WHEN device_profiles.assigned = 1 THEN device_profiles.status ELSE 'pending' END, \
                 due_at = CASE WHEN device_profiles.assigned = 1 THEN device_profiles.due_at ELSE excluded.due_at END",
            )
            .bind(device_id)
            .bind(profile_id)
            .bind(revision)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn profiles_on_devices(
        &self,
        devices: &[String],
        except_profile: &str,
    ) -> StoreResult<Vec<ProfileRow>> {
        // One query, the devices as one JSON array parameter.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles p WHERE p.deleted_at IS NULL AND p.id <> $1 \
             AND EXISTS (SELECT 1 FROM device_profiles dp WHERE dp.profile_id = p.id AND dp.assigned = 1 \
             AND dp.device_id IN ({})) ORDER BY p.name_lower",
            self.json_values(2)
        )))
        .bind(except_profile)
        .bind(serde_json::to_string(devices).map_err(corrupt)?)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(profile).collect()
    }
}
