//! App installs on Windows 10/11: EnterpriseModernAppManagement (Store and hosted appx) and
//! EnterpriseDesktopAppManagement (MSI), in the device's and the user's scope.
//!
//! Flow as servers drive it (ITPRO `enterprise-app-management.md`,
//! `enterprisedesktopappmanagement-csp.md`): Add the install node, Exec the install with its
//! XML, then read the status node and the inventory. The simulated install runs until the
//! session ends, then completes (see [`super::super::tree::DeviceData::finish_jobs`]).
//!
//! | node | Get | Add | Delete | Exec |
//! |---|---|---|---|---|
//! | `…/EnterpriseModernAppManagement/AppInstallation/<PFN>` | children | 200 (418 if there) | 200 | 405 |
//! | `…/AppInstallation/<PFN>/StoreInstall` or `/HostedInstall` | 405 | 200 | 405 | 200: installing (404 before the Add of `<PFN>`) |
//! | `…/AppInstallation/<PFN>/Status` | 0 not installed, 1 installing, 2 failed, 3 installed | 405 | 405 | 405 |
//! | `…/AppManagement/AppStore[/<PFN>[/<full name>[/<property>]]]` | inventory | 405 | uninstall (`<PFN>`) | 405 |
//! | `…/EnterpriseDesktopAppManagement/MSI/<ProductID>` | children | 200 (418 if there) | uninstall | 405 |
//! | `…/MSI/<ProductID>/DownloadInstall` | empty | 200 | 405 | 200 with the `MsiInstallJob` XML |
//! | `…/MSI/<ProductID>/Status` | 10 initialized, 50 enforcement in progress, 60 failed, 70 completed | 405 | 405 | 405 |
//! | `…/MSI/<ProductID>/{Name,Version,Publisher,InstallPath,InstallDate}` | once installed | 405 | 405 | 405 |
//!
//! Every node under `./User/…` needs the enrolled user (500 otherwise, checked by the caller).

use casement_syncml::{Data, StatusCode};

use super::super::AgentState;
use super::super::clock::rfc3339;
use super::super::nodes::{chr, encode, int, node_list};
use super::super::tree::{AppJob, AppKind, InstalledApp, JobState, Scope, TreeEnv};
use super::{Answer, Op, read_only};

/// AppInstallation `Status` values.
pub mod modern_status {
    /// The node was added; no install yet.
    pub const NOT_INSTALLED: u32 = 0;
    /// Installing.
    pub const INSTALLING: u32 = 1;
    /// Failed.
    pub const FAILED: u32 = 2;
    /// Installed.
    pub const INSTALLED: u32 = 3;
}

/// MSI `Status` values.
pub mod msi_status {
    /// Initialized (the node was added).
    pub const INITIALIZED: u32 = 10;
    /// Enforcement in progress.
    pub const IN_PROGRESS: u32 = 50;
    /// Enforcement failed.
    pub const FAILED: u32 = 60;
    /// Enforcement completed.
    pub const COMPLETED: u32 = 70;
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn job_index(state: &AgentState, kind: AppKind, scope: Scope, id: &str) -> Option<usize> {
    state
        .tree
        .jobs
        .iter()
        .position(|j| j.kind == kind && j.scope == scope && j.id.eq_ignore_ascii_case(id))
}

fn new_job(env: &TreeEnv<'_>, kind: AppKind, scope: Scope, id: &str) -> AppJob {
    AppJob {
        id: id.to_owned(),
        kind,
        scope,
        package: id.to_owned(),
        data: String::new(),
        state: JobState::Created,
        created_at: env.now,
        finished_at: None,
    }
}

/// Starts the install of job `index` with `data`.
fn start(state: &mut AgentState, index: usize, data: Option<&Data>) -> Answer {
    let data = data.map(Data::as_str).unwrap_or_default();
    if data.is_empty() {
        return Err(StatusCode::BadRequest);
    }
    let job = &mut state.tree.jobs[index];
    job.data = data.to_owned();
    job.state = JobState::InProgress;
    job.finished_at = None;
    Ok(None)
}

/// `EnterpriseModernAppManagement/…`.
pub(super) fn modern(
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    scope: Scope,
    path: &[String],
    op: Op<'_>,
) -> Answer {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    let kind = AppKind::Modern;
    match names.as_slice() {
        [] => read_only(op, || node_list(["AppInstallation", "AppManagement"])),
        [inst] if eq(inst, "AppInstallation") => {
            let ids: Vec<String> = jobs(state, kind, scope).map(|j| encode(&j.id)).collect();
            read_only(op, || node_list(ids))
        }
        [inst, pfn] if eq(inst, "AppInstallation") => {
            let index = job_index(state, kind, scope, pfn);
            match (op, index) {
                (Op::Get, Some(_)) => Ok(Some(node_list([
                    "StoreInstall",
                    "HostedInstall",
                    "Status",
                    "LastError",
                    "LastErrorDesc",
                    "ProgressStatus",
                ]))),
                (Op::Add(_), Some(_)) => Err(StatusCode::AlreadyExists),
                (Op::Add(_), None) => {
                    state.tree.jobs.push(new_job(env, kind, scope, pfn));
                    Ok(None)
                }
                (Op::Delete, Some(i)) => {
                    state.tree.jobs.remove(i);
                    Ok(None)
                }
                (_, None) => Err(StatusCode::NotFound),
                (_, Some(_)) => Err(StatusCode::CommandNotAllowed),
            }
        }
        [inst, pfn, leaf] if eq(inst, "AppInstallation") => {
            let index = job_index(state, kind, scope, pfn).ok_or(StatusCode::NotFound)?;
            if eq(leaf, "StoreInstall") || eq(leaf, "HostedInstall") {
                return match op {
                    Op::Exec(data) => start(state, index, data),
                    Op::Add(data) | Op::Replace(data) => {
                        if let Some(d) = data {
                            state.tree.jobs[index].data = d.as_str().to_owned();
                        }
                        Ok(None)
                    }
                    _ => Err(StatusCode::CommandNotAllowed),
                };
            }
            let job = &state.tree.jobs[index];
            let value = match leaf.to_ascii_lowercase().as_str() {
                "status" => int(match job.state {
                    JobState::Created => modern_status::NOT_INSTALLED,
                    JobState::InProgress => modern_status::INSTALLING,
                    JobState::Failed => modern_status::FAILED,
                    JobState::Completed => modern_status::INSTALLED,
                }),
                "lasterror" => int(0),
                "lasterrordesc" => chr(""),
                "progressstatus" => int(match job.state {
                    JobState::Created => 0,
                    JobState::InProgress => 50,
                    JobState::Completed | JobState::Failed => 100,
                }),
                _ => return Err(StatusCode::NotFound),
            };
            read_only(op, || value)
        }
        [mgmt, rest @ ..] if eq(mgmt, "AppManagement") => inventory(state, scope, rest, op),
        _ => Err(StatusCode::NotFound),
    }
}

fn jobs(state: &AgentState, kind: AppKind, scope: Scope) -> impl Iterator<Item = &AppJob> {
    state
        .tree
        .jobs
        .iter()
        .filter(move |j| j.kind == kind && j.scope == scope)
}

fn apps(state: &AgentState, kind: AppKind, scope: Scope) -> impl Iterator<Item = &InstalledApp> {
    state
        .tree
        .apps
        .iter()
        .filter(move |a| a.kind == kind && a.scope == scope)
}

/// Whether an app shows in `scope`'s inventory: the device's lists every user's apps ("the
/// device-wide app inventory", as the server reads it), the user's only the user's.
fn visible(app: &InstalledApp, scope: Scope) -> bool {
    app.kind == AppKind::Modern && (scope == Scope::Device || app.scope == scope)
}

/// `AppManagement/AppStore/<PFN>/<full name>/<property>` (all simulated apps are listed under
/// `AppStore`; `nonStore` stays empty).
fn inventory(state: &mut AgentState, scope: Scope, path: &[&str], op: Op<'_>) -> Answer {
    match path {
        [] => read_only(op, || node_list(["AppStore", "nonStore"])),
        [non] if eq(non, "nonStore") => read_only(op, || node_list(Vec::<String>::new())),
        [store] if eq(store, "AppStore") => {
            let families: Vec<String> = state
                .tree
                .apps
                .iter()
                .filter(|a| visible(a, scope))
                .map(|a| encode(&a.family))
                .collect();
            read_only(op, || node_list(families))
        }
        [store, pfn] if eq(store, "AppStore") => {
            let position = state
                .tree
                .apps
                .iter()
                .position(|a| visible(a, scope) && a.family.eq_ignore_ascii_case(pfn));
            match (op, position) {
                (_, None) => Err(StatusCode::NotFound),
                (Op::Delete, Some(i)) => {
                    state.tree.apps.remove(i);
                    Ok(None)
                }
                (_, Some(i)) => {
                    let full = encode(&state.tree.apps[i].full_name);
                    read_only(op, || node_list([full]))
                }
            }
        }
        [store, pfn, full, rest @ ..] if eq(store, "AppStore") => {
            let app = state
                .tree
                .apps
                .iter()
                .find(|a| {
                    visible(a, scope)
                        && a.family.eq_ignore_ascii_case(pfn)
                        && a.full_name.eq_ignore_ascii_case(full)
                })
                .ok_or(StatusCode::NotFound)?;
            let props = [
                ("Name", chr(app.name.clone())),
                ("Version", chr(app.version.clone())),
                ("Publisher", chr(app.publisher.clone())),
                ("Architecture", chr("x64")),
                (
                    "InstallLocation",
                    chr(format!("C:\\Program Files\\WindowsApps\\{}", app.full_name)),
                ),
                ("InstallDate", chr(rfc3339(app.installed_at))),
                ("ResourceID", chr("")),
                ("PackageStatus", int(0)),
                ("RequiresReinstall", int(0)),
                ("IsProvisioned", int(0)),
                ("IsFramework", int(0)),
                ("IsBundle", int(0)),
            ];
            match rest {
                [] => read_only(op, || node_list(props.iter().map(|(n, _)| *n))),
                [prop] => {
                    let value = props
                        .iter()
                        .find(|(n, _)| eq(n, prop))
                        .map(|(_, v)| v.clone())
                        .ok_or(StatusCode::NotFound)?;
                    read_only(op, || value)
                }
                _ => Err(StatusCode::NotFound),
            }
        }
        _ => Err(StatusCode::NotFound),
    }
}

/// `EnterpriseDesktopAppManagement/MSI/…`.
pub(super) fn desktop(
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    scope: Scope,
    path: &[String],
    op: Op<'_>,
) -> Answer {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    let kind = AppKind::Msi;
    match names.as_slice() {
        [] => read_only(op, || node_list(["MSI"])),
        [msi] if eq(msi, "MSI") => {
            let mut ids: Vec<String> = jobs(state, kind, scope).map(|j| j.id.clone()).collect();
            for app in apps(state, kind, scope) {
                if !ids.iter().any(|i| i.eq_ignore_ascii_case(&app.family)) {
                    ids.push(app.family.clone());
                }
            }
            read_only(op, || node_list(ids.iter().map(|i| encode(i))))
        }
        [msi, product] if eq(msi, "MSI") => {
            let job = job_index(state, kind, scope, product);
            let app = state.tree.apps.iter().position(|a| {
                a.kind == kind && a.scope == scope && a.family.eq_ignore_ascii_case(product)
            });
            match op {
                Op::Get if job.is_some() || app.is_some() => Ok(Some(node_list([
                    "DownloadInstall",
                    "Status",
                    "LastError",
                    "LastErrorDesc",
                    "Name",
                    "Version",
                    "Publisher",
                    "InstallPath",
                    "InstallDate",
                ]))),
                Op::Add(_) if job.is_some() || app.is_some() => Err(StatusCode::AlreadyExists),
                Op::Add(_) => {
                    state.tree.jobs.push(new_job(env, kind, scope, product));
                    Ok(None)
                }
                Op::Delete if job.is_some() || app.is_some() => {
                    state.tree.jobs.retain(|j| {
                        !(j.kind == kind && j.scope == scope && j.id.eq_ignore_ascii_case(product))
                    });
                    state.tree.apps.retain(|a| {
                        !(a.kind == kind
                            && a.scope == scope
                            && a.family.eq_ignore_ascii_case(product))
                    });
                    Ok(None)
                }
                Op::Get | Op::Delete => Err(StatusCode::NotFound),
                _ => Err(StatusCode::CommandNotAllowed),
            }
        }
        [msi, product, leaf] if eq(msi, "MSI") => {
            if eq(leaf, "DownloadInstall") {
                let index = job_index(state, kind, scope, product);
                return match (op, index) {
                    (Op::Add(_), None) => {
                        state.tree.jobs.push(new_job(env, kind, scope, product));
                        Ok(None)
                    }
                    (Op::Add(_), Some(_)) => Ok(None),
                    (Op::Exec(data), Some(i)) => start(state, i, data),
                    (Op::Get, Some(_)) => Ok(Some(chr(""))),
                    (_, None) => Err(StatusCode::NotFound),
                    (_, Some(_)) => Err(StatusCode::CommandNotAllowed),
                };
            }
            let job = jobs(state, kind, scope).find(|j| j.id.eq_ignore_ascii_case(product));
            let app = apps(state, kind, scope).find(|a| a.family.eq_ignore_ascii_case(product));
            if job.is_none() && app.is_none() {
                return Err(StatusCode::NotFound);
            }
            let value = match leaf.to_ascii_lowercase().as_str() {
                "status" => int(match (job.map(|j| j.state), app) {
                    (Some(JobState::InProgress), _) => msi_status::IN_PROGRESS,
                    (Some(JobState::Failed), _) => msi_status::FAILED,
                    (Some(JobState::Created), None) => msi_status::INITIALIZED,
                    _ => msi_status::COMPLETED,
                }),
                "lasterror" => int(0),
                "lasterrordesc" => chr(""),
                "name" => chr(app.ok_or(StatusCode::NotFound)?.name.clone()),
                "version" => chr(app.ok_or(StatusCode::NotFound)?.version.clone()),
                "publisher" => chr(app.ok_or(StatusCode::NotFound)?.publisher.clone()),
                "installpath" => chr(format!(
                    "C:\\Program Files\\{}",
                    app.ok_or(StatusCode::NotFound)?.name
                )),
                "installdate" => chr(rfc3339(app.ok_or(StatusCode::NotFound)?.installed_at)),
                _ => return Err(StatusCode::NotFound),
            };
            read_only(op, || value)
        }
        _ => Err(StatusCode::NotFound),
    }
}
