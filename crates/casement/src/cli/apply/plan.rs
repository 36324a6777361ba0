//! `casement apply`'s pure part: the files' format (docs/configuration-as-code.md), the server's
//! state as read from the API, and the plan between them. No I/O here, so that all of it is
//! unit-tested.

use std::collections::{BTreeSet, HashMap, HashSet};

use casement_dm::profiles::{Format, Removal, Setting};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The id of the built-in group of every enrolled device: never created, changed or deleted.
pub const ALL_DEVICES: &str = "all-devices";

/// One `.toml` file: `[[group]]` and `[[profile]]` tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    group: Vec<GroupDef>,
    #[serde(default)]
    profile: Vec<ProfileDef>,
}

/// A `[[group]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    /// Name (what it is matched on with the server, case-insensitively).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// `static` or `filter`.
    pub kind: String,
    /// The devices of a static group.
    #[serde(default)]
    pub devices: Option<Vec<String>>,
    /// The filter of a filter group.
    #[serde(default)]
    pub filter: Option<FilterDef>,
}

/// A filter group's filter: every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A `[[profile]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDef {
    /// Name (what it is matched on with the server, case-insensitively).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// `windows-10`, `windows-8.1`.
    pub platforms: Vec<String>,
    /// `device` (default) or `user`.
    #[serde(default = "device_scope")]
    pub scope: String,
    /// The groups it is assigned to, by name or id.
    #[serde(default)]
    pub groups: Vec<String>,
    /// `[[profile.setting]]` tables.
    #[serde(default)]
    pub setting: Vec<SettingDef>,
    /// A SyncML body instead of settings.
    #[serde(default)]
    pub syncml: Option<String>,
}

fn device_scope() -> String {
    "device".to_owned()
}

/// A `[[profile.setting]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingDef {
    loc_uri: String,
    format: Format,
    #[serde(default, rename = "type")]
    meta_type: Option<String>,
    #[serde(default)]
    value: Scalar,
    #[serde(default = "delete")]
    removal: Removal,
}

fn delete() -> Removal {
    Removal::Delete
}

/// A value as written: a string, or (for convenience) a TOML number or boolean, sent as its text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Default for Scalar {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Integer(i) => i.to_string(),
            Self::Float(f) => f.to_string(),
            Self::Bool(b) => b.to_string(),
        }
    }
}

impl SettingDef {
    fn setting(&self) -> Setting {
        Setting {
            loc_uri: self.loc_uri.clone(),
            format: self.format,
            r#type: self.meta_type.clone(),
            value: self.value.text(),
            removal: self.removal.clone(),
        }
    }
}

impl GroupDef {
    /// The API body (`POST /groups`, `PUT /groups/{id}`).
    pub fn body(&self) -> Value {
        let mut body = self.members();
        body["name"] = json!(self.name.trim());
        body["description"] = json!(self.description);
        body
    }

    /// `{"kind": …, "devices"|"filter": …}` as the server shows a group's members.
    fn members(&self) -> Value {
        match self.kind.as_str() {
            "static" => {
                json!({ "kind": "static", "devices": self.devices.clone().unwrap_or_default() })
            }
            _ => json!({ "kind": "filter", "filter": self.filter.clone().unwrap_or_default() }),
        }
    }
}

impl ProfileDef {
    /// The settings as the server stores them (JSON).
    fn settings(&self) -> Value {
        let settings: Vec<Setting> = self.setting.iter().map(SettingDef::setting).collect();
        serde_json::to_value(settings).unwrap_or(Value::Null)
    }

    /// The API body (`POST /profiles`, `PUT /profiles/{id}`).
    pub fn body(&self) -> Value {
        let mut body = json!({
            "name": self.name.trim(),
            "description": self.description,
            "platforms": self.platforms,
            "scope": self.scope,
        });
        match &self.syncml {
            Some(syncml) => body["syncml"] = json!(syncml),
            None => body["settings"] = self.settings(),
        }
        body
    }
}

/// What the directory defines.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Desired {
    pub groups: Vec<GroupDef>,
    pub profiles: Vec<ProfileDef>,
}

/// Reads the files (name, text) of a directory. The error is the complete report.
pub fn parse_files(files: &[(String, String)]) -> Result<Desired, String> {
    let mut desired = Desired::default();
    let mut problems = Vec::new();
    let mut group_names: HashMap<String, String> = HashMap::new();
    let mut profile_names: HashMap<String, String> = HashMap::new();
    for (file, text) in files {
        let doc: FileDoc = match toml::from_str(text) {
            Ok(doc) => doc,
            Err(e) => {
                problems.push(format!("{file}: {}", e.to_string().trim_end()));
                continue;
            }
        };
        for g in doc.group {
            let name = g.name.trim();
            if let Err(why) = check_group(&g) {
                problems.push(format!("{file}: group {name:?}: {why}"));
            }
            if let Some(first) = group_names.insert(key(name), file.clone()) {
                problems.push(format!(
                    "{file}: group {name:?} is defined twice (also in {first})"
                ));
            }
            desired.groups.push(g);
        }
        for p in doc.profile {
            let name = p.name.trim();
            if let Err(why) = check_profile(&p) {
                problems.push(format!("{file}: profile {name:?}: {why}"));
            }
            if let Some(first) = profile_names.insert(key(name), file.clone()) {
                problems.push(format!(
                    "{file}: profile {name:?} is defined twice (also in {first})"
                ));
            }
            desired.profiles.push(p);
        }
    }
    if problems.is_empty() {
        Ok(desired)
    } else {
        Err(problems.join("\n"))
    }
}

fn check_group(g: &GroupDef) -> Result<(), String> {
    let name = g.name.trim();
    if name.is_empty() {
        return Err("a group needs a name".into());
    }
    if name.eq_ignore_ascii_case(ALL_DEVICES) || name.eq_ignore_ascii_case("all devices") {
        return Err(format!(
            "the group of all devices is built in: assign {ALL_DEVICES} instead of defining it"
        ));
    }
    match (g.kind.as_str(), &g.devices, &g.filter) {
        ("static", Some(_), None) => Ok(()),
        ("static", _, _) => Err("a static group lists `devices = [\"id\", …]` (and no filter)".into()),
        ("filter", None, Some(f)) if f != &FilterDef::default() => Ok(()),
        ("filter", _, _) => Err(
            "a filter group has `filter = { … }` with at least one of platform, os_version, model, user (and no devices)"
                .into(),
        ),
        (other, _, _) => Err(format!("kind must be \"static\" or \"filter\", not {other:?}")),
    }
}

fn check_profile(p: &ProfileDef) -> Result<(), String> {
    if p.name.trim().is_empty() {
        return Err("a profile needs a name".into());
    }
    if p.syncml.is_some() && !p.setting.is_empty() {
        return Err("give [[profile.setting]] tables or syncml, not both".into());
    }
    if p.syncml.is_none() && p.setting.is_empty() {
        return Err("a profile needs [[profile.setting]] tables or syncml".into());
    }
    Ok(())
}

/// Names are unique case-insensitively on the server.
fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A group as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `{"kind": …, …}`.
    pub members: Value,
    /// How many devices it holds.
    pub devices: usize,
    /// Its devices (the first 1000).
    pub device_ids: Vec<String>,
}

impl CurrentGroup {
    /// From `GET /groups/{id}`.
    pub fn from_json(v: &Value) -> Self {
        Self {
            id: text(&v["id"]),
            name: text(&v["name"]),
            description: text(&v["description"]),
            members: v["members"].clone(),
            devices: v["devices"].as_u64().unwrap_or(0) as usize,
            device_ids: strings(&v["device_ids"]),
        }
    }

    fn built_in(&self) -> bool {
        self.id == ALL_DEVICES
    }
}

/// A profile as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentProfile {
    pub id: String,
    pub name: String,
    pub description: String,
    pub platforms: Vec<String>,
    pub scope: String,
    pub settings: Value,
    pub syncml: Option<String>,
    /// The ids of the groups it is assigned to.
    pub groups: Vec<String>,
}

impl CurrentProfile {
    /// From an element of `GET /profiles`.
    pub fn from_json(v: &Value) -> Self {
        Self {
            id: text(&v["id"]),
            name: text(&v["name"]),
            description: text(&v["description"]),
            platforms: strings(&v["platforms"]),
            scope: text(&v["scope"]),
            settings: v["settings"].clone(),
            syncml: v["syncml"].as_str().map(str::to_owned),
            groups: strings(&v["groups"]),
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What the server has now.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Current {
    pub groups: Vec<CurrentGroup>,
    pub profiles: Vec<CurrentProfile>,
    /// Each enrolled device's platform, by id.
    pub device_platforms: HashMap<String, String>,
}

/// One API call of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    CreateGroup {
        body: Value,
    },
    ChangeGroup {
        id: String,
        body: Value,
    },
    CreateProfile {
        body: Value,
    },
    ChangeProfile {
        id: String,
        body: Value,
    },
    /// `profile` and `group` are ids, or names of what the plan creates.
    Assign {
        profile: String,
        group: String,
    },
    Unassign {
        profile: String,
        group: String,
    },
    DeleteProfile {
        id: String,
    },
    DeleteGroup {
        id: String,
    },
}

/// One change: the call and how it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub action: Action,
    /// `+ create profile "Camera off" (reaches 12 devices)`.
    pub line: String,
}

/// The changes, in the order they are made: groups, profiles, assignments, unassignments,
/// deletions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// What is on the server and not in the directory, kept (without `--prune`).
    pub kept: Vec<String>,
}

impl Plan {
    /// The plan as printed: a line per change, then a summary (or `No changes.`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            out.push_str(&step.line);
            out.push('\n');
        }
        for note in &self.kept {
            out.push_str(note);
            out.push('\n');
        }
        if self.steps.is_empty() {
            out.push_str("No changes.\n");
        } else {
            let count = |f: fn(&Action) -> bool| self.steps.iter().filter(|s| f(&s.action)).count();
            out.push_str(&format!(
                "Plan: {} to create, {} to change, {} to assign, {} to unassign, {} to delete.\n",
                count(|a| matches!(a, Action::CreateGroup { .. } | Action::CreateProfile { .. })),
                count(|a| matches!(a, Action::ChangeGroup { .. } | Action::ChangeProfile { .. })),
                count(|a| matches!(a, Action::Assign { .. })),
                count(|a| matches!(a, Action::Unassign { .. })),
                count(|a| matches!(a, Action::DeleteGroup { .. } | Action::DeleteProfile { .. })),
            ));
        }
        out
    }
}

/// How many devices a change reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Exactly this many.
    Known(usize),
    /// At least this many: a new (or changed) filter group's devices are known once it exists.
    AtLeast(usize),
}

impl Reach {
    fn words(self) -> String {
        match self {
            Reach::Known(n) => devices(n),
            Reach::AtLeast(0) => format!("? devices: {UNCOUNTED}"),
            Reach::AtLeast(n) => format!("at least {}: {UNCOUNTED}", devices(n)),
        }
    }
}

/// Why a reach is not known before applying.
const UNCOUNTED: &str = "a filter group new or changed here is counted once applied";

fn devices(n: usize) -> String {
    if n == 1 {
        "1 device".into()
    } else {
        format!("{n} devices")
    }
}

/// A group the plan deals with: one on the server (index in `Current::groups`) or one the plan
/// creates (index in `Desired::groups`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum GroupKey {
    Existing(usize),
    New(usize),
}

struct Planner<'a> {
    desired: &'a Desired,
    current: &'a Current,
    /// Desired group → the server's group of that name.
    group_match: Vec<Option<usize>>,
    /// Each group's devices, when known before applying.
    members: HashMap<GroupKey, Option<HashSet<String>>>,
}

impl<'a> Planner<'a> {
    fn new(desired: &'a Desired, current: &'a Current) -> Self {
        let group_match: Vec<Option<usize>> = desired
            .groups
            .iter()
            .map(|d| {
                current
                    .groups
                    .iter()
                    .position(|c| !c.built_in() && key(&c.name) == key(&d.name))
            })
            .collect();
        let mut members = HashMap::new();
        for (i, c) in current.groups.iter().enumerate() {
            members.insert(
                GroupKey::Existing(i),
                Some(c.device_ids.iter().cloned().collect()),
            );
        }
        for (i, d) in desired.groups.iter().enumerate() {
            let known = match (&d.devices, group_match[i]) {
                (Some(list), _) => Some(
                    list.iter()
                        .filter(|id| current.device_platforms.contains_key(*id))
                        .cloned()
                        .collect(),
                ),
                (None, Some(c)) if same_members(&d.members(), &current.groups[c].members) => {
                    Some(current.groups[c].device_ids.iter().cloned().collect())
                }
                _ => None,
            };
            let k = match group_match[i] {
                Some(c) => GroupKey::Existing(c),
                None => GroupKey::New(i),
            };
            members.insert(k, known);
        }
        Self {
            desired,
            current,
            group_match,
            members,
        }
    }

    /// The group a profile's `groups = […]` entry names: a server group's id, else a group of the
    /// directory by name, else a server group by name.
    fn resolve(&self, reference: &str) -> Option<GroupKey> {
        if let Some(i) = self.current.groups.iter().position(|c| c.id == reference) {
            return Some(GroupKey::Existing(i));
        }
        if let Some(i) = self
            .desired
            .groups
            .iter()
            .position(|d| key(&d.name) == key(reference))
        {
            return Some(match self.group_match[i] {
                Some(c) => GroupKey::Existing(c),
                None => GroupKey::New(i),
            });
        }
        self.current
            .groups
            .iter()
            .position(|c| key(&c.name) == key(reference))
            .map(GroupKey::Existing)
    }

    /// The group's name as shown, and how the API is told which group it is.
    fn group_name_and_ref(&self, k: GroupKey) -> (String, String) {
        match k {
            GroupKey::Existing(i) => (
                self.current.groups[i].name.clone(),
                self.current.groups[i].id.clone(),
            ),
            GroupKey::New(i) => {
                let name = self.desired.groups[i].name.trim().to_owned();
                (name.clone(), name)
            }
        }
    }

    /// The devices of `groups` on one of `platforms`, once the plan is applied.
    fn reach(&self, groups: &[GroupKey], platforms: &[String]) -> Reach {
        self.count(groups, platforms, false)
    }

    /// The devices of `groups` (on the server) on one of `platforms`, now.
    fn reach_now(&self, groups: &[GroupKey], platforms: &[String]) -> Reach {
        self.count(groups, platforms, true)
    }

    fn count(&self, groups: &[GroupKey], platforms: &[String], now: bool) -> Reach {
        let mut seen = HashSet::new();
        let mut unknown = false;
        for k in groups {
            let ids = match k {
                GroupKey::Existing(i) if now => {
                    Some(self.current.groups[*i].device_ids.iter().cloned().collect())
                }
                _ => self.members.get(k).cloned().flatten(),
            };
            match ids {
                Some(ids) => {
                    for id in ids {
                        let on_platform = self
                            .current
                            .device_platforms
                            .get(&id)
                            .is_some_and(|p| platforms.contains(p));
                        if on_platform {
                            seen.insert(id);
                        }
                    }
                }
                None => unknown = true,
            }
        }
        if unknown {
            Reach::AtLeast(seen.len())
        } else {
            Reach::Known(seen.len())
        }
    }
}

/// Static groups' devices compare as sets.
fn same_members(a: &Value, b: &Value) -> bool {
    normalise_members(a) == normalise_members(b)
}

fn normalise_members(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(list) = v.get_mut("devices").and_then(Value::as_array_mut) {
        list.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
        list.dedup();
    }
    v
}

/// What differs between a group of the directory and the server's.
fn group_changes(d: &GroupDef, c: &CurrentGroup) -> Vec<&'static str> {
    let mut what = Vec::new();
    if d.name.trim() != c.name {
        what.push("name");
    }
    if d.description != c.description {
        what.push("description");
    }
    let mine = d.members();
    if mine["kind"] != c.members["kind"] {
        what.push("kind");
    } else if !same_members(&mine, &c.members) {
        what.push(if d.kind == "static" {
            "devices"
        } else {
            "filter"
        });
    }
    what
}

/// What differs between a profile of the directory and the server's (assignments apart).
fn profile_changes(d: &ProfileDef, c: &CurrentProfile) -> Vec<&'static str> {
    let mut what = Vec::new();
    if d.name.trim() != c.name {
        what.push("name");
    }
    if d.description != c.description {
        what.push("description");
    }
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    if set(&d.platforms) != set(&c.platforms) {
        what.push("platforms");
    }
    if d.scope != c.scope {
        what.push("scope");
    }
    match (&d.syncml, &c.syncml) {
        (Some(mine), Some(theirs)) if mine == theirs => {}
        (Some(_), _) => what.push("syncml"),
        (None, Some(_)) => what.push("settings"),
        (None, None) => {
            if d.settings() != c.settings {
                what.push("settings");
            }
        }
    }
    what
}

/// The plan from what the server has to what the directory defines. `prune`: delete the
/// profiles and groups of the server that the directory does not define (the built-in group
/// and groups the directory's profiles are assigned to are kept). An error is the complete
/// report (a profile naming a group that exists nowhere).
pub fn plan(desired: &Desired, current: &Current, prune: bool) -> Result<Plan, String> {
    let planner = Planner::new(desired, current);
    let mut plan = Plan::default();
    let mut assigns = Vec::new();
    let mut unassigns = Vec::new();
    let mut deletes = Vec::new();

    // Groups.
    for (i, d) in desired.groups.iter().enumerate() {
        let name = d.name.trim();
        match planner.group_match[i] {
            None => {
                let reach = match &d.devices {
                    Some(_) => planner
                        .members
                        .get(&GroupKey::New(i))
                        .cloned()
                        .flatten()
                        .map_or(Reach::AtLeast(0), |m| Reach::Known(m.len())),
                    None => Reach::AtLeast(0),
                };
                let reach = match reach {
                    Reach::AtLeast(_) => {
                        "reaches ? devices: a new filter group is counted once it exists".to_owned()
                    }
                    known => format!("reaches {}", known.words()),
                };
                plan.steps.push(Step {
                    action: Action::CreateGroup { body: d.body() },
                    line: format!("+ create group {name:?} ({reach})"),
                });
            }
            Some(c) => {
                let server = &current.groups[c];
                let what = group_changes(d, server);
                if !what.is_empty() {
                    plan.steps.push(Step {
                        action: Action::ChangeGroup {
                            id: server.id.clone(),
                            body: d.body(),
                        },
                        line: format!(
                            "~ change group {:?}: {} (reaches {} now)",
                            server.name,
                            what.join(", "),
                            devices(server.devices)
                        ),
                    });
                }
            }
        }
    }

    // Profiles and their assignments.
    let mut problems = Vec::new();
    let mut referenced: HashSet<GroupKey> = HashSet::new();
    for d in &desired.profiles {
        let name = d.name.trim();
        let mut groups: Vec<GroupKey> = Vec::new();
        for reference in &d.groups {
            match planner.resolve(reference.trim()) {
                Some(k) => {
                    if !groups.contains(&k) {
                        groups.push(k);
                    }
                }
                None => problems.push(format!(
                    "profile {name:?}: no group {reference:?} on the server or in the directory"
                )),
            }
        }
        referenced.extend(groups.iter().copied());
        let reach = planner.reach(&groups, &d.platforms);
        let server = current.profiles.iter().find(|c| key(&c.name) == key(name));
        let (profile_ref, assigned_now): (String, Vec<GroupKey>) = match server {
            None => {
                plan.steps.push(Step {
                    action: Action::CreateProfile { body: d.body() },
                    line: format!("+ create profile {name:?} (reaches {})", reach.words()),
                });
                (name.to_owned(), Vec::new())
            }
            Some(c) => {
                let what = profile_changes(d, c);
                if !what.is_empty() {
                    plan.steps.push(Step {
                        action: Action::ChangeProfile {
                            id: c.id.clone(),
                            body: d.body(),
                        },
                        line: format!(
                            "~ change profile {:?}: {} (reaches {})",
                            c.name,
                            what.join(", "),
                            reach.words()
                        ),
                    });
                }
                let now = c
                    .groups
                    .iter()
                    .filter_map(|id| current.groups.iter().position(|g| &g.id == id))
                    .map(GroupKey::Existing)
                    .collect();
                (c.id.clone(), now)
            }
        };
        for k in &groups {
            if !assigned_now.contains(k) {
                let (group_name, group_ref) = planner.group_name_and_ref(*k);
                let reach = planner.reach(&[*k], &d.platforms);
                assigns.push(Step {
                    action: Action::Assign {
                        profile: profile_ref.clone(),
                        group: group_ref,
                    },
                    line: format!(
                        "+ assign {name:?} → {group_name:?} (reaches {})",
                        reach.words()
                    ),
                });
            }
        }
        for k in &assigned_now {
            if !groups.contains(k) {
                let (group_name, group_ref) = planner.group_name_and_ref(*k);
                let reach = planner.reach_now(&[*k], &d.platforms);
                unassigns.push(Step {
                    action: Action::Unassign {
                        profile: profile_ref.clone(),
                        group: group_ref,
                    },
                    line: format!(
                        "- unassign {name:?} → {group_name:?} ({} in the group)",
                        reach.words()
                    ),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }

    // What the directory does not define.
    for c in &current.profiles {
        if desired
            .profiles
            .iter()
            .any(|d| key(&d.name) == key(&c.name))
        {
            continue;
        }
        if prune {
            let groups: Vec<GroupKey> = c
                .groups
                .iter()
                .filter_map(|id| current.groups.iter().position(|g| &g.id == id))
                .map(GroupKey::Existing)
                .collect();
            let reach = planner.reach_now(&groups, &c.platforms);
            deletes.push(Step {
                action: Action::DeleteProfile { id: c.id.clone() },
                line: format!(
                    "- delete profile {:?} (removed from {})",
                    c.name,
                    reach.words()
                ),
            });
        } else {
            plan.kept.push(format!(
                "  profile {:?} is not in the directory (kept; --prune deletes it)",
                c.name
            ));
        }
    }
    for (i, c) in current.groups.iter().enumerate() {
        if c.built_in() || planner.group_match.contains(&Some(i)) {
            continue;
        }
        if prune && !referenced.contains(&GroupKey::Existing(i)) {
            deletes.push(Step {
                action: Action::DeleteGroup { id: c.id.clone() },
                line: format!("- delete group {:?} ({})", c.name, devices(c.devices)),
            });
        } else if prune {
            plan.kept.push(format!(
                "  group {:?} is not in the directory (kept: a profile is assigned to it)",
                c.name
            ));
        } else {
            plan.kept.push(format!(
                "  group {:?} is not in the directory (kept; --prune deletes it)",
                c.name
            ));
        }
    }

    plan.steps.extend(assigns);
    plan.steps.extend(unassigns);
    plan.steps.extend(deletes);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";

    const DIR: &str = r#"
[[group]]
name = "Finance laptops"
description = "The finance team's Surface laptops"
kind = "filter"
filter = { platform = "windows-10", model = "Surface Laptop 5" }

[[group]]
name = "Kiosks"
kind = "static"
devices = ["d2", "d1"]

[[profile]]
name = "Camera off"
description = "No camera"
platforms = ["windows-10"]
groups = ["Finance laptops", "all-devices"]
[[profile.setting]]
loc_uri = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera"
format = "int"
value = 0
removal = { restore = "1" }

[[profile]]
name = "Raw"
platforms = ["windows-10", "windows-8.1"]
scope = "device"
groups = ["Kiosks"]
syncml = """<Replace><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/X</LocURI></Target><Data>1</Data></Item></Replace>"""
"#;

    fn desired() -> Desired {
        parse_files(&[("dir/a.toml".into(), DIR.into())]).unwrap()
    }

    fn all_devices(ids: &[&str]) -> CurrentGroup {
        CurrentGroup {
            id: ALL_DEVICES.into(),
            name: "All devices".into(),
            description: String::new(),
            members: json!({"kind": "all"}),
            devices: ids.len(),
            device_ids: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn fleet() -> Current {
        Current {
            groups: vec![all_devices(&["d1", "d2", "d3"])],
            profiles: Vec::new(),
            device_platforms: [
                ("d1", "windows-10"),
                ("d2", "windows-10"),
                ("d3", "windows-8.1"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
        }
    }

    /// The server's state once `desired` is applied to `fleet()` (the filter group matched d1).
    fn applied() -> Current {
        let d = desired();
        let mut current = fleet();
        current.groups.push(CurrentGroup {
            id: "g-fin".into(),
            name: "Finance laptops".into(),
            description: d.groups[0].description.clone(),
            members: json!({"kind": "filter", "filter": {"platform": "windows-10", "model": "Surface Laptop 5"}}),
            devices: 1,
            device_ids: vec!["d1".into()],
        });
        current.groups.push(CurrentGroup {
            id: "g-kiosk".into(),
            name: "Kiosks".into(),
            description: String::new(),
            members: json!({"kind": "static", "devices": ["d2", "d1"]}),
            devices: 2,
            device_ids: vec!["d1".into(), "d2".into()],
        });
        current.profiles.push(CurrentProfile {
            id: "p-cam".into(),
            name: "Camera off".into(),
            description: "No camera".into(),
            platforms: vec!["windows-10".into()],
            scope: "device".into(),
            settings: json!([{"loc_uri": CAMERA, "format": "int", "value": "0", "removal": {"restore": "1"}}]),
            syncml: None,
            groups: vec!["g-fin".into(), ALL_DEVICES.into()],
        });
        current.profiles.push(CurrentProfile {
            id: "p-raw".into(),
            name: "Raw".into(),
            description: String::new(),
            platforms: vec!["windows-8.1".into(), "windows-10".into()],
            scope: "device".into(),
            settings: json!([{"loc_uri": "./Vendor/MSFT/X", "format": "chr", "value": "1", "removal": "delete"}]),
            syncml: d.profiles[1].syncml.clone(),
            groups: vec!["g-kiosk".into()],
        });
        current
    }

    fn lines(plan: &Plan) -> Vec<&str> {
        plan.steps.iter().map(|s| s.line.as_str()).collect()
    }

    #[test]
    fn the_files_read_as_the_api_bodies() {
        let d = desired();
        assert_eq!(
            d.groups[0].body(),
            json!({"name": "Finance laptops", "description": "The finance team's Surface laptops",
                   "kind": "filter", "filter": {"platform": "windows-10", "model": "Surface Laptop 5"}})
        );
        assert_eq!(
            d.groups[1].body(),
            json!({"name": "Kiosks", "description": "", "kind": "static", "devices": ["d2", "d1"]})
        );
        assert_eq!(
            d.profiles[0].body(),
            json!({"name": "Camera off", "description": "No camera", "platforms": ["windows-10"],
                   "scope": "device",
                   "settings": [{"loc_uri": CAMERA, "format": "int", "value": "0", "removal": {"restore": "1"}}]})
        );
        let raw = d.profiles[1].body();
        assert!(raw["syncml"].as_str().unwrap().starts_with("<Replace>"));
        assert!(raw.get("settings").is_none());
    }

    #[test]
    fn mistakes_in_the_files_are_reported_with_the_file_and_the_name() {
        let err = parse_files(&[
            ("a.toml".into(), "[[group]]\nname = \"G\"\nkind = \"filter\"\n".into()),
            ("b.toml".into(), "[[group]]\nname = \"g\"\nkind = \"static\"\ndevices = []\n[[group]]\nname = \"All devices\"\nkind = \"static\"\ndevices = []\n".into()),
            ("c.toml".into(), "[[profile]]\nname = \"P\"\nplatforms = [\"windows-10\"]\ncolour = 1\n".into()),
            ("d.toml".into(), "[[profile]]\nname = \"Q\"\nplatforms = [\"windows-10\"]\n".into()),
        ])
        .unwrap_err();
        assert!(
            err.contains("a.toml: group \"G\": a filter group has `filter"),
            "{err}"
        );
        assert!(
            err.contains("b.toml: group \"g\" is defined twice (also in a.toml)"),
            "{err}"
        );
        assert!(
            err.contains("b.toml: group \"All devices\": the group of all devices is built in"),
            "{err}"
        );
        assert!(err.contains("c.toml") && err.contains("colour"), "{err}");
        assert!(
            err.contains(
                "d.toml: profile \"Q\": a profile needs [[profile.setting]] tables or syncml"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_fresh_server_gets_everything_created_with_the_devices_reached() {
        let plan = plan(&desired(), &fleet(), false).unwrap();
        assert_eq!(
            lines(&plan),
            [
                "+ create group \"Finance laptops\" (reaches ? devices: a new filter group is counted once it exists)",
                "+ create group \"Kiosks\" (reaches 2 devices)",
                "+ create profile \"Camera off\" (reaches at least 2 devices: a filter group new or changed here is counted once applied)",
                "+ create profile \"Raw\" (reaches 2 devices)",
                "+ assign \"Camera off\" → \"Finance laptops\" (reaches ? devices: a filter group new or changed here is counted once applied)",
                "+ assign \"Camera off\" → \"All devices\" (reaches 2 devices)",
                "+ assign \"Raw\" → \"Kiosks\" (reaches 2 devices)",
            ]
        );
        assert_eq!(
            plan.steps[4].action,
            Action::Assign {
                profile: "Camera off".into(),
                group: "Finance laptops".into()
            }
        );
        assert_eq!(
            plan.steps[5].action,
            Action::Assign {
                profile: "Camera off".into(),
                group: ALL_DEVICES.into()
            }
        );
        assert!(plan.render().ends_with(
            "Plan: 4 to create, 0 to change, 3 to assign, 0 to unassign, 0 to delete.\n"
        ));
    }

    #[test]
    fn once_applied_nothing_changes() {
        let plan = plan(&desired(), &applied(), true).unwrap();
        assert_eq!(plan, Plan::default());
        assert_eq!(plan.render(), "No changes.\n");
    }

    #[test]
    fn a_changed_value_description_filter_and_assignment_are_changes() {
        let text = DIR
            .replace("value = 0", "value = \"1\"")
            .replace("description = \"No camera\"", "description = \"Camera on\"")
            .replace(
                "model = \"Surface Laptop 5\"",
                "model = \"Surface Laptop 6\"",
            )
            .replace(
                "groups = [\"Finance laptops\", \"all-devices\"]",
                "groups = [\"Kiosks\"]",
            );
        let d = parse_files(&[("a.toml".into(), text)]).unwrap();
        let plan = plan(&d, &applied(), false).unwrap();
        assert_eq!(
            lines(&plan),
            [
                "~ change group \"Finance laptops\": filter (reaches 1 device now)",
                "~ change profile \"Camera off\": description, settings (reaches 2 devices)",
                "+ assign \"Camera off\" → \"Kiosks\" (reaches 2 devices)",
                "- unassign \"Camera off\" → \"Finance laptops\" (1 device in the group)",
                "- unassign \"Camera off\" → \"All devices\" (2 devices in the group)",
            ]
        );
        assert_eq!(
            plan.steps[3].action,
            Action::Unassign {
                profile: "p-cam".into(),
                group: "g-fin".into()
            }
        );
    }

    #[test]
    fn what_the_directory_does_not_define_is_kept_unless_pruned() {
        let mut current = applied();
        current.profiles.push(CurrentProfile {
            id: "p-old".into(),
            name: "Old".into(),
            description: String::new(),
            platforms: vec!["windows-8.1".into()],
            scope: "device".into(),
            settings: json!([]),
            syncml: None,
            groups: vec![ALL_DEVICES.into()],
        });
        current.groups.push(CurrentGroup {
            id: "g-old".into(),
            name: "Old group".into(),
            description: String::new(),
            members: json!({"kind": "static", "devices": []}),
            devices: 0,
            device_ids: Vec::new(),
        });
        let kept = plan(&desired(), &current, false).unwrap();
        assert!(kept.steps.is_empty());
        assert_eq!(
            kept.render(),
            "  profile \"Old\" is not in the directory (kept; --prune deletes it)\n  group \"Old group\" is not in the directory (kept; --prune deletes it)\nNo changes.\n"
        );
        let pruned = plan(&desired(), &current, true).unwrap();
        assert_eq!(
            lines(&pruned),
            [
                "- delete profile \"Old\" (removed from 1 device)",
                "- delete group \"Old group\" (0 devices)",
            ]
        );
    }

    #[test]
    fn a_profile_naming_an_unknown_group_is_refused() {
        let text = DIR.replace("groups = [\"Kiosks\"]", "groups = [\"Nowhere\"]");
        let d = parse_files(&[("a.toml".into(), text)]).unwrap();
        assert_eq!(
            plan(&d, &fleet(), false).unwrap_err(),
            "profile \"Raw\": no group \"Nowhere\" on the server or in the directory"
        );
    }
}
