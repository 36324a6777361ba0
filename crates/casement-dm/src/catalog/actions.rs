//! Device actions (issue 15 part 1): wipe, reboot, lock — each a command class of its own, so
//! that the per-platform policy table (`crate::context::ContextPolicy`) decides where it goes.
//!
//! # Windows 10/11: configuration service providers
//!
//! - Wipe: the RemoteWipe CSP, `./Device/Vendor/MSFT/RemoteWipe/<node>`, one of `doWipe`,
//!   `doWipeProtected`, `doWipePersistProvisionedData`, `doWipePersistUserData`; "Supported
//!   operation is Exec" (windows-itpro-docs `windows/client-management/mdm/remotewipe-csp.md`; the
//!   same four methods are the WMI bridge's `MDM_RemoteWipe` class, MicrosoftDocs/win32
//!   `desktop-src/DMWmiBridgeProv/mdm-remotewipe.md`, "Minimum supported client Windows 10").
//!   `doWipeProtected` "fully cleans the internal drive" and keeps a device that loses power
//!   mid-wipe from escaping it: it is the default, as the peer (Intune) does.
//! - Reboot: the Reboot CSP (`reboot-csp.md`; WMI bridge `MDM_Reboot.RebootNowMethod`, Windows 10):
//!   `Exec ./Device/Vendor/MSFT/Reboot/RebootNow`, or a single scheduled reboot:
//!   `Replace ./Device/Vendor/MSFT/Reboot/Schedule/Single`, `Format chr`, Data an ISO 8601 date
//!   and time (the CSP's example is `2018-10-25T18:00:00`).
//! - Lock: the RemoteLock CSP, `Exec ./Device/Vendor/MSFT/RemoteLock/Lock` (`remotelock-csp.md`).
//!   Its documentation lists some editions only; a device without the node answers 404/405 and
//!   the command fails with that status, shown in words.
//!
//! Every Exec carries `Meta` `Format chr` + `Type text/plain` and no Data, as in the RemoteWipe
//! CSP's samples.
//!
//! # Windows 8.1: the WMI bridge
//!
//! `MDM_Client` (namespace `Root\CIMv2\MDM`, MicrosoftDocs/win32 `desktop-src/MDMSettingsProv/mdm-client.md`)
//! has three methods: `LockWorkstation` ("Locks the device. … supported beginning with Windows
//! 8.1", `lockworkstation-mdm-client.md`; no parameters), `ResetUserPassword` and
//! `SendUnenrollRequest`. So on 8.1:
//! - lock is `Exec ./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22<id>%22/Exec=LockWorkstation`
//!   (no Data: the method has no parameter), carried in Maintenance only (it locks the enrolled
//!   user's session, which Machine does not have);
//! - wipe and reboot are **refused**: `MDM_RemoteWipe` and `MDM_Reboot` belong to the Windows 10
//!   bridge (`Root\cimv2\mdm\dmmap`), and the 8.1 classes have no such method.

use casement_syncml::{Command, Data};
use serde::{Deserialize, Serialize};

use super::uri::{MDM_CLIENT_CLASS, mdm_client_instance, wmi_method};
use super::{
    CatalogContext, CatalogError, QueuedSpec, chr_text, exec, item_command, required, spec,
    target_item,
};
use crate::context::CommandClass;
use crate::device::Platform;

/// The RemoteWipe CSP's root (Windows 10/11, device scope).
pub const REMOTE_WIPE_ROOT: &str = "./Device/Vendor/MSFT/RemoteWipe";
/// The Reboot CSP's `RebootNow` (Windows 10/11).
pub const REBOOT_NOW: &str = "./Device/Vendor/MSFT/Reboot/RebootNow";
/// The Reboot CSP's single scheduled reboot (Windows 10/11).
pub const REBOOT_SCHEDULE_SINGLE: &str = "./Device/Vendor/MSFT/Reboot/Schedule/Single";
/// The RemoteLock CSP's `Lock` (Windows 10/11).
pub const REMOTE_LOCK: &str = "./Device/Vendor/MSFT/RemoteLock/Lock";
/// `MDM_Client`'s lock method (Windows 8.1).
pub const LOCK_WORKSTATION_METHOD: &str = "LockWorkstation";

/// Which RemoteWipe node to run; named as the CSP names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum WipeMethod {
    /// `doWipe`: reset the PC, removing everything.
    #[serde(rename = "doWipe")]
    DoWipe,
    /// `doWipeProtected`: like `doWipe`, and the wipe resumes if it is interrupted (the default).
    #[default]
    #[serde(rename = "doWipeProtected")]
    DoWipeProtected,
    /// `doWipePersistProvisionedData`: provisioning data is kept and re-applied afterwards.
    #[serde(rename = "doWipePersistProvisionedData")]
    DoWipePersistProvisionedData,
    /// `doWipePersistUserData`: user accounts and data are kept.
    #[serde(rename = "doWipePersistUserData")]
    DoWipePersistUserData,
}

impl WipeMethod {
    /// Every method.
    pub const ALL: [WipeMethod; 4] = [
        Self::DoWipe,
        Self::DoWipeProtected,
        Self::DoWipePersistProvisionedData,
        Self::DoWipePersistUserData,
    ];

    /// The CSP node's name.
    pub const fn node(self) -> &'static str {
        match self {
            Self::DoWipe => "doWipe",
            Self::DoWipeProtected => "doWipeProtected",
            Self::DoWipePersistProvisionedData => "doWipePersistProvisionedData",
            Self::DoWipePersistUserData => "doWipePersistUserData",
        }
    }

    /// The method for its node name.
    pub fn from_node(node: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.node() == node)
    }
}

/// `Wipe the device (RemoteWipe doWipeProtected)`: one Exec; refused on 8.1.
pub(super) fn wipe(method: WipeMethod, ctx: &CatalogContext) -> Result<QueuedSpec, CatalogError> {
    match ctx.platform {
        Platform::Windows81 => Err(CatalogError::UnsupportedOnPlatform {
            what: "wipe".into(),
            platform: ctx.platform,
            reason: "the Windows 8.1 WMI bridge has no wipe method (MDM_Client offers only \
                     LockWorkstation, ResetUserPassword and SendUnenrollRequest; the RemoteWipe \
                     CSP and MDM_RemoteWipe start with Windows 10); unenroll the device and \
                     reset it by hand"
                .into(),
        }),
        Platform::Windows10 => Ok(spec(
            CommandClass::Wipe,
            format!("Wipe the device (RemoteWipe {})", method.node()),
            exec(
                format!("{REMOTE_WIPE_ROOT}/{}", method.node()),
                Some(chr_text()),
                None,
            ),
        )),
    }
}

/// `Reboot the device now` (Exec `RebootNow`) or at `at` (Replace `Schedule/Single`); refused
/// on 8.1.
pub(super) fn reboot(at: Option<&str>, ctx: &CatalogContext) -> Result<QueuedSpec, CatalogError> {
    if ctx.platform == Platform::Windows81 {
        return Err(CatalogError::UnsupportedOnPlatform {
            what: "reboot".into(),
            platform: ctx.platform,
            reason: "the Windows 8.1 WMI bridge has no reboot method (MDM_Client offers only \
                     LockWorkstation, ResetUserPassword and SendUnenrollRequest; the Reboot CSP \
                     and MDM_Reboot start with Windows 10)"
                .into(),
        });
    }
    match at {
        None => Ok(spec(
            CommandClass::Reboot,
            "Reboot the device now (Reboot RebootNow)",
            exec(REBOOT_NOW, Some(chr_text()), None),
        )),
        Some(at) => {
            required("at", at)?;
            let at = at.trim();
            parse_iso8601(at).ok_or_else(|| CatalogError::InvalidField {
                field: "at",
                reason: format!(
                    "{at:?} is not an ISO 8601 date and time (e.g. 2026-12-07T02:00:00 or 2026-12-07T02:00:00Z)"
                ),
            })?;
            Ok(spec(
                CommandClass::Reboot,
                format!("Reboot the device at {at} (Reboot Schedule/Single)"),
                Command::Replace(item_command(vec![target_item(
                    REBOOT_SCHEDULE_SINGLE,
                    Some(chr_text()),
                    Some(Data::text(at.to_owned())),
                )])),
            ))
        }
    }
}

/// `Lock the device`: 8.1 `MDM_Client.LockWorkstation`, 10/11 RemoteLock `Lock`.
pub(super) fn lock(ctx: &CatalogContext) -> Result<QueuedSpec, CatalogError> {
    match ctx.platform {
        Platform::Windows81 => {
            required("device_id", &ctx.device_id)
                .map_err(|e| CatalogError::InvalidContext(e.to_string()))?;
            Ok(spec(
                CommandClass::Lock,
                format!("Lock the device ({MDM_CLIENT_CLASS}.{LOCK_WORKSTATION_METHOD})"),
                exec(
                    wmi_method(
                        &mdm_client_instance(&ctx.device_id),
                        LOCK_WORKSTATION_METHOD,
                    ),
                    Some(chr_text()),
                    None,
                ),
            ))
        }
        Platform::Windows10 => Ok(spec(
            CommandClass::Lock,
            "Lock the device (RemoteLock Lock)",
            exec(REMOTE_LOCK, Some(chr_text()), None),
        )),
    }
}

/// An ISO 8601 date and time, with or without an offset (the Reboot CSP's own example has none).
fn parse_iso8601(value: &str) -> Option<()> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    if time::OffsetDateTime::parse(value, &Rfc3339).is_ok()
        || time::PrimitiveDateTime::parse(value, &Iso8601::DEFAULT).is_ok()
        || time::OffsetDateTime::parse(value, &Iso8601::DEFAULT).is_ok()
    {
        Some(())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::ctx;
    use crate::catalog::{CommandRequest, build};
    use casement_syncml::MetInf;

    #[test]
    fn wipe_on_windows_10_is_an_exec_of_the_remote_wipe_node_protected_by_default() {
        let request: CommandRequest =
            serde_json::from_str(r#"{"kind":"wipe","confirm":"PC-1"}"#).unwrap();
        let specs = build(&request, &ctx(Platform::Windows10)).unwrap();
        assert_eq!(specs.len(), 1);
        let spec = &specs[0];
        assert_eq!(spec.class, CommandClass::Wipe);
        assert!(!spec.secret);
        assert_eq!(spec.label, "Wipe the device (RemoteWipe doWipeProtected)");
        let Command::Exec(exec) = &spec.command else {
            panic!("not an Exec")
        };
        let item = &exec.items[0];
        assert_eq!(
            item.loc_uri(),
            Some("./Device/Vendor/MSFT/RemoteWipe/doWipeProtected")
        );
        let meta = item.meta.as_ref().unwrap();
        assert_eq!(meta.format_value(), Some("chr"));
        assert_eq!(meta.get(MetInf::Type), Some("text/plain"));
        assert_eq!(item.data, None);
        for method in WipeMethod::ALL {
            let spec = wipe(method, &ctx(Platform::Windows10)).unwrap();
            assert_eq!(
                spec.command.items()[0].loc_uri().unwrap(),
                format!("./Device/Vendor/MSFT/RemoteWipe/{}", method.node())
            );
            assert_eq!(WipeMethod::from_node(method.node()), Some(method));
            let json = serde_json::to_value(method).unwrap();
            assert_eq!(json, method.node());
        }
    }

    #[test]
    fn wipe_and_reboot_are_refused_on_windows_81_with_the_reason() {
        let err = wipe(WipeMethod::DoWipe, &ctx(Platform::Windows81)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("wipe is not supported on Windows 8.1: the Windows 8.1 WMI bridge has no wipe method"),
            "{text}"
        );
        assert!(matches!(err, CatalogError::UnsupportedOnPlatform { .. }));
        let err = reboot(None, &ctx(Platform::Windows81)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("reboot is not supported on Windows 8.1: the Windows 8.1 WMI bridge has no reboot method")
        );
    }

    #[test]
    fn reboot_now_and_scheduled() {
        let spec = reboot(None, &ctx(Platform::Windows10)).unwrap();
        assert_eq!(spec.class, CommandClass::Reboot);
        assert!(matches!(spec.command, Command::Exec(_)));
        assert_eq!(
            spec.command.items()[0].loc_uri(),
            Some("./Device/Vendor/MSFT/Reboot/RebootNow")
        );

        for at in [
            "2026-12-07T02:00:00",
            "2026-12-07T02:00:00Z",
            "2026-12-07T02:00:00+01:00",
        ] {
            let spec = reboot(Some(at), &ctx(Platform::Windows10)).unwrap();
            assert!(matches!(spec.command, Command::Replace(_)), "{at}");
            let item = &spec.command.items()[0];
            assert_eq!(
                item.loc_uri(),
                Some("./Device/Vendor/MSFT/Reboot/Schedule/Single")
            );
            assert_eq!(item.data.as_ref().unwrap().as_str(), at);
            assert_eq!(
                spec.label,
                format!("Reboot the device at {at} (Reboot Schedule/Single)")
            );
        }
        for bad in ["", "tomorrow", "2026-13-07T02:00:00", "02:00"] {
            assert!(
                matches!(
                    reboot(Some(bad), &ctx(Platform::Windows10)),
                    Err(CatalogError::InvalidField { field: "at", .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn lock_per_platform() {
        let spec = lock(&ctx(Platform::Windows81)).unwrap();
        assert_eq!(spec.class, CommandClass::Lock);
        let item = &spec.command.items()[0];
        assert_eq!(
            item.loc_uri(),
            Some(
                "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22/Exec=LockWorkstation"
            )
        );
        assert_eq!(item.data, None);
        assert_eq!(spec.label, "Lock the device (MDM_Client.LockWorkstation)");

        let spec = lock(&ctx(Platform::Windows10)).unwrap();
        assert_eq!(
            spec.command.items()[0].loc_uri(),
            Some("./Device/Vendor/MSFT/RemoteLock/Lock")
        );
        let mut c = ctx(Platform::Windows81);
        c.device_id.clear();
        assert!(matches!(lock(&c), Err(CatalogError::InvalidContext(_))));
    }

    #[test]
    fn action_requests_read_and_write_their_api_names() {
        for (json, kind) in [
            (r#"{"kind":"wipe"}"#, "wipe"),
            (
                r#"{"kind":"wipe","method":"doWipe","confirm":"PC-1","bulk":true}"#,
                "wipe",
            ),
            (r#"{"kind":"reboot"}"#, "reboot"),
            (r#"{"kind":"reboot","at":"2026-12-07T02:00:00"}"#, "reboot"),
            (r#"{"kind":"lock"}"#, "lock"),
        ] {
            let request: CommandRequest = serde_json::from_str(json).expect(json);
            assert_eq!(request.kind().as_str(), kind);
            let again: CommandRequest =
                serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
            assert_eq!(again, request);
        }
        assert!(
            serde_json::from_str::<CommandRequest>(r#"{"kind":"wipe","method":"doNothing"}"#)
                .is_err()
        );
    }
}
