//! A device × profile's state, and what a session does about it (docs/profiles.md).
//!
//! Each node of a profile on a device has a [`NodeRecord`]; the device × profile's
//! [`ProfileStatus`] is derived from its nodes. At the start of a session the core is given the
//! device's profiles that need work ([`DeviceProfile`], the rows that are due, read only when
//! one is) and [`plan`]s, for each one the session's context may carry:
//!
//! | node | what is queued | node becomes |
//! |---|---|---|
//! | never confirmed, or desired value changed, or failed (retried at the check interval) | `Add` (`Replace` once the node was confirmed) | sending |
//! | verified, check due | `Get` | verified (checking) |
//! | in a profile no longer assigned, or no longer in the profile | `Delete` / `Replace` restore value / nothing (leave) | removing / removed |
//!
//! Each answer moves the node on ([`DeviceProfile::on_reported`]):
//! - a write done → `Get` of the node in the next message of the same session → verifying; a
//!   node the DDF says cannot be read → `applied (not readable)`, never a false "verified";
//! - `Add` answered 418 (exists) → `Replace`; `Replace` answered 404 (not set) → `Add`, once each
//!   (the fallbacks Windows needs);
//! - the read-back compared with the desired value normalised by format ([`super::compare`]):
//!   the same → verified; different after a write → failed, saying what was read; different at
//!   a drift check → drifted, re-applied (`Replace`) and counted; 404/405/406 → not readable;
//! - a write refused → failed, the node and the device's code in words;
//! - `Delete` done or 404 → removed; refused (405 and other codes) → left on device.

use casement_syncml::{Command, Data, Item, ItemCommand, Location, MetInf, Meta, StatusCode};
use serde::{Deserialize, Serialize};

use super::compare;
use super::ddf;
use super::setting::{Format, ProfileScope, Removal, Setting, is_wmi_bridge};
use crate::catalog::QueuedSpec;
use crate::command::{CommandRef, ResultItem};
use crate::context::CommandClass;
use crate::server::{Verdict, in_words};

/// Where one node of a profile is on one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeState {
    /// Nothing sent yet.
    Pending,
    /// A write is queued or sent.
    Sending,
    /// Written; the read-back is queued or sent.
    Verifying,
    /// Read back equal to the desired value.
    Verified,
    /// Written, and the device cannot read it back (write-only, masked).
    NotReadable,
    /// The device refused the write, or read back something else right after it.
    Failed,
    /// A drift check read back something else: re-applied.
    Drifted,
    /// A removal (`Delete` or restore) is queued or sent.
    Removing,
    /// Removed (deleted, restored, left on purpose, or never written).
    Removed,
    /// The CSP refused the `Delete`: the value stays on the device.
    LeftOnDevice,
}

impl NodeState {
    /// Every state.
    pub const ALL: [NodeState; 10] = [
        Self::Pending,
        Self::Sending,
        Self::Verifying,
        Self::Verified,
        Self::NotReadable,
        Self::Failed,
        Self::Drifted,
        Self::Removing,
        Self::Removed,
        Self::LeftOnDevice,
    ];

    /// The name in the API and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Verifying => "verifying",
            Self::Verified => "verified",
            Self::NotReadable => "applied-not-readable",
            Self::Failed => "failed",
            Self::Drifted => "drifted",
            Self::Removing => "removing",
            Self::Removed => "removed",
            Self::LeftOnDevice => "left-on-device",
        }
    }
}

/// A device × profile's status, derived from its nodes ([`ProfileStatus::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProfileStatus {
    /// Waiting for a session that can carry it (what it waits for is said in words).
    Pending,
    /// Writes queued or sent.
    Sending,
    /// Read-backs queued or sent.
    Verifying,
    /// Every node read back equal.
    Verified,
    /// Every node written; some cannot be read back.
    AppliedNotReadable,
    /// A node failed (its code in words on the node).
    Failed,
    /// A drift check found a difference; being re-applied.
    Drifted,
    /// Being removed.
    Removing,
    /// Removed from the device.
    Removed,
    /// Removed, but the CSP refused a `Delete`: a value stays on the device.
    LeftOnDevice,
}

impl ProfileStatus {
    /// Every status, in the order the console lists counts.
    pub const ALL: [ProfileStatus; 10] = [
        Self::Verified,
        Self::AppliedNotReadable,
        Self::Pending,
        Self::Sending,
        Self::Verifying,
        Self::Drifted,
        Self::Failed,
        Self::Removing,
        Self::Removed,
        Self::LeftOnDevice,
    ];

    /// The name in the API and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Verifying => "verifying",
            Self::Verified => "verified",
            Self::AppliedNotReadable => "applied-not-readable",
            Self::Failed => "failed",
            Self::Drifted => "drifted",
            Self::Removing => "removing",
            Self::Removed => "removed",
            Self::LeftOnDevice => "left-on-device",
        }
    }

    /// The status for its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// In words for a person: "applied (not readable)", "left on device".
    pub const fn in_words(self) -> &'static str {
        match self {
            Self::AppliedNotReadable => "applied (not readable)",
            Self::LeftOnDevice => "left on device",
            other => other.as_str(),
        }
    }

    /// True while the server has work to do for it in a session (it is loaded at every
    /// check-in until it settles).
    pub const fn has_work(self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Sending | Self::Verifying | Self::Drifted | Self::Removing
        )
    }

    /// The status of a device × profile with these nodes (`assigned`: false once unassigned).
    /// Nodes whose removal settled (a setting dropped from an assigned profile) do not count
    /// while the profile is assigned.
    pub fn of(nodes: &[NodeRecord], assigned: bool) -> Self {
        let any = |s: NodeState| nodes.iter().any(|n| n.state == s);
        if !assigned {
            return if nodes.iter().any(|n| !is_settled_removal(n.state)) {
                Self::Removing
            } else if any(NodeState::LeftOnDevice) {
                Self::LeftOnDevice
            } else {
                Self::Removed
            };
        }
        let live: Vec<NodeState> = nodes
            .iter()
            .map(|n| n.state)
            .filter(|s| !is_settled_removal(*s))
            .collect();
        let any = |s: NodeState| live.contains(&s);
        if any(NodeState::Failed) {
            Self::Failed
        } else if any(NodeState::Drifted) {
            Self::Drifted
        } else if live.is_empty() || any(NodeState::Pending) {
            Self::Pending
        } else if any(NodeState::Sending) || any(NodeState::Removing) {
            Self::Sending
        } else if any(NodeState::Verifying) {
            Self::Verifying
        } else if any(NodeState::NotReadable) {
            Self::AppliedNotReadable
        } else {
            Self::Verified
        }
    }
}

fn is_removal_state(state: NodeState) -> bool {
    matches!(
        state,
        NodeState::Removing | NodeState::Removed | NodeState::LeftOnDevice
    )
}

/// What the command in flight for a node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeOp {
    /// `Add` of the value.
    Add,
    /// `Replace` of the value.
    Replace,
    /// Windows 8.1 `MDM_EASPolicy` `Exec=SetValues` of the property.
    SetValues,
    /// `Get` right after a write.
    Verify,
    /// `Get` at a drift check.
    Check,
    /// `Delete` at removal.
    Delete,
    /// `Replace` with the restore value at removal.
    Restore,
}

/// One node of a profile on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The node.
    pub loc_uri: String,
    /// Its format (kept so that removal works after the setting left the profile).
    pub format: Format,
    /// What removal does.
    pub removal: Removal,
    /// The value (variables expanded) being applied.
    pub desired: String,
    /// Where it is.
    pub state: NodeState,
    /// The value last confirmed on the device (read back, or written when not readable); the
    /// node exists on the device once it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<String>,
    /// The command in flight for it, and what it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<(CommandRef, NodeOp)>,
    /// True once a 418/404 fallback was used for the current write (never twice).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fell_back: bool,
    /// The device's last status code for it, when it matters (failures, removal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// What happened, in words ("400 bad request", "read back 1, expected 0").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When it last changed (unix milliseconds).
    pub at: i64,
}

/// A device × profile as the core gets it at the start of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProfile {
    /// The profile's id.
    pub profile_id: String,
    /// Its name, for labels.
    pub profile_name: String,
    /// The profile's revision these settings are of.
    pub revision: i64,
    /// Its scope.
    pub scope: ProfileScope,
    /// False once the profile no longer applies to the device: its nodes are removed.
    pub assigned: bool,
    /// The settings, their values with the device's variables expanded.
    pub settings: Vec<Setting>,
    /// Its nodes' states.
    pub nodes: Vec<NodeRecord>,
    /// True when a drift check is due (verified longer ago than the check interval).
    pub check_due: bool,
}

/// A command to queue for a profile (the service stores it before the reply that may carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileCommand {
    /// Its id (UUID v5, derived from its cause: the core stays pure and a retried message
    /// queues the same ids).
    pub id: CommandRef,
    /// The command.
    pub spec: QueuedSpec,
}

/// What a change to a device × profile means, for events and counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftFound {
    /// The node.
    pub loc_uri: String,
    /// What the device read back (`None`: the node was gone).
    pub found: Option<String>,
    /// What it should be.
    pub desired: String,
}

/// The namespace of the ids of profile commands.
const PROFILE_COMMANDS: uuid::Uuid =
    uuid::Uuid::from_u128(0x2c9e_51d0_77a3_4f1b_8e02_b5d4_60f9_1a7e);

fn command_id(cause: &str) -> CommandRef {
    CommandRef(uuid::Uuid::new_v5(&PROFILE_COMMANDS, cause.as_bytes()).to_string())
}

impl DeviceProfile {
    /// The class of this profile's commands: user settings need the enrolled user.
    pub const fn class(&self) -> CommandClass {
        match self.scope {
            ProfileScope::Device => CommandClass::Settings,
            ProfileScope::User => CommandClass::UserSettings,
        }
    }

    /// The status its nodes give.
    pub fn status(&self) -> ProfileStatus {
        ProfileStatus::of(&self.nodes, self.assigned)
    }

    /// The commands a session that may carry this profile's class queues now (`session_key`:
    /// something unique to the session, for the commands' ids). Nodes with a command already
    /// in flight keep it (the queue delivers it); nothing is queued twice.
    pub fn plan(&mut self, device_id: &str, session_key: &str, now: i64) -> Vec<ProfileCommand> {
        let mut out = Vec::new();
        let key = format!("{device_id}/{}/{session_key}", self.profile_id);
        if self.assigned {
            for setting in self.settings.clone() {
                let index = self.node_index_or_insert(&setting, now);
                let node = &mut self.nodes[index];
                if node.command.is_some() {
                    continue;
                }
                let changed = node.desired != setting.value || node.format != setting.format;
                node.desired = setting.value.clone();
                node.format = setting.format;
                node.removal = setting.removal.clone();
                let write = changed
                    || match node.state {
                        NodeState::Pending | NodeState::Drifted => true,
                        NodeState::Failed => self.check_due,
                        NodeState::Removing | NodeState::Removed | NodeState::LeftOnDevice => true,
                        _ => false,
                    };
                if write {
                    node.state = NodeState::Sending;
                    node.fell_back = false;
                    let op = first_write(node);
                    out.push(node_command(node, op, &self.profile_name, &key, now));
                } else if self.check_due
                    && matches!(node.state, NodeState::Verified)
                    && readable(&node.loc_uri)
                {
                    out.push(node_command(
                        node,
                        NodeOp::Check,
                        &self.profile_name,
                        &key,
                        now,
                    ));
                }
            }
        }
        let wanted: Vec<String> = if self.assigned {
            self.settings.iter().map(|s| s.loc_uri.clone()).collect()
        } else {
            Vec::new()
        };
        for node in &mut self.nodes {
            let in_profile = wanted.iter().any(|w| w.eq_ignore_ascii_case(&node.loc_uri));
            if in_profile || node.command.is_some() || is_settled_removal(node.state) {
                continue;
            }
            if node.confirmed.is_none() && matches!(node.state, NodeState::Pending) {
                set(node, NodeState::Removed, None, None, now);
                continue;
            }
            match node.removal.clone() {
                Removal::Leave => set(
                    node,
                    NodeState::Removed,
                    None,
                    Some("left as set (removal: leave)".into()),
                    now,
                ),
                Removal::Delete => {
                    node.state = NodeState::Removing;
                    out.push(node_command(
                        node,
                        NodeOp::Delete,
                        &self.profile_name,
                        &key,
                        now,
                    ));
                }
                Removal::Restore(value) => {
                    node.state = NodeState::Removing;
                    node.desired = value;
                    out.push(node_command(
                        node,
                        NodeOp::Restore,
                        &self.profile_name,
                        &key,
                        now,
                    ));
                }
            }
        }
        out
    }

    /// True when `command` is one of this profile's commands in flight.
    pub fn owns(&self, command: &CommandRef) -> bool {
        self.nodes
            .iter()
            .any(|n| n.command.as_ref().is_some_and(|(c, _)| c == command))
    }

    /// Moves the node whose command was reported on; returns the follow-up command to queue (a
    /// read-back, a fallback write, a re-apply) and the drift found, if any. A verdict of
    /// `Retry` changes nothing: the queue sends the same command again.
    pub fn on_reported(
        &mut self,
        command: &CommandRef,
        verdict: &Verdict,
        status: StatusCode,
        results: &[ResultItem],
        now: i64,
    ) -> (Option<ProfileCommand>, Option<DriftFound>) {
        if matches!(verdict, Verdict::Retry(_)) {
            return (None, None);
        }
        let index = self
            .nodes
            .iter()
            .position(|n| n.command.as_ref().is_some_and(|(c, _)| c == command));
        let out = self.answer(command, status, results, now);
        if let Some(i) = index
            && self.nodes[i].command.is_none()
        {
            self.catch_up(i, now);
        }
        out
    }

    /// A node whose command ended while the profile changed under it (a new revision, a setting
    /// dropped, the profile unassigned) is not settled: it goes back to be planned again.
    fn catch_up(&mut self, i: usize, now: i64) {
        let node = &self.nodes[i];
        let setting = self
            .settings
            .iter()
            .find(|s| s.loc_uri.eq_ignore_ascii_case(&node.loc_uri));
        let wanted = self.assigned && setting.is_some();
        let state = match (wanted, setting) {
            (true, Some(s)) if s.value != node.desired && !is_removal_state(node.state) => {
                NodeState::Pending
            }
            (false, _) if !is_removal_state(node.state) => NodeState::Removing,
            _ => return,
        };
        let node = &mut self.nodes[i];
        node.state = state;
        node.at = now;
    }

    fn answer(
        &mut self,
        command: &CommandRef,
        status: StatusCode,
        results: &[ResultItem],
        now: i64,
    ) -> (Option<ProfileCommand>, Option<DriftFound>) {
        let name = self.profile_name.clone();
        let Some(node) = self
            .nodes
            .iter_mut()
            .find(|n| n.command.as_ref().is_some_and(|(c, _)| c == command))
        else {
            return (None, None);
        };
        let (_, op) = node.command.take().expect("found by its command");
        let key = format!("{}/reported", command.0);
        let ok = status.is_success();
        let code = status.code();
        match op {
            NodeOp::Add | NodeOp::Replace | NodeOp::SetValues => {
                if ok {
                    if readable(&node.loc_uri) {
                        node.state = NodeState::Verifying;
                        let verify = node_command(node, NodeOp::Verify, &name, &key, now);
                        return (Some(verify), None);
                    }
                    node.confirmed = Some(node.desired.clone());
                    set(
                        node,
                        NodeState::NotReadable,
                        None,
                        Some("the node cannot be read back".into()),
                        now,
                    );
                } else if !node.fell_back && op == NodeOp::Add && code == 418 {
                    node.fell_back = true;
                    return (
                        Some(node_command(node, NodeOp::Replace, &name, &key, now)),
                        None,
                    );
                } else if !node.fell_back && op == NodeOp::Replace && code == 404 {
                    node.fell_back = true;
                    return (
                        Some(node_command(node, NodeOp::Add, &name, &key, now)),
                        None,
                    );
                } else {
                    set(
                        node,
                        NodeState::Failed,
                        Some(code),
                        Some(format!("the device answered {}", in_words(status))),
                        now,
                    );
                }
            }
            NodeOp::Verify | NodeOp::Check => {
                let read = results
                    .iter()
                    .find(|r| r.loc_uri.eq_ignore_ascii_case(&node.loc_uri))
                    .or(results.first())
                    .map(|r| r.data.clone().unwrap_or_default());
                match (ok, read) {
                    (true, Some(read))
                        if compare::same_value(node.format, &node.desired, &read) =>
                    {
                        node.confirmed = Some(node.desired.clone());
                        set(node, NodeState::Verified, None, None, now);
                    }
                    (true, Some(read)) if op == NodeOp::Verify => {
                        set(
                            node,
                            NodeState::Failed,
                            Some(code),
                            Some(format!(
                                "read back {}, expected {}",
                                shown(&read),
                                shown(&node.desired)
                            )),
                            now,
                        );
                    }
                    (true, found) => return drifted(node, found, &name, &key, now),
                    (false, _) if op == NodeOp::Check && code == 404 => {
                        return drifted(node, None, &name, &key, now);
                    }
                    (false, _) => {
                        node.confirmed = Some(node.desired.clone());
                        set(
                            node,
                            NodeState::NotReadable,
                            Some(code),
                            Some(format!("read-back answered {}", in_words(status))),
                            now,
                        );
                    }
                }
            }
            NodeOp::Delete | NodeOp::Restore => {
                if ok || (op == NodeOp::Delete && code == 404) {
                    node.confirmed = None;
                    set(node, NodeState::Removed, None, None, now);
                } else {
                    let detail = if op == NodeOp::Delete {
                        format!("the CSP refused the Delete ({})", in_words(status))
                    } else {
                        format!("the restore value was refused ({})", in_words(status))
                    };
                    set(node, NodeState::LeftOnDevice, Some(code), Some(detail), now);
                }
            }
        }
        (None, None)
    }

    fn node_index_or_insert(&mut self, setting: &Setting, now: i64) -> usize {
        if let Some(i) = self
            .nodes
            .iter()
            .position(|n| n.loc_uri.eq_ignore_ascii_case(&setting.loc_uri))
        {
            return i;
        }
        self.nodes.push(NodeRecord {
            loc_uri: setting.loc_uri.clone(),
            format: setting.format,
            removal: setting.removal.clone(),
            desired: setting.value.clone(),
            state: NodeState::Pending,
            confirmed: None,
            command: None,
            fell_back: false,
            code: None,
            detail: None,
            at: now,
        });
        self.nodes.len() - 1
    }
}

fn is_settled_removal(state: NodeState) -> bool {
    matches!(state, NodeState::Removed | NodeState::LeftOnDevice)
}

fn set(
    node: &mut NodeRecord,
    state: NodeState,
    code: Option<u16>,
    detail: Option<String>,
    now: i64,
) {
    node.state = state;
    node.code = code;
    node.detail = detail;
    node.at = now;
}

/// A value shown in a message: quoted, cut at 64 characters.
fn shown(value: &str) -> String {
    let cut: String = value.chars().take(64).collect();
    if cut.len() < value.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn drifted(
    node: &mut NodeRecord,
    found: Option<String>,
    profile: &str,
    key: &str,
    now: i64,
) -> (Option<ProfileCommand>, Option<DriftFound>) {
    let drift = DriftFound {
        loc_uri: node.loc_uri.clone(),
        found: found.clone(),
        desired: node.desired.clone(),
    };
    let detail = match &found {
        Some(v) => format!(
            "read back {}, expected {}: re-applied",
            shown(v),
            shown(&node.desired)
        ),
        None => format!(
            "the node was gone, expected {}: re-applied",
            shown(&node.desired)
        ),
    };
    set(node, NodeState::Drifted, None, Some(detail), now);
    node.fell_back = false;
    let op = if found.is_none() {
        NodeOp::Add
    } else {
        first_write(node)
    };
    (Some(node_command(node, op, profile, key, now)), Some(drift))
}

/// How a node is first written: 8.1 `MDM_EASPolicy` properties by `SetValues`, other WMI
/// properties by `Replace` (the bridge has no Add for a property: MS-MDM §3.1.5.1.3), CSP nodes
/// by `Add` until the device confirmed them, then `Replace`.
fn first_write(node: &NodeRecord) -> NodeOp {
    if is_wmi_bridge(&node.loc_uri) {
        if eas_policy_property(&node.loc_uri).is_some() {
            NodeOp::SetValues
        } else {
            NodeOp::Replace
        }
    } else if node.confirmed.is_some() {
        NodeOp::Replace
    } else {
        NodeOp::Add
    }
}

/// True unless the shipped DDF definitions say the node cannot be read.
fn readable(loc_uri: &str) -> bool {
    ddf::lookup(loc_uri).is_none_or(|d| d.readable)
}

/// `./cimv2/MDM_EASPolicy/<instance>/<Property>` → (instance path, property).
fn eas_policy_property(loc_uri: &str) -> Option<(&str, &str)> {
    let rest = loc_uri.strip_prefix("./cimv2/MDM_EASPolicy/")?;
    let (instance, property) = rest.rsplit_once('/')?;
    (!instance.is_empty() && !property.is_empty())
        .then(|| (&loc_uri[..loc_uri.len() - property.len() - 1], property))
}

fn node_command(
    node: &mut NodeRecord,
    op: NodeOp,
    profile: &str,
    key: &str,
    now: i64,
) -> ProfileCommand {
    let id = command_id(&format!(
        "{key}/{}/{op:?}",
        node.loc_uri.to_ascii_lowercase()
    ));
    node.command = Some((id.clone(), op));
    node.at = now;
    let uri = node.loc_uri.clone();
    let meta = || {
        let mut meta = Meta::format(node.format.as_str());
        if node.format == Format::Chr {
            meta = meta.with(MetInf::Type, "text/plain");
        }
        meta
    };
    let data = || (node.format != Format::Null).then(|| Data::text(node.desired.clone()));
    let (command, label) = match op {
        NodeOp::Add => (
            Command::Add(items(target(&uri, Some(meta()), data()))),
            format!("Profile {profile:?}: add {uri} = {}", shown(&node.desired)),
        ),
        NodeOp::Replace => (
            Command::Replace(items(target(&uri, Some(meta()), data()))),
            format!("Profile {profile:?}: set {uri} = {}", shown(&node.desired)),
        ),
        NodeOp::Restore => (
            Command::Replace(items(target(&uri, Some(meta()), data()))),
            format!(
                "Profile {profile:?}: restore {uri} = {}",
                shown(&node.desired)
            ),
        ),
        NodeOp::SetValues => {
            let (instance, property) =
                eas_policy_property(&uri).expect("SetValues only for MDM_EASPolicy properties");
            (
                Command::Exec(items(target(
                    &format!("{instance}/Exec=SetValues"),
                    Some(Meta::format("chr").with(MetInf::Type, "text/plain")),
                    Some(Data::text(format!(
                        "NamedValuesList={property},{};",
                        node.desired
                    ))),
                ))),
                format!(
                    "Profile {profile:?}: MDM_EASPolicy.SetValues {property} = {}",
                    shown(&node.desired)
                ),
            )
        }
        NodeOp::Verify | NodeOp::Check => (
            Command::Get(items(target(&uri, None, None))),
            format!(
                "Profile {profile:?}: {} {uri}",
                if op == NodeOp::Verify {
                    "read back"
                } else {
                    "check for drift"
                }
            ),
        ),
        NodeOp::Delete => (
            Command::Delete(items(target(&uri, None, None))),
            format!("Profile {profile:?}: delete {uri}"),
        ),
    };
    ProfileCommand {
        id,
        spec: QueuedSpec {
            class: if super::setting::is_user_node(&uri) {
                CommandClass::UserSettings
            } else {
                CommandClass::Settings
            },
            label,
            command,
            secret: false,
        },
    }
}

fn target(loc_uri: &str, meta: Option<Meta>, data: Option<Data>) -> Item {
    Item {
        target: Some(Location::uri(loc_uri)),
        meta,
        data,
        ..Item::default()
    }
}

fn items(item: Item) -> ItemCommand {
    ItemCommand {
        cmd_id: casement_syncml::CmdId(1),
        no_resp: false,
        correlator: None,
        meta: None,
        items: vec![item],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";

    fn profile(settings: Vec<Setting>) -> DeviceProfile {
        DeviceProfile {
            profile_id: "p1".into(),
            profile_name: "Camera off".into(),
            revision: 1,
            scope: ProfileScope::Device,
            assigned: true,
            settings,
            nodes: Vec::new(),
            check_due: false,
        }
    }

    fn camera(value: &str, removal: Removal) -> Setting {
        Setting {
            loc_uri: CAMERA.into(),
            format: Format::Int,
            r#type: None,
            value: value.into(),
            removal,
        }
    }

    fn done() -> Verdict {
        Verdict::Done(None)
    }

    fn failed() -> Verdict {
        Verdict::Failed(None)
    }

    fn read(value: &str) -> Vec<ResultItem> {
        vec![ResultItem {
            loc_uri: CAMERA.into(),
            format: Some("int".into()),
            r#type: None,
            data: Some(value.into()),
        }]
    }

    fn kind(c: &ProfileCommand) -> &'static str {
        match c.spec.command {
            Command::Add(_) => "Add",
            Command::Replace(_) => "Replace",
            Command::Get(_) => "Get",
            Command::Delete(_) => "Delete",
            Command::Exec(_) => "Exec",
            _ => "other",
        }
    }

    #[test]
    fn a_new_setting_is_added_read_back_and_verified() {
        let mut p = profile(vec![camera("0", Removal::Delete)]);
        assert_eq!(p.status(), ProfileStatus::Pending);
        let sent = p.plan("D1", "s1", 1);
        assert_eq!(sent.iter().map(kind).collect::<Vec<_>>(), ["Add"]);
        assert_eq!(sent[0].spec.class, CommandClass::Settings);
        assert_eq!(p.status(), ProfileStatus::Sending);
        let (get, _) = p.on_reported(&sent[0].id, &done(), StatusCode::Ok, &[], 2);
        let get = get.unwrap();
        assert_eq!(kind(&get), "Get");
        assert_eq!(p.status(), ProfileStatus::Verifying);
        let (next, drift) = p.on_reported(&get.id, &done(), StatusCode::Ok, &read("0"), 3);
        assert!(next.is_none() && drift.is_none());
        assert_eq!(p.status(), ProfileStatus::Verified);
        assert!(
            p.plan("D1", "s2", 4).is_empty(),
            "nothing differs: nothing sent"
        );
    }

    #[test]
    fn add_of_an_existing_node_falls_back_to_replace_once() {
        let mut p = profile(vec![camera("0", Removal::Delete)]);
        let sent = p.plan("D1", "s1", 1);
        let (replace, _) = p.on_reported(&sent[0].id, &failed(), StatusCode::AlreadyExists, &[], 2);
        let replace = replace.unwrap();
        assert_eq!(kind(&replace), "Replace");
        let (none, _) = p.on_reported(&replace.id, &failed(), StatusCode::NotFound, &[], 3);
        assert!(none.is_none(), "one fallback only");
        assert_eq!(p.status(), ProfileStatus::Failed);
        assert_eq!(p.nodes[0].code, Some(404));
    }

    #[test]
    fn a_refused_value_fails_with_the_code_in_words() {
        let mut p = profile(vec![camera("7", Removal::Delete)]);
        let sent = p.plan("D1", "s1", 1);
        p.on_reported(&sent[0].id, &failed(), StatusCode::BadRequest, &[], 2);
        assert_eq!(p.status(), ProfileStatus::Failed);
        assert_eq!(
            p.nodes[0].detail.as_deref(),
            Some("the device answered 400 bad request")
        );
    }

    #[test]
    fn a_different_read_back_after_a_write_is_a_failure_saying_what_was_read() {
        let mut p = profile(vec![camera("0", Removal::Delete)]);
        let sent = p.plan("D1", "s1", 1);
        let (get, _) = p.on_reported(&sent[0].id, &done(), StatusCode::Ok, &[], 2);
        p.on_reported(&get.unwrap().id, &done(), StatusCode::Ok, &read("1"), 3);
        assert_eq!(p.status(), ProfileStatus::Failed);
        assert_eq!(
            p.nodes[0].detail.as_deref(),
            Some("read back \"1\", expected \"0\"")
        );
    }

    #[test]
    fn a_drift_check_that_reads_another_value_re_applies_and_reports_the_drift() {
        let mut p = profile(vec![camera("0", Removal::Delete)]);
        let sent = p.plan("D1", "s1", 1);
        let (get, _) = p.on_reported(&sent[0].id, &done(), StatusCode::Ok, &[], 2);
        p.on_reported(&get.unwrap().id, &done(), StatusCode::Ok, &read("0"), 3);
        p.check_due = true;
        let check = p.plan("D1", "s2", 10);
        assert_eq!(check.iter().map(kind).collect::<Vec<_>>(), ["Get"]);
        let (fix, drift) = p.on_reported(&check[0].id, &done(), StatusCode::Ok, &read("1"), 11);
        assert_eq!(drift.unwrap().found.as_deref(), Some("1"));
        assert_eq!(p.status(), ProfileStatus::Drifted);
        let fix = fix.unwrap();
        assert_eq!(kind(&fix), "Replace", "the node exists: Replace");
        let (get, _) = p.on_reported(&fix.id, &done(), StatusCode::Ok, &[], 12);
        p.on_reported(&get.unwrap().id, &done(), StatusCode::Ok, &read("0"), 13);
        assert_eq!(p.status(), ProfileStatus::Verified);
    }

    #[test]
    fn unassigning_deletes_and_a_refused_delete_is_left_on_device() {
        let mut p = profile(vec![camera("0", Removal::Delete)]);
        let sent = p.plan("D1", "s1", 1);
        let (get, _) = p.on_reported(&sent[0].id, &done(), StatusCode::Ok, &[], 2);
        p.on_reported(&get.unwrap().id, &done(), StatusCode::Ok, &read("0"), 3);
        let mut refused = p.clone();
        p.assigned = false;
        let delete = p.plan("D1", "s2", 4);
        assert_eq!(delete.iter().map(kind).collect::<Vec<_>>(), ["Delete"]);
        assert_eq!(p.status(), ProfileStatus::Removing);
        p.on_reported(&delete[0].id, &done(), StatusCode::Ok, &[], 5);
        assert_eq!(p.status(), ProfileStatus::Removed);

        refused.assigned = false;
        let delete = refused.plan("D1", "s2", 4);
        refused.on_reported(
            &delete[0].id,
            &failed(),
            StatusCode::CommandNotAllowed,
            &[],
            5,
        );
        assert_eq!(refused.status(), ProfileStatus::LeftOnDevice);
        assert_eq!(refused.status().in_words(), "left on device");
    }

    #[test]
    fn restore_replaces_with_the_restore_value_and_leave_sends_nothing() {
        let mut p = profile(vec![
            camera("0", Removal::Restore("1".into())),
            Setting {
                loc_uri: "./Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana".into(),
                format: Format::Int,
                r#type: None,
                value: "0".into(),
                removal: Removal::Leave,
            },
        ]);
        for c in p.plan("D1", "s1", 1) {
            let (get, _) = p.on_reported(&c.id, &done(), StatusCode::Ok, &[], 2);
            let get = get.unwrap();
            let uri = p
                .nodes
                .iter()
                .find(|n| n.command.as_ref().map(|x| &x.0) == Some(&get.id))
                .unwrap()
                .loc_uri
                .clone();
            let item = ResultItem {
                loc_uri: uri,
                format: None,
                r#type: None,
                data: Some("0".into()),
            };
            p.on_reported(&get.id, &done(), StatusCode::Ok, &[item], 3);
        }
        assert_eq!(p.status(), ProfileStatus::Verified);
        p.assigned = false;
        let removal = p.plan("D1", "s2", 4);
        assert_eq!(removal.iter().map(kind).collect::<Vec<_>>(), ["Replace"]);
        assert!(removal[0].spec.label.contains("restore"));
        p.on_reported(&removal[0].id, &done(), StatusCode::Ok, &[], 5);
        assert_eq!(p.status(), ProfileStatus::Removed);
    }

    #[test]
    fn a_value_changed_while_its_write_was_in_flight_is_written_again() {
        let mut p = profile(vec![camera("0", Removal::Delete)]);
        let sent = p.plan("D1", "s1", 1);
        // A new revision arrives while the Add is on its way.
        p.settings = vec![camera("1", Removal::Delete)];
        assert!(
            p.plan("D1", "s2", 2).is_empty(),
            "the node's command is in flight"
        );
        let (get, _) = p.on_reported(&sent[0].id, &done(), StatusCode::Ok, &[], 3);
        p.on_reported(&get.unwrap().id, &done(), StatusCode::Ok, &read("0"), 4);
        assert_eq!(
            p.status(),
            ProfileStatus::Pending,
            "not settled on the old value"
        );
        let again = p.plan("D1", "s3", 5);
        assert_eq!(again.iter().map(kind).collect::<Vec<_>>(), ["Replace"]);
        assert_eq!(p.nodes[0].desired, "1");
    }

    #[test]
    fn a_profile_unassigned_while_its_write_was_in_flight_is_removed_after() {
        let mut p = profile(vec![camera("0", Removal::Delete)]);
        let sent = p.plan("D1", "s1", 1);
        p.assigned = false;
        let (get, _) = p.on_reported(&sent[0].id, &done(), StatusCode::Ok, &[], 2);
        assert!(get.is_some(), "the write is read back first");
        p.on_reported(&get.unwrap().id, &done(), StatusCode::Ok, &read("0"), 3);
        assert_eq!(p.status(), ProfileStatus::Removing);
        let removal = p.plan("D1", "s2", 4);
        assert_eq!(removal.iter().map(kind).collect::<Vec<_>>(), ["Delete"]);
    }

    #[test]
    fn a_node_that_cannot_be_read_back_is_applied_not_readable_never_verified() {
        let mut p = profile(vec![camera("0", Removal::Delete)]);
        let sent = p.plan("D1", "s1", 1);
        let (get, _) = p.on_reported(&sent[0].id, &done(), StatusCode::Ok, &[], 2);
        p.on_reported(
            &get.unwrap().id,
            &failed(),
            StatusCode::CommandNotAllowed,
            &[],
            3,
        );
        assert_eq!(p.status(), ProfileStatus::AppliedNotReadable);
        assert_eq!(p.status().in_words(), "applied (not readable)");
    }

    #[test]
    fn user_profiles_are_user_settings_and_windows_81_eas_policy_is_set_with_set_values() {
        let mut p = profile(vec![Setting {
            loc_uri: "./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/MinPasswordLength".into(),
            format: Format::Int,
            r#type: None,
            value: "8".into(),
            removal: Removal::Leave,
        }]);
        let sent = p.plan("D1", "s1", 1);
        let Command::Exec(exec) = &sent[0].spec.command else {
            panic!("{:?}", sent[0].spec.command)
        };
        assert_eq!(
            exec.items[0].loc_uri(),
            Some("./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/Exec=SetValues")
        );
        assert_eq!(
            exec.items[0].data.as_ref().map(|d| d.as_str().to_owned()),
            Some("NamedValuesList=MinPasswordLength,8;".to_owned())
        );
        let mut u = profile(vec![Setting {
            loc_uri: "./User/Vendor/MSFT/Policy/Config/Start/HideShutDown".into(),
            format: Format::Int,
            r#type: None,
            value: "1".into(),
            removal: Removal::Delete,
        }]);
        u.scope = ProfileScope::User;
        assert_eq!(u.class(), CommandClass::UserSettings);
        assert_eq!(
            u.plan("D1", "s1", 1)[0].spec.class,
            CommandClass::UserSettings
        );
    }
}
