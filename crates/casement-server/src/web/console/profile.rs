//! A profile's page (issue 14): its settings, its groups (assign, with the conflict check;
//! unassign), its counts by status and its devices (each with its status in words, what it
//! waits for, drift and every node's state), filtered by status; and deleting it.

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use casement_dm::profiles::Removal;
use casement_dm::profiles::work::ProfileStatus;
use casement_store::ProfileRow;
use maud::html;
use serde::Deserialize;

use super::device_profiles::{drift, node_table, status_badge};
use super::devices::device_href;
use super::profiles::{platforms_in_words, profile_href};
use super::{console_page, csrf_field, time};
use crate::authz::{self, Permission};
use crate::services::profiles::{self, ProfileError};
use crate::state::AppState;
use crate::web::auth::{self as web_auth, ConsoleSession};
use crate::web::page::{WebError, alert, notice};
use crate::web::words;

/// Devices listed on a profile's page.
const DEVICES_SHOWN: u32 = 500;

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    status: Option<String>,
    done: Option<String>,
}

/// `GET /console/profiles/{id}` (`?status=failed`: only the devices in that status).
pub async fn show(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, WebError> {
    let profile = profiles::find_profile(&state, &id).await?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            ProfileStatus::from_name(s)
                .ok_or_else(|| WebError::bad_request(format!("There is no status {s:?}.")))?,
        ),
    };
    page(&state, &session, &profile, status, q.done.as_deref(), None).await
}

async fn page(
    state: &AppState,
    session: &ConsoleSession,
    profile: &ProfileRow,
    filter: Option<ProfileStatus>,
    done: Option<&str>,
    refused: Option<(StatusCode, String)>,
) -> Result<Response, WebError> {
    let settings = profiles::settings_of(profile)?;
    let scope = profiles::scope_of(profile);
    let assigned = state.store.assignments_of(&profile.id).await?;
    let groups = state.store.list_groups().await?;
    let counts = state.store.profile_status_counts_of(&profile.id).await?;
    let rows = state
        .store
        .devices_of_profile(
            &profile.id,
            filter.map(ProfileStatus::as_str),
            DEVICES_SHOWN,
        )
        .await?;
    let can_manage = authz::grants(session.admin.role, Permission::ProfilesManage);
    let href = profile_href(&profile.id);
    let count_of = |s: ProfileStatus| -> u64 {
        counts
            .iter()
            .filter(|(n, _)| n == s.as_str())
            .map(|(_, n)| *n)
            .sum()
    };
    let total: u64 = counts.iter().map(|(_, n)| *n).sum();
    let mut assigned_groups = Vec::new();
    for gid in &assigned {
        let (name, n) = match groups.iter().find(|g| &g.id == gid) {
            Some(g) => (
                g.name.clone(),
                state
                    .store
                    .group_device_ids(g, Some(&profile.platforms))
                    .await?
                    .len(),
            ),
            None => (gid.clone(), 0),
        };
        assigned_groups.push((gid.clone(), name, n));
    }
    let unassigned: Vec<_> = groups
        .iter()
        .filter(|g| !assigned.contains(&g.id))
        .collect();
    let status = refused.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = html! {
        p { a href="/console/profiles" { "← Profiles" } }
        h1 { "Profile: " (profile.name) }
        (notice(done))
        (alert(refused.as_ref().map(|(_, m)| m.as_str())))
        @if !profile.description.is_empty() { p { (profile.description) } }
        dl.facts #profile-facts {
            dt { "Platforms" } dd { (platforms_in_words(&profile.platforms)) }
            dt { "Scope" } dd { (scope.as_str()) }
            dt { "Revision" } dd { (profile.revision) " · changed " (time(profile.updated_at)) }
            dt { "Status" } dd #profile-summary { (profiles::summary(profile, &counts)) }
        }
        section aria-labelledby="settings-h" {
            h2 #settings-h { "Settings" }
            div.table-wrap { table #settings {
                thead { tr { th scope="col" { "Node" } th scope="col" { "Format" } th scope="col" { "Value" } th scope="col" { "On removal" } } }
                tbody { @for s in &settings { tr {
                    td.mono { (s.loc_uri) }
                    td { (s.format.as_str()) }
                    td.mono { (s.value) }
                    td { @match &s.removal {
                        Removal::Delete => "deleted (the CSP's default comes back)",
                        Removal::Restore(v) => { "set to " span.mono { (v) } }
                        Removal::Leave => "left on the device",
                    } }
                } } }
            } }
        }
        section aria-labelledby="groups-h" {
            h2 #groups-h { "Groups" }
            @if assigned_groups.is_empty() { p.muted #no-groups { "Not assigned: on no device." } } @else {
                div.table-wrap { table #profile-groups {
                    thead { tr { th scope="col" { "Group" } th scope="col" { "Its devices on this profile's platforms" } th scope="col" { span.sr-only { "Action" } } } }
                    tbody { @for (gid, name, n) in &assigned_groups { tr data-group-id=(gid) {
                        td { (name) }
                        td { (n) }
                        td { @if can_manage {
                            form method="post" action=(format!("{href}/unassign")) {
                                (csrf_field(session))
                                input type="hidden" name="group" value=(gid);
                                button.secondary type="submit" aria-label=(format!("Unassign from {name}")) { "Unassign" }
                            }
                        } }
                    } } }
                } }
            }
            @if can_manage && !unassigned.is_empty() {
                form.inline #assign-form method="post" action=(format!("{href}/assignments")) {
                    (csrf_field(session))
                    label for="assign-group" { "Assign to group" }
                    select #assign-group name="group" {
                        @for g in &unassigned { option value=(g.id) { (g.name) } }
                    }
                    " " button #assign-submit type="submit" { "Assign" }
                }
            }
        }
        section aria-labelledby="devices-h" {
            h2 #devices-h { "Devices" }
            div.stats #profile-counts {
                div.stat { b { (total) } a href=(href) { "all" } }
                @for s in ProfileStatus::ALL {
                    @let n = count_of(s);
                    @if n > 0 {
                        div.stat data-status=(s.as_str()) { b { (n) } a href=(format!("{href}?status={}", s.as_str())) { (s.in_words()) } }
                    }
                }
            }
            form.filters.card method="get" action=(href) {
                div {
                    label for="status-filter" { "Status" }
                    select #status-filter name="status" {
                        option value="" { "Any" }
                        @for s in ProfileStatus::ALL {
                            option value=(s.as_str()) selected[filter == Some(s)] { (s.in_words()) }
                        }
                    }
                }
                div { button type="submit" { "Show" } }
            }
            @if rows.is_empty() {
                p.muted #no-devices { @if filter.is_some() { "No device in that status." } @else { "On no device." } }
            } @else {
                div.table-wrap { table.responsive #profile-devices {
                    thead { tr {
                        th scope="col" { "Device" } th scope="col" { "Status" } th scope="col" { "Drift" } th scope="col" { "Nodes" }
                    } }
                    tbody { @for (row, device) in &rows {
                        @let s = ProfileStatus::from_name(&row.status).unwrap_or(ProfileStatus::Pending);
                        tr data-device-id=(row.device_id) data-status=(s.as_str()) {
                            td data-label="Device" {
                                a href=(device_href(&device.id)) { (words::device_name(device)) }
                                br; span.mono.muted { (device.id) }
                            }
                            td data-label="Status" {
                                (status_badge(s))
                                @if let Some(w) = profiles::waits_for(device, scope, s) { br; span.waits { (w) } }
                                @if !row.assigned { br; span.muted { "no longer assigned" } }
                            }
                            td data-label="Drift" { (drift(row)) }
                            td data-label="Nodes" { (node_table(row)) }
                        }
                    } }
                } }
            }
        }
        @if can_manage {
            section aria-labelledby="delete-h" {
                h2 #delete-h { "Delete" }
                form.card method="post" action=(format!("{href}/delete")) {
                    (csrf_field(session))
                    p { "Removes the profile's settings from every device it is on, as each setting's removal says." }
                    label.check { input type="checkbox" name="confirm" required; "Delete the profile " (profile.name) }
                    p { button.danger #delete-profile type="submit" { "Delete profile" } }
                }
            }
        }
    };
    let mut response = console_page(
        session,
        &format!("Profile {}", profile.name),
        "/console/profiles",
        body,
    );
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /console/profiles/{id}/assignments`: a conflict with a profile already on some of the
/// group's devices is refused (409) with the reason naming both profiles and the node.
pub async fn assign(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        group: String,
    }
    let form: Form = web_auth::read_form(&state, request).await?;
    match profiles::assign(&state, &session.actor(), &id, &form.group).await {
        Ok((p, _, _)) => Ok(Redirect::to(&format!(
            "{}?done=assigned#groups-h",
            profile_href(&p.id)
        ))
        .into_response()),
        Err(e @ (ProfileError::Conflict { .. } | ProfileError::Invalid(_))) => {
            let profile = profiles::find_profile(&state, &id).await?;
            let code = match e {
                ProfileError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let reason = format!("Not assigned: {e}.");
            page(&state, &session, &profile, None, None, Some((code, reason))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/profiles/{id}/unassign` (the group in the form).
pub async fn unassign(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        group: String,
    }
    let form: Form = web_auth::read_form(&state, request).await?;
    let (p, _) = profiles::unassign(&state, &session.actor(), &id, &form.group).await?;
    Ok(Redirect::to(&format!("{}?done=unassigned#groups-h", profile_href(&p.id))).into_response())
}

/// `POST /console/profiles/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        confirm: Option<String>,
    }
    let form: Form = web_auth::read_form(&state, request).await?;
    let p = profiles::find_profile(&state, &id).await?;
    if form.confirm.is_none() {
        let reason = "Tick the box to confirm the deletion.".to_owned();
        return page(
            &state,
            &session,
            &p,
            None,
            None,
            Some((StatusCode::UNPROCESSABLE_ENTITY, reason)),
        )
        .await;
    }
    profiles::delete_profile(&state, &session.actor(), &p.id).await?;
    Ok(Redirect::to("/console/profiles?done=profile-deleted").into_response())
}
