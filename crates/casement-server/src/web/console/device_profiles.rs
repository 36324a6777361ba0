//! A device's profiles (issue 14): `/console/devices/{id}/profiles`, each profile with its
//! status in words, what it waits for and every node's state; the short version on the device
//! page; and the pieces a profile's page shares (a status badge, a row's nodes).

use axum::extract::{Path, State};
use axum::response::Response;
use casement_dm::profiles::work::{NodeRecord, NodeState, ProfileStatus};
use casement_store::{Device, DeviceProfileRow, ProfileRow};
use maud::{Markup, html};

use super::devices::device_href;
use super::profiles::profile_href;
use super::{badge, console_page, time};
use crate::services::profiles;
use crate::state::AppState;
use crate::web::auth::ConsoleSession;
use crate::web::page::WebError;
use crate::web::words;

/// The address of a device's profiles.
pub fn device_profiles_href(id: &str) -> String {
    format!("{}/profiles", device_href(id))
}

/// A device × profile status as a badge, in words ("applied (not readable)").
pub fn status_badge(status: ProfileStatus) -> Markup {
    let tone = match status {
        ProfileStatus::Verified | ProfileStatus::AppliedNotReadable => "ok",
        ProfileStatus::Failed | ProfileStatus::LeftOnDevice => "bad",
        ProfileStatus::Removed => "none",
        _ => "wait",
    };
    badge(tone, status.in_words())
}

/// A node's state in words.
fn node_state_in_words(state: NodeState) -> &'static str {
    match state {
        NodeState::NotReadable => "applied (not readable)",
        NodeState::LeftOnDevice => "left on device",
        other => other.as_str(),
    }
}

/// The nodes of a device × profile: node, state, and what the device said.
pub fn node_table(row: &DeviceProfileRow) -> Markup {
    let nodes: Vec<NodeRecord> = serde_json::from_str(&row.nodes).unwrap_or_default();
    html! {
        @if nodes.is_empty() { span.muted { "nothing sent yet" } } @else {
            ul.nodes { @for n in &nodes {
                li data-node-state=(n.state.as_str()) {
                    span.mono { (n.loc_uri) } br;
                    (node_state_in_words(n.state))
                    @match (&n.detail, n.code) {
                        (Some(d), _) => { " — " span.detail { (d) } }
                        (None, Some(code)) => { " — " span.detail { "the device answered " (code) " " (casement_syncml::StatusCode::from_code(code).meaning()) } }
                        (None, None) => {}
                    }
                    " · " span.muted { (time(n.at)) }
                }
            } }
        }
    }
}

/// How often drift was found on a device × profile, and when last.
pub fn drift(row: &DeviceProfileRow) -> Markup {
    html! {
        @match (row.drift_count, row.last_drift_at) {
            (0, _) => { span.muted { "none" } }
            (1, Some(at)) => { "once, " (time(at)) }
            (n, Some(at)) => { (n) " times, last " (time(at)) }
            (n, None) => { (n) " times" }
        }
    }
}

/// One device × profile as a table row for the device (profile, status and waits-for, nodes).
fn row_of(device: &Device, row: &DeviceProfileRow, profile: &ProfileRow, nodes: bool) -> Markup {
    let status = ProfileStatus::from_name(&row.status).unwrap_or(ProfileStatus::Pending);
    let waits = profiles::waits_for(device, profiles::scope_of(profile), status);
    html! {
        tr data-profile-id=(profile.id) data-status=(status.as_str()) {
            td data-label="Profile" {
                a href=(profile_href(&profile.id)) { (profile.name) }
                br; span.muted { (profile.scope) " · revision " (row.revision) }
            }
            td data-label="Status" {
                (status_badge(status))
                @if let Some(w) = &waits { br; span.waits { (w) } }
                @if !row.assigned { br; span.muted { "no longer assigned" } }
            }
            @if nodes {
                td data-label="Drift" { (drift(row)) }
                td data-label="Nodes" { (node_table(row)) }
            }
        }
    }
}

/// The device page's section: each profile with its status and what it waits for, and the
/// link to the page with every node.
pub async fn section(state: &AppState, device: &Device) -> Result<Markup, WebError> {
    let rows = state.store.profiles_of_device(&device.id).await?;
    Ok(html! {
        section aria-labelledby="profiles-h" {
            h2 #profiles-h { "Profiles" }
            @if rows.is_empty() { p.muted { "No profile applies to this device." } } @else {
                div.table-wrap { table.responsive #device-profiles-short {
                    thead { tr { th scope="col" { "Profile" } th scope="col" { "Status" } } }
                    tbody { @for (row, p) in &rows { (row_of(device, row, p, false)) } }
                } }
            }
            p { a #device-profiles-link href=(device_profiles_href(&device.id)) { "Every profile's nodes on this device" } }
        }
    })
}

/// `GET /console/devices/{id}/profiles`.
pub async fn show(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let device = state
        .store
        .device(&id)
        .await?
        .ok_or_else(|| WebError::not_found("device with that ID"))?;
    let rows = state.store.profiles_of_device(&id).await?;
    let name = words::device_name(&device);
    let body = html! {
        p { a href=(device_href(&device.id)) { "← " (name) } }
        h1 { "Profiles on " (name) }
        p.muted { (words::os(&device)) " · " (device.upn) " · " span.mono { (device.id) } }
        @if rows.is_empty() {
            p #no-device-profiles { "No profile applies to this device. Profiles are assigned to " a href="/console/groups" { "groups" } "." }
        } @else {
            div.table-wrap { table.responsive #device-profiles {
                thead { tr {
                    th scope="col" { "Profile" } th scope="col" { "Status" } th scope="col" { "Drift" } th scope="col" { "Nodes" }
                } }
                tbody { @for (row, p) in &rows { (row_of(&device, row, p, true)) } }
            } }
        }
    };
    Ok(console_page(
        &session,
        &format!("Profiles on {name}"),
        "/console/devices",
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(nodes: &str) -> DeviceProfileRow {
        DeviceProfileRow {
            device_id: "D".into(),
            profile_id: "P".into(),
            revision: 1,
            assigned: true,
            status: "failed".into(),
            nodes: nodes.into(),
            due_at: None,
            drift_count: 0,
            last_drift_at: None,
            updated_at: 0,
        }
    }

    #[test]
    fn a_nodes_state_and_what_the_device_said_are_in_words() {
        let html = node_table(&row(
            r#"[{"loc_uri":"./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera","format":"int","removal":"delete","desired":"0","state":"failed","code":400,"detail":"the device answered 400 bad request","at":0},
                {"loc_uri":"./Vendor/MSFT/X","format":"int","removal":"delete","desired":"0","state":"not-readable","code":405,"at":0}]"#,
        ))
        .into_string();
        assert!(
            html.contains(
                "failed — <span class=\"detail\">the device answered 400 bad request</span>"
            ),
            "{html}"
        );
        assert!(html.contains("applied (not readable) — "), "{html}");
        assert!(html.contains("the device answered 405 "), "{html}");
        assert!(
            node_table(&row("[]"))
                .into_string()
                .contains("nothing sent yet")
        );
        assert_eq!(
            status_badge(ProfileStatus::LeftOnDevice).into_string(),
            "<span class=\"badge bad\">left on device</span>"
        );
    }
}
