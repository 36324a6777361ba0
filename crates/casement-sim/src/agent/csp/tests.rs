use super::apps::{modern_status, msi_status};
use super::*;
use crate::agent::fixtures::{self, NOW, get, text, value};
use crate::agent::triggers::UserAccess;
use crate::enroll::WindowsRelease;

const ID: &str = "B5B954E81FBCB94EB79BD08BE625F4EE";
const PROVIDER: &str = "./Vendor/MSFT/DMClient/Provider/Casement";

fn with_tree<R>(access: UserAccess, f: impl FnOnce(&mut CspTree<'_>) -> R) -> (R, AgentState) {
    with_state(
        access,
        fixtures::state(&fixtures::device(WindowsRelease::Windows10)),
        f,
    )
}

fn with_state<R>(
    access: UserAccess,
    mut state: AgentState,
    f: impl FnOnce(&mut CspTree<'_>) -> R,
) -> (R, AgentState) {
    let device = fixtures::device(WindowsRelease::Windows10);
    let r = {
        let mut tree = CspTree::new(fixtures::env(&device, access), &mut state);
        f(&mut tree)
    };
    (r, state)
}

fn code(c: StatusCode) -> u16 {
    c.code()
}

#[test]
fn devdetail_and_devinfo_are_read_only() {
    with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(value(t, "./DevDetail/SwV"), "10.0.19043.2364");
        assert_eq!(
            value(t, "./DevDetail/Ext/Microsoft/DNSComputerName"),
            "DESKTOP-SIM0001"
        );
        assert_eq!(value(t, "./DevDetail/URI"), "MaxDepth/MaxTotLen/MaxSegLen");
        assert_eq!(code(t.replace("./DevInfo/DevId", text("x").as_ref())), 405);
        assert_eq!(code(t.replace("./DevInfo/Nope", text("x").as_ref())), 404);
        assert_eq!(value(t, "./Vendor/MSFT/DeviceStatus/OS/Edition"), "48");
        assert_eq!(
            value(
                t,
                "./Vendor/MSFT/DeviceStatus/NetworkIdentifiers/000C2951609D/IPAddressV4"
            ),
            "192.168.56.101"
        );
        assert_eq!(
            code(t.replace("./Vendor/MSFT/DeviceStatus/OS/Edition", text("4").as_ref())),
            405
        );
        assert_eq!(
            get(t, "./Vendor/MSFT/DeviceStatus/Battery/Status"),
            Err(404)
        );
        assert!(
            value(
                t,
                "./Device/Vendor/MSFT/DeviceManageability/Capabilities/CSPVersions"
            )
            .contains("DMClient")
        );
    });
}

#[test]
fn push_pfn_creates_the_channel() {
    let (_, state) = with_tree(UserAccess::Interactive, |t| {
        assert_eq!(get(t, &format!("{PROVIDER}/Push/PFN")), Err(404));
        assert_eq!(get(t, &format!("{PROVIDER}/Push/ChannelURI")), Err(404));
        assert_eq!(
            code(t.add(
                &format!("{PROVIDER}/Push/PFN"),
                text("Casement.MDM_8wekyb3d8bbwe").as_ref()
            )),
            200
        );
        assert_eq!(
            value(t, &format!("{PROVIDER}/Push/PFN")),
            "Casement.MDM_8wekyb3d8bbwe"
        );
        assert_eq!(
            value(t, &format!("{PROVIDER}/Push/ChannelURI")),
            format!("https://127.0.0.1:8444/wns/channel/{ID}")
        );
        assert_eq!(
            get(t, &format!("{PROVIDER}/Push/Status")),
            Ok(("int".into(), "0".into()))
        );
        assert_eq!(
            code(t.replace(&format!("{PROVIDER}/Push/ChannelURI"), text("x").as_ref())),
            405
        );
        assert_eq!(
            code(t.replace(&format!("{PROVIDER}/Push/PFN"), text("Other_x").as_ref())),
            200
        );
        assert_eq!(code(t.add(&format!("{PROVIDER}/Push/PFN"), None)), 400);
        assert_eq!(
            get(t, "./Vendor/MSFT/DMClient/Provider/SomeoneElse/Push/PFN"),
            Err(404)
        );
        assert_eq!(value(t, "./Vendor/MSFT/DMClient/Provider"), "Casement");
    });
    let push = state.tree.push.unwrap();
    assert_eq!(push.pfn, "Other_x");
    assert_eq!(push.channel.expires_at, NOW + time::Duration::days(30));
}

#[test]
fn unenroll_is_an_exec_node() {
    let (_, state) = with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(get(t, &format!("{PROVIDER}/Unenroll")), Err(405));
        assert_eq!(
            code(t.exec(&format!("{PROVIDER}/Unenroll"), text("Other").as_ref())),
            400
        );
        assert_eq!(
            code(t.exec(&format!("{PROVIDER}/Unenroll"), text("Casement").as_ref())),
            200
        );
    });
    assert_eq!(state.tree.unenroll_requested, Some(NOW));
}

#[test]
fn policies_are_added_replaced_read_and_deleted() {
    with_tree(UserAccess::Impersonated, |t| {
        let p = "./Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength";
        assert_eq!(get(t, p), Err(404));
        assert_eq!(code(t.add(p, text("8").as_ref())), 200);
        assert_eq!(code(t.add(p, text("9").as_ref())), 418);
        assert_eq!(get(t, p), Ok(("int".into(), "8".into())));
        assert_eq!(
            code(t.replace(
                "./Device/Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength",
                text("10").as_ref()
            )),
            200
        );
        assert_eq!(
            value(
                t,
                "./Vendor/MSFT/Policy/Result/DeviceLock/MinDevicePasswordLength"
            ),
            "10"
        );
        assert_eq!(
            code(t.replace(
                "./Vendor/MSFT/Policy/Result/DeviceLock/MinDevicePasswordLength",
                text("1").as_ref()
            )),
            405
        );
        assert_eq!(value(t, "./Vendor/MSFT/Policy/Config"), "DeviceLock");
        assert_eq!(
            value(t, "./Vendor/MSFT/Policy/Config/DeviceLock"),
            "MinDevicePasswordLength"
        );
        assert_eq!(code(t.exec(p, None)), 405);
        assert_eq!(code(t.replace(p, None)), 400);
        assert_eq!(code(t.delete(p)), 200);
        assert_eq!(code(t.delete(p)), 404);
        assert_eq!(get(t, "./Vendor/MSFT/Policy/Config/DeviceLock"), Err(404));
        assert_eq!(
            code(t.add("./Vendor/MSFT/Policy/Config/TooShort", text("1").as_ref())),
            404
        );
    });
}

#[test]
fn user_nodes_need_the_enrolled_user() {
    let p = "./User/Vendor/MSFT/Policy/Config/Start/HideSleep";
    for access in [UserAccess::NoUserSession, UserAccess::Interactive] {
        with_tree(access, |t| {
            assert_eq!(code(t.add(p, text("1").as_ref())), 500, "{access:?}");
            assert_eq!(get(t, p), Err(500), "{access:?}");
            assert_eq!(
                code(t.add("./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/Contoso.App_abc", None)),
                500
            );
            // Unknown user CSP is still 404, device nodes still work.
            assert_eq!(get(t, "./User/Vendor/MSFT/DMClient"), Err(404));
            assert_eq!(
                code(t.add(
                    "./Vendor/MSFT/Policy/Config/Start/HideSleep",
                    text("1").as_ref()
                )),
                200
            );
        });
    }
    let (_, state) = with_tree(UserAccess::Impersonated, |t| {
        assert_eq!(code(t.add(p, text("1").as_ref())), 200);
        assert_eq!(value(t, p), "1");
        // The user's and the device's values are separate.
        assert_eq!(
            get(t, "./Vendor/MSFT/Policy/Config/Start/HideSleep"),
            Err(404)
        );
    });
    assert!(state.tree.settings.contains_key(p));
}

#[test]
fn a_store_app_installs_and_appears_in_the_inventory() {
    let base = "./User/Vendor/MSFT/EnterpriseModernAppManagement";
    let pfn = "Contoso.Notes_8wekyb3d8bbwe";
    let install = format!("{base}/AppInstallation/{pfn}");
    let (_, mut state) = with_tree(UserAccess::Impersonated, |t| {
        assert_eq!(
            code(t.exec(
                &format!("{install}/StoreInstall"),
                text("<Application/>").as_ref()
            )),
            404
        );
        assert_eq!(code(t.add(&install, None)), 200);
        assert_eq!(code(t.add(&install, None)), 418);
        assert_eq!(
            value(t, &format!("{install}/Status")),
            modern_status::NOT_INSTALLED.to_string()
        );
        assert_eq!(code(t.exec(&format!("{install}/StoreInstall"), None)), 400);
        let xml = r#"<Application id="9WZDNCRFJ3Q2" flags="0" skuid="0010"/>"#;
        assert_eq!(
            code(t.exec(&format!("{install}/StoreInstall"), text(xml).as_ref())),
            200
        );
        assert_eq!(
            value(t, &format!("{install}/Status")),
            modern_status::INSTALLING.to_string()
        );
        assert_eq!(
            code(t.replace(&format!("{install}/Status"), text("3").as_ref())),
            405
        );
        assert_eq!(value(t, &format!("{base}/AppInstallation")), pfn);
        assert_eq!(value(t, &format!("{base}/AppManagement/AppStore")), "");
    });
    assert_eq!(state.tree.finish_jobs(NOW), 1);
    with_state(UserAccess::Impersonated, state.clone(), |t| {
        assert_eq!(
            value(t, &format!("{install}/Status")),
            modern_status::INSTALLED.to_string()
        );
        assert_eq!(value(t, &format!("{base}/AppManagement/AppStore")), pfn);
        let full = value(t, &format!("{base}/AppManagement/AppStore/{pfn}"));
        assert_eq!(full, "Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe");
        assert_eq!(
            value(
                t,
                &format!("{base}/AppManagement/AppStore/{pfn}/{full}/Name")
            ),
            "Contoso.Notes"
        );
        // The device's inventory lists every user's apps.
        assert_eq!(
            value(
                t,
                "./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/AppStore"
            ),
            pfn
        );
        assert_eq!(
            value(
                t,
                "./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/nonStore"
            ),
            ""
        );
        assert_eq!(
            code(t.delete(&format!("{base}/AppManagement/AppStore/{pfn}"))),
            200
        );
    });
    state.tree.apps.clear();
}

#[test]
fn an_msi_installs_through_download_install() {
    let product = "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7BAC1A8C8C-8B8F-4D4E-9C6D-3A0D3C3C8E01%7D";
    let (_, mut state) = with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(
            code(t.exec(
                &format!("{product}/DownloadInstall"),
                text("<MsiInstallJob/>").as_ref()
            )),
            404
        );
        assert_eq!(
            code(t.add(&format!("{product}/DownloadInstall"), None)),
            200
        );
        assert_eq!(
            value(t, &format!("{product}/Status")),
            msi_status::INITIALIZED.to_string()
        );
        let job = r#"<MsiInstallJob id="{AC1A8C8C-8B8F-4D4E-9C6D-3A0D3C3C8E01}"><Product Version="1.0.0.0"/></MsiInstallJob>"#;
        assert_eq!(
            code(t.exec(&format!("{product}/DownloadInstall"), text(job).as_ref())),
            200
        );
        assert_eq!(
            value(t, &format!("{product}/Status")),
            msi_status::IN_PROGRESS.to_string()
        );
        assert_eq!(get(t, &format!("{product}/Name")), Err(404));
        assert_eq!(
            value(t, "./Vendor/MSFT/EnterpriseDesktopAppManagement/MSI"),
            "%7BAC1A8C8C-8B8F-4D4E-9C6D-3A0D3C3C8E01%7D"
        );
    });
    assert_eq!(state.tree.finish_jobs(NOW), 1);
    with_state(UserAccess::NoUserSession, state.clone(), |t| {
        assert_eq!(
            value(t, &format!("{product}/Status")),
            msi_status::COMPLETED.to_string()
        );
        assert!(value(t, &format!("{product}/Name")).contains("AC1A8C8C"));
        assert_eq!(code(t.delete(product)), 200);
        assert_eq!(get(t, &format!("{product}/Status")), Err(404));
    });
    state.tree.apps.clear();
}

#[test]
fn other_csps_store_values_and_actions_are_recorded() {
    let (_, state) = with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(get(t, "./Vendor/MSFT/NoSuchCsp/Thing"), Err(404));
        let wifi = "./Vendor/MSFT/WiFi/Profile/Office/WlanXml";
        assert_eq!(code(t.add(wifi, text("<WLANProfile/>").as_ref())), 200);
        assert_eq!(code(t.add(wifi, text("<WLANProfile/>").as_ref())), 418);
        assert_eq!(value(t, "./Vendor/MSFT/WiFi/Profile"), "Office");
        assert_eq!(code(t.add("./Vendor/MSFT/WiFi/Profile", None)), 418);
        assert_eq!(code(t.delete("./Vendor/MSFT/WiFi/Profile/Office")), 200);
        assert_eq!(get(t, wifi), Err(404));
        assert_eq!(code(t.exec("./Vendor/MSFT/RemoteWipe/doWipe", None)), 200);
        assert_eq!(
            code(t.exec("./Vendor/MSFT/RemoteWipe/doNothing", None)),
            404
        );
        assert_eq!(
            code(t.replace("./Vendor/MSFT/RemoteWipe/doWipe", text("1").as_ref())),
            405
        );
        assert_eq!(code(t.exec("./Vendor/MSFT/WiFi", None)), 405);
        // Issue 15: the scheduled reboot is a value, recorded like an action.
        let single = "./Device/Vendor/MSFT/Reboot/Schedule/Single";
        assert_eq!(get(t, single), Err(404));
        assert_eq!(
            code(t.replace(single, text("2026-12-07T02:00:00").as_ref())),
            200
        );
        assert_eq!(value(t, single), "2026-12-07T02:00:00");
        assert_eq!(code(t.exec(single, None)), 405);
        assert_eq!(get(t, "./Vendor/MSFT/Policy/Config/X/Y/Z"), Err(404));
        assert_eq!(get(t, "./Vendor/Other/Policy"), Err(404));
        assert_eq!(get(t, "./Something"), Err(404));
    });
    assert_eq!(state.tree.executed.len(), 2);
    assert_eq!(
        state.tree.executed[0].uri,
        "./Vendor/MSFT/RemoteWipe/doWipe"
    );
    assert_eq!(
        state.tree.executed[1].uri,
        "./Vendor/MSFT/Reboot/Schedule/Single"
    );
}

#[test]
fn the_wmi_bridge_serves_win32_classes_on_windows_10() {
    with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(
            value(
                t,
                "./cimv2/Win32_OperatingSystem/Win32_OperatingSystem=@/Caption"
            ),
            "Microsoft Windows 10 Pro"
        );
        assert_eq!(
            value(
                t,
                "./cimv2/Win32_OperatingSystem/Win32_OperatingSystem=@/Version"
            ),
            "10.0.19043"
        );
        assert_eq!(get(t, "./cimv2/MDM_Client"), Err(404));
        assert_eq!(
            code(t.replace("./cimv2/Win32_BIOS", text("x").as_ref())),
            405
        );
    });
}

#[test]
fn atomic_rollback_restores_the_tree() {
    let (_, state) = with_tree(UserAccess::Impersonated, |t| {
        t.begin_atomic();
        assert_eq!(
            code(t.add("./Vendor/MSFT/Policy/Config/A/B", text("1").as_ref())),
            200
        );
        assert_eq!(
            code(t.add(&format!("{PROVIDER}/Push/PFN"), text("P_x").as_ref())),
            200
        );
        t.end_atomic(false);
        assert_eq!(get(t, "./Vendor/MSFT/Policy/Config/A/B"), Err(404));
        t.begin_atomic();
        assert_eq!(
            code(t.add("./Vendor/MSFT/Policy/Config/A/C", text("1").as_ref())),
            200
        );
        t.end_atomic(true);
    });
    assert!(state.tree.push.is_none());
    assert_eq!(state.tree.settings.len(), 1);
}

// Settings nodes of the `known` table (issue 14): Windows' answers for profiles.

const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
const SPOTLIGHT: &str = "./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight";
const PASSWORD: &str = "./Device/Vendor/MSFT/Accounts/Users/ann/Password";
const RETRY: &str = "./Vendor/MSFT/CertificateStore/My/WSTEP/Renew/RetryAfterExpiryInterval";

#[test]
fn add_of_an_existing_setting_is_418() {
    with_tree(UserAccess::Impersonated, |t| {
        for (node, v) in [
            (CAMERA, "0"),
            ("./Vendor/MSFT/Policy/Config/Experience/AllowCortana", "0"),
            (SPOTLIGHT, "1"),
            (PASSWORD, "Secret-1"),
            (RETRY, "30"),
            ("./Vendor/MSFT/Policy/Config/Start/HideSleep", "1"),
            ("./Vendor/MSFT/BitLocker/RequireDeviceEncryption", "1"),
        ] {
            assert_eq!(code(t.add(node, text(v).as_ref())), 200, "{node}");
            assert_eq!(code(t.add(node, text(v).as_ref())), 418, "{node}");
        }
    });
}

#[test]
fn replace_of_an_unset_policy_creates_it() {
    with_tree(UserAccess::Impersonated, |t| {
        assert_eq!(get(t, CAMERA), Err(404));
        assert_eq!(code(t.replace(CAMERA, text("0").as_ref())), 200);
        assert_eq!(get(t, CAMERA), Ok(("int".into(), "0".into())));
        // Any case and scope spelling reach the same node.
        assert_eq!(
            value(t, "./Vendor/MSFT/Policy/Config/camera/allowcamera"),
            "0"
        );
        assert_eq!(
            value(t, "./Vendor/MSFT/Policy/Result/Camera/AllowCamera"),
            "0"
        );
    });
}

#[test]
fn malformed_values_are_400_and_out_of_range_values_500() {
    let (_, state) = with_tree(UserAccess::Impersonated, |t| {
        let p = "./Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength";
        assert_eq!(code(t.add(p, text("eight").as_ref())), 400);
        assert_eq!(code(t.add(p, text("").as_ref())), 400);
        assert_eq!(code(t.add(p, None)), 400);
        assert_eq!(code(t.add(p, text("3").as_ref())), 500);
        assert_eq!(code(t.add(p, text("17").as_ref())), 500);
        assert_eq!(get(t, p), Err(404));
        assert_eq!(code(t.add(p, text("4").as_ref())), 200);
        assert_eq!(code(t.replace(p, text("16").as_ref())), 200);
        assert_eq!(code(t.replace(p, text("1.5").as_ref())), 400);
        assert_eq!(code(t.replace(p, text("20").as_ref())), 500);
        assert_eq!(value(t, p), "16");
        assert_eq!(code(t.replace(CAMERA, text("2").as_ref())), 500);
        assert_eq!(code(t.replace(CAMERA, text("true").as_ref())), 400);
        // Unknown policies take any value.
        assert_eq!(
            code(t.add(
                "./Vendor/MSFT/Policy/Config/Start/HideSleep",
                text("whatever").as_ref()
            )),
            200
        );
    });
    assert_eq!(
        state
            .tree
            .settings
            .get("./Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength")
            .map(|v| v.format.as_str()),
        Some("int")
    );
}

#[test]
fn a_known_policy_in_the_wrong_scope_is_404() {
    with_tree(UserAccess::Impersonated, |t| {
        assert_eq!(
            code(t.add(
                "./User/Vendor/MSFT/Policy/Config/Camera/AllowCamera",
                text("0").as_ref()
            )),
            404
        );
        assert_eq!(
            code(t.add(
                "./Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight",
                text("0").as_ref()
            )),
            404
        );
    });
}

#[test]
fn delete_of_a_non_deletable_node_is_405() {
    let (_, state) = with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(code(t.delete(RETRY)), 405);
        assert_eq!(code(t.add(RETRY, text("60").as_ref())), 200);
        assert_eq!(value(t, RETRY), "60");
        assert_eq!(code(t.replace(RETRY, text("120").as_ref())), 200);
        assert_eq!(code(t.delete(RETRY)), 405);
        assert_eq!(value(t, RETRY), "120");
    });
    assert!(state.tree.settings.contains_key(RETRY));
}

#[test]
fn get_of_a_write_only_node_is_405() {
    let (_, state) = with_tree(UserAccess::NoUserSession, |t| {
        assert_eq!(get(t, PASSWORD), Err(405));
        assert_eq!(code(t.add(PASSWORD, text("Secret-1").as_ref())), 200);
        assert_eq!(get(t, PASSWORD), Err(405));
        assert_eq!(code(t.replace(PASSWORD, text("Secret-2").as_ref())), 200);
        assert_eq!(code(t.delete(PASSWORD)), 405);
        assert_eq!(code(t.add(PASSWORD, None)), 418);
        // The interior node lists it.
        assert_eq!(value(t, "./Vendor/MSFT/Accounts/Users/ann"), "Password");
    });
    assert_eq!(
        state
            .tree
            .settings
            .get("./Vendor/MSFT/Accounts/Users/ann/Password")
            .map(|v| v.data.as_str()),
        Some("Secret-2")
    );
}

#[test]
fn user_policies_fail_without_the_user_and_work_with_them() {
    for access in [UserAccess::NoUserSession, UserAccess::Interactive] {
        with_tree(access, |t| {
            assert_eq!(code(t.add(SPOTLIGHT, text("0").as_ref())), 500);
            assert_eq!(code(t.replace(SPOTLIGHT, text("0").as_ref())), 500);
            assert_eq!(code(t.delete(SPOTLIGHT)), 500);
            assert_eq!(get(t, SPOTLIGHT), Err(500));
        });
    }
    let (_, state) = with_tree(UserAccess::Impersonated, |t| {
        assert_eq!(code(t.add(SPOTLIGHT, text("0").as_ref())), 200);
        assert_eq!(value(t, SPOTLIGHT), "0");
        assert_eq!(code(t.replace(SPOTLIGHT, text("2").as_ref())), 500);
        assert_eq!(code(t.delete(SPOTLIGHT)), 200);
        assert_eq!(code(t.replace(SPOTLIGHT, text("1").as_ref())), 200);
    });
    // Kept until the user is back.
    with_state(UserAccess::NoUserSession, state.clone(), |t| {
        assert_eq!(get(t, SPOTLIGHT), Err(500));
    });
    with_state(UserAccess::Impersonated, state, |t| {
        assert_eq!(value(t, SPOTLIGHT), "1");
    });
}

#[test]
fn add_of_an_existing_dmclient_setting_is_418() {
    with_tree(UserAccess::NoUserSession, |t| {
        let ent = format!("{PROVIDER}/EntDMID");
        assert_eq!(code(t.add(&ent, text("X").as_ref())), 418);
        assert_eq!(code(t.replace(&ent, text("X").as_ref())), 200);
        assert_eq!(value(t, &ent), "X");
        assert_eq!(code(t.add(&ent, text("Y").as_ref())), 418);
        assert_eq!(code(t.delete(&ent)), 405);
    });
}
