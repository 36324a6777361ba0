//! The WMI methods the simulated bridge runs, and the side effects of property writes.
//!
//! Choices the record leaves open (inferred):
//! - `MDM_AppInstallJob.Status`: 1 while the job runs, 2 once installed, 3 failed (the class page
//!   gives no values). `CreateJob`'s `JobData` is free-form (its format is not public): the
//!   package full name is read from a `PackageFullName` / `PackageFamilyName` field or attribute
//!   if there is one, else from an `.appx` URL, else invented.
//! - `UpdateConfiguration` creates the `MDM_WNSChannel` instance at once, valid 30 days.

use casement_dm::device::NodeValue;
use casement_syncml::{Data, StatusCode};
use time::{Duration, OffsetDateTime};

use super::super::AgentState;
use super::super::nodes::{chr, method_param, stored};
use super::super::tree::{
    AppJob, AppKind, Executed, JobState, PasswordReset, Scope, TreeEnv, WnsChannel,
    WnsConfiguration,
};
use super::classes::{ClassSpec, Instance, Keys, instances, setting_key};

/// Lifetime of a WNS channel ("channel URIs expire after 30 days", WNS docs).
pub const CHANNEL_LIFETIME: Duration = Duration::days(30);

/// `MDM_AppInstallJob.Status` while the job runs (inferred).
pub const JOB_STATUS_IN_PROGRESS: u32 = 1;
/// `MDM_AppInstallJob.Status` once the app is installed (inferred).
pub const JOB_STATUS_COMPLETED: u32 = 2;
/// `MDM_AppInstallJob.Status` after a failure (inferred).
pub const JOB_STATUS_FAILED: u32 = 3;

/// Side effects of writing a property; `Err` refuses the write.
pub fn on_write(
    class: &ClassSpec,
    prop: &str,
    value: &NodeValue,
    state: &mut AgentState,
) -> Result<(), StatusCode> {
    if class.name == "MDM_SecurityStatus" && prop == "MaintenanceScheduleStartHour" {
        let hour: u8 = value.data.parse().map_err(|_| StatusCode::BadRequest)?;
        if hour > 23 {
            return Err(StatusCode::BadRequest);
        }
        state.maintenance.hour = hour;
    }
    Ok(())
}

/// Runs `method` (already checked to be one of the class's).
pub fn exec(
    class: &'static ClassSpec,
    keys: Option<&Keys>,
    method: &str,
    env: &TreeEnv<'_>,
    state: &mut AgentState,
    data: Option<&Data>,
) -> StatusCode {
    let now = env.now;
    let exists = |state: &AgentState| {
        keys.is_none_or(|k| instances(class, env, state).iter().any(|i| i.matches(k)))
    };
    let result = match (class.name, method) {
        ("MDM_Client", "ResetUserPassword") => {
            if !exists(state) {
                return StatusCode::NotFound;
            }
            method_param(data, "ConfigString").and_then(|config| {
                let (user, password) = config.split_once(';').ok_or(StatusCode::BadRequest)?;
                if user.trim().is_empty() {
                    return Err(StatusCode::BadRequest);
                }
                state.tree.password_resets.push(PasswordReset {
                    at: now,
                    user: user.trim().to_owned(),
                    password: password.to_owned(),
                });
                Ok(())
            })
        }
        ("MDM_Client", "SendUnenrollRequest") => {
            if !exists(state) {
                return StatusCode::NotFound;
            }
            method_param(data, "DeviceClientID").map(|_| {
                state.tree.unenroll_requested.get_or_insert(now);
            })
        }
        ("MDM_Client", "LockWorkstation") => {
            if !exists(state) {
                return StatusCode::NotFound;
            }
            state.user = state.user.locked();
            state.tree.executed.push(Executed {
                at: now,
                uri: format!("./cimv2/{}/Exec={method}", class.name),
                data: data.map(|d| d.as_str().to_owned()),
            });
            Ok(())
        }
        ("MDM_WNSConfiguration", "UpdateConfiguration") => method_param(data, "ConfigString")
            .and_then(|config| {
                let (data_app, pfn) = match config.split_once(';') {
                    Some((app, pfn)) => (Some(app.trim()), pfn.trim()),
                    None => (None, config.trim()),
                };
                let key_app = keys.and_then(|k| {
                    k.iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("AppId"))
                        .map(|(_, v)| v.as_str())
                });
                let app_id = key_app.or(data_app).unwrap_or_default().to_owned();
                if app_id.is_empty() || pfn.is_empty() {
                    return Err(StatusCode::BadRequest);
                }
                let uri = channel_uri(&state.wns_endpoint, &env.device.device_id);
                state.tree.wns.insert(
                    app_id.clone(),
                    WnsConfiguration {
                        app_id,
                        pfn: pfn.to_owned(),
                        configured_at: now,
                        channel: Some(new_channel(uri, now)),
                    },
                );
                Ok(())
            }),
        ("MDM_AppInstallJob", "CreateJob") => method_param(data, "JobData").and_then(|job| {
            if job.trim().is_empty() {
                return Err(StatusCode::BadRequest);
            }
            let id = format!("{{{}}}", uuid::Uuid::new_v4()).to_ascii_uppercase();
            let package = job_package(&job).unwrap_or_else(|| {
                format!(
                    "Casement.SimulatedApp{}_1.0.0.0_neutral__8wekyb3d8bbwe",
                    state.tree.jobs.len() + 1
                )
            });
            state.tree.jobs.push(AppJob {
                id,
                kind: AppKind::WmiJob,
                scope: Scope::User,
                package,
                data: job,
                state: JobState::InProgress,
                created_at: now,
                finished_at: None,
            });
            Ok(())
        }),
        ("MDM_EASPolicy", "SetValues") => {
            if !exists(state) {
                return StatusCode::NotFound;
            }
            method_param(data, "NamedValuesList").and_then(|list| {
                let mut pairs = Vec::new();
                for entry in list.split(';').map(str::trim).filter(|e| !e.is_empty()) {
                    let (name, value) = entry.split_once(',').ok_or(StatusCode::BadRequest)?;
                    if name.trim().is_empty() {
                        return Err(StatusCode::BadRequest);
                    }
                    pairs.push((name.trim().to_owned(), value.trim().to_owned()));
                }
                if pairs.is_empty() {
                    return Err(StatusCode::BadRequest);
                }
                let inst = Instance::new(class, vec![chr("1")]);
                for (name, value) in pairs {
                    let key = setting_key(class, &inst, &name);
                    let value = stored(Some(&Data::text(value)));
                    state.tree.settings.insert(key, value);
                }
                Ok(())
            })
        }
        _ => Err(StatusCode::CommandNotAllowed),
    };
    match result {
        Ok(()) => StatusCode::Ok,
        Err(code) => code,
    }
}

/// The channel URI of a device: `<endpoint>/<device id>`.
pub fn channel_uri(endpoint: &str, device_id: &str) -> String {
    format!("{}/{device_id}", endpoint.trim_end_matches('/'))
}

/// A fresh channel valid for [`CHANNEL_LIFETIME`].
pub fn new_channel(uri: String, now: OffsetDateTime) -> WnsChannel {
    WnsChannel {
        uri,
        created_at: now,
        expires_at: now + CHANNEL_LIFETIME,
        revoked: false,
    }
}

/// The package named in free-form job data: a `PackageFullName` / `PackageFamilyName` field or
/// attribute, else the file name of an `.appx` / `.appxbundle` URL.
pub fn job_package(data: &str) -> Option<String> {
    let lower = data.to_ascii_lowercase();
    for field in ["packagefullname", "packagefamilyname", "pfn"] {
        let Some(at) = lower.find(field) else {
            continue;
        };
        let rest = &data[at + field.len()..];
        let rest = rest.trim_start_matches(|c: char| {
            c == '"' || c == '=' || c == ':' || c == '>' || c.is_whitespace() || c == '\''
        });
        let value: String = rest
            .chars()
            .take_while(|c| {
                !matches!(c, '"' | '\'' | '<' | ';' | ',' | '&' | '}') && !c.is_whitespace()
            })
            .collect();
        if !value.is_empty() {
            return Some(value);
        }
    }
    let url_end = [".appxbundle", ".appx"]
        .iter()
        .find_map(|ext| lower.find(ext).map(|i| (i, ext.len())))?;
    let file = &data[..url_end.0];
    let start = file.rfind(['/', '\\', '=', '"']).map_or(0, |i| i + 1);
    let name = &file[start..];
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_data_names_its_package() {
        assert_eq!(
            job_package("<Job PackageFullName=\"Contoso.App_1.0.0.0_x64__abc\"/>").as_deref(),
            Some("Contoso.App_1.0.0.0_x64__abc")
        );
        assert_eq!(
            job_package("PackageFamilyName=Contoso.App_abc;Url=x").as_deref(),
            Some("Contoso.App_abc")
        );
        assert_eq!(
            job_package("https://apps.example/Contoso.App_1.0.0.0_x64__abc.appx").as_deref(),
            Some("Contoso.App_1.0.0.0_x64__abc")
        );
        assert_eq!(job_package("nothing here"), None);
    }
}
