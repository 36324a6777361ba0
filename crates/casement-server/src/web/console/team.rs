//! The console's Team page (`/console/team`): what each role may do (the grant table itself),
//! administrator accounts and their roles, personal API tokens (create: the value is shown on
//! the answer page once; revoke).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use casement_store::Role;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::{audit, console_page, csrf_field, time};
use crate::authz::{self, GRANTS, Permission};
use crate::services::tokens::{self, NewToken, TokenError};
use crate::state::AppState;
use crate::web::auth::{self as web_auth, ConsoleSession};
use crate::web::page::{WebError, alert};

/// `GET /console/team`.
pub async fn show(
    State(state): State<AppState>,
    session: ConsoleSession,
) -> Result<Response, WebError> {
    page(&state, &session, None, None).await
}

async fn page(
    state: &AppState,
    session: &ConsoleSession,
    created: Option<(&str, &str)>,
    error: Option<&str>,
) -> Result<Response, WebError> {
    let admins = state.store.list_admins().await?;
    let now = state.clock.now_ms();
    let token_list = if authz::grants(session.admin.role, Permission::TokensRead) {
        state.store.list_api_tokens().await?
    } else {
        Vec::new()
    };
    let can_manage_accounts = authz::grants(session.admin.role, Permission::AccountsManage);
    let can_manage_tokens = authz::grants(session.admin.role, Permission::TokensManage);
    let body = html! {
        h1 { "Team" }
        (alert(error))
        @if let Some((name, secret)) = created {
            div.card role="status" #new-token {
                p { "Token " b { (name) } " created. Copy it now: it is shown this once." }
                p { code.mono #token-value { (secret) } }
            }
        }
        h2 #roles-h { "Roles" }
        p.muted { "What each role may do. Signed in as " (session.admin.username) " (" (session.admin.role.as_str()) ")." }
        div.table-wrap { table #roles {
            thead { tr {
                th scope="col" { "Permission" }
                @for role in Role::ALL { th scope="col" { (role.as_str()) } }
            } }
            tbody { @for (permission, roles) in GRANTS { tr {
                td.mono { (permission.name()) }
                @for held in roles { td { @if *held { "yes" } @else { "—" } } }
            } } }
        } }
        h2 #accounts-h { "Administrator accounts" }
        div.table-wrap { table #accounts {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Added" } } }
            tbody { @for a in &admins { tr {
                td { (a.username) }
                td {
                    @if can_manage_accounts {
                        form.inline method="post" action=(format!("/console/team/admins/{}/role", a.id)) {
                            (csrf_field(session))
                            select name="role" aria-label=(format!("Role of {}", a.username)) {
                                @for role in Role::ALL {
                                    option value=(role.as_str()) selected[role == a.role] { (role.as_str()) }
                                }
                            }
                            " " button type="submit" { "Change" }
                        }
                    } @else { (a.role.as_str()) }
                }
                td { (time(a.created_at)) }
            } } }
        } }
        h2 #tokens-h { "Personal API tokens" }
        p.muted { "Use one as " code { "Authorization: Bearer <token>" } " on the API, or " code { "CASEMENT_ADMIN_TOKEN" } " for casement admin." }
        @if token_list.is_empty() { p { "No tokens." } } @else {
            div.table-wrap { table #tokens {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Owner" }
                    th scope="col" { "Status" } th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { "" }
                } }
                tbody { @for t in &token_list { tr {
                    td { (t.name) } td { (t.role.as_str()) } td { (t.owner) }
                    td { (tokens::status(t, now)) }
                    td { (time(t.expires_at)) }
                    td { @match t.last_used_at { Some(at) => (time(at)), None => "never" } }
                    td { @if can_manage_tokens && t.revoked_at.is_none() {
                        form.inline method="post" action=(format!("/console/team/tokens/{}/revoke", t.id)) {
                            (csrf_field(session))
                            button type="submit" { "Revoke" }
                        }
                    } }
                } } }
            } }
        }
        @if can_manage_tokens {
            h3 { "Create a token" }
            form.card method="post" action="/console/team/tokens" {
                (csrf_field(session))
                label for="token-name" { "Name" }
                input #token-name type="text" name="name" required maxlength="100" placeholder="siem reader";
                label for="token-role" { "Role" }
                select #token-role name="role" {
                    @for role in Role::ALL { option value=(role.as_str()) { (role.as_str()) } }
                }
                label for="token-days" { "Expires in (days)" }
                input #token-days type="number" name="expires_in_days" min="1" max="3650" value="90";
                label for="token-service" { "Service account (empty: your own token)" }
                input #token-service type="text" name="service_account" autocomplete="off";
                p { button type="submit" { "Create token" } }
            }
        }
    };
    Ok(console_page(session, "Team", "/console/team", body))
}

/// `POST /console/team/tokens`: the answer shows the token once (never in a URL).
pub async fn create_token(
    State(state): State<AppState>,
    session: ConsoleSession,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        name: String,
        role: String,
        expires_in_days: Option<String>,
        service_account: Option<String>,
    }
    let form: Form = web_auth::read_form(&state, request).await?;
    let Some(role) = Role::from_name(&form.role) else {
        return page(&state, &session, None, Some("Unknown role.")).await;
    };
    let days = match form.expires_in_days.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => match d.parse() {
            Ok(d) => Some(d),
            Err(_) => return page(&state, &session, None, Some("Days must be a number.")).await,
        },
    };
    let new = NewToken {
        name: form.name,
        role,
        expires_in_days: days,
        service_account: form.service_account.filter(|s| !s.trim().is_empty()),
    };
    match tokens::create(&state, &session.principal(), &new).await {
        Ok(created) => {
            page(
                &state,
                &session,
                Some((&created.token.name, &created.secret)),
                None,
            )
            .await
        }
        Err(TokenError::Invalid(reason)) => page(&state, &session, None, Some(&reason)).await,
        Err(TokenError::Store(e)) => Err(e.into()),
    }
}

/// `POST /console/team/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    tokens::revoke(&state, &session.principal(), &id).await?;
    Ok(Redirect::to("/console/team#tokens-h").into_response())
}

/// `POST /console/team/admins/{id}/role`.
pub async fn set_role(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        role: String,
    }
    let form: Form = web_auth::read_form(&state, request).await?;
    let Some(role) = Role::from_name(&form.role) else {
        return Err(WebError::bad_request("Unknown role."));
    };
    if id == session.admin.id && role != Role::Administrator {
        let mut response = page(
            &state,
            &session,
            None,
            Some(
                "You cannot take the administrator role from yourself; ask another administrator.",
            ),
        )
        .await?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    match crate::services::admins::set_role(&state, &id, role).await {
        Ok(_) => {}
        Err(e @ crate::services::admins::SetRoleError::LastAdministrator(_)) => {
            let mut response = page(&state, &session, None, Some(&e.to_string())).await?;
            *response.status_mut() = StatusCode::CONFLICT;
            return Ok(response);
        }
        Err(e) => return Err(e.into()),
    }
    audit(
        &state,
        &session.actor(),
        "admin.role",
        Some(&id),
        json!({ "role": role.as_str() }),
    )
    .await;
    Ok(Redirect::to("/console/team#accounts-h").into_response())
}
