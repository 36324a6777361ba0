//! Migrations that rebuild a table keep what was stored. SQLite's 0008 rebuilds `commands` once
//! (its class CHECK becomes a lookup table, docs/architecture.md "Adding a command class"): a
//! database written by the previous build must come through with every row, every foreign key,
//! and the class now checked by the lookup table.

use std::str::FromStr;

use casement_store::{CommandClass, CommandKind, CommandState, CommandStore, SessionStore};
use casement_store_sql::SqlStore;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// The schema of the build before the lookup table.
const BEFORE_LOOKUP_TABLE: i64 = 7;

async fn old_database(path: &std::path::Path) -> sqlx::SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run_to(BEFORE_LOOKUP_TABLE, &pool)
        .await
        .unwrap();
    for statement in [
        "INSERT INTO users (id, upn, upn_lower, display_name, password_hash, created_at) VALUES ('u1', 'a@x', 'a@x', 'A', 'h', 1)",
        "INSERT INTO devices (id, platform, user_id, upn, enrollment_context, enrolled_at, updated_at) VALUES ('D1', 'windows-8.1', 'u1', 'a@x', '[]', 1, 1)",
        "INSERT INTO commands (id, device_id, kind, class, label, payload, state, status_code, results, attempts, created_at, updated_at, created_by) VALUES ('c1', 'D1', 'inventory', 'inventory', 'Read OS', '{}', 'done', 200, '[]', 1, 10, 20, 'admin')",
        "INSERT INTO commands (id, device_id, kind, class, label, payload, state, created_at, updated_at, created_by) VALUES ('c2', 'D1', 'push-config', 'push-configuration', 'Configure push', '{}', 'pending', 11, 11, 'system')",
        "INSERT INTO sessions (id, device_id, session_id, context, reason, evidence, started_at, updated_at, version) VALUES ('s1', 'D1', '1', 'Machine', 'mode-parameter', '{}', 10, 20, 2)",
        "INSERT INTO session_commands (session_row, command_id, msg_id, cmd_id) VALUES ('s1', 'c1', 1, 2)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool
}

#[tokio::test]
async fn sqlite_0008_keeps_every_command_and_checks_classes_by_the_lookup_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("casement.db");
    old_database(&path).await.close().await;

    let store = SqlStore::connect(&SqlStore::sqlite_url(&path))
        .await
        .unwrap();
    let c1 = store.command("c1").await.unwrap().expect("c1 kept");
    assert_eq!(
        (c1.kind, c1.class, c1.state, c1.status_code, c1.attempts),
        (
            CommandKind::Inventory,
            CommandClass::Inventory,
            CommandState::Done,
            Some(200),
            1
        )
    );
    let c2 = store.command("c2").await.unwrap().expect("c2 kept");
    assert_eq!(
        (c2.class, c2.state),
        (CommandClass::PushConfiguration, CommandState::Pending)
    );
    let deliveries = store.session_deliveries("s1").await.unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].command_id, "c1");
    drop(store);

    let pool = reopened(&path).await;
    let violations = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        violations.is_empty(),
        "{} foreign key violations",
        violations.len()
    );
    let unknown_class = sqlx::query(
        "INSERT INTO commands (id, device_id, kind, class, label, payload, state, created_at, updated_at, created_by) VALUES ('c3', 'D1', 'raw', 'teleport', 'x', '{}', 'pending', 1, 1, 'test')",
    )
    .execute(&pool)
    .await;
    assert!(
        unknown_class.is_err(),
        "a class not in command_classes is refused"
    );
    let unknown_command = sqlx::query(
        "INSERT INTO session_commands (session_row, command_id, msg_id, cmd_id) VALUES ('s1', 'nope', 2, 2)",
    )
    .execute(&pool)
    .await;
    assert!(
        unknown_command.is_err(),
        "session_commands still references the rebuilt commands table"
    );
    let classes: Vec<String> = sqlx::query("SELECT name FROM command_classes ORDER BY name")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("name"))
        .collect();
    let mut expected: Vec<&str> = CommandClass::ALL.iter().map(|c| c.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(
        classes, expected,
        "the lookup table names every class of the enum"
    );
}

async fn reopened(path: &std::path::Path) -> sqlx::SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}
