//! Synthetic devices for benchmarks (`casement bench growth`): the rows a fleet leaves behind
//! after months of management — device, certificate, ended sessions with their messages, done
//! commands with results, inventory, one pending command — written in bulk by the database
//! itself (one `INSERT … SELECT` per table over a generated series), not through enrollment.
//!
//! Seeded devices cannot connect: their certificates are placeholders. They exist so that the
//! sessions of real (enrolled) devices can be measured against a database of 10k, 100k or 1M
//! devices. Ids are `<prefix><n, zero-padded>`, so seeding appends to every index in order.

use sqlx::AssertSqlSafe;

use crate::{Backend, SqlStore, map_err};
use casement_store::{Platform, StoreResult};

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedSpec {
    /// Id prefix (`seed-`); ids are the prefix and the number, zero-padded to 8 digits.
    pub prefix: String,
    /// First number.
    pub from: u64,
    /// How many devices.
    pub count: u64,
    /// The user they are enrolled by (must exist).
    pub user_id: String,
    /// That user's UPN.
    pub upn: String,
    /// Their platform.
    pub platform: Platform,
    /// "Now": history is dated before it.
    pub now: i64,
}

/// Tables seeded per device, with the rows each gets (for reporting).
pub const SEEDED_ROWS_PER_DEVICE: &[(&str, u32)] = &[
    ("devices", 1),
    ("certificates", 1),
    ("sessions", 2),
    ("session_messages", 4),
    ("commands", 4),
    ("session_commands", 3),
    ("inventory", 4),
];

impl SqlStore {
    /// Seeds `spec.count` synthetic devices with their history, in one transaction.
    pub async fn seed_devices(&self, spec: &SeedSpec) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let to = spec.from + spec.count;
        let (series, id) = match self.backend {
            // A recursive CTE counts in SQLite; PostgreSQL has generate_series.
            Backend::Sqlite => (
                "WITH RECURSIVE n(i) AS (SELECT CAST($1 AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $2), \
                 p(prefix, platform, user_id, upn, now) AS (SELECT $3, $4, $5, $6, CAST($7 AS INTEGER))",
                "(p.prefix || printf('%08d', i))",
            ),
            Backend::Postgres => (
                "WITH n(i) AS (SELECT generate_series(CAST($1 AS BIGINT), CAST($2 AS BIGINT) - 1)), \
                 p(prefix, platform, user_id, upn, now) AS (SELECT CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT), CAST($6 AS TEXT), CAST($7 AS BIGINT))",
                "(p.prefix || lpad(CAST(i AS TEXT), 8, '0'))",
            ),
        };
        // Every statement reads its constants from `p` (so each uses all seven parameters, as
        // PostgreSQL requires of a prepared statement's binds).
        let day = 86_400_000i64;
        // Written as literals: PostgreSQL multiplies integer literals as 32-bit values.
        let (d90, d275) = (90 * day, 275 * day);
        let statements = [
            format!(
                "{series} INSERT INTO devices (id, platform, user_id, upn, user_sid, name, enrollment_context, enrolled_at, updated_at, last_session_at, last_context, devinfo) \
                 SELECT {id}, p.platform, p.user_id, p.upn, NULL, 'SEED-' || CAST(i AS TEXT), '[[\"DeviceType\",\"CIMClient_Windows\"]]', p.now - {d90}, p.now - {day}, p.now - {day}, 'Maintenance', \
                 '{{\"./DevInfo/Man\":\"Contoso\",\"./DevInfo/Mod\":\"Seeded\",\"./DevInfo/Lang\":\"en-US\"}}' FROM n CROSS JOIN p"
            ),
            format!(
                "{series} INSERT INTO certificates (serial_hex, device_id, thumbprint, not_before, not_after, pem, issued_at) \
                 SELECT 'seed' || {id}, {id}, '0000000000000000000000000000000000000000', p.now - {d90}, p.now + {d275}, '(seeded)', p.now - {d90} FROM n CROSS JOIN p"
            ),
            format!(
                "{series} INSERT INTO sessions (id, device_id, session_id, context, reason, evidence, started_at, updated_at, ended_at, outcome, core_state, version, message_count, commands_sent) \
                 SELECT {id} || '-s' || CAST(k AS TEXT), {id}, CAST(k AS TEXT), CASE k WHEN 1 THEN 'Machine' ELSE 'Maintenance' END, 'mode-parameter', '{{\"mode\":\"Maintenance\"}}', \
                 p.now - (3 - k) * {day}, p.now - (3 - k) * {day}, p.now - (3 - k) * {day}, 'completed', NULL, 2, 2, CASE k WHEN 1 THEN 1 ELSE 2 END \
                 FROM n CROSS JOIN p CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) AS s"
            ),
            format!(
                "{series} INSERT INTO session_messages (session_row, seq, direction, body, truncated, at) \
                 SELECT {id} || '-s' || CAST(k AS TEXT), m, CASE m WHEN 0 THEN 'device' ELSE 'server' END, \
                 '<SyncML><SyncHdr><SessionID>' || CAST(k AS TEXT) || '</SessionID></SyncHdr><SyncBody><Final/></SyncBody></SyncML>', 0, p.now - (3 - k) * {day} \
                 FROM n CROSS JOIN p CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) AS s CROSS JOIN (SELECT 0 AS m UNION ALL SELECT 1) AS t"
            ),
            format!(
                "{series} INSERT INTO commands (id, device_id, kind, class, label, payload, secret, state, status_code, original_error, results, attempts, max_attempts, created_at, updated_at, expires_at, created_by) \
                 SELECT {id} || '-c' || CAST(k AS TEXT), {id}, 'inventory', 'inventory', 'Get ./DevDetail/SwV', \
                 '{{\"Get\":{{\"cmd_id\":1,\"items\":[{{\"target\":\"./DevDetail/SwV\"}}]}}}}', 0, \
                 CASE k WHEN 4 THEN 'pending' ELSE 'done' END, CASE k WHEN 4 THEN NULL ELSE 200 END, NULL, \
                 CASE k WHEN 4 THEN NULL ELSE '[{{\"loc_uri\":\"./DevDetail/SwV\",\"data\":\"10.0.19045\"}}]' END, \
                 CASE k WHEN 4 THEN 0 ELSE 1 END, 5, p.now - (5 - k) * {day}, p.now - (5 - k) * {day}, NULL, 'seed' \
                 FROM n CROSS JOIN p CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) AS c"
            ),
            format!(
                "{series} INSERT INTO session_commands (session_row, command_id, msg_id, cmd_id) \
                 SELECT {id} || '-s' || CAST(CASE k WHEN 1 THEN 1 ELSE 2 END AS TEXT), {id} || '-c' || CAST(k AS TEXT), 1, k + 1 \
                 FROM n CROSS JOIN p CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) AS c"
            ),
            format!(
                "{series} INSERT INTO inventory (device_id, loc_uri, value, format, read_at) \
                 SELECT {id}, u, 'seeded value', 'chr', p.now - {day} FROM n CROSS JOIN p CROSS JOIN \
                 (SELECT './DevDetail/SwV' AS u UNION ALL SELECT './DevDetail/OEM' UNION ALL SELECT './DevInfo/Mod' UNION ALL SELECT './DevInfo/Lang') AS v"
            ),
        ];
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for sql in statements {
            sqlx::query(AssertSqlSafe(sql))
                .bind(spec.from as i64)
                .bind(to as i64)
                .bind(&spec.prefix)
                .bind(spec.platform.as_str())
                .bind(&spec.user_id)
                .bind(&spec.upn)
                .bind(spec.now)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    /// Refreshes the query planner's statistics after a bulk load, as autovacuum would soon
    /// (PostgreSQL `ANALYZE`); SQLite's planner needs none to use its indexes.
    pub async fn analyze(&self) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            // The seeded rows are in the WAL: copied into the database now (and the WAL emptied),
            // not by the nodes' background checkpoints while the check-ins are measured.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        }
        if self.backend == Backend::Postgres {
            sqlx::query("ANALYZE")
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    /// Devices in the store (retired or not), for reports.
    pub async fn count_devices(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM devices")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let n: i64 = sqlx::Row::try_get(&row, "n").map_err(map_err)?;
        Ok(n.max(0) as u64)
    }

    /// Bytes the database's data takes, for `casement bench growth`: on SQLite the pages in use
    /// (`page_count - freelist_count`, WAL frames included: it reads the current snapshot), on
    /// PostgreSQL `pg_database_size` (files, so it grows by whole pages and extensions).
    pub async fn database_bytes(&self) -> StoreResult<u64> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT (p.page_count - f.freelist_count) * s.page_size AS n \
                 FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s"
            }
            Backend::Postgres => "SELECT CAST(pg_database_size(current_database()) AS BIGINT) AS n",
        };
        let row = sqlx::query(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let n: i64 = sqlx::Row::try_get(&row, "n").map_err(map_err)?;
        Ok(n.max(0) as u64)
    }
}
