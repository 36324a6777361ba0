//! Configuration profiles (issue 14, docs/profiles.md): profiles, device groups, assignments
//! and each device × profile's state.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Device, Platform, StoreResult};

/// The id of the built-in group of every enrolled device.
pub const ALL_DEVICES_GROUP: &str = "all-devices";

/// A profile as stored. Settings are the core's (`casement_dm::profiles::Setting`) as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRow {
    /// Id.
    pub id: String,
    /// Name (unique among profiles not deleted, case-insensitively).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The platforms it applies to.
    pub platforms: Vec<Platform>,
    /// `device` or `user`.
    pub scope: String,
    /// The settings (JSON array).
    pub settings: String,
    /// The SyncML body it was given as, if it was.
    pub source_syncml: Option<String>,
    /// Bumped at every change of its settings.
    pub revision: i64,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

/// Which devices a group holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum GroupMembers {
    /// Every enrolled device (the built-in "all devices").
    All,
    /// A fixed list of device ids.
    Static {
        /// The devices.
        devices: Vec<String>,
    },
    /// The devices matching a filter over what the server knows.
    Filter {
        /// The filter.
        filter: GroupFilter,
    },
}

/// A filter over what the server knows of a device; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFilter {
    /// The platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The OS version starts with this (`10.0.22631`, `6.3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// The model (`./DevInfo/Mod`), case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The enrolled user's UPN, case-insensitively ("a user's devices").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl GroupFilter {
    /// Does `device` match?
    pub fn matches(&self, device: &Device) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| match want {
            None => true,
            Some(w) => have.is_some_and(|h| h.trim().eq_ignore_ascii_case(w.trim())),
        };
        self.platform.is_none_or(|p| p == device.platform)
            && eq(&self.user, Some(&device.upn))
            && eq(&self.model, device_model(device).as_deref())
            && self.os_version.as_ref().is_none_or(|v| {
                device_os_version(device).is_some_and(|have| have.starts_with(v.trim()))
            })
    }
}

/// The model the device reported (`./DevInfo/Mod` in its last package 1).
pub fn device_model(device: &Device) -> Option<String> {
    let info: serde_json::Value = serde_json::from_str(device.devinfo.as_deref()?).ok()?;
    Some(info.get("./DevInfo/Mod")?.as_str()?.trim().to_owned())
}

/// The OS version the device enrolled with (`OSVersion` of the enrollment context).
pub fn device_os_version(device: &Device) -> Option<String> {
    device.context_value("OSVersion").map(str::to_owned)
}

/// A device group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    /// Id.
    pub id: String,
    /// Name (unique, case-insensitively).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Who is in it.
    pub members: GroupMembers,
    /// Created.
    pub created_at: i64,
}

impl GroupRow {
    /// Is `device` (not retired) in the group?
    pub fn contains(&self, device: &Device) -> bool {
        device.retired_at.is_none()
            && match &self.members {
                GroupMembers::All => true,
                GroupMembers::Static { devices } => devices.iter().any(|d| d == &device.id),
                GroupMembers::Filter { filter } => filter.matches(device),
            }
    }
}

/// A device × profile as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProfileRow {
    /// Device.
    pub device_id: String,
    /// Profile.
    pub profile_id: String,
    /// The profile revision it is at.
    pub revision: i64,
    /// False once the profile no longer applies to the device (being removed).
    pub assigned: bool,
    /// Its status (`casement_dm::profiles::work::ProfileStatus` name).
    pub status: String,
    /// Its nodes (JSON array of `casement_dm::profiles::work::NodeRecord`).
    pub nodes: String,
    /// When the next check-in should load it (`None`: settled, nothing to do).
    pub due_at: Option<i64>,
    /// How many times drift was found and re-applied.
    pub drift_count: i64,
    /// When drift was last found.
    pub last_drift_at: Option<i64>,
    /// Last change.
    pub updated_at: i64,
}

/// A device × profile's new state from a handled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileProgressRow {
    /// Profile.
    pub profile_id: String,
    /// The revision the nodes are of: the status is written only if the row is still at it
    /// (a profile changed meanwhile stays pending for its new revision).
    pub revision: i64,
    /// Status name.
    pub status: String,
    /// Nodes (JSON).
    pub nodes: String,
    /// Next due time.
    pub due_at: Option<i64>,
    /// Drift found now (added to the count).
    pub drift_found: i64,
}

/// The result of (re)computing who a profile applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Devices that got the profile (new or back).
    pub added: u64,
    /// Devices it is being removed from.
    pub removed: u64,
}

/// Profiles, groups, assignments and device × profile state.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// Creates a profile. A name in use: [`crate::StoreError::Conflict`].
    async fn create_profile(&self, profile: &ProfileRow) -> StoreResult<()>;
    /// Replaces a profile's fields (the caller bumps the revision); its devices become due.
    /// Unknown: `NotFound`; name in use: `Conflict`.
    async fn update_profile(&self, profile: &ProfileRow) -> StoreResult<()>;
    /// Deletes a profile: its assignments go, its devices' rows are being removed.
    async fn delete_profile(&self, id: &str, now: i64) -> StoreResult<u64>;
    /// A profile (not deleted) by id or, failing that, by name (case-insensitive).
    async fn profile(&self, id_or_name: &str) -> StoreResult<Option<ProfileRow>>;
    /// Every profile not deleted, by name.
    async fn list_profiles(&self) -> StoreResult<Vec<ProfileRow>>;
    /// Counts by status for every profile: (profile, status, count).
    async fn profile_status_counts(&self) -> StoreResult<Vec<(String, String, u64)>>;
    /// Counts by status for one profile.
    async fn profile_status_counts_of(&self, profile_id: &str) -> StoreResult<Vec<(String, u64)>>;
    /// A profile's device rows (with the device), optionally of one status, at most `limit`.
    async fn devices_of_profile(
        &self,
        profile_id: &str,
        status: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(DeviceProfileRow, Device)>>;
    /// A device's profile rows with their profiles (deleted profiles included while removing).
    async fn profiles_of_device(
        &self,
        device_id: &str,
    ) -> StoreResult<Vec<(DeviceProfileRow, ProfileRow)>>;
    /// The device's rows due at `now` with their profiles: read at package 1 only when the
    /// management snapshot's `profiles_due_at` has come.
    async fn due_profiles(
        &self,
        device_id: &str,
        now: i64,
    ) -> StoreResult<Vec<(DeviceProfileRow, ProfileRow)>>;

    /// Creates a group. A name in use: `Conflict`.
    async fn create_group(&self, group: &GroupRow) -> StoreResult<()>;
    /// Replaces a group's name, description and members. Unknown: `NotFound`.
    async fn update_group(&self, group: &GroupRow) -> StoreResult<()>;
    /// Deletes a group (the built-in one cannot be: `Conflict`); its assignments go.
    async fn delete_group(&self, id: &str) -> StoreResult<()>;
    /// A group by id or, failing that, by name.
    async fn group(&self, id_or_name: &str) -> StoreResult<Option<GroupRow>>;
    /// Every group, the built-in first, then by name.
    async fn list_groups(&self) -> StoreResult<Vec<GroupRow>>;
    /// The ids of the devices (not retired) in a group, restricted to `platforms` if given.
    async fn group_device_ids(
        &self,
        group: &GroupRow,
        platforms: Option<&[Platform]>,
    ) -> StoreResult<Vec<String>>;

    /// The groups a profile is assigned to.
    async fn assignments_of(&self, profile_id: &str) -> StoreResult<Vec<String>>;
    /// Every assignment: (profile, group).
    async fn all_assignments(&self) -> StoreResult<Vec<(String, String)>>;
    /// Records an assignment (idempotent).
    async fn add_assignment(&self, profile_id: &str, group_id: &str, now: i64) -> StoreResult<()>;
    /// Removes an assignment. Unknown: `NotFound`.
    async fn remove_assignment(&self, profile_id: &str, group_id: &str) -> StoreResult<()>;
    /// Makes the profile apply to exactly `devices`: rows added (or back from removal) as
    /// pending and due at `now`; rows of other devices being removed, due at `now`.
    async fn set_profile_devices(
        &self,
        profile_id: &str,
        revision: i64,
        devices: &[String],
        now: i64,
    ) -> StoreResult<Reconciled>;
    /// [`Self::set_profile_devices`] with every device not retired of `platforms` (the built-in
    /// group of all devices), worked out by the database rather than listed.
    async fn set_profile_all_devices(
        &self,
        profile_id: &str,
        revision: i64,
        platforms: &[Platform],
        now: i64,
    ) -> StoreResult<Reconciled>;
    /// Adds (or brings back) the rows of one device for these profiles `(id, revision)`.
    async fn add_device_profiles(
        &self,
        device_id: &str,
        profiles: &[(String, i64)],
        now: i64,
    ) -> StoreResult<()>;
    /// The other profiles (not deleted) assigned with a row not being removed on any of
    /// `devices`: the candidates for a conflict.
    async fn profiles_on_devices(
        &self,
        devices: &[String],
        except_profile: &str,
    ) -> StoreResult<Vec<ProfileRow>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(platform: Platform, model: &str, os: &str, upn: &str) -> Device {
        Device {
            id: "D1".into(),
            platform,
            user_id: "u1".into(),
            upn: upn.into(),
            user_sid: None,
            name: Some("PC-1".into()),
            enrollment_context: vec![("OSVersion".into(), os.into())],
            enrolled_at: 0,
            updated_at: 0,
            retired_at: None,
            retired_reason: None,
            last_session_at: None,
            last_context: None,
            devinfo: Some(format!(r#"{{"./DevInfo/Mod":"{model}"}}"#)),
            record_sessions_until: None,
        }
    }

    #[test]
    fn a_filter_matches_every_field_it_gives() {
        let d = device(
            Platform::Windows10,
            "Surface Laptop 5",
            "10.0.22631.2428",
            "Alice@Contoso.com",
        );
        let filter = |f: GroupFilter| f.matches(&d);
        assert!(filter(GroupFilter::default()));
        assert!(filter(GroupFilter {
            platform: Some(Platform::Windows10),
            os_version: Some("10.0.22631".into()),
            model: Some("surface laptop 5".into()),
            user: Some("alice@contoso.com".into()),
        }));
        assert!(!filter(GroupFilter {
            platform: Some(Platform::Windows81),
            ..GroupFilter::default()
        }));
        assert!(!filter(GroupFilter {
            os_version: Some("10.0.19045".into()),
            ..GroupFilter::default()
        }));
        assert!(!filter(GroupFilter {
            model: Some("Surface Pro".into()),
            ..GroupFilter::default()
        }));
        assert!(!filter(GroupFilter {
            user: Some("bob@contoso.com".into()),
            ..GroupFilter::default()
        }));
    }

    #[test]
    fn groups_hold_no_retired_device() {
        let mut d = device(Platform::Windows81, "X", "6.3", "a@b");
        let all = GroupRow {
            id: ALL_DEVICES_GROUP.into(),
            name: "All devices".into(),
            description: String::new(),
            members: GroupMembers::All,
            created_at: 0,
        };
        let fixed = GroupRow {
            members: GroupMembers::Static {
                devices: vec!["D1".into()],
            },
            ..all.clone()
        };
        assert!(all.contains(&d) && fixed.contains(&d));
        d.retired_at = Some(1);
        assert!(!all.contains(&d) && !fixed.contains(&d));
    }

    #[test]
    fn members_read_and_write_as_the_api_gives_them() {
        let filter: GroupMembers = serde_json::from_str(
            r#"{"kind":"filter","filter":{"platform":"windows-10","user":"a@b"}}"#,
        )
        .unwrap();
        assert_eq!(
            filter,
            GroupMembers::Filter {
                filter: GroupFilter {
                    platform: Some(Platform::Windows10),
                    user: Some("a@b".into()),
                    ..GroupFilter::default()
                }
            }
        );
        let fixed: GroupMembers =
            serde_json::from_str(r#"{"kind":"static","devices":["D1"]}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&fixed).unwrap(),
            serde_json::json!({ "kind": "static", "devices": ["D1"] })
        );
    }
}
