//! Devices: the searchable, filterable, paged list, and a device's page with its inventory,
//! sessions, queue (what each pending command waits for), channel and pushes, installs, and the
//! actions (queue inventory, reset password, unenroll, push configuration, install, cancel).

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use casement_dm::catalog::CommandRequest;
use casement_dm::{ContextPolicy, WaitsFor};
use casement_store::{
    CommandRow, CommandState, Device, DeviceQuery, Platform, PushState, StoreError,
};
use maud::{Markup, html};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::json;

use super::{STALE_AFTER_MS, badge, console_page, csrf_field, time};
use crate::services::commands::{QueueError, queue as queue_commands};
use crate::services::installs::{self, InstallError};
use crate::state::AppState;
use crate::web::auth::{self, ConsoleSession};
use crate::web::page::{WebError, alert, notice};
use crate::web::{audit, words};

/// Devices per page.
pub const PAGE_SIZE: u32 = 50;

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    platform: Option<String>,
    context: Option<String>,
    channel: Option<String>,
    stale: Option<String>,
    retired: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

impl ListQuery {
    /// The query string of these filters (no paging), for the pager's links.
    fn filters(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("q", &self.q),
            ("platform", &self.platform),
            ("context", &self.context),
            ("channel", &self.channel),
            ("stale", &self.stale),
            ("retired", &self.retired),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!(
                    "{name}={}",
                    utf8_percent_encode(v, NON_ALPHANUMERIC)
                ));
            }
        }
        parts.join("&")
    }
}

/// `GET /console/devices`.
pub async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let now = state.clock.now_ms();
    let non_empty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let query = DeviceQuery {
        search: non_empty(&q.q),
        platform: non_empty(&q.platform).and_then(|p| Platform::from_name(&p)),
        last_context: non_empty(&q.context),
        channel_state: non_empty(&q.channel),
        stale_before: q.stale.is_some().then_some(now - STALE_AFTER_MS),
        include_retired: q.retired.is_some(),
        after_id: non_empty(&q.after),
        before_id: non_empty(&q.before),
        limit: Some(PAGE_SIZE),
    };
    let page = state.store.query_devices(&query).await?;
    let filters = q.filters();
    let link = |cursor: &str, id: &str| {
        let sep = if filters.is_empty() { "" } else { "&" };
        format!(
            "/console/devices?{filters}{sep}{cursor}={}",
            utf8_percent_encode(id, NON_ALPHANUMERIC)
        )
    };
    let selected = |v: &Option<String>, option: &str| v.as_deref() == Some(option);
    let body = html! {
        h1 { "Devices" }
        p { a.button #download-csv href="/console/devices.csv" download="devices.csv" { "Download CSV" } }
        form.filters.card method="get" action="/console/devices" role="search" {
            div {
                label for="q" { "Search" }
                input #q type="search" name="q" value=(q.q.as_deref().unwrap_or("")) placeholder="ID, name or user";
            }
            div {
                label for="platform" { "Platform" }
                select #platform name="platform" {
                    option value="" { "Any" }
                    option value="windows-8.1" selected[selected(&q.platform, "windows-8.1")] { "Windows 8.1" }
                    option value="windows-10" selected[selected(&q.platform, "windows-10")] { "Windows 10/11" }
                }
            }
            div {
                label for="context" { "Last session" }
                select #context name="context" {
                    option value="" { "Any" }
                    @for c in ["Machine", "Maintenance", "Apps"] {
                        option value=(c) selected[selected(&q.context, c)] { (c) }
                    }
                    option value="none" selected[selected(&q.context, "none")] { "Never" }
                }
            }
            div {
                label for="channel" { "Push channel" }
                select #channel name="channel" {
                    option value="" { "Any" }
                    @for c in ["active", "expiring", "configuring", "revoked", "failed", "unconfigured"] {
                        option value=(c) selected[selected(&q.channel, c)] { (c) }
                    }
                }
            }
            div {
                label.check { input type="checkbox" name="stale" checked[q.stale.is_some()]; "Stale (no session in 7 days)" }
                label.check { input type="checkbox" name="retired" checked[q.retired.is_some()]; "Include retired" }
            }
            div { button type="submit" { "Show" } }
        }
        p #result-count role="status" {
            (page.total) (if page.total == 1 { " device matches." } else { " devices match." })
            @if !page.rows.is_empty() { " Showing " (page.rows.len()) " on this page." }
        }
        @if !page.rows.is_empty() {
            div.table-wrap {
                table.responsive {
                    thead { tr {
                        th scope="col" { "Device" } th scope="col" { "User" } th scope="col" { "Platform" }
                        th scope="col" { "Last session" } th scope="col" { "Push channel" }
                    } }
                    tbody {
                        @for row in &page.rows {
                            @let d = &row.device;
                            @let (tone, channel) = words::channel_for_admin(row.channel_state);
                            tr {
                                td data-label="Device" {
                                    a href=(device_href(&d.id)) { (words::device_name(d)) }
                                    br; span.mono.muted { (d.id) }
                                    @if d.retired_at.is_some() { " " (badge("none", "retired")) }
                                }
                                td data-label="User" { (d.upn) }
                                td data-label="Platform" { (words::platform(d.platform)) }
                                td data-label="Last session" {
                                    @match (d.last_session_at, d.last_context) {
                                        (Some(at), Some(c)) => { (c) " · " (words::when(at, now)) }
                                        (Some(at), None) => { (words::when(at, now)) }
                                        _ => { span.muted { "never" } }
                                    }
                                }
                                td data-label="Push channel" { (badge(tone, channel)) }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if let (true, Some(first)) = (page.has_before, page.rows.first()) {
                a rel="prev" href=(link("before", &first.device.id)) { "← Previous" }
            }
            @if let (true, Some(last)) = (page.has_after, page.rows.last()) {
                a rel="next" href=(link("after", &last.device.id)) { "Next →" }
            }
        }
    };
    Ok(console_page(&session, "Devices", "/console/devices", body))
}

/// The device page's address.
pub fn device_href(id: &str) -> String {
    format!(
        "/console/devices/{}",
        utf8_percent_encode(id, NON_ALPHANUMERIC)
    )
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

/// `GET /console/devices/{id}`.
pub async fn show(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, WebError> {
    device_page(&state, &session, &id, q.done.as_deref(), None).await
}

async fn device_page(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
    done: Option<&str>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, WebError> {
    let device = state
        .store
        .device(id)
        .await?
        .ok_or_else(|| WebError::not_found("device with that ID"))?;
    let certificate = state
        .store
        .certificates_of_device(id)
        .await?
        .into_iter()
        .next();
    let channel = state.store.push_channel(id).await?;
    let pushes = state.store.pushes_of_device(id, 20).await?;
    let commands = state.store.commands_of_device(id, 200).await?;
    let sessions = state.store.sessions_of_device(id, 25).await?;
    let inventory = state.store.inventory_of_device(id).await?;
    let apps = state.store.list_apps().await?;
    let app_names: HashMap<&str, String> = apps
        .iter()
        .map(|a| (a.id.as_str(), format!("{} {}", a.name, a.version)))
        .collect();
    let mut install_views = Vec::new();
    for install in state
        .store
        .installs_of_device(id)
        .await?
        .into_iter()
        .take(50)
    {
        install_views.push(installs::view(state, install).await?);
    }
    let (tone, channel_state) = words::channel_for_admin(channel.as_ref().map(|c| c.state));
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = html! {
        p { a href="/console/devices" { "← Devices" } }
        h1 { (words::device_name(&device)) }
        (notice(done))
        (alert(error.as_ref().map(|(_, m)| m.as_str())))
        div.grid {
            section.card aria-labelledby="facts-h" {
                h2 #facts-h { "Device" }
                dl.facts {
                    dt { "Device ID" } dd.mono { (device.id) }
                    dt { "Platform" } dd { (words::os(&device)) }
                    dt { "Model" } dd { (words::model(&device).unwrap_or_else(|| "not reported".into())) }
                    dt { "Enrolled user" } dd { (device.upn) @if let Some(sid) = &device.user_sid { br; span.mono.muted { (sid) } } }
                    dt { "Enrolled" } dd { (time(device.enrolled_at)) }
                    dt { "Last session" }
                    dd {
                        @match (device.last_session_at, device.last_context) {
                            (Some(at), Some(c)) => { (c) " · " (time(at)) br; span.muted { (words::context_for_admin(c)) } }
                            (Some(at), None) => { (time(at)) }
                            _ => { "never" }
                        }
                    }
                    @if let Some(c) = &certificate {
                        dt { "Certificate" }
                        dd {
                            span.mono { (c.thumbprint) } br;
                            "valid until " (words::absolute(c.not_after))
                            @if let Some(r) = c.revoked_at { br; (badge("bad", "revoked")) " " (time(r)) }
                        }
                    }
                    @if let Some(r) = device.retired_at {
                        dt { "Retired" } dd { (time(r)) " — " (device.retired_reason.as_deref().unwrap_or("")) }
                    }
                }
            }
            section.card aria-labelledby="channel-h" {
                h2 #channel-h { "Push channel" }
                dl.facts {
                    dt { "State" } dd { (badge(tone, channel_state)) }
                    @if let Some(c) = &channel {
                        @if let Some(host) = c.uri.as_deref().and_then(uri_host) { dt { "Host" } dd.mono { (host) } }
                        @if let Some(e) = c.expires_at { dt { "Expires" } dd { (words::absolute(e)) } }
                        @if let Some(s) = &c.status { dt { "Reported status" } dd { (s) } }
                        @if let Some(e) = &c.last_error { dt { "Last error" } dd { (e) } }
                        @if let Some(r) = &c.reason { dt { "Why" } dd { (r) } }
                        dt { "Updated" } dd { (time(c.updated_at)) }
                    }
                }
                h3 { "Pushes" }
                @if pushes.is_empty() { p.muted { "None sent." } } @else {
                    div.table-wrap { table {
                        thead { tr { th scope="col" { "Queued" } th scope="col" { "State" } th scope="col" { "Tries" } th scope="col" { "WNS said" } } }
                        tbody { @for p in &pushes { tr {
                            td { (time(p.created_at)) }
                            td { (badge(match p.state { PushState::Sent => "ok", PushState::Failed => "bad", _ => "wait" }, p.state.as_str())) }
                            td { (p.attempts) }
                            td { (p.last_outcome.as_deref().unwrap_or("—")) }
                        } } }
                    } }
                }
            }
        }
        @if device.retired_at.is_none() {
            section aria-labelledby="actions-h" {
                h2 #actions-h { "Actions" }
                p { a #device-actions-link href=(format!("{}/actions", device_href(&device.id))) { "Lock, reboot or wipe this device" } }
                (actions(session, &device, &apps))
            }
        }
        section aria-labelledby="queue-h" {
            h2 #queue-h { "Command queue" }
            @if commands.is_empty() { p.muted { "Nothing was ever queued." } } @else {
                div.table-wrap { table.responsive #queue {
                    thead { tr {
                        th scope="col" { "Command" } th scope="col" { "Class" } th scope="col" { "State" }
                        th scope="col" { "Device said" } th scope="col" { "Queued" } th scope="col" { span.sr-only { "Action" } }
                    } }
                    tbody { @for c in &commands { (command_row(session, c)) } }
                } }
            }
        }
        section aria-labelledby="installs-h" {
            h2 #installs-h { "Installs" }
            @if install_views.is_empty() { p.muted { "None." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "App" } th scope="col" { "Status" } th scope="col" { "Requested" } } }
                    tbody { @for i in &install_views {
                        @let (tone, _) = words::install_label(i.status);
                        tr {
                            td { (app_names.get(i.app_id.as_str()).cloned().unwrap_or_else(|| i.app_id.clone())) }
                            td { (badge(tone, i.status)) " " span.muted { (i.detail) } }
                            td { (time(i.created_at)) " by " (i.requested_by) }
                        }
                    } }
                } }
            }
        }
        section aria-labelledby="sessions-h" {
            h2 #sessions-h { "Sessions" }
            @if sessions.is_empty() { p.muted { "No management session yet." } } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "Started" } th scope="col" { "Context" } th scope="col" { "How it was determined" }
                        th scope="col" { "Outcome" } th scope="col" { "Messages" } th scope="col" { "Commands" }
                    } }
                    tbody { @for s in &sessions { tr {
                        td { a href=(format!("/console/sessions/{}", utf8_percent_encode(&s.id, NON_ALPHANUMERIC))) { (words::absolute(s.started_at)) } }
                        td { strong { (s.context) } }
                        td { (words::context_reason(&s.reason)) }
                        td { (s.outcome.as_deref().unwrap_or(if s.ended_at.is_none() { "in progress" } else { "—" })) }
                        td { (s.message_count) }
                        td { (s.commands_sent) }
                    } } }
                } }
            }
        }
        section aria-labelledby="inventory-h" {
            h2 #inventory-h { "Inventory" }
            @if inventory.is_empty() { p.muted { "Nothing read yet. Queue an inventory above." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Node" } th scope="col" { "Value" } th scope="col" { "Read" } } }
                    tbody { @for i in &inventory { tr {
                        td.mono { (i.loc_uri) }
                        td.mono { (i.value.as_deref().unwrap_or("")) }
                        td { (time(i.read_at)) }
                    } } }
                } }
            }
        }
    };
    let mut response = console_page(
        session,
        &words::device_name(&device),
        "/console/devices",
        body,
    );
    *response.status_mut() = status;
    Ok(response)
}

fn actions(session: &ConsoleSession, device: &Device, apps: &[casement_store::AppRow]) -> Markup {
    let action = format!("{}/commands", device_href(&device.id));
    html! {
        div.actions {
            form method="post" action=(action) {
                h3 { "Read inventory" }
                (csrf_field(session))
                input type="hidden" name="kind" value="inventory";
                label for="inv-set" { "What" }
                select #inv-set name="set" {
                    option value="" { "The usual sets" }
                    @for set in ["os", "computer", "bios", "mdm-client", "devinfo", "devdetail", "device-status", "apps"] {
                        option value=(set) { (set) }
                    }
                }
                p { button type="submit" { "Queue inventory" } }
            }
            form method="post" action=(action) {
                h3 { "Configure push (WNS)" }
                (csrf_field(session))
                input type="hidden" name="kind" value="push-config";
                p.muted { "Sets up the device's push channel and reads it back. Needs a Maintenance session." }
                p { button type="submit" { "Queue push configuration" } }
            }
            @if device.platform == Platform::Windows81 {
                form method="post" action=(action) {
                    h3 { "Reset a password" }
                    (csrf_field(session))
                    input type="hidden" name="kind" value="reset-password";
                    label for="rp-user" { "User" }
                    input #rp-user type="text" name="user" value=(device.upn) autocomplete="off" required;
                    label for="rp-password" { "New password" }
                    input #rp-password type="password" name="password" autocomplete="new-password" required;
                    p { button type="submit" { "Queue password reset" } }
                }
            }
            @if !apps.is_empty() {
                form method="post" action=(format!("{}/installs", device_href(&device.id))) {
                    h3 { "Install an app" }
                    (csrf_field(session))
                    label for="app" { "App" }
                    select #app name="app_id" {
                        @for a in apps { option value=(a.id) { (a.name) " " (a.version) } }
                    }
                    p { button type="submit" { "Install" } }
                }
            }
            form method="post" action=(action) {
                h3 { "Unenroll" }
                (csrf_field(session))
                input type="hidden" name="kind" value="unenroll";
                label.check { input type="checkbox" name="confirm" required; "Remove this device from management" }
                p { button.danger type="submit" { "Queue unenrollment" } }
            }
        }
    }
}

fn command_row(session: &ConsoleSession, c: &CommandRow) -> Markup {
    let waits_for = (c.state == CommandState::Pending)
        .then_some(c.class)
        .map(|class| {
            WaitsFor {
                contexts: ContextPolicy::WINDOWS.contexts_for(class),
            }
            .to_string()
        });
    html! {
        tr data-command-id=(c.id) data-state=(c.state.as_str()) {
            td data-label="Command" { (c.label) br; span.muted { (c.kind) } }
            td data-label="Class" { (c.class) }
            td data-label="State" {
                (badge(words::command_tone(c.state.as_str()), c.state.as_str()))
                @if let Some(w) = &waits_for { br; span.waits { (w) } }
                @if c.attempts > 0 { br; span.muted { "attempt " (c.attempts) " of " (c.max_attempts) } }
            }
            td data-label="Device said" {
                @if let Some(code) = c.status_code {
                    (code) " " span.muted { (casement_syncml::StatusCode::from_code(code as u16).meaning()) }
                }
                @if let Some(e) = &c.original_error { br; span.mono { (e) } }
                @if let Some(results) = &c.results {
                    details { summary { "Results" } pre { (results) } }
                }
            }
            td data-label="Queued" { (time(c.created_at)) br; span.muted { (c.created_by) } }
            td {
                @if c.state == CommandState::Pending {
                    form method="post" action=(format!("/console/commands/{}/cancel", utf8_percent_encode(&c.id, NON_ALPHANUMERIC))) {
                        (csrf_field(session))
                        button.secondary type="submit" aria-label=(format!("Cancel {}", c.label)) { "Cancel" }
                    }
                }
            }
        }
    }
}

fn uri_host(uri: &str) -> Option<&str> {
    uri.split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '?']).next())
}

/// `POST /console/devices/{id}/commands`.
pub async fn queue(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        kind: String,
        set: Option<String>,
        user: Option<String>,
        password: Option<String>,
        confirm: Option<String>,
    }
    let form: Form = auth::read_form(&state, request).await?;
    // The console's half of authz's `Need::CommandKind`: the kind decides the permission.
    crate::authz::require(
        &state,
        &session.principal(),
        crate::authz::command_permission(&form.kind),
        "POST /console/devices/{id}/commands",
    )
    .await?;
    let request = match form.kind.as_str() {
        "inventory" => {
            let sets: Vec<&str> = form
                .set
                .as_deref()
                .filter(|s| !s.is_empty())
                .into_iter()
                .collect();
            json!({ "kind": "inventory", "sets": sets })
        }
        "reset-password" => json!({
            "kind": "reset-password",
            "user": form.user.as_deref().unwrap_or("").trim(),
            "password": form.password.as_deref().unwrap_or(""),
        }),
        "unenroll" if form.confirm.is_some() => json!({ "kind": "unenroll" }),
        "unenroll" => {
            return refuse(
                &state,
                &session,
                &id,
                "Tick the box to confirm the unenrollment.",
            )
            .await;
        }
        "push-config" => json!({ "kind": "push-config" }),
        _ => return Err(WebError::bad_request("Unknown action.")),
    };
    let request: CommandRequest = match serde_json::from_value(request) {
        Ok(r) => r,
        Err(e) => return refuse(&state, &session, &id, &format!("Not queued: {e}")).await,
    };
    match queue_commands(&state, &id, &request, None, &session.actor()).await {
        Ok(rows) => {
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            audit(
                &state,
                &session.actor(),
                "command.queue",
                Some(&id),
                json!({ "commands": ids, "kind": request.kind() }),
            )
            .await;
            Ok(Redirect::to(&format!("{}?done=queued#queue-h", device_href(&id))).into_response())
        }
        Err(QueueError::UnknownDevice) => Err(WebError::not_found("device with that ID")),
        Err(QueueError::Retired) => refuse(&state, &session, &id, "The device is retired.").await,
        Err(QueueError::Refused(reason)) => {
            refuse(&state, &session, &id, &format!("Not queued: {reason}")).await
        }
        Err(QueueError::Store(e)) => Err(e.into()),
    }
}

/// `POST /console/devices/{id}/installs`.
pub async fn install(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        app_id: String,
    }
    let form: Form = auth::read_form(&state, request).await?;
    match installs::request(&state, &id, &form.app_id, &session.actor()).await {
        Ok(view) => {
            audit(
                &state,
                &session.actor(),
                "install.request",
                Some(&id),
                json!({ "install": view.id, "app": view.app_id }),
            )
            .await;
            Ok(
                Redirect::to(&format!("{}?done=install#installs-h", device_href(&id)))
                    .into_response(),
            )
        }
        Err(InstallError::Queue(QueueError::UnknownDevice)) => {
            Err(WebError::not_found("device with that ID"))
        }
        Err(InstallError::UnknownApp) => {
            refuse(&state, &session, &id, "There is no such app.").await
        }
        Err(
            e @ (InstallError::NoPayload(_)
            | InstallError::Queue(QueueError::Refused(_) | QueueError::Retired)),
        ) => refuse(&state, &session, &id, &format!("Not installed: {e}.")).await,
        Err(InstallError::Queue(QueueError::Store(e)) | InstallError::Store(e)) => Err(e.into()),
    }
}

/// `POST /console/commands/{id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    match crate::services::commands::cancel(&state, &session.actor(), &id).await {
        Ok(row) => Ok(Redirect::to(&format!(
            "{}?done=cancelled#queue-h",
            device_href(&row.device_id)
        ))
        .into_response()),
        Err(StoreError::NotFound(_)) => Err(WebError::not_found("command with that id")),
        Err(StoreError::Conflict(_)) => {
            let device = state
                .store
                .command(&id)
                .await?
                .map(|c| c.device_id)
                .unwrap_or_default();
            refuse(
                &state,
                &session,
                &device,
                "Only a pending command can be cancelled: this one was already sent.",
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The device page again, with why the action was refused (422).
async fn refuse(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
    message: &str,
) -> Result<Response, WebError> {
    device_page(
        state,
        session,
        id,
        None,
        Some((StatusCode::UNPROCESSABLE_ENTITY, message.to_owned())),
    )
    .await
}

/// `GET /console/devices.csv`: the "Download CSV" button (every device, retired ones too).
pub async fn csv(
    State(state): State<AppState>,
    _session: ConsoleSession,
) -> Result<Response, WebError> {
    let body = crate::services::reports::devices_csv(&state).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"devices.csv\"",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}
