use casement_dm::device::DeviceSession;
use casement_syncml::{CmdId, Command, SyncMl};

use super::methods::{JOB_STATUS_COMPLETED, JOB_STATUS_IN_PROGRESS};
use super::*;
use crate::agent::fixtures::{self, NOW, get, text, value};
use crate::agent::triggers::UserAccess;
use crate::enroll::WindowsRelease;

const ID: &str = "B5B954E81FBCB94EB79BD08BE625F4EE";
const CLIENT: &str =
    "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22";
const WNS: &str = "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22Casement%22";

fn with_tree<R>(access: UserAccess, f: impl FnOnce(&mut WmiTree<'_>) -> R) -> (R, AgentState) {
    let device = fixtures::device(WindowsRelease::Windows81);
    let mut state = fixtures::state(&device);
    let r = {
        let mut tree = WmiTree::new(fixtures::env(&device, access), &mut state);
        f(&mut tree)
    };
    (r, state)
}

fn code(c: StatusCode) -> u16 {
    c.code()
}

#[test]
fn class_enumeration_lists_instance_paths_as_a_node_not_escaped() {
    with_tree(UserAccess::Impersonated, |t| {
        assert_eq!(
            get(t, "./cimV2/Win32_NetworkAdapter"),
            Ok((
                "node".into(),
                "Win32_NetworkAdapter.DeviceID=\"0\"/Win32_NetworkAdapter.DeviceID=\"1\"".into()
            ))
        );
        assert_eq!(
            get(t, "./cimv2/MDM_Client"),
            Ok(("node".into(), format!("MDM_Client.DeviceClientID=\"{ID}\"")))
        );
        let classes = value(t, "./cimv2");
        assert!(
            classes.split('/').any(|c| c == "MDM_WNSConfiguration"),
            "{classes}"
        );
    });
}

#[test]
fn properties_are_read_with_quoted_or_bare_keys_and_typed_formats() {
    with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(
            get(t, &format!("{CLIENT}/DeviceName")),
            Ok(("chr".into(), "DESKTOP-SIM0001".into()))
        );
        assert_eq!(
            value(
                t,
                &format!("./cimv2/MDM_Client/MDM_Client.DeviceClientID={ID}/DeviceClientID")
            ),
            ID
        );
        let os = value(t, "./cimv2/Win32_OperatingSystem");
        assert!(
            os.starts_with("Win32_OperatingSystem.Name=\"Microsoft Windows 8.1 Pro|"),
            "{os}"
        );
        assert_eq!(
            value(
                t,
                "./cimv2/Win32_OperatingSystem/Win32_OperatingSystem=@/Version"
            ),
            "6.3.9600"
        );
        assert_eq!(
            get(
                t,
                "./cimv2/Win32_ComputerSystem/Win32_ComputerSystem.Name=%22DESKTOP-SIM0001%22/NumberOfProcessors"
            ),
            Ok(("int".into(), "1".into()))
        );
        let props = value(t, CLIENT);
        assert_eq!(
            props,
            "DeviceClientID/DomainSID/PlatformID/DeviceName/ProcessorDescription/UserSid/Version"
        );
    });
}

#[test]
fn a_multi_key_instance_path_from_the_enumeration_addresses_the_instance() {
    with_tree(UserAccess::Impersonated, |t| {
        let path = value(t, "./cimv2/Win32_BIOS");
        assert!(path.contains(",SoftwareElementState=3,"), "{path}");
        let escaped = path.replace('"', "%22");
        assert_eq!(
            value(t, &format!("./cimv2/Win32_BIOS/{escaped}/Manufacturer")),
            "VMware, Inc."
        );
    });
}

#[test]
fn unknown_nodes_are_404() {
    with_tree(UserAccess::Impersonated, |t| {
        for uri in [
            "./cimv2/Win32_Nope",
            "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22OTHER%22",
            &format!("{CLIENT}/NoSuchProperty"),
            "./Nope",
            "./DevDetail/Nope",
            "./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22Casement%22/Channel",
        ] {
            assert_eq!(get(t, uri), Err(404), "{uri}");
        }
        assert_eq!(
            code(t.exec(
                "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22OTHER%22/Exec=ResetUserPassword",
                text("ConfigString=a;b").as_ref()
            )),
            404
        );
        assert_eq!(
            code(t.replace("./Vendor/MSFT/Policy/Config/A/B", text("1").as_ref())),
            404
        );
    });
}

#[test]
fn operations_not_allowed_on_a_node_are_405() {
    with_tree(UserAccess::Impersonated, |t| {
        let d = text("x");
        let d = d.as_ref();
        assert_eq!(
            code(t.replace(&format!("{CLIENT}/DeviceName"), d)),
            405,
            "read-only"
        );
        assert_eq!(
            code(t.replace(&format!("{CLIENT}/DeviceClientID"), d)),
            405,
            "key"
        );
        assert_eq!(
            code(t.exec(&format!("{CLIENT}/DeviceName"), d)),
            405,
            "Exec of a property"
        );
        assert_eq!(
            code(t.exec(&format!("{CLIENT}/Exec=Reboot"), d)),
            405,
            "no such method"
        );
        assert_eq!(code(t.exec(CLIENT, d)), 405, "Exec of an instance");
        assert_eq!(
            code(t.replace("./DevInfo/DevId", d)),
            405,
            "DevInfo is read-only"
        );
        assert_eq!(
            code(t.delete(CLIENT)),
            405,
            "instances of computed classes stay"
        );
        assert_eq!(
            get(t, &format!("{CLIENT}/Exec=ResetUserPassword")),
            Err(405)
        );
        assert_eq!(code(t.replace("./cimv2/Win32_BIOS", d)), 405);
    });
}

#[test]
fn update_configuration_creates_the_wns_channel() {
    let (_, state) = with_tree(UserAccess::Impersonated, |t| {
        let data = text("ConfigString=Casement;Casement.MDM_8wekyb3d8bbwe");
        assert_eq!(
            code(t.exec(&format!("{WNS}/Exec=UpdateConfiguration"), data.as_ref())),
            200
        );
        assert_eq!(
            get(t, &format!("{WNS}/ConfigurationStatus")),
            Ok(("int".into(), "1".into()))
        );
        assert_eq!(
            value(t, "./cimv2/MDM_WNSChannel"),
            "MDM_WNSChannel.AppId=\"Casement\""
        );
        let channel = "./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22Casement%22";
        assert_eq!(
            value(t, &format!("{channel}/Channel")),
            format!("https://127.0.0.1:8444/wns/channel/{ID}")
        );
        assert_eq!(
            value(t, &format!("{channel}/ExpirationTime")),
            "20261224100000.000000+000"
        );
        assert_eq!(value(t, &format!("{channel}/ChannelStatus")), "0");
        assert_eq!(value(t, &format!("{channel}/LastError")), "0");
        assert_eq!(
            code(t.replace(&format!("{channel}/Channel"), text("x").as_ref())),
            405
        );
        // Malformed: no PFN.
        assert_eq!(
            code(t.exec(
                &format!("{WNS}/Exec=UpdateConfiguration"),
                text("ConfigString=").as_ref()
            )),
            400
        );
    });
    let config = &state.tree.wns["Casement"];
    assert_eq!(config.pfn, "Casement.MDM_8wekyb3d8bbwe");
    assert_eq!(
        config.channel.as_ref().unwrap().expires_at,
        NOW + time::Duration::days(30)
    );
}

#[test]
fn user_work_fails_with_500_when_the_agent_cannot_impersonate() {
    for access in [UserAccess::Interactive, UserAccess::NoUserSession] {
        let (_, state) = with_tree(access, |t| {
            let config = text("ConfigString=Casement;Casement.MDM_8wekyb3d8bbwe");
            assert_eq!(
                code(t.exec(&format!("{WNS}/Exec=UpdateConfiguration"), config.as_ref())),
                500
            );
            assert_eq!(
                code(t.exec(
                    "./cimv2/MDM_AppInstallJob/Exec=CreateJob",
                    text("JobData=<Job PackageFullName=\"A_1_x64__p\"/>").as_ref()
                )),
                500
            );
            assert_eq!(get(t, "./cimv2/MDM_WNSChannel"), Err(500));
            assert_eq!(get(t, "./cimv2/MDM_Application"), Err(500));
            assert_eq!(
                code(t.replace(
                    "./cimv2/MDM_RestrictionsUser/MDM_RestrictionsUser.Key=%221%22/AllowStore",
                    text("0").as_ref()
                )),
                500
            );
            // Machine work still runs: inventory, password reset.
            assert!(get(t, "./cimv2/Win32_OperatingSystem").is_ok());
            assert_eq!(
                code(t.exec(
                    &format!("{CLIENT}/Exec=ResetUserPassword"),
                    text("ConfigString=ann@example.com;S3cret!").as_ref()
                )),
                200
            );
        });
        assert!(state.tree.wns.is_empty(), "{access:?}");
        assert!(state.tree.jobs.is_empty(), "{access:?}");
    }
}

#[test]
fn password_reset_and_unenroll_are_recorded() {
    let (_, state) = with_tree(UserAccess::NoUserSession, |t| {
        let reset = format!("{CLIENT}/Exec=ResetUserPassword");
        assert_eq!(
            code(t.exec(&reset, text("ConfigString=ann@example.com;pw;1").as_ref())),
            200
        );
        assert_eq!(
            code(t.exec(&reset, text("ConfigString=nosemicolon").as_ref())),
            400
        );
        assert_eq!(code(t.exec(&reset, text("JobData=a;b").as_ref())), 400);
        assert_eq!(
            code(t.exec(
                &format!("{CLIENT}/Exec=SendUnenrollRequest"),
                text(&format!("DeviceClientID={ID}")).as_ref()
            )),
            200
        );
    });
    let reset = state.tree.last_password_reset().unwrap();
    assert_eq!(
        (reset.user.as_str(), reset.password.as_str()),
        ("ann@example.com", "pw;1")
    );
    assert_eq!(state.tree.unenroll_requested, Some(NOW));
}

#[test]
fn an_install_job_runs_then_its_application_appears() {
    let device = fixtures::device(WindowsRelease::Windows81);
    let mut state = fixtures::state(&device);
    {
        let mut t = WmiTree::new(fixtures::env(&device, UserAccess::Impersonated), &mut state);
        let job = "JobData=<AppInstallJob PackageFullName=\"Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe\" DownloadUrl=\"https://apps.test/notes.appx\"/>";
        assert_eq!(
            code(t.exec(
                "./cimv2/MDM_AppInstallJob/Exec=CreateJob",
                text(job).as_ref()
            )),
            200
        );
        let jobs = value(&mut t, "./cimv2/MDM_AppInstallJob");
        assert!(jobs.starts_with("MDM_AppInstallJob.JobID=\"{"), "{jobs}");
        let path = jobs.replace('"', "%22");
        assert_eq!(
            value(&mut t, &format!("./cimv2/MDM_AppInstallJob/{path}/Status")),
            JOB_STATUS_IN_PROGRESS.to_string()
        );
        assert_eq!(value(&mut t, "./cimv2/MDM_Application"), "");
        assert_eq!(
            code(t.exec(
                "./cimv2/MDM_AppInstallJob/Exec=CreateJob",
                text("JobData=").as_ref()
            )),
            400
        );
    }
    assert_eq!(state.tree.finish_jobs(NOW), 1);
    let mut t = WmiTree::new(fixtures::env(&device, UserAccess::Impersonated), &mut state);
    assert_eq!(
        value(&mut t, "./cimv2/MDM_Application"),
        "MDM_Application.PackageFullName=\"Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe\""
    );
    let app = "./cimv2/MDM_Application/MDM_Application.PackageFullName=%22Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe%22";
    assert_eq!(value(&mut t, &format!("{app}/PackageVersion")), "2.1.0.0");
    let jobs = value(&mut t, "./cimv2/MDM_AppInstallJob").replace('"', "%22");
    assert_eq!(
        value(&mut t, &format!("./cimv2/MDM_AppInstallJob/{jobs}/Status")),
        JOB_STATUS_COMPLETED.to_string()
    );
}

#[test]
fn settings_classes_take_values() {
    let (_, state) = with_tree(UserAccess::Impersonated, |t| {
        let eas = "./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22";
        assert_eq!(
            code(
                t.exec(
                    &format!("{eas}/Exec=SetValues"),
                    text("NamedValuesList=MinPasswordLength,8;AllowSimpleDevicePassword,false;")
                        .as_ref()
                )
            ),
            200
        );
        assert_eq!(
            get(t, &format!("{eas}/MinPasswordLength")),
            Ok(("int".into(), "8".into()))
        );
        assert_eq!(
            code(t.exec(
                &format!("{eas}/Exec=SetValues"),
                text("NamedValuesList=broken").as_ref()
            )),
            400
        );

        let setting =
            "./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22";
        assert_eq!(get(t, &format!("{setting}/SettingValue")), Err(404));
        assert_eq!(
            code(t.replace(&format!("{setting}/SettingValue"), text("true").as_ref())),
            200
        );
        assert_eq!(value(t, &format!("{setting}/SettingValue")), "true");
        assert_eq!(
            value(t, "./cimv2/MDM_ConfigSetting"),
            "MDM_ConfigSetting.SettingName=\"UnEnrollOnCertExpiry\""
        );
        assert_eq!(
            code(t.add(&format!("{setting}/SettingValue"), text("x").as_ref())),
            418
        );
        assert_eq!(
            code(t.replace(&format!("{setting}/SettingName"), text("x").as_ref())),
            405
        );
        assert_eq!(code(t.delete(setting)), 200);
        assert_eq!(code(t.delete(setting)), 404);
        assert_eq!(code(t.add(setting, text("v").as_ref())), 200);
        assert_eq!(code(t.add(setting, text("v").as_ref())), 418);

        let security = "./cimv2/MDM_SecurityStatus/MDM_SecurityStatus.Key=%221%22";
        assert_eq!(
            code(t.replace(
                &format!("{security}/MaintenanceScheduleStartHour"),
                text("3").as_ref()
            )),
            200
        );
        assert_eq!(
            code(t.replace(
                &format!("{security}/MaintenanceScheduleStartHour"),
                text("25").as_ref()
            )),
            400
        );
        assert_eq!(
            code(t.replace(&format!("{security}/FirewallStatus"), text("1").as_ref())),
            405
        );
    });
    assert_eq!(state.maintenance.hour, 3);
}

#[test]
fn devinfo_and_devdetail_answer() {
    with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(value(t, "./DevInfo/DevId"), ID);
        assert_eq!(value(t, "./DevInfo/DmV"), "1.3");
        assert_eq!(value(t, "./DevDetail/SwV"), "6.3.9600.17031");
        assert_eq!(
            get(t, "./DevDetail/LrgObj"),
            Ok(("bool".into(), "false".into()))
        );
        assert_eq!(
            get(t, "./DevDetail/Ext/Microsoft/DNSComputerName"),
            Err(404)
        );
        assert_eq!(value(t, "./DevInfo"), "DevId/Man/Mod/DmV/Lang");
    });
}

/// An Atomic whose second command fails: everything rolls back (507, the rest 216).
#[test]
fn a_failed_atomic_rolls_back() {
    let device = fixtures::device(WindowsRelease::Windows81);
    let mut state = fixtures::state(&device);
    let setting =
        "./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22AccountId%22/SettingValue";
    let server = server_message(vec![fixtures::atomic_cmd(vec![
        fixtures::replace_cmd(setting, "acct"),
        fixtures::replace_cmd(&format!("{CLIENT}/DeviceName"), "x"),
    ])]);
    let statuses = answer(&device, &mut state, &server);
    assert_eq!(statuses, [(2, 507), (3, 216), (4, 405)]);
    assert!(state.tree.settings.is_empty(), "{:?}", state.tree.settings);

    let ok = server_message(vec![fixtures::atomic_cmd(vec![
        fixtures::replace_cmd(setting, "acct"),
        fixtures::get_cmd(&format!("{CLIENT}/DeviceName")),
    ])]);
    assert_eq!(
        answer(&device, &mut state, &ok),
        [(2, 200), (3, 200), (4, 200)]
    );
    assert_eq!(state.tree.settings.len(), 1);
}

/// Runs a server message through a device session; returns (CmdRef, status) per command.
fn answer(
    device: &crate::state::EnrolledDevice,
    state: &mut AgentState,
    server: &SyncMl,
) -> Vec<(u32, u16)> {
    let (mut session, _) = DeviceSession::start(casement_dm::device::Package1 {
        device_id: ID.into(),
        server_uri: fixtures::SERVER.into(),
        session_id: "1".into(),
        platform: casement_dm::device::Platform::Windows81,
        login_status: None,
        push_triggered: false,
        devinfo: vec![],
        unenroll_request: false,
    });
    let mut tree = WmiTree::new(fixtures::env(device, UserAccess::Impersonated), state);
    let reply = session.on_server_message(server, &mut tree).unwrap();
    reply
        .body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Status(s) if s.cmd_ref != 0 => Some((s.cmd_ref, s.code.code())),
            _ => None,
        })
        .collect()
}

fn server_message(commands: Vec<Command>) -> SyncMl {
    let mut next = 2;
    let mut numbered = Vec::new();
    for mut c in commands {
        number(&mut c, &mut next);
        numbered.push(c);
    }
    let mut message = casement_dm::device::DeviceSession::start(casement_dm::device::Package1 {
        device_id: fixtures::SERVER.into(),
        server_uri: ID.into(),
        session_id: "1".into(),
        platform: casement_dm::device::Platform::Windows81,
        login_status: None,
        push_triggered: false,
        devinfo: vec![],
        unenroll_request: false,
    })
    .1;
    message.body.commands = numbered;
    message
}

fn number(command: &mut Command, next: &mut u32) {
    command.set_cmd_id(CmdId(*next));
    *next += 1;
    if let Command::Atomic(c) = command {
        for inner in &mut c.commands {
            number(inner, next);
        }
    }
}

const EAS: &str = "./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22";

#[test]
fn eas_setvalues_then_get_reads_the_values_back_in_later_sessions() {
    let (_, state) = with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(get(t, &format!("{EAS}/MinPasswordLength")), Err(404));
        assert_eq!(
            code(
                t.exec(
                    &format!("{EAS}/Exec=SetValues"),
                    text("NamedValuesList=MinPasswordLength,6;MaxInactivityTimeDeviceLock,15;")
                        .as_ref()
                )
            ),
            200
        );
        assert_eq!(code(t.exec(&format!("{EAS}/Exec=SetValues"), None)), 400);
        assert_eq!(code(t.exec(&format!("{EAS}/Exec=Nothing"), None)), 405);
    });
    // A later session (another tree over the saved state) reads them.
    let device = fixtures::device(WindowsRelease::Windows81);
    let json = serde_json::to_string(&state).unwrap();
    let mut state: AgentState = serde_json::from_str(&json).unwrap();
    let mut t = WmiTree::new(fixtures::env(&device, UserAccess::Impersonated), &mut state);
    assert_eq!(
        get(&mut t, &format!("{EAS}/MinPasswordLength")),
        Ok(("int".into(), "6".into()))
    );
    assert_eq!(
        get(&mut t, &format!("{EAS}/MaxInactivityTimeDeviceLock")),
        Ok(("int".into(), "15".into()))
    );
    // Replace changes one value, Get reads it.
    assert_eq!(
        code(t.replace(&format!("{EAS}/MinPasswordLength"), text("8").as_ref())),
        200
    );
    assert_eq!(value(&mut t, &format!("{EAS}/MinPasswordLength")), "8");
}

#[test]
fn config_setting_values_are_replaced_and_read_back() {
    let setting = "./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22Contoso%22";
    with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(get(t, &format!("{setting}/SettingValue")), Err(404));
        assert_eq!(
            code(t.replace(&format!("{setting}/SettingValue"), text("1").as_ref())),
            200
        );
        assert_eq!(
            get(t, &format!("{setting}/SettingValue")),
            Ok(("int".into(), "1".into()))
        );
        assert_eq!(
            code(t.replace(&format!("{setting}/SettingValue"), text("2").as_ref())),
            200
        );
        assert_eq!(value(t, &format!("{setting}/SettingValue")), "2");
        assert_eq!(
            code(t.add(&format!("{setting}/SettingValue"), text("3").as_ref())),
            418
        );
    });
}

#[test]
fn security_status_properties_are_read_with_get() {
    with_tree(UserAccess::NoUserSession, |t| {
        let security = "./cimv2/MDM_SecurityStatus/MDM_SecurityStatus.Key=%221%22";
        assert_eq!(
            get(t, &format!("{security}/FirewallStatus")),
            Ok(("int".into(), "0".into()))
        );
        assert_eq!(
            get(t, &format!("{security}/RequireEncryption")),
            Ok(("bool".into(), "false".into()))
        );
        assert_eq!(get(t, &format!("{security}/Nope")), Err(404));
    });
}

#[test]
fn add_of_an_existing_property_is_418() {
    with_tree(UserAccess::NoUserSession, |t| {
        let security = "./cimv2/MDM_SecurityStatus/MDM_SecurityStatus.Key=%221%22";
        assert_eq!(
            code(t.add(
                &format!("{security}/RequireEncryption"),
                text("true").as_ref()
            )),
            418
        );
        assert_eq!(
            code(t.add(&format!("{EAS}/MinPasswordLength"), text("6").as_ref())),
            200
        );
        assert_eq!(
            code(t.add(&format!("{EAS}/MinPasswordLength"), text("7").as_ref())),
            418
        );
        assert_eq!(value(t, &format!("{EAS}/MinPasswordLength")), "6");
    });
}
