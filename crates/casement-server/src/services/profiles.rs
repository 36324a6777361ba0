//! Configuration profiles (issue 14, docs/profiles.md): creating and changing profiles and
//! groups, assigning them (with the conflict check), working out which devices a profile
//! applies to, and what the session core is given at a check-in. The API, the console and
//! `casement apply` all come through here.

use std::collections::HashSet;

use casement_dm::profiles::compare::same_value;
use casement_dm::profiles::validate::{Invalid, validate_profile};
use casement_dm::profiles::variables::{DeviceVariables, expand};
use casement_dm::profiles::work::{DeviceProfile, NodeRecord, ProfileStatus};
use casement_dm::profiles::{ProfileScope, Setting, syncml_body};
use casement_dm::{CommandClass, Context, ContextPolicy};
use casement_store::*;

use crate::fault::{Fault, Faulty};
use crate::state::AppState;
use serde_json::json;

/// What a profile is made of, as an administrator gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInput {
    /// Name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Platforms.
    pub platforms: Vec<Platform>,
    /// Scope.
    pub scope: ProfileScope,
    /// The settings, unless given as a SyncML body.
    pub settings: Vec<Setting>,
    /// A SyncML body of `Add`/`Replace` items the settings are derived from.
    pub syncml: Option<String>,
}

/// Why a profile, group or assignment change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The profile or group is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// No such profile or group.
    #[error("{0}")]
    NotFound(String),
    /// The name is taken.
    #[error("{0}")]
    Exists(String),
    /// Two profiles would set one node to different values on the same devices.
    #[error("{0}")]
    Conflict(Box<Conflict>),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Two profiles that would set one node to different values on devices they share.
#[derive(Debug, thiserror::Error)]
#[error(
    "profiles {first:?} and {second:?} set {node} to different values ({first_value:?} and {second_value:?}) on {devices} device(s) they share"
)]
pub struct Conflict {
    /// The profile being assigned or changed.
    pub first: String,
    /// The profile already there.
    pub second: String,
    /// The node.
    pub node: String,
    /// Its value in `first`.
    pub first_value: String,
    /// Its value in `second`.
    pub second_value: String,
    /// How many devices both apply to.
    pub devices: usize,
}

impl Faulty for ProfileError {
    fn fault(&self) -> Fault {
        match self {
            Self::Invalid(_) => Fault::Refused,
            Self::NotFound(_) => Fault::NotFound,
            Self::Exists(_) | Self::Conflict(_) => Fault::Conflict,
            Self::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid-profile",
            Self::Conflict(_) => "profile-conflict",
            other => other.fault().code(),
        }
    }
}

impl From<Invalid> for ProfileError {
    fn from(e: Invalid) -> Self {
        Self::Invalid(e.message())
    }
}

/// The settings of a stored profile.
pub fn settings_of(profile: &ProfileRow) -> Result<Vec<Setting>, StoreError> {
    serde_json::from_str(&profile.settings)
        .map_err(|e| StoreError::Corrupt(format!("profile {}: {e}", profile.id)))
}

/// The scope of a stored profile.
pub fn scope_of(profile: &ProfileRow) -> ProfileScope {
    ProfileScope::from_name(&profile.scope).unwrap_or(ProfileScope::Device)
}

fn checked(input: &ProfileInput) -> Result<Vec<Setting>, ProfileError> {
    let settings = match &input.syncml {
        Some(body) if input.settings.is_empty() => syncml_body::settings_from_syncml(body)?,
        Some(_) => {
            return Err(ProfileError::Invalid(
                "give settings or a SyncML body, not both".into(),
            ));
        }
        None => input.settings.clone(),
    };
    validate_profile(&input.name, &input.platforms, input.scope, &settings)?;
    if input.description.chars().count() > 1024 {
        return Err(ProfileError::Invalid(
            "the description is longer than 1024 characters".into(),
        ));
    }
    Ok(settings)
}

fn name_taken(e: StoreError, what: &str, name: &str) -> ProfileError {
    match e {
        StoreError::Conflict(_) => {
            ProfileError::Exists(format!("a {what} named {name:?} exists already"))
        }
        other => ProfileError::Store(other),
    }
}

/// Records a change of profiles or groups in the audit log, as `actor`.
async fn audited(
    state: &AppState,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    crate::services::audit::record(state, actor, action, Some(target), detail).await;
}

/// Creates a profile (assigned to nothing yet); audited as `actor`.
pub async fn create_profile(
    state: &AppState,
    actor: &str,
    input: &ProfileInput,
) -> Result<ProfileRow, ProfileError> {
    let settings = checked(input)?;
    let now = state.clock.now_ms();
    let row = ProfileRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: input.name.trim().to_owned(),
        description: input.description.clone(),
        platforms: input.platforms.clone(),
        scope: input.scope.as_str().to_owned(),
        settings: serde_json::to_string(&settings)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        source_syncml: input.syncml.clone(),
        revision: 1,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .create_profile(&row)
        .await
        .map_err(|e| name_taken(e, "profile", &row.name))?;
    let detail = json!({ "name": row.name, "revision": row.revision });
    audited(state, actor, "profile.created", &row.id, detail).await;
    Ok(row)
}

/// Changes a profile: its devices get the new revision (only what differs is sent). Refused
/// when the new values would conflict with another profile on devices they share. Audited as
/// `actor`.
pub async fn update_profile(
    state: &AppState,
    actor: &str,
    id: &str,
    input: &ProfileInput,
) -> Result<(ProfileRow, Reconciled), ProfileError> {
    let old = find_profile(state, id).await?;
    let settings = checked(input)?;
    let now = state.clock.now_ms();
    let row = ProfileRow {
        name: input.name.trim().to_owned(),
        description: input.description.clone(),
        platforms: input.platforms.clone(),
        scope: input.scope.as_str().to_owned(),
        settings: serde_json::to_string(&settings)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        source_syncml: input.syncml.clone(),
        revision: old.revision + 1,
        updated_at: now,
        ..old.clone()
    };
    let groups = groups_of(state, &row).await?;
    let devices = devices_of_groups(state, &groups, &row.platforms).await?;
    check_conflicts(state, &row, &settings, &devices).await?;
    state
        .store
        .update_profile(&row)
        .await
        .map_err(|e| name_taken(e, "profile", &row.name))?;
    let reconciled = state
        .store
        .set_profile_devices(&row.id, row.revision, &devices, now)
        .await?;
    let detail = json!({ "name": row.name, "revision": row.revision, "devices_added": reconciled.added, "devices_removed": reconciled.removed });
    audited(state, actor, "profile.changed", &row.id, detail).await;
    Ok((row, reconciled))
}

/// Deletes a profile: it is removed from every device it was on (how many: the number
/// returned). Audited as `actor`.
pub async fn delete_profile(
    state: &AppState,
    actor: &str,
    id: &str,
) -> Result<(ProfileRow, u64), ProfileError> {
    let profile = find_profile(state, id).await?;
    let removing = state
        .store
        .delete_profile(&profile.id, state.clock.now_ms())
        .await?;
    let detail = json!({ "name": profile.name, "devices_removing": removing });
    audited(state, actor, "profile.deleted", &profile.id, detail).await;
    Ok((profile, removing))
}

/// A profile by id or name.
pub async fn find_profile(state: &AppState, id: &str) -> Result<ProfileRow, ProfileError> {
    state
        .store
        .profile(id)
        .await?
        .ok_or_else(|| ProfileError::NotFound(format!("no profile {id}")))
}

/// A group by id or name.
pub async fn find_group(state: &AppState, id: &str) -> Result<GroupRow, ProfileError> {
    state
        .store
        .group(id)
        .await?
        .ok_or_else(|| ProfileError::NotFound(format!("no group {id}")))
}

async fn groups_of(state: &AppState, profile: &ProfileRow) -> Result<Vec<GroupRow>, StoreError> {
    let mut groups = Vec::new();
    for id in state.store.assignments_of(&profile.id).await? {
        if let Some(g) = state.store.group(&id).await? {
            groups.push(g);
        }
    }
    Ok(groups)
}

async fn devices_of_groups(
    state: &AppState,
    groups: &[GroupRow],
    platforms: &[Platform],
) -> Result<Vec<String>, StoreError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for g in groups {
        for id in state.store.group_device_ids(g, Some(platforms)).await? {
            if seen.insert(id.clone()) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// Refuses `profile` (with `settings`) on `devices` when another profile on any of them sets
/// one of its nodes to a different value (compared as the device would: normalised by format).
async fn check_conflicts(
    state: &AppState,
    profile: &ProfileRow,
    settings: &[Setting],
    devices: &[String],
) -> Result<(), ProfileError> {
    if devices.is_empty() {
        return Ok(());
    }
    let others = state
        .store
        .profiles_on_devices(devices, &profile.id)
        .await?;
    for other in others {
        let theirs = settings_of(&other)?;
        for mine in settings {
            let Some(their) = theirs
                .iter()
                .find(|t| t.loc_uri.eq_ignore_ascii_case(&mine.loc_uri))
            else {
                continue;
            };
            if !same_value(mine.format, &mine.value, &their.value) || mine.format != their.format {
                let shared = shared_devices(state, &other, devices).await?;
                return Err(ProfileError::Conflict(Box::new(Conflict {
                    first: profile.name.clone(),
                    second: other.name.clone(),
                    node: mine.loc_uri.clone(),
                    first_value: mine.value.clone(),
                    second_value: their.value.clone(),
                    devices: shared,
                })));
            }
        }
    }
    Ok(())
}

async fn shared_devices(
    state: &AppState,
    other: &ProfileRow,
    devices: &[String],
) -> Result<usize, StoreError> {
    let wanted: HashSet<&str> = devices.iter().map(String::as_str).collect();
    Ok(state
        .store
        .devices_of_profile(&other.id, None, u32::MAX)
        .await?
        .iter()
        .filter(|(row, _)| row.assigned && wanted.contains(row.device_id.as_str()))
        .count())
}

/// Assigns a profile to a group: refused (409) when it would conflict with a profile already
/// on some of the group's devices; otherwise every device of the group not yet having it gets
/// it, pending. Audited as `actor`.
pub async fn assign(
    state: &AppState,
    actor: &str,
    profile_id: &str,
    group_id: &str,
) -> Result<(ProfileRow, GroupRow, Reconciled), ProfileError> {
    let profile = find_profile(state, profile_id).await?;
    let group = find_group(state, group_id).await?;
    let mut groups = groups_of(state, &profile).await?;
    if !groups.iter().any(|g| g.id == group.id) {
        groups.push(group.clone());
    }
    // Only another assigned profile can conflict: without one, the devices need not be
    // listed here (assigning to all devices is then worked out by the database alone).
    let others = state
        .store
        .all_assignments()
        .await?
        .iter()
        .any(|(p, _)| p != &profile.id);
    let devices = if others || !covers_all(&groups) {
        let devices = devices_of_groups(state, &groups, &profile.platforms).await?;
        check_conflicts(state, &profile, &settings_of(&profile)?, &devices).await?;
        Some(devices)
    } else {
        None
    };
    let now = state.clock.now_ms();
    state
        .store
        .add_assignment(&profile.id, &group.id, now)
        .await?;
    let reconciled = set_devices(state, &profile, &groups, devices.as_deref(), now).await?;
    let detail =
        json!({ "profile": profile.name, "group": group.name, "devices_added": reconciled.added });
    audited(state, actor, "profile.assigned", &profile.id, detail).await;
    Ok((profile, group, reconciled))
}

/// Unassigns a profile from a group: devices no other assigned group covers have it removed.
/// Audited as `actor`.
pub async fn unassign(
    state: &AppState,
    actor: &str,
    profile_id: &str,
    group_id: &str,
) -> Result<(ProfileRow, Reconciled), ProfileError> {
    let profile = find_profile(state, profile_id).await?;
    let group = find_group(state, group_id).await?;
    state
        .store
        .remove_assignment(&profile.id, &group.id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => ProfileError::NotFound(format!(
                "profile {:?} is not assigned to group {:?}",
                profile.name, group.name
            )),
            other => other.into(),
        })?;
    let reconciled = reconcile_profile(state, &profile).await?;
    let detail = json!({ "profile": profile.name, "group": group_id, "devices_removed": reconciled.removed });
    audited(state, actor, "profile.unassigned", &profile.id, detail).await;
    Ok((profile, reconciled))
}

/// Makes a profile's devices the members of its groups now (after a group changed, a device
/// enrolled or its inventory changed).
pub async fn reconcile_profile(
    state: &AppState,
    profile: &ProfileRow,
) -> Result<Reconciled, StoreError> {
    let groups = groups_of(state, profile).await?;
    set_devices(state, profile, &groups, None, state.clock.now_ms()).await
}

/// True when one of `groups` is the built-in group of all devices (their union is then every
/// device of the profile's platforms).
fn covers_all(groups: &[GroupRow]) -> bool {
    groups
        .iter()
        .any(|g| matches!(g.members, GroupMembers::All))
}

/// Makes the profile apply to the devices of `groups` (`devices` if already listed): with the
/// group of all devices, the database works them out itself (one statement per change, no
/// list of 100k ids through the server).
async fn set_devices(
    state: &AppState,
    profile: &ProfileRow,
    groups: &[GroupRow],
    devices: Option<&[String]>,
    now: i64,
) -> Result<Reconciled, StoreError> {
    if covers_all(groups) {
        return state
            .store
            .set_profile_all_devices(&profile.id, profile.revision, &profile.platforms, now)
            .await;
    }
    let listed;
    let devices = match devices {
        Some(d) => d,
        None => {
            listed = devices_of_groups(state, groups, &profile.platforms).await?;
            &listed
        }
    };
    state
        .store
        .set_profile_devices(&profile.id, profile.revision, devices, now)
        .await
}

/// The profiles assigned to a group.
async fn assigned_to(state: &AppState, group_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(state
        .store
        .all_assignments()
        .await?
        .into_iter()
        .filter(|(_, g)| g == group_id)
        .map(|(p, _)| p)
        .collect())
}

/// Reconciles these profiles (after a group they are assigned to changed or was deleted).
async fn reconcile_profiles(state: &AppState, ids: &[String]) -> Result<(), StoreError> {
    for id in ids {
        if let Some(profile) = state.store.profile(id).await? {
            reconcile_profile(state, &profile).await?;
        }
    }
    Ok(())
}

/// Reconciles every profile (periodically: filter groups follow inventory changes).
pub async fn reconcile_all(state: &AppState) -> Result<(), StoreError> {
    for profile in state.store.list_profiles().await? {
        reconcile_profile(state, &profile).await?;
    }
    Ok(())
}

/// How often every profile's devices are worked out again, so that filter groups follow what
/// devices report (model, OS version) and enrollments missed by a crash are caught up.
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs [`reconcile_all`] every [`RECONCILE_EVERY`] until aborted.
pub fn spawn_reconciler(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RECONCILE_EVERY).await;
            if let Err(e) = reconcile_all(&state).await {
                tracing::warn!(error = %e, "profile reconciler: storage unavailable");
            }
        }
    })
}

/// Gives a newly enrolled device the profiles of the groups it is in.
pub async fn reconcile_device(state: &AppState, device_id: &str) -> Result<(), StoreError> {
    let Some(device) = state.store.device(device_id).await? else {
        return Ok(());
    };
    let assignments = state.store.all_assignments().await?;
    if assignments.is_empty() {
        return Ok(());
    }
    let mut profiles = Vec::new();
    for profile in state.store.list_profiles().await? {
        if !profile.platforms.contains(&device.platform) {
            continue;
        }
        for (_, group_id) in assignments.iter().filter(|(p, _)| p == &profile.id) {
            if let Some(group) = state.store.group(group_id).await?
                && group.contains(&device)
            {
                profiles.push((profile.id.clone(), profile.revision));
                break;
            }
        }
    }
    state
        .store
        .add_device_profiles(device_id, &profiles, state.clock.now_ms())
        .await
}

/// Creates a group; audited as `actor`.
pub async fn create_group(
    state: &AppState,
    actor: &str,
    name: &str,
    description: &str,
    members: GroupMembers,
) -> Result<GroupRow, ProfileError> {
    let name = checked_group(name, &members)?;
    let row = GroupRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.clone(),
        description: description.to_owned(),
        members,
        created_at: state.clock.now_ms(),
    };
    state
        .store
        .create_group(&row)
        .await
        .map_err(|e| name_taken(e, "group", &name))?;
    audited(
        state,
        actor,
        "group.created",
        &row.id,
        json!({ "name": row.name }),
    )
    .await;
    Ok(row)
}

/// Changes a group; its profiles follow its new members. Audited as `actor`.
pub async fn update_group(
    state: &AppState,
    actor: &str,
    id: &str,
    name: &str,
    description: &str,
    members: GroupMembers,
) -> Result<GroupRow, ProfileError> {
    let old = find_group(state, id).await?;
    if old.id == ALL_DEVICES_GROUP {
        return Err(ProfileError::Invalid(
            "the built-in group of all devices cannot be changed".into(),
        ));
    }
    let name = checked_group(name, &members)?;
    let row = GroupRow {
        name: name.clone(),
        description: description.to_owned(),
        members,
        ..old
    };
    state
        .store
        .update_group(&row)
        .await
        .map_err(|e| name_taken(e, "group", &name))?;
    reconcile_profiles(state, &assigned_to(state, &row.id).await?).await?;
    audited(
        state,
        actor,
        "group.changed",
        &row.id,
        json!({ "name": row.name }),
    )
    .await;
    Ok(row)
}

/// Deletes a group; profiles assigned through it leave its devices (unless another group
/// covers them). Audited as `actor`.
pub async fn delete_group(
    state: &AppState,
    actor: &str,
    id: &str,
) -> Result<GroupRow, ProfileError> {
    let group = find_group(state, id).await?;
    if group.id == ALL_DEVICES_GROUP {
        return Err(ProfileError::Invalid(
            "the built-in group of all devices cannot be deleted".into(),
        ));
    }
    let assigned = assigned_to(state, &group.id).await?;
    state.store.delete_group(&group.id).await?;
    reconcile_profiles(state, &assigned).await?;
    audited(
        state,
        actor,
        "group.deleted",
        &group.id,
        json!({ "name": group.name }),
    )
    .await;
    Ok(group)
}

fn checked_group(name: &str, members: &GroupMembers) -> Result<String, ProfileError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(ProfileError::Invalid(
            "a group needs a name of 1 to 128 characters without control characters".into(),
        ));
    }
    match members {
        GroupMembers::All => Err(ProfileError::Invalid(
            "\"all devices\" is built in: assign the group all-devices".into(),
        )),
        GroupMembers::Static { devices } if devices.len() > 100_000 => Err(ProfileError::Invalid(
            "a fixed group lists at most 100,000 devices".into(),
        )),
        GroupMembers::Filter { filter } if filter == &GroupFilter::default() => {
            Err(ProfileError::Invalid(
                "a filter group needs at least one of platform, os_version, model, user".into(),
            ))
        }
        _ => Ok(name.to_owned()),
    }
}

/// When a device × profile in `status` should next be loaded at a check-in: now while it has
/// work (or a command in flight whose answer must be followed), after the check interval
/// once settled on the device (drift checks; failed nodes are retried then), never once removed.
pub fn due_at(
    status: ProfileStatus,
    in_flight: bool,
    now: i64,
    check_interval_ms: i64,
) -> Option<i64> {
    if status.has_work() || in_flight {
        Some(now)
    } else if matches!(status, ProfileStatus::Removed | ProfileStatus::LeftOnDevice) {
        None
    } else {
        Some(now + check_interval_ms)
    }
}

/// The due device × profiles of `device` as the session core takes them: variables expanded
/// with the device's values, nodes as last stored.
pub async fn work_for(
    state: &AppState,
    device: &Device,
    now: i64,
) -> Result<Vec<DeviceProfile>, StoreError> {
    let rows = state.store.due_profiles(&device.id, now).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let vars = DeviceVariables {
        device_id: device.id.clone(),
        device_name: device.name.clone(),
        upn: device.upn.clone(),
        user_sid: device.user_sid.clone(),
    };
    // A node being removed that another assigned profile of the device sets too (to the same
    // value: conflicts are refused) stays: its removal becomes `leave`.
    let kept: Vec<String> = if rows.iter().any(|(row, _)| !row.assigned) {
        let mut kept = Vec::new();
        for (row, profile) in state.store.profiles_of_device(&device.id).await? {
            if row.assigned {
                kept.extend(settings_of(&profile)?.into_iter().map(|s| s.loc_uri));
            }
        }
        kept
    } else {
        Vec::new()
    };
    rows.into_iter()
        .map(|(row, profile)| {
            let settings = settings_of(&profile)?
                .into_iter()
                .map(|s| Setting {
                    value: expand(&s.value, &vars),
                    ..s
                })
                .collect();
            let mut nodes: Vec<NodeRecord> = serde_json::from_str(&row.nodes).map_err(|e| {
                StoreError::Corrupt(format!(
                    "device profile {}/{}: {e}",
                    row.device_id, row.profile_id
                ))
            })?;
            if !row.assigned {
                for node in &mut nodes {
                    if kept.iter().any(|k| k.eq_ignore_ascii_case(&node.loc_uri)) {
                        node.removal = casement_dm::profiles::Removal::Leave;
                    }
                }
            }
            let status = ProfileStatus::from_name(&row.status).unwrap_or(ProfileStatus::Pending);
            Ok(DeviceProfile {
                profile_id: profile.id.clone(),
                profile_name: profile.name.clone(),
                revision: row.revision,
                scope: scope_of(&profile),
                assigned: row.assigned,
                settings,
                nodes,
                check_due: !status.has_work(),
            })
        })
        .collect()
}

/// What a device × profile that has work waits for, in words ("waits for a Maintenance
/// session", "waits for alice@contoso.com to sign in on WIN-…"), `None` when the device's last
/// session could carry it (or it has no work).
pub fn waits_for(device: &Device, scope: ProfileScope, status: ProfileStatus) -> Option<String> {
    if !matches!(
        status,
        ProfileStatus::Pending | ProfileStatus::Sending | ProfileStatus::Removing
    ) {
        return None;
    }
    let class = match scope {
        ProfileScope::Device => CommandClass::Settings,
        ProfileScope::User => CommandClass::UserSettings,
    };
    let policy = ContextPolicy::for_platform(device.platform);
    let last = device.last_context.unwrap_or(Context::Machine);
    if policy.allows(class, last) && device.last_session_at.is_some() {
        return Some("waits for the device's next check-in".into());
    }
    if scope == ProfileScope::User && device.platform == Platform::Windows10 {
        let name = device.name.as_deref().unwrap_or(&device.id);
        return Some(format!("waits for {} to sign in on {name}", device.upn));
    }
    policy
        .waits_for(class, last)
        .map(|w| w.to_string())
        .or_else(|| Some("waits for the device's next check-in".into()))
}

/// The summary of a profile's counts for a list: "950 verified · 40 pending — wait for a
/// Maintenance session · 10 failed".
pub fn summary(profile: &ProfileRow, counts: &[(String, u64)]) -> String {
    let scope = scope_of(profile);
    let pending_reason = if profile.platforms == [Platform::Windows81] {
        "wait for a Maintenance session"
    } else if scope == ProfileScope::User {
        "wait for their users to sign in"
    } else {
        "wait for the next check-in"
    };
    let mut parts = Vec::new();
    for status in ProfileStatus::ALL {
        let n: u64 = counts
            .iter()
            .filter(|(s, _)| s == status.as_str())
            .map(|(_, n)| *n)
            .sum();
        if n == 0 {
            continue;
        }
        if status == ProfileStatus::Pending {
            parts.push(format!("{n} pending — {pending_reason}"));
        } else {
            parts.push(format!("{n} {}", status.in_words()));
        }
    }
    if parts.is_empty() {
        "on no device".into()
    } else {
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(platforms: Vec<Platform>, scope: &str) -> ProfileRow {
        ProfileRow {
            id: "p".into(),
            name: "P".into(),
            description: String::new(),
            platforms,
            scope: scope.into(),
            settings: "[]".into(),
            source_syncml: None,
            revision: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_summary_says_counts_in_words_and_what_pending_devices_wait_for() {
        let counts = [
            ("pending".to_owned(), 40),
            ("verified".to_owned(), 950),
            ("failed".to_owned(), 10),
            ("applied-not-readable".to_owned(), 2),
        ];
        assert_eq!(
            summary(&profile(vec![Platform::Windows81], "device"), &counts),
            "950 verified · 2 applied (not readable) · 40 pending — wait for a Maintenance session · 10 failed"
        );
        assert_eq!(
            summary(&profile(vec![Platform::Windows10], "user"), &counts[..1]),
            "40 pending — wait for their users to sign in"
        );
        assert_eq!(
            summary(&profile(vec![Platform::Windows10], "device"), &[]),
            "on no device"
        );
    }

    #[test]
    fn rows_with_work_are_due_now_settled_ones_at_the_check_interval_removed_ones_never() {
        assert_eq!(due_at(ProfileStatus::Pending, false, 10, 100), Some(10));
        assert_eq!(due_at(ProfileStatus::Verified, true, 10, 100), Some(10));
        assert_eq!(due_at(ProfileStatus::Verified, false, 10, 100), Some(110));
        assert_eq!(due_at(ProfileStatus::Failed, false, 10, 100), Some(110));
        assert_eq!(due_at(ProfileStatus::Removed, false, 10, 100), None);
        assert_eq!(due_at(ProfileStatus::LeftOnDevice, false, 10, 100), None);
    }
}
