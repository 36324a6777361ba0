//! Casement's storage on SQL through sqlx's `Any` driver: one set of portable queries, and one
//! migration folder per backend (`migrations/sqlite`, `migrations/postgres`), picked by the URL.
//!
//! Portability rules (sqlx `Any` carries only integers, floats, text and blobs): times are BIGINT
//! unix milliseconds, ids and JSON are TEXT, flags are nullable timestamps.

mod actions;
mod admins;
mod apps;
mod devices;
mod management;
mod names;
mod profiles;
mod push;
mod seed;
mod team;
mod users;
mod web;
mod write;

pub use seed::{SEEDED_ROWS_PER_DEVICE, SeedSpec};

use std::str::FromStr;
use std::time::Duration;

use casement_store::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL mode).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The SQL store.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: writers' turns and the group commit of management messages.
    sqlite: Option<std::sync::Arc<write::SqliteWrites>>,
}

impl SqlStore {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and applies the backend's
    /// migrations. A SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Unavailable(format!(
                "unsupported database URL scheme: {}",
                url.split(':').next().unwrap_or("")
            )));
        };
        let options = AnyConnectOptions::from_str(url)
            .map_err(unavailable)?
            .disable_statement_logging();
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    // Readers in parallel and the writer; more connections did not measure
                    // faster on 2 cores (each has a worker thread and its own page cache).
                    .max_connections(4)
                    // A connection to a local file does not go stale: no ping before each use
                    // (it is a round trip to the connection's worker thread).
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL cannot be set in the URL through Any; busy_timeout lets writers queue.
                            sqlx::query("PRAGMA journal_mode=WAL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA synchronous=NORMAL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA busy_timeout=10000")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA foreign_keys=ON")
                                .execute(&mut *conn)
                                .await?;
                            // No memory map, and an 8 MiB page cache per connection (SQLite:
                            // "Memory-Mapped I/O", PRAGMA cache_size; negative = KiB): every page
                            // of the file a query touched through a 1 GiB map counted in the
                            // node's resident memory (255 MB peak after queueing a command for
                            // 100k devices; the goal is 150 MB). Pages not cached are read from
                            // the kernel's page cache, which is not the node's memory.
                            sqlx::query("PRAGMA mmap_size=0")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA cache_size=-8192")
                                .execute(&mut *conn)
                                .await?;
                            // Checkpoints run in the background (write.rs), not in whichever
                            // commit crosses the threshold.
                            sqlx::query("PRAGMA wal_autocheckpoint=0")
                                .execute(&mut *conn)
                                .await?;
                            // Savepoints' sub-journals (the group commit) in memory, not in
                            // temp files.
                            sqlx::query("PRAGMA temp_store=MEMORY")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    // No ping before each use: it would double the round trips of every query.
                    // A connection the server dropped fails its next query once (the caller
                    // answers 503 and the device retries) and is then replaced.
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await
            }
        }
        .map_err(unavailable)?;
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrations: {e}")))?;
        let sqlite = (backend == Backend::Sqlite)
            .then(|| std::sync::Arc::new(write::SqliteWrites::start(pool.clone())));
        Ok(Self {
            pool,
            backend,
            sqlite,
        })
    }

    /// Waits for this process's turn to write (SQLite has one writer at a time; PostgreSQL
    /// needs no turn). Hold it for the whole write.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.sqlite {
            Some(writes) => Some(writes.turn().await),
            None => None,
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite URL for a database file inside `dir` (created on first use).
    pub fn sqlite_url(path: &std::path::Path) -> String {
        format!("sqlite://{}?mode=rwc", path.display())
    }
}

/// Ids for the rows of one `INSERT … SELECT`: time-ordered UUIDs (version 7, RFC 9562 §5.7)
/// whose first 28 characters — the unix-ms time `now`, random bits, version and variant — are
/// made here once per statement, and whose last 8 hex digits are the row's number in the
/// statement (a counter, RFC 9562 §6.2 method 1), appended by the database. A statement's ids
/// thus sort in insertion order and land at the end of the primary-key index rather than at
/// random places in it, and the database formats one number per row instead of a whole UUID.
/// Returns the prefix (bind it as a parameter) and the SQL expression of an id given the
/// prefix's placeholder and the row-number expression.
pub(crate) fn bulk_ids(backend: Backend, now: i64, prefix: &str, rn: &str) -> (String, String) {
    use rand::Rng;
    let mut rng = rand::rng();
    let ms = now.max(0) as u64;
    let prefix_value = format!(
        "{:08x}-{:04x}-7{:03x}-{:x}{:03x}-{:04x}",
        (ms >> 16) & 0xffff_ffff,
        ms & 0xffff,
        rng.random::<u16>() & 0xfff,
        8 | (rng.random::<u8>() & 3),
        rng.random::<u16>() & 0xfff,
        rng.random::<u16>(),
    );
    let expression = match backend {
        Backend::Sqlite => format!("(CAST({prefix} AS TEXT) || printf('%08x', {rn}))"),
        Backend::Postgres => format!("(CAST({prefix} AS TEXT) || lpad(to_hex({rn}), 8, '0'))"),
    };
    (prefix_value, expression)
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Maps a sqlx error: unique violations are conflicts, the rest is unavailability.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.message().to_owned());
        }
        if db.is_foreign_key_violation() {
            return StoreError::NotFound(db.message().to_owned());
        }
    }
    StoreError::Unavailable(e.to_string())
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}
