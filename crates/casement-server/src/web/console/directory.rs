//! The app catalog, the user directory with the administrator accounts, and the audit log.

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use casement_dm::catalog::AppPayload;
use casement_store::AppRow;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::{console_page, csrf_field, time};
use crate::services::admins::{CreateAdminError, create_admin};
use crate::services::users::{CreateUserError, create_user};
use crate::state::AppState;
use crate::web::auth::{self, ConsoleSession};
use crate::web::page::{WebError, alert, notice};
use crate::web::{audit, words};

#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// `GET /console/apps`.
pub async fn apps(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    apps_page(&state, &session, q.done.as_deref(), None).await
}

async fn apps_page(
    state: &AppState,
    session: &ConsoleSession,
    done: Option<&str>,
    error: Option<&str>,
) -> Result<Response, WebError> {
    let apps = state.store.list_apps().await?;
    let body = html! {
        h1 { "App catalog" }
        (notice(done))
        (alert(error))
        @if apps.is_empty() { p.muted { "The catalog is empty." } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Version" } th scope="col" { "Platforms" } th scope="col" { "Added" } } }
                tbody { @for a in &apps { tr {
                    td { (a.name) } td { (a.version) }
                    td { (platforms(a).join(", ")) }
                    td { (time(a.created_at)) }
                } } }
            } }
        }
        h2 { "Add an app" }
        form.card method="post" action="/console/apps" {
            (csrf_field(session))
            label for="name" { "Name" }
            input #name type="text" name="name" required;
            label for="version" { "Version" }
            input #version type="text" name="version" required;
            label for="platform" { "Platform" }
            select #platform name="platform" {
                option value="windows-10" { "Windows 10/11" }
                option value="windows-8.1" { "Windows 8.1" }
            }
            label for="payload" { "Install payload (JSON)" }
            textarea #payload name="payload" required aria-describedby="payload-hint" {}
            p.muted #payload-hint {
                "Windows 10/11: {\"type\":\"store\",\"package_family_name\":…,\"product_id\":…,\"sku_id\":…}, "
                "\"hosted\" or \"msi\". Windows 8.1: {\"type\":\"app-install-job\",\"job_data\":…} with your JobData as is "
                "(its format is not public, so Casement does not invent one)."
            }
            p { button type="submit" { "Add to the catalog" } }
        }
    };
    let mut response = console_page(session, "App catalog", "/console/apps", body);
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

fn platforms(a: &AppRow) -> Vec<&'static str> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&a.payloads).unwrap_or_default();
    map.keys()
        .filter_map(|k| casement_store::Platform::from_name(k))
        .map(words::platform)
        .collect()
}

/// `POST /console/apps`.
pub async fn add_app(
    State(state): State<AppState>,
    session: ConsoleSession,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        name: String,
        version: String,
        platform: String,
        payload: String,
    }
    let form: Form = auth::read_form(&state, request).await?;
    if form.name.trim().is_empty() || form.version.trim().is_empty() {
        return apps_page(
            &state,
            &session,
            None,
            Some("An app needs a name and a version."),
        )
        .await;
    }
    if casement_store::Platform::from_name(&form.platform).is_none() {
        return apps_page(&state, &session, None, Some("Unknown platform.")).await;
    }
    let payload: serde_json::Value = match serde_json::from_str(&form.payload) {
        Ok(p) => p,
        Err(e) => {
            return apps_page(
                &state,
                &session,
                None,
                Some(&format!("The payload is not JSON: {e}")),
            )
            .await;
        }
    };
    if let Err(e) = serde_json::from_value::<AppPayload>(payload.clone()) {
        return apps_page(
            &state,
            &session,
            None,
            Some(&format!("The payload is not a valid install payload: {e}")),
        )
        .await;
    }
    let row = AppRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: form.name.trim().to_owned(),
        version: form.version.trim().to_owned(),
        payloads: json!({ form.platform: payload }).to_string(),
        created_at: state.clock.now_ms(),
    };
    state.store.create_app(&row).await?;
    audit(
        &state,
        &session.actor(),
        "app.create",
        Some(&row.id),
        json!({ "name": row.name, "version": row.version }),
    )
    .await;
    Ok(Redirect::to("/console/apps?done=app").into_response())
}

/// `GET /console/users`.
pub async fn users(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    users_page(&state, &session, q.done.as_deref(), None).await
}

async fn users_page(
    state: &AppState,
    session: &ConsoleSession,
    done: Option<&str>,
    error: Option<&str>,
) -> Result<Response, WebError> {
    let users = state.store.list_users().await?;
    let admins = state.store.list_admins().await?;
    let body = html! {
        h1 { "Users" }
        (notice(done))
        (alert(error))
        p.muted { "End users sign in to enroll their PCs and to the portal." }
        @if users.is_empty() { p.muted { "No users yet." } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "UPN" } th scope="col" { "Name" } th scope="col" { "Devices" } th scope="col" { "Added" } } }
                tbody { @for u in &users { tr {
                    td { (u.upn) } td { (u.display_name) }
                    td { a href=(format!("/console/devices?q={}", percent_encoding::utf8_percent_encode(&u.upn, percent_encoding::NON_ALPHANUMERIC))) { "devices" } }
                    td { (time(u.created_at)) }
                } } }
            } }
        }
        h2 { "Add a user" }
        form.card method="post" action="/console/users" {
            (csrf_field(session))
            label for="upn" { "UPN" }
            input #upn type="text" name="upn" autocomplete="off" required placeholder="alice@contoso.com";
            label for="display_name" { "Display name" }
            input #display_name type="text" name="display_name" autocomplete="off";
            label for="user-password" { "Password (at least 8 characters)" }
            input #user-password type="password" name="password" autocomplete="new-password" required minlength="8";
            p { button type="submit" { "Add user" } }
        }
        h2 { "Administrators" }
        p.muted { "Console accounts, each with a role. Roles and personal API tokens: " a href="/console/team" { "Team" } "." }
        div.table-wrap { table {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Display name" } th scope="col" { "Role" } th scope="col" { "Added" } } }
            tbody { @for a in &admins { tr { td { (a.username) } td { (a.display_name) } td { (a.role.as_str()) } td { (time(a.created_at)) } } } }
        } }
        h3 { "Add an administrator" }
        form.card method="post" action="/console/admins" {
            (csrf_field(session))
            label for="username" { "Name" }
            input #username type="text" name="username" autocomplete="off" required;
            label for="admin-password" { "Password (at least 12 characters)" }
            input #admin-password type="password" name="password" autocomplete="new-password" required minlength="12";
            label for="admin-role" { "Role" }
            select #admin-role name="role" {
                @for role in casement_store::Role::ALL { option value=(role.as_str()) { (role.as_str()) } }
            }
            p { button type="submit" { "Add administrator" } }
        }
    };
    let mut response = console_page(session, "Users", "/console/users", body);
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `POST /console/users`.
pub async fn add_user(
    State(state): State<AppState>,
    session: ConsoleSession,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        upn: String,
        password: String,
        display_name: Option<String>,
    }
    let form: Form = auth::read_form(&state, request).await?;
    match create_user(
        &state,
        &form.upn,
        &form.password,
        form.display_name.as_deref(),
    )
    .await
    {
        Ok(user) => {
            audit(
                &state,
                &session.actor(),
                "user.create",
                Some(&user.upn),
                json!({ "id": user.id }),
            )
            .await;
            Ok(Redirect::to("/console/users?done=user").into_response())
        }
        Err(CreateUserError::Store(e)) => Err(e.into()),
        Err(e) => users_page(&state, &session, None, Some(&e.to_string())).await,
    }
}

/// `POST /console/admins`.
pub async fn add_admin(
    State(state): State<AppState>,
    session: ConsoleSession,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        username: String,
        password: String,
        role: Option<String>,
    }
    let form: Form = auth::read_form(&state, request).await?;
    let role = form
        .role
        .as_deref()
        .and_then(casement_store::Role::from_name)
        .unwrap_or(casement_store::Role::Administrator);
    match create_admin(&state, &form.username, &form.password, None, role).await {
        Ok(admin) => {
            audit(
                &state,
                &session.actor(),
                "admin.create",
                Some(&admin.username),
                json!({ "id": admin.id }),
            )
            .await;
            Ok(Redirect::to("/console/users?done=admin").into_response())
        }
        Err(CreateAdminError::Store(e)) => Err(e.into()),
        Err(e) => users_page(&state, &session, None, Some(&e.to_string())).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<u32>,
}

/// `GET /console/audit`.
pub async fn audit_log(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let limit = q.limit.unwrap_or(200).clamp(1, 2000);
    let entries = state.store.audit_log(limit).await?;
    let body = html! {
        h1 { "Audit log" }
        p.muted { "Every administrative action, newest first (the last " (limit) ")." }
        div.table-wrap { table #audit {
            thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "On" } th scope="col" { "Details" } } }
            tbody { @for e in &entries { tr {
                td { (words::absolute(e.at)) }
                td { (e.actor) }
                td { (e.action) }
                td.mono { (e.target.as_deref().unwrap_or("")) }
                td.mono { (e.detail) }
            } } }
        } }
    };
    Ok(console_page(&session, "Audit log", "/console/audit", body))
}
