//! Configuration profiles (issue 14): the list (each profile's platforms, scope, groups and its
//! status summary) and the create form (a SyncML body of `Add`/`Replace` items, or one setting
//! given field by field). A profile's own page is `profile.rs`; groups are `groups.rs`.

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use casement_dm::profiles::{Format, ProfileScope, Removal, Setting};
use casement_store::Platform;
use maud::html;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::{console_page, csrf_field};
use crate::authz::{self, Permission};
use crate::services::profiles::{self, ProfileError, ProfileInput};
use crate::state::AppState;
use crate::web::auth::{self as web_auth, ConsoleSession};
use crate::web::page::{WebError, alert, notice};
use crate::web::words;

/// What a profile or group id keeps unescaped in an address (its ids are UUIDs or names
/// like `all-devices`).
pub const ID_IN_PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// A profile page's address.
pub fn profile_href(id: &str) -> String {
    format!("/console/profiles/{}", utf8_percent_encode(id, ID_IN_PATH))
}

/// "Windows 10/11, Windows 8.1".
pub fn platforms_in_words(platforms: &[Platform]) -> String {
    platforms
        .iter()
        .map(|p| words::platform(*p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the create form posts (kept to fill the form again when it is refused).
#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    platform_windows_10: Option<String>,
    platform_windows_81: Option<String>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    syncml: String,
    #[serde(default)]
    loc_uri: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    value: String,
}

impl ProfileForm {
    /// The service's input, or why the form itself cannot be one.
    fn input(&self) -> Result<ProfileInput, String> {
        let mut platforms = Vec::new();
        if self.platform_windows_10.is_some() {
            platforms.push(Platform::Windows10);
        }
        if self.platform_windows_81.is_some() {
            platforms.push(Platform::Windows81);
        }
        let scope = ProfileScope::from_name(self.scope.trim())
            .ok_or_else(|| "Choose the scope: device or user.".to_owned())?;
        let mut settings = Vec::new();
        if !self.loc_uri.trim().is_empty() {
            let format = Format::from_name(&self.format)
                .ok_or_else(|| format!("Unknown format {:?}.", self.format))?;
            settings.push(Setting {
                loc_uri: self.loc_uri.trim().to_owned(),
                format,
                r#type: None,
                value: self.value.clone(),
                removal: Removal::Delete,
            });
        }
        let syncml = Some(self.syncml.clone()).filter(|s| !s.trim().is_empty());
        Ok(ProfileInput {
            name: self.name.clone(),
            description: self.description.clone(),
            platforms,
            scope,
            settings,
            syncml,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    done: Option<String>,
}

/// `GET /console/profiles`.
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
    form: Option<&ProfileForm>,
) -> Result<Response, WebError> {
    let all = state.store.list_profiles().await?;
    let counts = state.store.profile_status_counts().await?;
    let assignments = state.store.all_assignments().await?;
    let groups = state.store.list_groups().await?;
    let group_name = |id: &str| {
        groups
            .iter()
            .find(|g| g.id == id)
            .map_or_else(|| id.to_owned(), |g| g.name.clone())
    };
    let can_manage = authz::grants(session.admin.role, Permission::ProfilesManage);
    let empty = ProfileForm::default();
    let f = form.unwrap_or(&empty);
    let status = refused.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = html! {
        h1 { "Profiles" }
        p.muted {
            "Settings the server applies to devices, reads back and keeps. Profiles are assigned to "
            a href="/console/groups" { "groups" } " of devices."
        }
        (notice(done))
        (alert(refused.as_ref().map(|(_, m)| m.as_str())))
        @if all.is_empty() { p #no-profiles { "No profiles yet." } } @else {
            div.table-wrap { table.responsive #profiles {
                thead { tr {
                    th scope="col" { "Profile" } th scope="col" { "Platforms" } th scope="col" { "Scope" }
                    th scope="col" { "Groups" } th scope="col" { "Status" }
                } }
                tbody { @for p in &all {
                    @let mine: Vec<(String, u64)> = counts.iter().filter(|(id, _, _)| id == &p.id).map(|(_, s, n)| (s.clone(), *n)).collect();
                    @let assigned: Vec<String> = assignments.iter().filter(|(pid, _)| pid == &p.id).map(|(_, g)| group_name(g)).collect();
                    tr data-profile-id=(p.id) {
                        td data-label="Profile" {
                            a href=(profile_href(&p.id)) { (p.name) }
                            @if !p.description.is_empty() { br; span.muted { (p.description) } }
                        }
                        td data-label="Platforms" { (platforms_in_words(&p.platforms)) }
                        td data-label="Scope" { (p.scope) }
                        td data-label="Groups" {
                            @if assigned.is_empty() { span.muted { "not assigned" } } @else { (assigned.join(", ")) }
                        }
                        td data-label="Status" .summary { (profiles::summary(p, &mine)) }
                    }
                } }
            } }
        }
        @if can_manage {
            h2 #create-h { "Create a profile" }
            form.card #create-profile method="post" action="/console/profiles" {
                (csrf_field(session))
                label for="profile-name" { "Name" }
                input #profile-name type="text" name="name" required maxlength="128" value=(f.name);
                label for="profile-description" { "Description" }
                input #profile-description type="text" name="description" maxlength="1024" value=(f.description);
                fieldset {
                    legend { "Platforms" }
                    label.check { input #platform-windows-10 type="checkbox" name="platform_windows_10" checked[f.platform_windows_10.is_some()]; "Windows 10/11" }
                    label.check { input #platform-windows-81 type="checkbox" name="platform_windows_81" checked[f.platform_windows_81.is_some()]; "Windows 8.1" }
                }
                label for="profile-scope" { "Scope" }
                select #profile-scope name="scope" {
                    option value="device" selected[f.scope != "user"] { "device (./Device/…, ./Vendor/…, ./cimv2/…)" }
                    option value="user" selected[f.scope == "user"] { "user (./User/…: applied while the enrolled user is signed in)" }
                }
                h3 { "One setting" }
                label for="profile-loc-uri" { "Node (LocURI)" }
                input #profile-loc-uri type="text" name="loc_uri" value=(f.loc_uri) spellcheck="false" autocomplete="off" placeholder="./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
                label for="profile-format" { "Format" }
                select #profile-format name="format" {
                    @for format in Format::ALL {
                        option value=(format.as_str()) selected[f.format == format.as_str()] { (format.as_str()) }
                    }
                }
                label for="profile-value" { "Value" }
                input #profile-value type="text" name="value" value=(f.value) spellcheck="false" autocomplete="off";
                h3 { "Or a SyncML body" }
                label for="profile-syncml" { "Add and Replace items (" code { "<Replace><CmdID>1</CmdID><Item>…</Item></Replace>" } ")" }
                textarea #profile-syncml name="syncml" spellcheck="false" { (f.syncml) }
                p { button #create-profile-submit type="submit" { "Create profile" } }
            }
        }
    };
    let mut response = console_page(session, "Profiles", "/console/profiles", body);
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /console/profiles`: the new profile's page, or the list again with the service's
/// reason (422; a name in use: 409).
pub async fn create(
    State(state): State<AppState>,
    session: ConsoleSession,
    request: Request,
) -> Result<Response, WebError> {
    let form: ProfileForm = web_auth::read_form(&state, request).await?;
    let input = match form.input() {
        Ok(input) => input,
        Err(reason) => {
            let refused = Some((StatusCode::UNPROCESSABLE_ENTITY, reason));
            return page(&state, &session, None, refused, Some(&form)).await;
        }
    };
    match profiles::create_profile(&state, &session.actor(), &input).await {
        Ok(p) => Ok(Redirect::to(&format!("{}?done=profile", profile_href(&p.id))).into_response()),
        Err(e @ ProfileError::Invalid(_)) => {
            let refused = Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Not created: {e}."),
            ));
            page(&state, &session, None, refused, Some(&form)).await
        }
        Err(e @ ProfileError::Exists(_)) => {
            let refused = Some((StatusCode::CONFLICT, format!("Not created: {e}.")));
            page(&state, &session, None, refused, Some(&form)).await
        }
        Err(e) => Err(e.into()),
    }
}
