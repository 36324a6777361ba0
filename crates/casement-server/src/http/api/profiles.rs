//! Configuration profiles and device groups (issue 14, docs/profiles.md): `/api/v1/profiles`,
//! `/api/v1/groups`, assignment, counts by status and per-device detail.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use casement_dm::profiles::work::{NodeRecord, ProfileStatus};
use casement_dm::profiles::{ProfileScope, Setting};
use casement_store::{Device, DeviceProfileRow, GroupMembers, GroupRow, Platform, ProfileRow};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use crate::authz::Principal;
use crate::services::profiles::{self, ProfileInput};
use crate::state::AppState;

type Body<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn body<T>(b: Body<T>) -> Result<T, ApiError> {
    b.map(|Json(t)| t)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))
}

/// A profile as given to `POST /profiles` and `PUT /profiles/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    name: String,
    #[serde(default)]
    description: String,
    platforms: Vec<Platform>,
    #[serde(default = "device_scope")]
    scope: ProfileScope,
    #[serde(default)]
    settings: Vec<Setting>,
    #[serde(default)]
    syncml: Option<String>,
}

fn device_scope() -> ProfileScope {
    ProfileScope::Device
}

impl From<ProfileBody> for ProfileInput {
    fn from(b: ProfileBody) -> Self {
        Self {
            name: b.name,
            description: b.description,
            platforms: b.platforms,
            scope: b.scope,
            settings: b.settings,
            syncml: b.syncml,
        }
    }
}

fn counts_json(counts: &[(String, u64)]) -> Value {
    let mut map = serde_json::Map::new();
    for status in ProfileStatus::ALL {
        let n: u64 = counts
            .iter()
            .filter(|(s, _)| s == status.as_str())
            .map(|(_, n)| *n)
            .sum();
        map.insert(status.as_str().to_owned(), json!(n));
    }
    Value::Object(map)
}

fn profile_json(p: &ProfileRow, groups: &[String], counts: &[(String, u64)]) -> Value {
    let settings: Value = serde_json::from_str(&p.settings).unwrap_or(Value::Null);
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "platforms": p.platforms,
        "scope": p.scope,
        "settings": settings,
        "syncml": p.source_syncml,
        "revision": p.revision,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "groups": groups,
        "counts": counts_json(counts),
        "summary": profiles::summary(p, counts),
    })
}

fn group_json(g: &GroupRow, devices: Option<usize>) -> Value {
    let mut v = json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "members": g.members,
        "built_in": g.id == casement_store::ALL_DEVICES_GROUP,
        "created_at": g.created_at,
    });
    if let Some(n) = devices {
        v["devices"] = json!(n);
    }
    v
}

fn nodes_json(row: &DeviceProfileRow) -> Value {
    let nodes: Vec<NodeRecord> = serde_json::from_str(&row.nodes).unwrap_or_default();
    Value::Array(
        nodes
            .iter()
            .map(|n| {
                json!({
                    "loc_uri": n.loc_uri,
                    "state": n.state.as_str(),
                    "desired": n.desired,
                    "code": n.code,
                    "detail": n.detail,
                    "at": n.at,
                })
            })
            .collect(),
    )
}

fn device_profile_json(row: &DeviceProfileRow, device: &Device, profile: &ProfileRow) -> Value {
    let status = ProfileStatus::from_name(&row.status).unwrap_or(ProfileStatus::Pending);
    json!({
        "device_id": row.device_id,
        "device_name": device.name,
        "profile_id": row.profile_id,
        "profile_name": profile.name,
        "status": status.as_str(),
        "status_words": status.in_words(),
        "waits_for": profiles::waits_for(device, profiles::scope_of(profile), status),
        "assigned": row.assigned,
        "revision": row.revision,
        "drift_count": row.drift_count,
        "last_drift_at": row.last_drift_at,
        "updated_at": row.updated_at,
        "nodes": nodes_json(row),
    })
}

async fn full_profile(state: &AppState, p: &ProfileRow) -> Result<Value, ApiError> {
    let groups = state.store.assignments_of(&p.id).await?;
    let counts = state.store.profile_status_counts_of(&p.id).await?;
    Ok(profile_json(p, &groups, &counts))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all = state.store.list_profiles().await?;
    let counts = state.store.profile_status_counts().await?;
    let assignments = state.store.all_assignments().await?;
    let list: Vec<Value> = all
        .iter()
        .map(|p| {
            let mine: Vec<(String, u64)> = counts
                .iter()
                .filter(|(id, _, _)| id == &p.id)
                .map(|(_, s, n)| (s.clone(), *n))
                .collect();
            let groups: Vec<String> = assignments
                .iter()
                .filter(|(pid, _)| pid == &p.id)
                .map(|(_, g)| g.clone())
                .collect();
            profile_json(p, &groups, &mine)
        })
        .collect();
    Ok(Json(json!({ "profiles": list })))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = profiles::find_profile(&state, &id).await?;
    Ok(Json(full_profile(&state, &p).await?))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    b: Body<ProfileBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: ProfileInput = body(b)?.into();
    let p = profiles::create_profile(&state, &principal.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(full_profile(&state, &p).await?)))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    b: Body<ProfileBody>,
) -> Result<Json<Value>, ApiError> {
    let input: ProfileInput = body(b)?.into();
    let (p, _) = profiles::update_profile(&state, &principal.actor(), &id, &input).await?;
    Ok(Json(full_profile(&state, &p).await?))
}

pub async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (p, removing) = profiles::delete_profile(&state, &principal.actor(), &id).await?;
    Ok(Json(
        json!({ "id": p.id, "deleted": true, "devices_removing": removing }),
    ))
}

/// `POST /profiles/{id}/assignments` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    group: String,
}

pub async fn assign(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    b: Body<AssignBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let AssignBody { group } = body(b)?;
    let (p, g, reconciled) = profiles::assign(&state, &principal.actor(), &id, &group).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "profile": p.id,
            "group": g.id,
            "devices_added": reconciled.added,
            "devices_removed": reconciled.removed,
        })),
    ))
}

pub async fn unassign(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((id, group)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (p, reconciled) = profiles::unassign(&state, &principal.actor(), &id, &group).await?;
    Ok(Json(json!({
        "profile": p.id,
        "group": group,
        "devices_removed": reconciled.removed,
    })))
}

/// `?status=` and `?limit=` of a profile's devices.
#[derive(Debug, Deserialize)]
pub struct DevicesQuery {
    status: Option<String>,
    limit: Option<u32>,
}

pub async fn devices(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DevicesQuery>,
) -> Result<Json<Value>, ApiError> {
    let p = profiles::find_profile(&state, &id).await?;
    if let Some(s) = &q.status
        && ProfileStatus::from_name(s).is_none()
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("unknown status {s:?}"),
        ));
    }
    let limit = q.limit.unwrap_or(500).min(10_000);
    let rows = state
        .store
        .devices_of_profile(&p.id, q.status.as_deref(), limit)
        .await?;
    let counts = state.store.profile_status_counts_of(&p.id).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|(row, d)| device_profile_json(row, d, &p))
        .collect();
    Ok(Json(json!({
        "profile": p.id,
        "counts": counts_json(&counts),
        "summary": profiles::summary(&p, &counts),
        "devices": list,
    })))
}

pub async fn of_device(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let device = state.store.device(&id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no device {id}"),
        )
    })?;
    let rows = state.store.profiles_of_device(&id).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|(row, p)| device_profile_json(row, &device, p))
        .collect();
    Ok(Json(json!({ "device": id, "profiles": list })))
}

/// A group as given to `POST /groups` and `PUT /groups/{id}`.
#[derive(Debug, Deserialize)]
pub struct GroupBody {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(flatten)]
    members: GroupMembers,
}

pub async fn list_groups(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut list = Vec::new();
    for g in state.store.list_groups().await? {
        let n = state.store.group_device_ids(&g, None).await?.len();
        list.push(group_json(&g, Some(n)));
    }
    Ok(Json(json!({ "groups": list })))
}

pub async fn get_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let g = profiles::find_group(&state, &id).await?;
    let ids = state.store.group_device_ids(&g, None).await?;
    let mut v = group_json(&g, Some(ids.len()));
    v["device_ids"] = json!(ids.iter().take(1000).collect::<Vec<_>>());
    Ok(Json(v))
}

pub async fn create_group(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    b: Body<GroupBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = body(b)?;
    let g = profiles::create_group(
        &state,
        &principal.actor(),
        &b.name,
        &b.description,
        b.members,
    )
    .await?;
    let n = state.store.group_device_ids(&g, None).await?.len();
    Ok((StatusCode::CREATED, Json(group_json(&g, Some(n)))))
}

pub async fn update_group(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    b: Body<GroupBody>,
) -> Result<Json<Value>, ApiError> {
    let b = body(b)?;
    let g = profiles::update_group(
        &state,
        &principal.actor(),
        &id,
        &b.name,
        &b.description,
        b.members,
    )
    .await?;
    let n = state.store.group_device_ids(&g, None).await?.len();
    Ok(Json(group_json(&g, Some(n))))
}

pub async fn delete_group(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let g = profiles::delete_group(&state, &principal.actor(), &id).await?;
    Ok(Json(json!({ "id": g.id, "deleted": true })))
}
