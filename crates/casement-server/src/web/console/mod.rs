//! The administrators' console (`/console`): sign in with an administrator account, then the
//! dashboard, devices (list, device page with its queue, sessions, channel, actions and
//! profiles), configuration profiles and device groups (issue 14), a
//! session's SyncML side by side, the app catalog, users and administrators, the audit log,
//! the team (roles, accounts, personal API tokens). What each route needs is in
//! `crate::authz::CONSOLE_ROUTES`, checked when the `ConsoleSession` is extracted.
//! Every action is written to the audit log as `admin:<name>`.

mod actions;
mod chart;
mod device;
mod device_forms;
mod device_profiles;
mod devices;
mod directory;
mod groups;
mod profile;
mod profiles;
mod sessions;
mod team;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use casement_store::WebSessionKind;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, ConsoleSession};
use super::page::{self, Site, WebError, respond};
use super::portal::login_form;
use super::{audit, words};
use crate::state::AppState;

/// Devices without a session for this long count as stale.
pub const STALE_AFTER_MS: i64 = 7 * 86_400_000;

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(dashboard))
        .route(
            "/console/",
            get(|| async { Redirect::permanent("/console") }),
        )
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/devices", get(devices::list))
        .route("/console/devices.csv", get(devices::csv))
        .route("/console/devices/{id}", get(device::show))
        .route("/console/devices/{id}/commands", post(device_forms::queue))
        .route(
            "/console/devices/{id}/recording",
            post(device_forms::recording),
        )
        .route(
            "/console/devices/{id}/installs",
            post(device_forms::install),
        )
        .route("/console/commands/{id}/cancel", post(device_forms::cancel))
        .route(
            "/console/devices/{id}/actions",
            get(actions::show).post(actions::create),
        )
        .route(
            "/console/action-requests/{id}/approve",
            post(actions::approve),
        )
        .route(
            "/console/action-requests/{id}/reject",
            post(actions::reject),
        )
        .route("/console/devices/{id}/profiles", get(device_profiles::show))
        .route(
            "/console/profiles",
            get(profiles::list).post(profiles::create),
        )
        .route("/console/profiles/{id}", get(profile::show))
        .route("/console/profiles/{id}/assignments", post(profile::assign))
        .route("/console/profiles/{id}/unassign", post(profile::unassign))
        .route("/console/profiles/{id}/delete", post(profile::delete))
        .route("/console/groups", get(groups::list).post(groups::create))
        .route("/console/groups/{id}/delete", post(groups::delete))
        .route("/console/sessions/{id}", get(sessions::show))
        .route(
            "/console/apps",
            get(directory::apps).post(directory::add_app),
        )
        .route(
            "/console/users",
            get(directory::users).post(directory::add_user),
        )
        .route("/console/admins", post(directory::add_admin))
        .route("/console/audit", get(directory::audit_log))
        .route("/console/team", get(team::show))
        .route("/console/team/tokens", post(team::create_token))
        .route("/console/team/tokens/{id}/revoke", post(team::revoke_token))
        .route("/console/team/admins/{id}/role", post(team::set_role))
}

/// A console page for the signed-in administrator.
pub fn console_page(
    session: &ConsoleSession,
    title: &str,
    current: &str,
    body: Markup,
) -> Response {
    let signed_in = page::SignedIn {
        name: &session.admin.username,
        csrf: &session.session.csrf_token,
    };
    respond(
        StatusCode::OK,
        page::page(Site::Console, title, Some(signed_in), current, body),
    )
}

/// The hidden CSRF field of a console form.
pub fn csrf_field(session: &ConsoleSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.session.csrf_token); }
}

#[derive(Debug, Deserialize)]
struct DashboardQuery {
    range: Option<String>,
}

/// `GET /console`: counts and the sessions-per-context chart.
async fn dashboard(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, WebError> {
    let now = state.clock.now_ms();
    let (range, since, bucket) = match q.range.as_deref() {
        Some("14d") => ("14d", now - 14 * 86_400_000, 86_400_000),
        _ => ("24h", now - 24 * 3_600_000, 3_600_000),
    };
    let since = since - since.rem_euclid(bucket);
    let counts = state.store.sessions_per_context(since, bucket).await?;
    let fleet = state.store.fleet_counts(now - STALE_AFTER_MS).await?;
    let total = fleet.devices;
    let stale = fleet.stale;
    let by_channel: Vec<(&str, u64)> = [
        "active",
        "expiring",
        "configuring",
        "revoked",
        "failed",
        "unconfigured",
    ]
    .into_iter()
    .map(|state| {
        let n = fleet
            .by_channel
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n);
        (state, n)
    })
    .collect();
    let body = html! {
        h1 { "Dashboard" }
        div.stats {
            div.stat { b { (total) } a href="/console/devices" { "enrolled devices" } }
            div.stat { b { (stale) } a href="/console/devices?stale=on" { "stale (no session in 7 days)" } }
            @for (channel, n) in &by_channel {
                div.stat {
                    b { (n) }
                    a href=(format!("/console/devices?channel={channel}")) { "channel " (channel) }
                }
            }
        }
        h2 #chart-h { "Sessions per context" }
        p {
            @if range == "24h" { "Last 24 hours, per hour · " a href="/console?range=14d" { "last 14 days" } }
            @else { "Last 14 days, per day · " a href="/console?range=24h" { "last 24 hours" } }
        }
        (chart::sessions_per_context(&counts, since, now, bucket))
    };
    Ok(console_page(&session, "Dashboard", "/console", body))
}

/// `GET /console/login`.
async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if auth::current(&state, &headers, WebSessionKind::Console)
        .await?
        .is_some()
    {
        return Ok(Redirect::to("/console").into_response());
    }
    let (token, set) = auth::login_token(&headers);
    let mut response = respond(StatusCode::OK, login_form(Site::Console, &token, None, ""));
    if let Some(set) = set {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    Ok(response)
}

/// `POST /console/login`: administrator accounts only (end users of the directory are refused
/// like a wrong password).
async fn login(State(state): State<AppState>, request: Request) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        username: String,
        password: String,
    }
    let address = auth::address_key(&state, &request);
    let headers = request.headers().clone();
    let form: Form = auth::read_form(&state, request).await?;
    let (token, _) = auth::login_token(&headers);
    let admin =
        crate::services::admins::authenticate(&state, &form.username, &form.password, &address)
            .await;
    let admin = match admin {
        Ok(admin) => admin,
        Err(e) => {
            let (status, message) = auth::refusal(e)?;
            return Ok(respond(
                status,
                login_form(Site::Console, &token, Some(&message), &form.username),
            ));
        }
    };
    let Some(admin) = admin else {
        let actor = format!("console:{}", form.username.trim());
        audit(
            &state,
            &actor,
            "console.sign-in-failed",
            None,
            json!({ "address": address }),
        )
        .await;
        return Ok(respond(
            StatusCode::UNAUTHORIZED,
            login_form(
                Site::Console,
                &token,
                Some("The name or password is incorrect."),
                &form.username,
            ),
        ));
    };
    let cookie = auth::sign_in(&state, WebSessionKind::Console, &admin.id).await?;
    audit(
        &state,
        &format!("admin:{}", admin.username),
        "console.sign-in",
        None,
        json!({ "address": address }),
    )
    .await;
    let mut response = Redirect::to("/console").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /console/logout`.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    if let Some(s) = auth::current(&state, &headers, WebSessionKind::Console).await? {
        let name = state
            .store
            .admin_by_id(&s.subject_id)
            .await?
            .map(|a| a.username);
        let actor = format!("admin:{}", name.unwrap_or(s.subject_id));
        audit(&state, &actor, "console.sign-out", None, json!({})).await;
    }
    let cookie = auth::sign_out(&state, &headers, WebSessionKind::Console).await?;
    let mut response = Redirect::to("/console/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// A command or channel state as a badge.
pub fn badge(tone: &str, text: &str) -> Markup {
    html! { span class=(format!("badge {tone}")) { (text) } }
}

/// A time for the console: relative, with the absolute time on hover and for screen readers.
/// Display only: relative to the system clock (decisions read `AppState::clock`).
pub fn time(at: i64) -> Markup {
    words::when(at, crate::clock::now_ms())
}
