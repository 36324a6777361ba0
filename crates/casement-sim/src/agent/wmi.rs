//! The Windows 8.1 management tree: the WMI bridge (`./cimv2/…`) plus `./DevInfo` and
//! `./DevDetail`.
//!
//! Addressing ([MS-MDM] §3.1.5.1.3–5; docs/protocol.md §2.10):
//!
//! | LocURI | Get | Replace / Add / Delete | Exec |
//! |---|---|---|---|
//! | `./cimv2` | node: the classes | 405 | 405 |
//! | `./cimv2/<Class>` | node: the instance paths, `/`-separated, not escaped (`Win32_NetworkAdapter.DeviceID="0"/…`) | 405 | 405 |
//! | `./cimv2/<Class>/<Class>.<Key>=%22<v>%22` | node: the property names | Add/Delete for classes whose instances the server makes (`MDM_ConfigSetting`), else 405 | 405 |
//! | `…/<Property>` | the value (`chr`, `int`, `bool`; datetimes as CIM strings) | Replace: 200 if writable, 405 if read-only or a key; Add: as Replace, 418 if the property exists | 405 |
//! | `…/Exec=<Method>` (instance or class) | 405 | 405 | the method, `Data` = `<Param>=<value>`; 405 if the class has no such method |
//!
//! Key values may be quoted (`%22…%22`, decoded to `"…"`) or bare (the blog's `MDM_Client`
//! URIs); `Class=@` names a singleton. Unknown classes, instances and properties are 404.
//! Classes that hold the enrolled user's data (`MDM_WNSConfiguration`, `MDM_WNSChannel`,
//! `MDM_AppInstallJob`, `MDM_Application`, the `…User` settings classes) need impersonation:
//! every command on them answers 500 when the run cannot act as the user (see
//! [`super::tree`]). The classes and their values: [`classes`].

pub mod classes;
pub mod methods;
pub mod values;

use casement_dm::device::{DeviceTree, NodeValue};
use casement_syncml::{Data, StatusCode};

use super::AgentState;
use super::nodes::{chr, node_list, segments, standard_nodes, stored};
use super::tree::{Snapshot, TreeEnv};
use classes::{ClassSpec, Instance, Keys, Kind};

/// The Windows 8.1 tree for one session.
#[derive(Debug)]
pub struct WmiTree<'a> {
    env: TreeEnv<'a>,
    state: &'a mut AgentState,
    snapshot: Snapshot,
}

impl<'a> WmiTree<'a> {
    /// The tree over `state` in the environment of one run.
    pub fn new(env: TreeEnv<'a>, state: &'a mut AgentState) -> Self {
        Self {
            env,
            state,
            snapshot: Snapshot::default(),
        }
    }
}

impl DeviceTree for WmiTree<'_> {
    fn get(&mut self, uri: &str) -> Result<NodeValue, StatusCode> {
        if is_bridge(uri) {
            return bridge_get(&self.env, self.state, uri);
        }
        standard_nodes(&self.env)
            .get(uri)
            .ok_or(StatusCode::NotFound)
    }

    fn add(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        if is_bridge(uri) {
            return bridge_add(&self.env, self.state, uri, data);
        }
        read_only(&self.env, uri)
    }

    fn replace(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        if is_bridge(uri) {
            return bridge_replace(&self.env, self.state, uri, data);
        }
        read_only(&self.env, uri)
    }

    fn delete(&mut self, uri: &str) -> StatusCode {
        if is_bridge(uri) {
            return bridge_delete(&self.env, self.state, uri);
        }
        read_only(&self.env, uri)
    }

    fn exec(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        if is_bridge(uri) {
            return bridge_exec(&self.env, self.state, uri, data);
        }
        read_only(&self.env, uri)
    }

    fn begin_atomic(&mut self) {
        self.snapshot.begin(self.state);
    }

    fn end_atomic(&mut self, commit: bool) {
        self.snapshot.end(self.state, commit);
    }
}

/// 405 for an existing read-only node of `./DevInfo` / `./DevDetail`, 404 otherwise.
pub(super) fn read_only(env: &TreeEnv<'_>, uri: &str) -> StatusCode {
    if standard_nodes(env).contains(uri) {
        StatusCode::CommandNotAllowed
    } else {
        StatusCode::NotFound
    }
}

/// Whether `uri` is under `./cimv2` (any case: the docs write `./cimV2`).
pub fn is_bridge(uri: &str) -> bool {
    segments(uri).is_some_and(|s| s[0].eq_ignore_ascii_case("cimv2"))
}

/// What a bridge URI names.
#[derive(Debug)]
enum Target {
    Root,
    Class(&'static ClassSpec),
    Instance(&'static ClassSpec, Keys),
    Property(&'static ClassSpec, Keys, String),
    Method(&'static ClassSpec, Option<Keys>, String),
}

fn parse(env: &TreeEnv<'_>, uri: &str) -> Result<Target, StatusCode> {
    let segs = segments(uri).ok_or(StatusCode::NotFound)?;
    let platform = env.device.platform;
    let class = match segs.get(1) {
        None => return Ok(Target::Root),
        Some(name) => classes::find(name, platform).ok_or(StatusCode::NotFound)?,
    };
    let method = |s: &str| {
        s.get(..5)
            .filter(|p| p.eq_ignore_ascii_case("exec="))
            .map(|_| s[5..].to_owned())
    };
    match &segs[2..] {
        [] => Ok(Target::Class(class)),
        [one] => match method(one) {
            Some(m) => Ok(Target::Method(class, None, m)),
            None => Ok(Target::Instance(
                class,
                classes::parse_instance(one, class.name).ok_or(StatusCode::NotFound)?,
            )),
        },
        [inst, last] => {
            let keys = classes::parse_instance(inst, class.name).ok_or(StatusCode::NotFound)?;
            Ok(match method(last) {
                Some(m) => Target::Method(class, Some(keys), m),
                None => Target::Property(class, keys, last.clone()),
            })
        }
        _ => Err(StatusCode::NotFound),
    }
}

/// Get on the bridge (also used by the Windows 10/11 tree for `./cimv2`).
pub(super) fn bridge_get(
    env: &TreeEnv<'_>,
    state: &AgentState,
    uri: &str,
) -> Result<NodeValue, StatusCode> {
    match checked(env, uri)? {
        Target::Root => Ok(node_list(classes::all(env.device.platform).map(|c| c.name))),
        Target::Class(class) => {
            let paths: Vec<String> = classes::instances(class, env, state)
                .iter()
                .map(|i| i.path(class))
                .collect();
            Ok(node_list(paths))
        }
        Target::Instance(class, keys) => {
            let inst = find(class, env, state, &keys).ok_or(StatusCode::NotFound)?;
            Ok(node_list(inst.props.iter().map(|p| p.name.clone())))
        }
        Target::Property(class, keys, prop) => {
            let inst = find(class, env, state, &keys).ok_or(StatusCode::NotFound)?;
            inst.prop(&prop)
                .map(|p| p.value.clone())
                .ok_or(StatusCode::NotFound)
        }
        Target::Method(..) => Err(StatusCode::CommandNotAllowed),
    }
}

/// Replace on the bridge.
pub(super) fn bridge_replace(
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    uri: &str,
    data: Option<&Data>,
) -> StatusCode {
    match checked(env, uri) {
        Err(code) => code,
        Ok(Target::Property(class, keys, prop)) => {
            write_property(env, state, class, &keys, &prop, data, false)
        }
        Ok(_) => StatusCode::CommandNotAllowed,
    }
}

/// Add on the bridge: creates an instance or property of a settings class.
pub(super) fn bridge_add(
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    uri: &str,
    data: Option<&Data>,
) -> StatusCode {
    match checked(env, uri) {
        Err(code) => code,
        Ok(Target::Property(class, keys, prop)) => {
            write_property(env, state, class, &keys, &prop, data, true)
        }
        Ok(Target::Instance(class, keys)) if class.kind == Kind::Named => {
            if find(class, env, state, &keys).is_some() {
                return StatusCode::AlreadyExists;
            }
            let Some(inst) = Instance::from_keys(class, &keys) else {
                return StatusCode::BadRequest;
            };
            let value_prop = class.value_property.unwrap_or("Value");
            state.tree.settings.insert(
                classes::setting_key(class, &inst, value_prop),
                data.map_or_else(|| chr(""), |d| stored(Some(d))),
            );
            StatusCode::Ok
        }
        Ok(_) => StatusCode::CommandNotAllowed,
    }
}

/// Delete on the bridge: removes what the server created in a settings class.
pub(super) fn bridge_delete(env: &TreeEnv<'_>, state: &mut AgentState, uri: &str) -> StatusCode {
    match checked(env, uri) {
        Err(code) => code,
        Ok(Target::Instance(class, keys)) => {
            let Some(inst) = find(class, env, state, &keys) else {
                return StatusCode::NotFound;
            };
            if class.kind != Kind::Named {
                return StatusCode::CommandNotAllowed;
            }
            let prefix = format!("{}/", classes::instance_uri(class, &inst));
            state.tree.settings.retain(|k, _| !k.starts_with(&prefix));
            StatusCode::Ok
        }
        Ok(Target::Property(class, keys, prop)) => {
            let Some(inst) = find(class, env, state, &keys) else {
                return StatusCode::NotFound;
            };
            let Some(p) = inst.prop(&prop) else {
                return StatusCode::NotFound;
            };
            if class.kind == Kind::Computed {
                return StatusCode::CommandNotAllowed;
            }
            // Only what the server wrote can go; built-in defaults stay.
            let key = classes::setting_key(class, &inst, &p.name);
            if state.tree.settings.remove(&key).is_some() {
                StatusCode::Ok
            } else {
                StatusCode::CommandNotAllowed
            }
        }
        Ok(_) => StatusCode::CommandNotAllowed,
    }
}

/// Exec on the bridge: runs a WMI method.
pub(super) fn bridge_exec(
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    uri: &str,
    data: Option<&Data>,
) -> StatusCode {
    match checked(env, uri) {
        Err(code) => code,
        Ok(Target::Method(class, keys, method)) => {
            let Some(method) = class
                .methods
                .iter()
                .find(|m| m.eq_ignore_ascii_case(&method))
            else {
                return StatusCode::CommandNotAllowed;
            };
            methods::exec(class, keys.as_ref(), method, env, state, data)
        }
        Ok(Target::Instance(class, keys) | Target::Property(class, keys, _))
            if find(class, env, state, &keys).is_none() =>
        {
            StatusCode::NotFound
        }
        Ok(_) => StatusCode::CommandNotAllowed,
    }
}

/// Parses `uri` and checks that the run may touch its class (500 for a user class without
/// impersonation).
fn checked(env: &TreeEnv<'_>, uri: &str) -> Result<Target, StatusCode> {
    let target = parse(env, uri)?;
    match &target {
        Target::Root => {}
        Target::Class(c)
        | Target::Instance(c, _)
        | Target::Property(c, ..)
        | Target::Method(c, ..) => user_check(env, c)?,
    }
    Ok(target)
}

fn user_check(env: &TreeEnv<'_>, class: &ClassSpec) -> Result<(), StatusCode> {
    if class.user {
        env.require_user()
    } else {
        Ok(())
    }
}

fn find(
    class: &'static ClassSpec,
    env: &TreeEnv<'_>,
    state: &AgentState,
    keys: &Keys,
) -> Option<Instance> {
    classes::instances(class, env, state)
        .into_iter()
        .find(|i| i.matches(keys))
}

/// Replace (or Add, `adding`) of a property (the class was [`checked`]).
fn write_property(
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    class: &'static ClassSpec,
    keys: &Keys,
    prop: &str,
    data: Option<&Data>,
    adding: bool,
) -> StatusCode {
    let inst = match find(class, env, state, keys) {
        Some(inst) => inst,
        // The server makes instances of `Named` settings classes by writing them.
        None if class.kind == Kind::Named => match Instance::from_keys(class, keys) {
            Some(inst) => inst,
            None => return StatusCode::BadRequest,
        },
        None => return StatusCode::NotFound,
    };
    if class.keys.iter().any(|k| k.eq_ignore_ascii_case(prop)) {
        return StatusCode::CommandNotAllowed;
    }
    let name = match inst.prop(prop) {
        Some(p) if !p.writable => return StatusCode::CommandNotAllowed,
        Some(p) => p.name.clone(),
        None if class.kind == Kind::Computed => return StatusCode::NotFound,
        None => prop.to_owned(),
    };
    let key = classes::setting_key(class, &inst, &name);
    // Add of a property the instance already has (written before, or built in such as
    // `MDM_SecurityStatus.RequireEncryption`) is 418, as for any existing node.
    if adding && (inst.prop(&name).is_some() || state.tree.settings.contains_key(&key)) {
        return StatusCode::AlreadyExists;
    }
    let value = stored(data);
    if let Err(code) = methods::on_write(class, &name, &value, state) {
        return code;
    }
    state.tree.settings.insert(key, value);
    StatusCode::Ok
}

#[cfg(test)]
mod tests;
