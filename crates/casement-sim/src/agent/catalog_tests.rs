//! Every command the server's catalog builds (`casement_dm::catalog`) is answered by the
//! simulated trees: successes where the context allows the command, follow-ups included.

use casement_dm::catalog::{
    self, AppPayload, AppScope, CatalogContext, CommandRequest, InventorySet, QueuedSpec,
    WnsIdentity,
};
use casement_dm::device::{DeviceSession, Package1};
use casement_dm::{CommandClass, Context, ContextPolicy, ResultItem};
use casement_syncml::{CmdId, Command, SyncMl};

use super::fixtures::{self, NOW};
use super::session::tree;
use super::triggers::UserAccess;
use super::{AgentState, tree::TreeEnv};
use crate::enroll::WindowsRelease;
use crate::state::EnrolledDevice;

const PFN: &str = "Casement.MDM_8wekyb3d8bbwe";

fn context(device: &EnrolledDevice) -> CatalogContext {
    CatalogContext {
        platform: device.platform.protocol(),
        device_id: device.device_id.clone(),
        provider_id: device.provider_id.clone(),
        wns: Some(WnsIdentity {
            app_id: "Casement".into(),
            package_family_name: PFN.into(),
        }),
    }
}

fn requests(platform: WindowsRelease) -> Vec<CommandRequest> {
    let inventory = CommandRequest::Inventory {
        sets: InventorySet::defaults(platform.protocol()),
    };
    let mut list = vec![inventory, CommandRequest::PushConfig];
    match platform {
        WindowsRelease::Windows81 => {
            list.push(CommandRequest::AppInstall {
                app: AppPayload::AppInstallJob {
                    job_data: "<Job PackageFullName=\"Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe\"/>"
                        .into(),
                    package_full_name: Some("Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe".into()),
                    name: None,
                },
            });
            list.push(CommandRequest::ResetPassword {
                user: "ann@example.com".into(),
                password: "N3w!pass".into(),
            });
        }
        _ => {
            list.push(CommandRequest::AppInstall {
                app: AppPayload::Store {
                    package_family_name: "Contoso.Notes_8wekyb3d8bbwe".into(),
                    product_id: "9WZDNCRFJ3Q2".into(),
                    sku_id: "0010".into(),
                    flags: 0,
                    name: None,
                },
            });
            list.push(CommandRequest::AppInstall {
                app: AppPayload::Hosted {
                    package_family_name: "Contoso.Paint_8wekyb3d8bbwe".into(),
                    package_uri: "https://apps.test/paint.msix".into(),
                    dependencies: vec![],
                    deployment_options: None,
                    scope: AppScope::Device,
                    name: None,
                },
            });
            list.push(CommandRequest::AppInstall {
                app: AppPayload::Msi {
                    product_id: "{AC1A8C8C-8B8F-4D4E-9C6D-3A0D3C3C8E01}".into(),
                    product_version: "1.0.0.0".into(),
                    content_urls: vec!["https://apps.test/tool.msi".into()],
                    file_hash: "A".repeat(64),
                    command_line: "/quiet".into(),
                    timeout_minutes: 5,
                    retry_count: 3,
                    retry_interval_minutes: 5,
                    scope: AppScope::Device,
                    name: None,
                },
            });
        }
    }
    // Issue 15: the device actions the platform has (8.1: lock only).
    list.push(CommandRequest::Lock);
    if platform != WindowsRelease::Windows81 {
        list.push(CommandRequest::Reboot { at: None });
        list.push(CommandRequest::Reboot {
            at: Some("2026-12-07T02:00:00".into()),
        });
        list.push(CommandRequest::Wipe {
            method: Default::default(),
            confirm: None,
            bulk: false,
        });
    }
    list.push(CommandRequest::Unenroll);
    list
}

/// Sends `spec`'s command in a server message and answers it; returns the statuses
/// `(command, code)` and the Results items.
fn answer(
    device: &EnrolledDevice,
    state: &mut AgentState,
    access: UserAccess,
    spec: &QueuedSpec,
) -> (Vec<(String, u16)>, Vec<ResultItem>) {
    let (mut session, mut message) = DeviceSession::start(Package1 {
        device_id: device.device_id.clone(),
        server_uri: fixtures::SERVER.into(),
        session_id: "1".into(),
        platform: device.platform.protocol(),
        login_status: None,
        push_triggered: false,
        devinfo: vec![],
        unenroll_request: false,
    });
    let mut command = spec.command.clone();
    let mut next = 2;
    number(&mut command, &mut next);
    message.body.commands = vec![command];
    let env = TreeEnv {
        device,
        now: NOW,
        access,
    };
    let reply: SyncMl = {
        let mut tree = tree(env, state);
        session.on_server_message(&message, tree.as_mut()).unwrap()
    };
    let mut statuses = Vec::new();
    let mut results = Vec::new();
    for c in &reply.body.commands {
        match c {
            Command::Status(s) if s.cmd_ref != 0 => {
                statuses.push((s.cmd.as_str().to_owned(), s.code.code()));
            }
            Command::Results(r) => {
                results.extend(
                    r.items
                        .iter()
                        .filter_map(|i| ResultItem::from_item(i, None)),
                );
            }
            _ => {}
        }
    }
    (statuses, results)
}

fn number(command: &mut Command, next: &mut u32) {
    command.set_cmd_id(CmdId(*next));
    *next += 1;
    if let Command::Atomic(c) | Command::Sequence(c) = command {
        for inner in &mut c.commands {
            number(inner, next);
        }
    }
}

fn access_in(context: Context) -> UserAccess {
    match context {
        Context::Machine => UserAccess::NoUserSession,
        Context::Maintenance | Context::Apps => UserAccess::Impersonated,
    }
}

fn all_specs(device: &EnrolledDevice) -> Vec<QueuedSpec> {
    let ctx = context(device);
    requests(device.platform)
        .iter()
        .flat_map(|r| catalog::build(r, &ctx).unwrap_or_else(|e| panic!("{r:?}: {e}")))
        .collect()
}

/// Runs `spec` and its inventory follow-ups; panics on any failure.
fn run_ok(device: &EnrolledDevice, state: &mut AgentState, access: UserAccess, spec: &QueuedSpec) {
    let (statuses, results) = answer(device, state, access, spec);
    let target = spec.command.items().first().and_then(|i| i.loc_uri());
    if let Some(target) = target.filter(|t| catalog::is_install_check(t)) {
        // An install check may find the install still running (the job ends after the session):
        // that is an answer, not a failure; a failed install is.
        let code = statuses.first().map_or(500, |(_, code)| *code);
        let progress = catalog::judge_install_check(
            target,
            casement_syncml::StatusCode::from_code(code),
            &results,
        );
        assert!(
            !matches!(progress, Some(catalog::InstallProgress::Failed(_)) | None),
            "{:?} {access:?}: {} judged {progress:?}",
            device.platform,
            spec.label
        );
        return;
    }
    for (cmd, code) in &statuses {
        let harmless = cmd == "Add" && *code == 418;
        assert!(
            (200..300).contains(code) || harmless,
            "{:?} {access:?}: {} answered {code} ({statuses:?})",
            device.platform,
            spec.label
        );
    }
    for result in &results {
        for follow in catalog::follow_up(result) {
            run_ok(device, state, access, &follow);
        }
    }
    if spec.label.contains("instance list") {
        assert!(
            results.iter().any(|r| !catalog::follow_up(r).is_empty()),
            "{}: no follow-up",
            spec.label
        );
    }
}

#[test]
fn every_catalog_command_succeeds_in_every_context_that_may_carry_it() {
    for platform in [
        WindowsRelease::Windows81,
        WindowsRelease::Windows10,
        WindowsRelease::Windows11,
    ] {
        let device = fixtures::device(platform);
        let specs = all_specs(&device);
        assert!(specs.len() >= 6, "{platform:?}");
        // In order, in a Maintenance session (carries every class).
        let mut state = fixtures::state(&device);
        for spec in &specs {
            run_ok(&device, &mut state, UserAccess::Impersonated, spec);
        }
        assert!(state.tree.unenroll_requested.is_some());
        assert!(
            state.tree.finish_jobs(NOW) >= 1,
            "{platform:?}: no install ran"
        );
        // In every other context, the commands it may carry, in order, on a fresh device.
        for context in [Context::Machine, Context::Apps] {
            let mut state = fixtures::state(&device);
            for spec in specs.iter().filter(|s| {
                ContextPolicy::for_platform(platform.protocol()).allows(s.class, context)
            }) {
                run_ok(&device, &mut state, access_in(context), spec);
            }
        }
    }
}

#[test]
fn the_installed_apps_show_in_the_catalogs_inventory() {
    for platform in [WindowsRelease::Windows81, WindowsRelease::Windows10] {
        let device = fixtures::device(platform);
        let specs = all_specs(&device);
        let mut state = fixtures::state(&device);
        for spec in specs
            .iter()
            .filter(|s| s.class == CommandClass::AppManagement)
        {
            run_ok(&device, &mut state, UserAccess::Impersonated, spec);
        }
        state.tree.finish_jobs(NOW);
        let inventory = catalog::build(
            &CommandRequest::Inventory {
                sets: vec![InventorySet::Apps],
            },
            &context(&device),
        )
        .unwrap();
        let (statuses, results) =
            answer(&device, &mut state, UserAccess::Impersonated, &inventory[0]);
        assert!(statuses.iter().all(|(_, c)| *c == 200), "{statuses:?}");
        let listed: String = results.iter().filter_map(|r| r.data.clone()).collect();
        assert!(listed.contains("Contoso.Notes"), "{platform:?}: {listed}");
    }
}

#[test]
fn user_work_of_the_catalog_fails_in_an_interactive_run() {
    let device = fixtures::device(WindowsRelease::Windows81);
    for spec in all_specs(&device) {
        let mut state = fixtures::state(&device);
        let (statuses, _) = answer(&device, &mut state, UserAccess::Interactive, &spec);
        let user_work = matches!(
            spec.class,
            CommandClass::PushConfiguration | CommandClass::AppManagement
        );
        let failed = statuses.iter().any(|(_, c)| *c == 500);
        assert_eq!(failed, user_work, "{}: {statuses:?}", spec.label);
    }
}
