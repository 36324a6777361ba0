//! Device groups (issue 14), what profiles are assigned to: the list (kind, filter or members,
//! how many devices), creating a filter group (platform, OS version, model, user) or a fixed
//! group (device IDs, one a line), deleting one (not the built-in group of all devices).

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use casement_store::{ALL_DEVICES_GROUP, GroupFilter, GroupMembers, Platform};
use maud::{Markup, html};
use percent_encoding::utf8_percent_encode;
use serde::Deserialize;

use super::profiles::ID_IN_PATH;
use super::{console_page, csrf_field};
use crate::authz::{self, Permission};
use crate::services::profiles::{self, ProfileError};
use crate::state::AppState;
use crate::web::auth::{self as web_auth, ConsoleSession};
use crate::web::page::{WebError, alert, notice};
use crate::web::words;

/// Device IDs shown for a fixed group.
const MEMBERS_SHOWN: usize = 20;

/// What the create form posts (kept to fill the form again when it is refused).
#[derive(Debug, Default, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    os_version: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    devices: String,
}

impl GroupForm {
    fn members(&self) -> Result<GroupMembers, String> {
        let given = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        match self.kind.as_str() {
            "filter" => {
                let platform = match self.platform.trim() {
                    "" => None,
                    p => Some(
                        Platform::from_name(p).ok_or_else(|| format!("Unknown platform {p:?}."))?,
                    ),
                };
                Ok(GroupMembers::Filter {
                    filter: GroupFilter {
                        platform,
                        os_version: given(&self.os_version),
                        model: given(&self.model),
                        user: given(&self.user),
                    },
                })
            }
            "static" => Ok(GroupMembers::Static {
                devices: self
                    .devices
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }),
            _ => Err("Choose the kind of group: a filter or a fixed list.".into()),
        }
    }
}

/// A group's members in words.
fn members_in_words(members: &GroupMembers) -> Markup {
    match members {
        GroupMembers::All => html! { "every enrolled device" },
        GroupMembers::Static { devices } => html! {
            (devices.len()) " listed: "
            span.mono { (devices.iter().take(MEMBERS_SHOWN).cloned().collect::<Vec<_>>().join(", ")) }
            @if devices.len() > MEMBERS_SHOWN { " …" }
        },
        GroupMembers::Filter { filter } => {
            let mut parts = Vec::new();
            if let Some(p) = filter.platform {
                parts.push(format!("platform {}", words::platform(p)));
            }
            if let Some(v) = &filter.os_version {
                parts.push(format!("OS version starts with {v}"));
            }
            if let Some(m) = &filter.model {
                parts.push(format!("model {m}"));
            }
            if let Some(u) = &filter.user {
                parts.push(format!("user {u}"));
            }
            html! { (parts.join(" and ")) }
        }
    }
}

fn kind_in_words(members: &GroupMembers) -> &'static str {
    match members {
        GroupMembers::All => "built in",
        GroupMembers::Static { .. } => "fixed list",
        GroupMembers::Filter { .. } => "filter",
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    done: Option<String>,
}

/// `GET /console/groups`.
pub async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    page(&state, &session, q.done.as_deref(), None, None).await
}

async fn page(
    state: &AppState,
    session: &ConsoleSession,
    done: Option<&str>,
    refused: Option<(StatusCode, String)>,
    form: Option<&GroupForm>,
) -> Result<Response, WebError> {
    let mut groups = Vec::new();
    for g in state.store.list_groups().await? {
        let n = state.store.group_device_ids(&g, None).await?.len();
        groups.push((g, n));
    }
    let can_manage = authz::grants(session.admin.role, Permission::GroupsManage);
    let empty = GroupForm::default();
    let f = form.unwrap_or(&empty);
    let status = refused.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = html! {
        h1 { "Groups" }
        p.muted { "Sets of devices that " a href="/console/profiles" { "profiles" } " are assigned to." }
        (notice(done))
        (alert(refused.as_ref().map(|(_, m)| m.as_str())))
        div.table-wrap { table.responsive #groups {
            thead { tr {
                th scope="col" { "Group" } th scope="col" { "Kind" } th scope="col" { "Members" }
                th scope="col" { "Devices" } th scope="col" { span.sr-only { "Action" } }
            } }
            tbody { @for (g, n) in &groups { tr data-group-id=(g.id) {
                td data-label="Group" {
                    (g.name)
                    @if !g.description.is_empty() { br; span.muted { (g.description) } }
                }
                td data-label="Kind" { (kind_in_words(&g.members)) }
                td data-label="Members" { (members_in_words(&g.members)) }
                td data-label="Devices" { (n) }
                td {
                    @if can_manage && g.id != ALL_DEVICES_GROUP {
                        form method="post" action=(format!("/console/groups/{}/delete", utf8_percent_encode(&g.id, ID_IN_PATH))) {
                            (csrf_field(session))
                            button.danger type="submit" aria-label=(format!("Delete {}", g.name)) { "Delete" }
                        }
                    }
                }
            } } }
        } }
        @if can_manage {
            h2 #create-group-h { "Create a group" }
            form.card #create-group method="post" action="/console/groups" {
                (csrf_field(session))
                label for="group-name" { "Name" }
                input #group-name type="text" name="name" required maxlength="128" value=(f.name);
                label for="group-description" { "Description" }
                input #group-description type="text" name="description" value=(f.description);
                fieldset {
                    legend { "Kind" }
                    label.check { input type="radio" name="kind" value="filter" checked[f.kind != "static"]; "Filter: the devices matching every field given" }
                    label.check { input type="radio" name="kind" value="static" checked[f.kind == "static"]; "Fixed list of devices" }
                }
                h3 { "Filter" }
                label for="group-platform" { "Platform" }
                select #group-platform name="platform" {
                    option value="" { "Any" }
                    @for p in Platform::ALL {
                        option value=(p.as_str()) selected[f.platform == p.as_str()] { (words::platform(p)) }
                    }
                }
                label for="group-os-version" { "OS version starts with" }
                input #group-os-version type="text" name="os_version" value=(f.os_version) placeholder="10.0.22631";
                label for="group-model" { "Model" }
                input #group-model type="text" name="model" value=(f.model);
                label for="group-user" { "Enrolled user (UPN)" }
                input #group-user type="text" name="user" value=(f.user) placeholder="alice@contoso.com";
                h3 { "Fixed list" }
                label for="group-devices" { "Device IDs, one a line" }
                textarea #group-devices name="devices" spellcheck="false" { (f.devices) }
                p { button #create-group-submit type="submit" { "Create group" } }
            }
        }
    };
    let mut response = console_page(session, "Groups", "/console/groups", body);
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /console/groups`.
pub async fn create(
    State(state): State<AppState>,
    session: ConsoleSession,
    request: Request,
) -> Result<Response, WebError> {
    let form: GroupForm = web_auth::read_form(&state, request).await?;
    let members = match form.members() {
        Ok(m) => m,
        Err(reason) => {
            let refused = Some((StatusCode::UNPROCESSABLE_ENTITY, reason));
            return page(&state, &session, None, refused, Some(&form)).await;
        }
    };
    match profiles::create_group(
        &state,
        &session.actor(),
        &form.name,
        &form.description,
        members,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/console/groups?done=group").into_response()),
        Err(e @ (ProfileError::Invalid(_) | ProfileError::Exists(_))) => {
            let code = match e {
                ProfileError::Exists(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let refused = Some((code, format!("Not created: {e}.")));
            page(&state, &session, None, refused, Some(&form)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/groups/{id}/delete`: profiles assigned through it leave its devices.
pub async fn delete(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    match profiles::delete_group(&state, &session.actor(), &id).await {
        Ok(_) => Ok(Redirect::to("/console/groups?done=group-deleted").into_response()),
        Err(e @ ProfileError::Invalid(_)) => {
            let refused = Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Not deleted: {e}."),
            ));
            page(&state, &session, None, refused, None).await
        }
        Err(e) => Err(e.into()),
    }
}
