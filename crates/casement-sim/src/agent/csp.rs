//! The Windows 10/11 management tree: configuration service providers under
//! `./Vendor/MSFT` (also addressed as `./Device/Vendor/MSFT`), the user's under
//! `./User/Vendor/MSFT`, `./DevInfo`, `./DevDetail`, and the WMI bridge's `Win32_*` classes.
//!
//! | node | Get | Add | Replace | Delete | Exec |
//! |---|---|---|---|---|---|
//! | `./DevInfo/*`, `./DevDetail/*`, `./Vendor/MSFT/DeviceStatus/*`, `…/DeviceManageability/*` | value / children | 405 | 405 | 405 | 405 |
//! | `./Vendor/MSFT/DMClient/Provider/<ProviderID>/Push/PFN` | value (404 before set) | 200: channel created | 200 | 200 | 405 |
//! | `…/Push/ChannelURI`, `…/Push/Status` | value (404 before PFN) | 405 | 405 | 405 | 405 |
//! | `…/Unenroll` | 405 | 405 | 405 | 405 | 200: the device unenrolls after the session |
//! | `…/EntDMID`, `…/Poll/*` | value | 418 when it holds a value (always, once enrolled) | 200 | 405 | 405 |
//! | `./[User/]Vendor/MSFT/Policy/Config/<Area>/<Policy>` | value (404 unset) | 200, 418 if set | 200 | 200, 404 unset | 405 |
//! | `…/Policy/Result/<Area>/<Policy>` | the value in force | 405 | 405 | 405 | 405 |
//! | app installs ([`apps`]) | status, inventory | create the install node | 405 | remove / uninstall | install |
//! | other known CSPs (BitLocker, Firewall, WiFi, …) | stored value / children | 200, 418 if set | 200 | 200 / 404 | 405 |
//! | settings nodes of the [`known`] table (AllowCamera, Accounts `Password`, …) | value, 405 if write-only | 200, 418 if set, 400 malformed, 500 out of range | same, creates if unset | 200 / 404, 405 if not deletable | 405 |
//! | `RemoteWipe/doWipe*`, `Reboot/RebootNow`, `RemoteLock/Lock` | 405 | 405 | 405 | 405 | 200 (recorded) |
//! | `Reboot/Schedule/Single` | the latest value (404 before) | 200 (recorded) | 200 (recorded) | 405 | 405 |
//!
//! Policies and settings nodes outside the [`known`] table take any value (no format or range
//! check). A ProviderID other than the device's, an unknown CSP or node is 404. Every `./User/…` node
//! answers 500 when the run cannot act as the enrolled user (logged off, or a command-prompt run):
//! see [`super::tree`]. Push/PFN is the device's (DMClient runs as System) and needs no user.

pub mod apps;
pub mod dmclient;
pub mod known;

use casement_dm::device::{DeviceTree, NodeValue};
use casement_syncml::{Data, StatusCode};

use super::AgentState;
use super::nodes::{
    LeafTable, boolean, chr, encode, int, ipv4, node_list, segments, standard_nodes, stored,
};
use super::tree::{Executed, Scope, Snapshot, TreeEnv};
use super::wmi;

/// The Windows 10/11 tree for one session.
#[derive(Debug)]
pub struct CspTree<'a> {
    env: TreeEnv<'a>,
    state: &'a mut AgentState,
    snapshot: Snapshot,
}

impl<'a> CspTree<'a> {
    /// The tree over `state` in the environment of one run.
    pub fn new(env: TreeEnv<'a>, state: &'a mut AgentState) -> Self {
        Self {
            env,
            state,
            snapshot: Snapshot::default(),
        }
    }
}

/// A command on a node.
#[derive(Debug, Clone, Copy)]
pub(super) enum Op<'d> {
    Get,
    Add(Option<&'d Data>),
    Replace(Option<&'d Data>),
    Delete,
    Exec(Option<&'d Data>),
}

/// `Ok(Some(value))` for a Get, `Ok(None)` for a successful change, or the failure status.
pub(super) type Answer = Result<Option<NodeValue>, StatusCode>;

/// 405 unless the command is a Get, which returns `value`.
pub(super) fn read_only(op: Op<'_>, value: impl FnOnce() -> NodeValue) -> Answer {
    match op {
        Op::Get => Ok(Some(value())),
        _ => Err(StatusCode::CommandNotAllowed),
    }
}

impl DeviceTree for CspTree<'_> {
    fn get(&mut self, uri: &str) -> Result<NodeValue, StatusCode> {
        self.run(uri, Op::Get)?.ok_or(StatusCode::CommandFailed)
    }

    fn add(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        status(self.run(uri, Op::Add(data)))
    }

    fn replace(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        status(self.run(uri, Op::Replace(data)))
    }

    fn delete(&mut self, uri: &str) -> StatusCode {
        status(self.run(uri, Op::Delete))
    }

    fn exec(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        status(self.run(uri, Op::Exec(data)))
    }

    fn begin_atomic(&mut self) {
        self.snapshot.begin(self.state);
    }

    fn end_atomic(&mut self, commit: bool) {
        self.snapshot.end(self.state, commit);
    }
}

fn status(answer: Answer) -> StatusCode {
    match answer {
        Ok(_) => StatusCode::Ok,
        Err(code) => code,
    }
}

/// The CSPs served, by canonical name, and in which scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Csp {
    DmClient,
    Policy,
    Modern,
    Desktop,
    DeviceStatus,
    DeviceManageability,
    /// A CSP with Exec nodes only (name, its Exec nodes).
    Action(&'static str, &'static [&'static str]),
    /// A settings CSP kept as a plain store.
    Store(&'static str),
}

/// Settings CSPs kept as a plain store (any node under them can be set and read back).
const STORE_CSPS: &[&str] = &[
    "Accounts",
    "ApplicationControl",
    "AppLocker",
    "BitLocker",
    "CertificateStore",
    "ClientCertificateInstall",
    "Defender",
    "DeviceLock",
    "Firewall",
    "Maps",
    "Office",
    "PassportForWork",
    "Personalization",
    "RootCATrustedCertificates",
    "SecureAssessment",
    "Update",
    "VPNv2",
    "WiFi",
    "WindowsLicensing",
];

/// CSPs made of Exec nodes.
const ACTION_CSPS: &[(&str, &[&str])] = &[
    (
        "RemoteWipe",
        &[
            "doWipe",
            "doWipeProtected",
            "doWipePersistProvisionedData",
            "doWipePersistUserData",
        ],
    ),
    ("Reboot", &["RebootNow"]),
    ("RemoteLock", &["Lock"]),
];

impl Csp {
    fn name(self) -> &'static str {
        match self {
            Csp::DmClient => "DMClient",
            Csp::Policy => "Policy",
            Csp::Modern => "EnterpriseModernAppManagement",
            Csp::Desktop => "EnterpriseDesktopAppManagement",
            Csp::DeviceStatus => "DeviceStatus",
            Csp::DeviceManageability => "DeviceManageability",
            Csp::Action(name, _) | Csp::Store(name) => name,
        }
    }

    fn all(scope: Scope) -> Vec<Csp> {
        let mut list = match scope {
            Scope::Device => vec![
                Csp::DmClient,
                Csp::DeviceManageability,
                Csp::DeviceStatus,
                Csp::Desktop,
                Csp::Modern,
                Csp::Policy,
            ],
            Scope::User => vec![Csp::Desktop, Csp::Modern, Csp::Policy],
        };
        if scope == Scope::Device {
            list.extend(ACTION_CSPS.iter().map(|(n, e)| Csp::Action(n, e)));
        }
        list.extend(STORE_CSPS.iter().map(|n| Csp::Store(n)));
        list
    }

    fn find(name: &str, scope: Scope) -> Option<Csp> {
        Self::all(scope)
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

/// The stored-URI prefix of a scope.
pub(super) fn scope_prefix(scope: Scope) -> &'static str {
    match scope {
        Scope::Device => "./Vendor/MSFT",
        Scope::User => "./User/Vendor/MSFT",
    }
}

pub(super) fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl CspTree<'_> {
    fn run(&mut self, uri: &str, op: Op<'_>) -> Answer {
        let segs = segments(uri).ok_or(StatusCode::NotFound)?;
        let first = segs[0].as_str();
        if eq(first, "cimv2") {
            return bridge(&self.env, self.state, uri, op);
        }
        if eq(first, "DevInfo") || eq(first, "DevDetail") {
            let table = standard_nodes(&self.env);
            let value = table.get(uri).ok_or(StatusCode::NotFound)?;
            return read_only(op, || value);
        }
        let (scope, rest) = match (first, segs.get(1)) {
            (f, _) if eq(f, "Vendor") => (Scope::Device, &segs[..]),
            (f, Some(v)) if eq(f, "Device") && eq(v, "Vendor") => (Scope::Device, &segs[1..]),
            (f, Some(v)) if eq(f, "User") && eq(v, "Vendor") => (Scope::User, &segs[1..]),
            _ => return Err(StatusCode::NotFound),
        };
        match rest {
            [_] => return read_only(op, || node_list(["MSFT"])),
            [_, msft, ..] if !eq(msft, "MSFT") => return Err(StatusCode::NotFound),
            [_, _] => {
                return read_only(op, || node_list(Csp::all(scope).into_iter().map(Csp::name)));
            }
            _ => {}
        }
        let csp = Csp::find(&rest[2], scope).ok_or(StatusCode::NotFound)?;
        if scope == Scope::User {
            self.env.require_user()?;
        }
        let path = &rest[3..];
        let env = self.env;
        let state = &mut *self.state;
        if matches!(csp, Csp::Policy | Csp::Store(_)) {
            match known::lookup(scope, &rest[2..]) {
                known::Lookup::Known(node, canonical) => {
                    let key = format!("{}/{canonical}", scope_prefix(scope));
                    return known_leaf(state, &key, node, op);
                }
                known::Lookup::OtherScope => return Err(StatusCode::NotFound),
                known::Lookup::Unknown => {}
            }
        }
        match csp {
            Csp::DmClient => dmclient::dm_client(&env, state, path, op),
            Csp::Policy => policy(state, scope, path, op),
            Csp::Modern => apps::modern(&env, state, scope, path, op),
            Csp::Desktop => apps::desktop(&env, state, scope, path, op),
            Csp::DeviceStatus => {
                let table = device_status(&env);
                let uri = join(scope, csp.name(), path);
                let value = table.get(&uri).ok_or(StatusCode::NotFound)?;
                read_only(op, || value)
            }
            Csp::DeviceManageability => {
                let table = device_manageability(&env);
                let uri = join(scope, csp.name(), path);
                let value = table.get(&uri).ok_or(StatusCode::NotFound)?;
                read_only(op, || value)
            }
            Csp::Action(name, nodes) => action(&env, state, name, nodes, path, op),
            Csp::Store(name) => store(state, &join(scope, name, &[]), path, op),
        }
    }
}

/// `./cimv2` on Windows 10/11: the `Win32_*` classes of the bridge.
fn bridge(env: &TreeEnv<'_>, state: &mut AgentState, uri: &str, op: Op<'_>) -> Answer {
    let code = match op {
        Op::Get => return wmi::bridge_get(env, state, uri).map(Some),
        Op::Add(data) => wmi::bridge_add(env, state, uri, data),
        Op::Replace(data) => wmi::bridge_replace(env, state, uri, data),
        Op::Delete => wmi::bridge_delete(env, state, uri),
        Op::Exec(data) => wmi::bridge_exec(env, state, uri, data),
    };
    if code.is_success() {
        Ok(None)
    } else {
        Err(code)
    }
}

/// The canonical stored URI of `path` under a CSP.
fn join(scope: Scope, csp: &str, path: &[String]) -> String {
    let mut uri = format!("{}/{csp}", scope_prefix(scope));
    for seg in path {
        uri.push('/');
        uri.push_str(seg);
    }
    uri
}

/// `Policy/Config/<Area>/<Policy>` and `Policy/Result/<Area>/<Policy>`.
fn policy(state: &mut AgentState, scope: Scope, path: &[String], op: Op<'_>) -> Answer {
    let config = join(scope, "Policy", &["Config".to_owned()]);
    match path {
        [] => read_only(op, || node_list(["Config", "Result"])),
        [branch, rest @ ..] if eq(branch, "Config") || eq(branch, "Result") => {
            let is_config = eq(branch, "Config");
            match rest {
                [area, name] if is_config => {
                    store_leaf(state, &format!("{config}/{area}/{name}"), op)
                }
                [area, name] => {
                    let value = state
                        .tree
                        .settings
                        .get(&format!("{config}/{area}/{name}"))
                        .cloned()
                        .ok_or(StatusCode::NotFound)?;
                    read_only(op, || value)
                }
                [area] => {
                    let children = children(state, &format!("{config}/{area}"));
                    if children.is_empty() {
                        return Err(StatusCode::NotFound);
                    }
                    read_only(op, || node_list(children.iter().map(|c| encode(c))))
                }
                [] => {
                    let children = children(state, &config);
                    read_only(op, || node_list(children.iter().map(|c| encode(c))))
                }
                _ => Err(StatusCode::NotFound),
            }
        }
        _ => Err(StatusCode::NotFound),
    }
}

/// A leaf in a plain store: Get (404 unset), Add (418 if set), Replace, Delete (404 unset).
fn store_leaf(state: &mut AgentState, key: &str, op: Op<'_>) -> Answer {
    let settings = &mut state.tree.settings;
    match op {
        Op::Get => settings
            .get(key)
            .cloned()
            .map(Some)
            .ok_or(StatusCode::NotFound),
        Op::Add(data) => {
            if settings.contains_key(key) {
                return Err(StatusCode::AlreadyExists);
            }
            let data = data.ok_or(StatusCode::BadRequest)?;
            settings.insert(key.to_owned(), stored(Some(data)));
            Ok(None)
        }
        Op::Replace(data) => {
            let data = data.ok_or(StatusCode::BadRequest)?;
            settings.insert(key.to_owned(), stored(Some(data)));
            Ok(None)
        }
        Op::Delete => settings
            .remove(key)
            .map(|_| None)
            .ok_or(StatusCode::NotFound),
        Op::Exec(_) => Err(StatusCode::CommandNotAllowed),
    }
}

/// A node of the [`known`] table (its answers are listed there).
fn known_leaf(state: &mut AgentState, key: &str, node: &known::KnownNode, op: Op<'_>) -> Answer {
    let settings = &mut state.tree.settings;
    let allowed = match op {
        Op::Get => node.ops.get,
        Op::Add(_) => node.ops.add,
        Op::Replace(_) => node.ops.replace,
        Op::Delete => node.ops.delete,
        Op::Exec(_) => false,
    };
    if !allowed {
        return Err(StatusCode::CommandNotAllowed);
    }
    match op {
        Op::Get => settings
            .get(key)
            .cloned()
            .map(Some)
            .ok_or(StatusCode::NotFound),
        Op::Add(data) => {
            if settings.contains_key(key) {
                return Err(StatusCode::AlreadyExists);
            }
            settings.insert(key.to_owned(), node.parse(data)?);
            Ok(None)
        }
        Op::Replace(data) => {
            settings.insert(key.to_owned(), node.parse(data)?);
            Ok(None)
        }
        Op::Delete => settings
            .remove(key)
            .map(|_| None)
            .ok_or(StatusCode::NotFound),
        Op::Exec(_) => Err(StatusCode::CommandNotAllowed),
    }
}

/// The names of the stored children of `prefix`.
fn children(state: &AgentState, prefix: &str) -> Vec<String> {
    let prefix = format!("{prefix}/");
    let mut names: Vec<String> = Vec::new();
    for key in state.tree.settings.range(prefix.clone()..).map(|(k, _)| k) {
        let Some(rest) = key.strip_prefix(&prefix) else {
            break;
        };
        let name = rest.split('/').next().unwrap_or(rest).to_owned();
        if names.last() != Some(&name) && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// A plain settings store under `root` (the CSP's node).
fn store(state: &mut AgentState, root: &str, path: &[String], op: Op<'_>) -> Answer {
    if path.is_empty() {
        let kids = children(state, root);
        return read_only(op, || node_list(kids.iter().map(|c| encode(c))));
    }
    let key = format!("{root}/{}", path.join("/"));
    let kids = children(state, &key);
    match op {
        Op::Get if !kids.is_empty() => Ok(Some(node_list(kids.iter().map(|c| encode(c))))),
        Op::Add(_) if !kids.is_empty() => Err(StatusCode::AlreadyExists),
        Op::Add(None) => {
            // An interior node: nothing to keep until something is added under it.
            Ok(None)
        }
        Op::Delete if !kids.is_empty() => {
            let prefix = format!("{key}/");
            state.tree.settings.retain(|k, _| !k.starts_with(&prefix));
            state.tree.settings.remove(&key);
            Ok(None)
        }
        _ => store_leaf(state, &key, op),
    }
}

/// A CSP of Exec nodes: the Exec is recorded.
fn action(
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    name: &str,
    nodes: &[&str],
    path: &[String],
    op: Op<'_>,
) -> Answer {
    match path {
        [] => read_only(op, || node_list(nodes.iter().copied())),
        [node] => {
            let node = nodes
                .iter()
                .find(|n| eq(n, node))
                .ok_or(StatusCode::NotFound)?;
            let Op::Exec(data) = op else {
                return Err(StatusCode::CommandNotAllowed);
            };
            if name == "RemoteLock" {
                state.user = state.user.locked();
            }
            state.tree.executed.push(Executed {
                at: env.now,
                uri: format!("./Vendor/MSFT/{name}/{node}"),
                data: data.map(|d| d.as_str().to_owned()),
            });
            Ok(None)
        }
        // The Reboot CSP's single scheduled reboot (windows-itpro-docs reboot-csp.md:
        // `Schedule/Single`, an ISO 8601 date and time, Add/Replace/Get/Delete): the value is
        // recorded like an action, and read back as the latest one.
        [schedule, single]
            if name == "Reboot" && eq("Schedule", schedule) && eq("Single", single) =>
        {
            let uri = "./Vendor/MSFT/Reboot/Schedule/Single";
            let latest = || {
                state
                    .tree
                    .executed
                    .iter()
                    .rev()
                    .find(|e| e.uri == uri)
                    .and_then(|e| e.data.clone())
            };
            match op {
                Op::Get => latest().map(|v| Some(chr(v))).ok_or(StatusCode::NotFound),
                Op::Add(data) | Op::Replace(data) => {
                    let value = data
                        .map(|d| d.as_str().trim().to_owned())
                        .unwrap_or_default();
                    if value.is_empty() {
                        return Err(StatusCode::BadRequest);
                    }
                    state.tree.executed.push(Executed {
                        at: env.now,
                        uri: uri.into(),
                        data: Some(value),
                    });
                    Ok(None)
                }
                Op::Delete | Op::Exec(_) => Err(StatusCode::CommandNotAllowed),
            }
        }
        _ => Err(StatusCode::NotFound),
    }
}

/// `./Vendor/MSFT/DeviceStatus/*`.
fn device_status(env: &TreeEnv<'_>) -> LeafTable {
    let device = env.device;
    let mut t = LeafTable::default();
    let d = "./Vendor/MSFT/DeviceStatus";
    t.leaf(format!("{d}/SecureBootState"), int(1));
    t.leaf(format!("{d}/OS/Edition"), int(device.hardware.os_edition));
    t.leaf(format!("{d}/OS/Mode"), int(0));
    t.leaf(format!("{d}/Compliance/EncryptionCompliance"), int(0));
    t.leaf(format!("{d}/TPM/SpecificationVersion"), chr("2.0"));
    t.leaf(format!("{d}/Antivirus/SignatureStatus"), int(0));
    t.leaf(format!("{d}/Antivirus/Status"), int(0));
    t.leaf(format!("{d}/Antispyware/SignatureStatus"), int(0));
    t.leaf(format!("{d}/Antispyware/Status"), int(0));
    t.leaf(format!("{d}/Firewall/Status"), int(0));
    t.leaf(format!("{d}/UAC/Status"), int(1));
    t.leaf(format!("{d}/DomainName"), chr(""));
    for (i, mac) in device.hardware.macs.iter().enumerate() {
        let n = format!("{d}/NetworkIdentifiers/{}", mac.replace('-', ""));
        t.leaf(format!("{n}/IPAddressV4"), chr(ipv4(i)));
        t.leaf(
            format!("{n}/IPAddressV6"),
            chr(format!("fe80::20c:29ff:fe00:{i:x}")),
        );
        t.leaf(format!("{n}/IsConnected"), boolean(true));
        t.leaf(format!("{n}/Type"), int(1));
    }
    t
}

/// `./Vendor/MSFT/DeviceManageability/Capabilities/*`.
fn device_manageability(env: &TreeEnv<'_>) -> LeafTable {
    let mut t = LeafTable::default();
    let c = "./Vendor/MSFT/DeviceManageability/Capabilities";
    let versions: String = Csp::all(Scope::Device)
        .into_iter()
        .map(|csp| {
            format!(
                "<CSP Node=\"./Vendor/MSFT/{}\" Versions=\"1.0\"/>",
                csp.name()
            )
        })
        .collect();
    t.leaf(format!("{c}/CSPVersions"), chr(versions));
    t.leaf(
        format!("{c}/SyncApplicationVersion"),
        chr(match env.device.platform {
            crate::enroll::WindowsRelease::Windows11 => "6.0",
            _ => "3.0",
        }),
    );
    t
}

#[cfg(test)]
mod tests;
