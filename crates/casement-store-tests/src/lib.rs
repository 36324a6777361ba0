//! The storage story: one sequence of operations with the outcomes the trait contracts promise.
//! Every backend runs it (`tests/sqlite.rs` always; PostgreSQL where a server is available).

pub mod postgres;
mod team;
mod web;

mod story;

use story::{actions, apps, directory, fleet, profile_rows, profiles, push, queue, retention};

use casement_store::*;

fn user(id: &str, upn: &str) -> NewUser {
    NewUser {
        id: id.into(),
        upn: upn.into(),
        display_name: upn.into(),
        password_hash: "$argon2id$x".into(),
        created_at: 1,
    }
}

fn device(id: &str, user_id: &str) -> NewDevice {
    NewDevice {
        id: id.into(),
        platform: Platform::Windows81,
        user_id: user_id.into(),
        upn: "alice@contoso.com".into(),
        user_sid: None,
        name: Some("PC-1".into()),
        enrollment_context: vec![
            ("DeviceType".into(), "CIMClient_Windows".into()),
            ("MAC".into(), "a".into()),
            ("MAC".into(), "b".into()),
        ],
        enrolled_at: 10,
    }
}

fn certificate(serial: &str, device_id: &str, at: i64) -> NewCertificate {
    NewCertificate {
        serial_hex: serial.into(),
        device_id: device_id.into(),
        thumbprint: "AB".repeat(20),
        not_before: at,
        not_after: at + 1000,
        pem: "-----BEGIN CERTIFICATE-----".into(),
        issued_at: at,
    }
}

fn command(id: &str, device_id: &str, class: CommandClass, at: i64) -> NewCommand {
    NewCommand {
        id: id.into(),
        device_id: device_id.into(),
        kind: CommandKind::Raw,
        class,
        label: id.into(),
        payload: "{}".into(),
        secret: false,
        created_at: at,
        expires_at: None,
        max_attempts: 2,
        created_by: "story".into(),
    }
}

fn session_row(id: &str, device_id: &str, version: i64) -> SessionRow {
    SessionRow {
        id: id.into(),
        device_id: device_id.into(),
        session_id: "1".into(),
        context: Context::Machine,
        reason: "mode-parameter".into(),
        evidence: "{}".into(),
        started_at: 100,
        updated_at: 100,
        ended_at: None,
        outcome: None,
        core_state: Some("{}".into()),
        version,
        message_count: 0,
        commands_sent: 0,
        warnings: Vec::new(),
        messages_kept: true,
    }
}

fn transition(id: &str, from: CommandState, to: CommandState) -> CommandTransition {
    CommandTransition {
        id: id.into(),
        from,
        to,
        status_code: None,
        original_error: None,
        results: None,
        count_attempt: to == CommandState::Sent,
        retry: false,
    }
}

/// Runs the story against a fresh, empty store. Panics with the step that failed.
fn uuid_like(id: &str) -> bool {
    id.char_indices().all(|(i, c)| {
        if [8, 13, 18, 23].contains(&i) {
            c == '-'
        } else {
            c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
        }
    })
}

/// The storage story every backend passes, chapter by chapter, in order: each chapter builds on
/// what the earlier ones stored.
pub async fn story(store: &dyn Store) {
    directory::users(store).await;
    directory::sts_tokens(store).await;
    directory::devices_and_certificates(store).await;
    queue::commands(store).await;
    queue::sessions(store).await;
    queue::conflicts(store).await;
    queue::statuses(store).await;
    push::channel(store).await;
    push::outbox(store).await;
    apps::catalog_and_installs(store).await;
    queue::retries(store).await;
    fleet::retirement(store).await;
    fleet::bulk(store).await;
    fleet::audit(store).await;
    web::story(store).await;
    team::story(store).await;
    actions::requests(store).await;
    queue::every_class_and_kind(store).await;
    profile_rows::reconcile(store).await;
    profiles::profiles(store).await;
    retention::idle_sessions_and_pruning(store).await;
}
