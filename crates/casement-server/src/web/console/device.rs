//! A device's page: its facts, inventory, sessions, queue (what each pending command waits for),
//! channel and pushes, installs, profiles (`device_profiles.rs`), and the action forms.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use casement_dm::{ContextPolicy, WaitsFor};
use casement_store::{CommandRow, CommandState, Device, Platform, PushState};
use maud::{Markup, html};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::{badge, console_page, csrf_field, time};
use crate::services::installs::{self};
use crate::state::AppState;
use crate::web::auth::ConsoleSession;
use crate::web::page::{WebError, alert, notice};
use crate::web::words;

use super::devices::device_href;

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

pub(super) async fn device_page(
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
    let recording_until = device
        .record_sessions_until
        .filter(|until| *until > state.clock.now_ms());
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
    let profiles = super::device_profiles::section(state, &device).await?;
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
        (profiles)
        section aria-labelledby="queue-h" {
            h2 #queue-h { "Command queue" }
            @if commands.is_empty() { p.muted { "Nothing was ever queued." } } @else {
                div.table-wrap { table.responsive #queue {
                    thead { tr {
                        th scope="col" { "Command" } th scope="col" { "Class" } th scope="col" { "State" }
                        th scope="col" { "Device said" } th scope="col" { "Queued" } th scope="col" { span.sr-only { "Action" } }
                    } }
                    tbody { @for c in &commands { (command_row(session, device.platform, c)) } }
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
            (recording(session, &device, recording_until))
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

/// Whether the device's idle sessions keep their messages (docs/retention.md), and the form
/// that changes it.
fn recording(session: &ConsoleSession, device: &Device, until: Option<i64>) -> Markup {
    let action = format!("{}/recording", device_href(&device.id));
    html! {
        form.inline #recording method="post" action=(action) {
            (csrf_field(session))
            @if let Some(until) = until {
                p #recording-on {
                    "Under investigation: every session keeps its messages until " (words::absolute(until)) ". "
                    input type="hidden" name="action" value="stop";
                    button.secondary type="submit" { "Stop" }
                }
            } @else {
                p.muted {
                    "Idle sessions (one exchange, nothing carried) keep a compact record, not their messages. "
                    input type="hidden" name="action" value="start";
                    button.secondary type="submit" { "Keep every message for 24 hours" }
                }
            }
        }
    }
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

/// One command; a pending one says what it waits for under its device's platform's table.
fn command_row(session: &ConsoleSession, platform: Platform, c: &CommandRow) -> Markup {
    let waits_for = (c.state == CommandState::Pending)
        .then_some(c.class)
        .map(|class| {
            WaitsFor {
                contexts: ContextPolicy::for_platform(platform).contexts_for(class),
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
