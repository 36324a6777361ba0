//! The end users' portal (`/portal`): sign in with the enrollment user directory, see your
//! devices and the app catalog, install an app on one of your devices with one click, and watch
//! each install's status move (queued → pushed → delivered → installed / failed) by itself.
//!
//! A user reaches only their own devices and installs: every device id that comes in is checked
//! against the signed-in user, and anything else answers exactly like an id that does not exist.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use casement_store::{AppRow, ChannelState, Device, DeviceFilter, InstallRow, WebSessionKind};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{self, PortalSession};
use super::page::{self, Site, WebError, alert, respond};
use super::{assets, audit, words};
use crate::services::commands::QueueError;
use crate::services::installs::{self, InstallError, InstallView};
use crate::state::AppState;

/// An install as the portal shows it: the status with the app's and the device's names and a
/// short label.
#[derive(Debug, Clone, Serialize)]
pub struct PortalInstall {
    /// The install and its status (`status`, `detail` in words).
    #[serde(flatten)]
    pub install: InstallView,
    /// The app's name and version.
    pub app_name: String,
    /// The device's name.
    pub device_name: String,
    /// "Waiting", "Starting", "Installing", "Installed", "Failed".
    pub label: &'static str,
    /// `ok`, `wait`, `bad`: the badge's colour.
    pub tone: &'static str,
}

/// Why the portal refused an install request.
#[derive(Debug)]
pub enum PortalInstallError {
    /// Not one of the user's active devices, or no such app: 404.
    NotFound(&'static str),
    /// The app cannot be installed on that device: 422, with the reason.
    Refused(String),
    /// Storage failed.
    Store(WebError),
}

/// `GET /portal`.
pub async fn home(
    State(state): State<AppState>,
    session: PortalSession,
    Query(q): Query<HomeQuery>,
) -> Result<Response, WebError> {
    let user = &session.user;
    let devices = my_devices(&state, &user.id).await?;
    let mut channels = HashMap::new();
    for d in &devices {
        let channel = state.store.push_channel(&d.id).await?;
        channels.insert(d.id.clone(), channel.map(|c| c.state));
    }
    let apps = state.store.list_apps().await?;
    let installs = my_installs(&state, &user.id).await?;
    let now = state.clock.now_ms();
    let body = html! {
        h1 { "Hello, " (user.display_name) }
        @if q.requested.is_some() {
            p.notice role="status" { "Your install was requested. Its status below updates by itself." }
        }
        div.portal {
            div {
                section aria-labelledby="devices-h" {
                    h2 #devices-h { "Your devices" }
                    @if devices.is_empty() {
                        p.muted { "You have no enrolled devices yet. Enroll a PC from its Settings (Workplace / Access work or school) with your account, then come back." }
                    } @else {
                        div.grid {
                            @for d in &devices {
                                (device_card(d, channels.get(&d.id).copied().flatten(), now))
                            }
                        }
                    }
                }
                section aria-labelledby="apps-h" {
                    h2 #apps-h { "Apps you can install" }
                    @if apps.is_empty() {
                        p.muted { "Your administrator has not published any apps yet." }
                    } @else {
                        div.grid {
                            @for app in &apps {
                                (app_card(app, &devices, &session.session.csrf_token))
                            }
                        }
                    }
                }
            }
            aside {
                section #installs aria-labelledby="installs-h" {
                    h2 #installs-h { "Your installs" }
                    ul #install-list .installs aria-live="polite" {
                        @for i in &installs {
                            (install_item(i))
                        }
                    }
                    @if installs.is_empty() {
                        p #no-installs .muted { "Nothing installed from here yet." }
                    }
                }
            }
        }
        script src=(assets::PORTAL_JS_PATH) defer {}
    };
    let signed_in = page::SignedIn {
        name: &user.upn,
        csrf: &session.session.csrf_token,
    };
    Ok(respond(
        StatusCode::OK,
        page::page(
            Site::Portal,
            "Your devices",
            Some(signed_in),
            "/portal",
            body,
        ),
    ))
}

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    requested: Option<String>,
}

fn device_card(d: &Device, channel: Option<ChannelState>, now: i64) -> Markup {
    let (tone, channel_words) = words::channel_for_user(channel);
    html! {
        article.card aria-label=(words::device_name(d)) {
            h3 { (words::device_name(d)) }
            dl.facts {
                dt { "Model" } dd { (words::model(d).unwrap_or_else(|| "Not reported yet".into())) }
                dt { "System" } dd { (words::os(d)) }
                dt { "Last check-in" }
                dd {
                    @match (d.last_session_at, d.last_context) {
                        (Some(at), Some(context)) => { (words::when(at, now)) ", " (words::context_for_user(context)) }
                        (Some(at), None) => { (words::when(at, now)) }
                        _ => { "Not yet" }
                    }
                }
                dt { "Instant installs" }
                dd { span class=(format!("badge {tone}")) { (if tone == "ok" { "Ready" } else if tone == "bad" { "Unavailable" } else { "Not yet" }) } " " (channel_words) }
            }
        }
    }
}

fn app_card(app: &AppRow, devices: &[Device], csrf: &str) -> Markup {
    let platforms = app_platforms(app);
    let eligible: Vec<&Device> = devices
        .iter()
        .filter(|d| platforms.iter().any(|p| p == d.platform.as_str()))
        .collect();
    let select_id = format!("device-for-{}", app.id);
    html! {
        article.card aria-label=(app.name) {
            h3 { (app.name) " " span.muted { (app.version) } }
            @if eligible.is_empty() {
                p.muted { "Not available for your devices." }
            } @else {
                form.install.inline method="post" action="/portal/installs" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="app_id" value=(app.id);
                    div {
                        label for=(select_id) { "Install on" }
                        select id=(select_id) name="device_id" {
                            @for d in &eligible {
                                option value=(d.id) { (words::device_name(d)) }
                            }
                        }
                    }
                    button type="submit" data-app=(app.name) { "Install" }
                    output.muted aria-live="polite" {}
                }
            }
        }
    }
}

fn install_item(i: &PortalInstall) -> Markup {
    html! {
        li data-install-id=(i.install.id) data-status=(i.install.status) {
            span.what { (i.app_name) " on " (i.device_name) }
            span class=(format!("badge {}", i.tone)) { (i.label) }
            span.detail { (i.install.detail) }
        }
    }
}

/// `POST /portal/installs` (a form; the script uses the JSON API instead).
pub async fn install(
    State(state): State<AppState>,
    session: PortalSession,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        app_id: String,
        device_id: String,
    }
    let form: Form = auth::read_form(&state, request).await?;
    match request_install(&state, &session, &form.device_id, &form.app_id).await {
        Ok(_) => Ok(Redirect::to("/portal?requested=1#installs").into_response()),
        Err(PortalInstallError::NotFound(what)) => Err(WebError::not_found(what)),
        Err(PortalInstallError::Refused(reason)) => Err(WebError::bad_request(reason)),
        Err(PortalInstallError::Store(e)) => Err(e),
    }
}

/// Requests an install of `app_id` on the signed-in user's own active device `device_id`.
pub async fn request_install(
    state: &AppState,
    session: &PortalSession,
    device_id: &str,
    app_id: &str,
) -> Result<PortalInstall, PortalInstallError> {
    let store_err = |e: casement_store::StoreError| PortalInstallError::Store(e.into());
    // Ownership first: another user's device answers exactly like one that does not exist.
    let device = state
        .store
        .device(device_id)
        .await
        .map_err(store_err)?
        .filter(|d| d.user_id == session.user.id && d.retired_at.is_none())
        .ok_or(PortalInstallError::NotFound("such device"))?;
    let actor = format!("portal:{}", session.user.upn);
    let view = installs::request(state, &device.id, app_id, &actor)
        .await
        .map_err(|e| match e {
            InstallError::UnknownApp => PortalInstallError::NotFound("such app"),
            InstallError::Queue(QueueError::UnknownDevice | QueueError::Retired) => {
                PortalInstallError::NotFound("such device")
            }
            InstallError::NoPayload(_) => PortalInstallError::Refused(format!(
                "This app cannot be installed on {}.",
                words::platform(device.platform)
            )),
            InstallError::Queue(QueueError::Refused(reason)) => {
                PortalInstallError::Refused(format!("The install could not be prepared: {reason}"))
            }
            InstallError::Queue(QueueError::Store(s)) | InstallError::Store(s) => store_err(s),
        })?;
    audit(
        state,
        &actor,
        "install.request",
        Some(&device.id),
        json!({ "install": view.id, "app": view.app_id }),
    )
    .await;
    let app = state.store.app(app_id).await.map_err(store_err)?;
    Ok(decorate(view, app.as_ref(), &device))
}

/// The signed-in user's installs, newest first, with names.
pub async fn my_installs(state: &AppState, user_id: &str) -> Result<Vec<PortalInstall>, WebError> {
    let rows: Vec<InstallRow> = state.store.installs_of_user(user_id, 50).await?;
    let mut apps: HashMap<String, Option<AppRow>> = HashMap::new();
    let mut devices: HashMap<String, Option<Device>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if !apps.contains_key(&row.app_id) {
            apps.insert(row.app_id.clone(), state.store.app(&row.app_id).await?);
        }
        if !devices.contains_key(&row.device_id) {
            devices.insert(
                row.device_id.clone(),
                state.store.device(&row.device_id).await?,
            );
        }
        let app = apps.get(&row.app_id).cloned().flatten();
        let device = devices.get(&row.device_id).cloned().flatten();
        let view = installs::view(state, row).await?;
        if let Some(device) = device {
            out.push(decorate(view, app.as_ref(), &device));
        }
    }
    Ok(out)
}

fn decorate(view: InstallView, app: Option<&AppRow>, device: &Device) -> PortalInstall {
    let (tone, label) = words::install_label(view.status);
    PortalInstall {
        app_name: app.map_or_else(
            || "An app".to_owned(),
            |a| format!("{} {}", a.name, a.version),
        ),
        device_name: words::device_name(device),
        label,
        tone,
        install: view,
    }
}

async fn my_devices(state: &AppState, user_id: &str) -> Result<Vec<Device>, WebError> {
    Ok(state
        .store
        .list_devices(&DeviceFilter {
            user_id: Some(user_id.to_owned()),
            limit: Some(100),
            ..DeviceFilter::default()
        })
        .await?)
}

fn app_platforms(app: &AppRow) -> Vec<String> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&app.payloads)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// `GET /portal/login`.
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if auth::current(&state, &headers, WebSessionKind::Portal)
        .await?
        .is_some()
    {
        return Ok(Redirect::to("/portal").into_response());
    }
    let (token, set) = auth::login_token(&headers);
    let mut response = respond(StatusCode::OK, login_form(Site::Portal, &token, None, ""));
    if let Some(set) = set {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    Ok(response)
}

/// `POST /portal/login`.
pub async fn login(State(state): State<AppState>, request: Request) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        upn: String,
        password: String,
    }
    let address = auth::address_key(&state, &request);
    let headers = request.headers().clone();
    let form: Form = auth::read_form(&state, request).await?;
    let (token, _) = auth::login_token(&headers);
    let user =
        crate::services::users::authenticate(&state, &form.upn, &form.password, &address).await;
    let user = match user {
        Ok(user) => user,
        Err(e) => {
            let (status, message) = auth::refusal(e)?;
            return Ok(respond(
                status,
                login_form(Site::Portal, &token, Some(&message), &form.upn),
            ));
        }
    };
    let Some(user) = user else {
        return Ok(respond(
            StatusCode::UNAUTHORIZED,
            login_form(
                Site::Portal,
                &token,
                Some("The user name or password is incorrect."),
                &form.upn,
            ),
        ));
    };
    let cookie = auth::sign_in(&state, WebSessionKind::Portal, &user.id).await?;
    let mut response = Redirect::to("/portal").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /portal/logout`.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let cookie = auth::sign_out(&state, &headers, WebSessionKind::Portal).await?;
    let mut response = Redirect::to("/portal/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The sign-in page of the portal or the console.
pub fn login_form(site: Site, csrf: &str, error: Option<&str>, name: &str) -> Markup {
    let (title, action, field, label, hint) = match site {
        Site::Portal => (
            "Sign in",
            "/portal/login",
            "upn",
            "Work account",
            "The account you enrolled your PC with, e.g. alice@contoso.com",
        ),
        Site::Console => (
            "Administrator sign-in",
            "/console/login",
            "username",
            "Administrator name",
            "An administrator account of this server (not the API token)",
        ),
    };
    let hint_id = format!("{field}-hint");
    let body = html! {
        div.narrow {
            h1 { (title) }
            (alert(error))
            form.card method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                label for=(field) { (label) }
                input id=(field) type="text" name=(field) value=(name) autocomplete="username" autocapitalize="none" spellcheck="false" required aria-describedby=(hint_id);
                p.muted id=(hint_id) { (hint) }
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                p { button type="submit" { "Sign in" } }
            }
        }
    };
    page::page(site, title, None, "", body)
}
