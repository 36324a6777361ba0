//! The command catalog: what an administrator asks for (docs/product.md §4 command kinds), turned into the
//! SyncML commands to queue for one device, per platform. Pure: no I/O, no clock.
//!
//! [`build`] returns one [`QueuedSpec`] per command to queue, in queue order. Each spec carries its
//! [`CommandClass`] (the context rule of docs/product.md §2 decides when it may be sent), a label in human
//! words for the console, the SyncML [`Command`] (CmdIDs are placeholders, `1`; the session core
//! renumbers them, nested ones included) and whether its `Data` holds a secret (the server redacts
//! those when it records sessions).
//!
//! # What each kind becomes
//!
//! `<id>` is the device ID, `<app>` the WNS AppId, `<pfn>` a package family name, `<prov>` the
//! DMClient ProviderID, `<P>` a property or node list (see the constants of each module). Every
//! key value in a WMI-bridge path is `%22`-quoted and every segment value is percent-encoded
//! ([`uri::encode_segment`]).
//!
//! | kind | Windows 8.1 (WMI bridge) | Windows 10/11 (CSPs) | class |
//! |---|---|---|---|
//! | inventory `os` | Get `./cimv2/Win32_OperatingSystem`, then (see [`follow_up`]) Get `./cimv2/Win32_OperatingSystem/<instance>/<P>` | — | inventory |
//! | inventory `computer` | same with `Win32_ComputerSystem` | — | inventory |
//! | inventory `bios` | same with `Win32_BIOS` | — | inventory |
//! | inventory `mdm-client` | Get `./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22<id>%22/<P>` | — | inventory |
//! | inventory `devinfo` | Get `./DevInfo/{DevId,Man,Mod,DmV,Lang}` | same | inventory |
//! | inventory `devdetail` | Get `./DevDetail/{DevTyp,OEM,FwV,SwV,HwV,LrgObj}` | same + `Ext/Microsoft/*` | inventory |
//! | inventory `device-status` | — | Get `./Vendor/MSFT/DeviceStatus/<P>` | inventory |
//! | inventory `apps` | Get `./cimv2/MDM_Application` | Get `./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/{AppStore,nonStore}` | **app management** |
//! | `reset-password` | Exec `./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22<id>%22/Exec=ResetUserPassword`, Data `ConfigString=<user>;<pwd>` (secret) | refused: no CSP sets an existing user's password | password reset |
//! | `unenroll` | Exec `…/MDM_Client.DeviceClientID=%22<id>%22/Exec=SendUnenrollRequest`, Data `DeviceClientID=<id>` | Exec `./Vendor/MSFT/DMClient/Provider/<prov>/Unenroll`, Data `<prov>` | unenrollment |
//! | `push-config` | Exec `./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22<app>%22/Exec=UpdateConfiguration`, Data `ConfigString=<app>;<pfn>`; Get `…/ConfigurationStatus`; Get `./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22<app>%22/{Channel,ExpirationTime,ChannelStatus,LastError}` | Sequence(Add, Replace) `./Vendor/MSFT/DMClient/Provider/<prov>/Push/PFN`; Get `…/Push/ChannelURI` + `…/Push/Status` | push configuration |
//! | `app-install` | Exec `./cimv2/MDM_AppInstallJob/Exec=CreateJob`, Data `JobData=<admin's JobData>` | Add + Exec `./{User,Device}/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/<pfn>/{StoreInstall,HostedInstall}`, or Add + Exec `./{User,Device}/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B<guid>%7D/DownloadInstall` with `<MsiInstallJob>` | app management |
//! | (after each `app-install`) | Get `./cimv2/MDM_Application/MDM_Application.PackageFullName=%22<name>%22/PackageVersion` (when the app names its package) | Get `…/AppInstallation/<pfn>/Status` or `…/MSI/%7B<guid>%7D/Status`: see `install_check.rs` | app management |
//! | `wipe` | refused: no wipe method in the 8.1 WMI bridge | Exec `./Device/Vendor/MSFT/RemoteWipe/{doWipe,doWipeProtected,doWipePersistProvisionedData,doWipePersistUserData}` (default `doWipeProtected`) | wipe |
//! | `reboot` | refused: no reboot method in the 8.1 WMI bridge | Exec `./Device/Vendor/MSFT/Reboot/RebootNow`, or Replace `…/Reboot/Schedule/Single` with an ISO 8601 date and time | reboot |
//! | `lock` | Exec `…/MDM_Client.DeviceClientID=%22<id>%22/Exec=LockWorkstation` | Exec `./Device/Vendor/MSFT/RemoteLock/Lock` | lock |
//! | `raw` | the administrator's commands, parsed and checked | same | declared |
//!
//! Sources per command are in the module that builds it: [`uri`] (addressing), `inventory.rs`,
//! `client.rs`, `push.rs`, `apps.rs`, `actions.rs`, `raw.rs`.

mod actions;
mod apps;
mod client;
mod install_check;
mod inventory;
mod kind;
mod push;
mod raw;
pub mod uri;

use casement_syncml::{
    CmdId, Command, Data, Item, ItemCommand, Location, MetInf, Meta, ParseError,
};
use serde::{Deserialize, Serialize};

use crate::context::CommandClass;
use crate::device::Platform;

pub use actions::{
    LOCK_WORKSTATION_METHOD, REBOOT_NOW, REBOOT_SCHEDULE_SINGLE, REMOTE_LOCK, REMOTE_WIPE_ROOT,
    WipeMethod,
};
pub use apps::{AppPayload, AppScope};
pub use install_check::{APPLICATION_KEY, InstallProgress, is_install_check, judge_install_check};
pub use inventory::{
    BIOS_PROPERTIES, COMPUTER_SYSTEM_PROPERTIES, DEVDETAIL_NODES_WIN10, DEVDETAIL_NODES_WIN81,
    DEVICE_STATUS_NODES, DEVINFO_NODES, InventorySet, MAX_FOLLOW_UP_INSTANCES,
    MDM_CLIENT_PROPERTIES, MODERN_APP_ORIGINS, OPERATING_SYSTEM_PROPERTIES, follow_up,
    instance_paths, lookup_set,
};
pub use kind::CommandKind;
pub use push::{WNS_CHANNEL_PROPERTIES, WNS_CONFIGURATION_STATUS};
pub use raw::carries_secret;
pub use uri::*;

/// What an administrator asks for (`POST /api/v1/devices/{id}/commands`, docs/product.md §4), tagged by
/// `kind`: `inventory`, `reset-password`, `unenroll`, `push-config`, `app-install`, `wipe`,
/// `reboot`, `lock`, `raw`.
///
/// `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CommandRequest {
    /// Read named inventory sets; an empty list means the platform's defaults
    /// ([`InventorySet::defaults`]).
    Inventory {
        /// The sets, by name (`os`, `computer`, `bios`, `mdm-client`, `devinfo`, `devdetail`,
        /// `device-status`, `apps`).
        #[serde(default)]
        sets: Vec<InventorySet>,
    },
    /// Set a user's password (Windows 8.1 Update `MDM_Client.ResetUserPassword`).
    ResetPassword {
        /// The user, as the method expects it (`User@Company.com`).
        user: String,
        /// The new password.
        password: String,
    },
    /// Unenroll the device (server-initiated).
    Unenroll,
    /// Configure the WNS push channel and read it back.
    PushConfig,
    /// Install an application.
    AppInstall {
        /// What to install and how.
        app: AppPayload,
    },
    /// Wipe the device (Windows 10/11 RemoteWipe CSP). The safeguards are the server's: the
    /// single-device API refuses a wipe whose `confirm` is not the device's name (or id when it
    /// has none), a bulk request one without `bulk: true`.
    Wipe {
        /// Which RemoteWipe node (default `doWipeProtected`).
        #[serde(default)]
        method: WipeMethod,
        /// The name of the device being wiped, typed by the administrator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirm: Option<String>,
        /// Set to wipe several devices with one request.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        bulk: bool,
    },
    /// Reboot the device now, or once at `at` (Windows 10/11 Reboot CSP).
    Reboot {
        /// An ISO 8601 date and time for a scheduled reboot; now when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<String>,
    },
    /// Lock the device (8.1 `MDM_Client.LockWorkstation`, 10/11 RemoteLock CSP).
    Lock,
    /// Commands written by hand, with the class the administrator declares (never guessed).
    Raw {
        /// The declared class.
        class: CommandClass,
        /// One or more command elements (`Get`, `Add`, `Replace`, `Delete`, `Exec`, `Atomic`,
        /// `Sequence`), bare siblings or wrapped in any element (`<SyncBody>` included).
        syncml: String,
    },
}

impl CommandRequest {
    /// The request's `kind`, as in the API.
    pub const fn kind(&self) -> CommandKind {
        match self {
            Self::Inventory { .. } => CommandKind::Inventory,
            Self::ResetPassword { .. } => CommandKind::ResetPassword,
            Self::Unenroll => CommandKind::Unenroll,
            Self::PushConfig => CommandKind::PushConfig,
            Self::AppInstall { .. } => CommandKind::AppInstall,
            Self::Wipe { .. } => CommandKind::Wipe,
            Self::Reboot { .. } => CommandKind::Reboot,
            Self::Lock => CommandKind::Lock,
            Self::Raw { .. } => CommandKind::Raw,
        }
    }
}

impl std::fmt::Debug for CommandRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inventory { sets } => f.debug_struct("Inventory").field("sets", sets).finish(),
            Self::ResetPassword { user, .. } => f
                .debug_struct("ResetPassword")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Self::Unenroll => f.write_str("Unenroll"),
            Self::PushConfig => f.write_str("PushConfig"),
            Self::AppInstall { app } => f.debug_struct("AppInstall").field("app", app).finish(),
            Self::Wipe {
                method,
                confirm,
                bulk,
            } => f
                .debug_struct("Wipe")
                .field("method", method)
                .field("confirm", confirm)
                .field("bulk", bulk)
                .finish(),
            Self::Reboot { at } => f.debug_struct("Reboot").field("at", at).finish(),
            Self::Lock => f.write_str("Lock"),
            Self::Raw { class, syncml } => f
                .debug_struct("Raw")
                .field("class", class)
                .field("syncml", syncml)
                .finish(),
        }
    }
}

/// What the catalog needs to know about the device and the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogContext {
    /// The device's platform.
    pub platform: Platform,
    /// The device ID (enrollment DeviceID, `./DevInfo/DevId`): the `MDM_Client` key on 8.1.
    pub device_id: String,
    /// The DMClient ProviderID the server provisioned (Windows 10/11 `DMClient/Provider/<id>`).
    pub provider_id: String,
    /// The server's WNS identity, if push is configured.
    pub wns: Option<WnsIdentity>,
}

/// The server's WNS identity: what `UpdateConfiguration` (8.1) and `Push/PFN` (10/11) carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WnsIdentity {
    /// The `MDM_WNSConfiguration` / `MDM_WNSChannel` key ("identifies the MDM application";
    /// its value is the server's choice — protocol notes §6.4). Windows 8.1 only.
    pub app_id: String,
    /// The Store package family name whose WNS credentials the server pushes with.
    pub package_family_name: String,
}

/// One command to queue.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedSpec {
    /// Its class, which decides the contexts that may carry it.
    pub class: CommandClass,
    /// What it does, in human words ("Read Win32_OperatingSystem (instance list)", "Reset the
    /// password of alice@contoso.com"). Never holds a secret.
    pub label: String,
    /// The command. CmdIDs are placeholders (`1`), nested ones included.
    pub command: Command,
    /// True when a `Data` holds a secret (a password): the server redacts it in recordings.
    pub secret: bool,
}

impl std::fmt::Debug for QueuedSpec {
    /// The command is left out when it carries a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("QueuedSpec");
        s.field("class", &self.class).field("label", &self.label);
        if self.secret {
            s.field("command", &"<redacted: carries a secret>");
        } else {
            s.field("command", &self.command);
        }
        s.field("secret", &self.secret).finish()
    }
}

/// Why a request was refused. Every variant is the requester's fault (or the server's
/// configuration's) and its message is meant for the API's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The request has no equivalent on the device's platform.
    #[error("{what} is not supported on {}: {reason}", platform_name(*.platform))]
    UnsupportedOnPlatform {
        /// What was asked.
        what: String,
        /// The device's platform.
        platform: Platform,
        /// Why, and what to do instead.
        reason: String,
    },
    /// An inventory set the platform does not have.
    #[error(
        "inventory set {:?} is not available on {} (available: {})",
        .set.name(), platform_name(*.platform), set_names(*.platform)
    )]
    SetUnsupported {
        /// The set.
        set: InventorySet,
        /// The device's platform.
        platform: Platform,
    },
    /// Push configuration needs the server's WNS identity, which is not configured.
    #[error(
        "push configuration needs the server's WNS identity (AppId and package family name); configure WNS first"
    )]
    MissingWnsConfig,
    /// A field of the request is missing or malformed.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field, as named in the API.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The catalog context lacks something the command needs (server configuration).
    #[error("cannot build the command: {0}")]
    InvalidContext(String),
    /// A raw request with no command in it.
    #[error("the raw SyncML holds no command")]
    EmptyRaw,
    /// Raw SyncML the codec could not read: the byte offset and element path are the codec's.
    #[error("invalid raw SyncML at byte {} ({}): {}", .0.offset, .0.path, .0.kind)]
    InvalidRaw(ParseError),
    /// Raw SyncML that is readable but is not a list of commands a server may send.
    #[error("raw SyncML refused: {0}")]
    RawRefused(String),
    /// A user-scoped LocURI declared with a class that is delivered without a user.
    #[error(
        "{loc_uri} is user-scoped (./User/...) and needs a user session, but was declared {class}; user-scoped commands are settings or app-management commands"
    )]
    UserScopedUri {
        /// The declared class.
        class: CommandClass,
        /// The offending LocURI.
        loc_uri: String,
    },
}

/// Turns a request into the commands to queue for the device described by `ctx`, in order.
pub fn build(
    request: &CommandRequest,
    ctx: &CatalogContext,
) -> Result<Vec<QueuedSpec>, CatalogError> {
    match request {
        CommandRequest::Inventory { sets } => inventory::build(sets, ctx),
        CommandRequest::ResetPassword { user, password } => {
            client::reset_password(user, password, ctx).map(|spec| vec![spec])
        }
        CommandRequest::Unenroll => client::unenroll(ctx).map(|spec| vec![spec]),
        CommandRequest::PushConfig => push::build(ctx),
        CommandRequest::AppInstall { app } => apps::build(app, ctx),
        CommandRequest::Wipe { method, .. } => actions::wipe(*method, ctx).map(|spec| vec![spec]),
        CommandRequest::Reboot { at } => actions::reboot(at.as_deref(), ctx).map(|spec| vec![spec]),
        CommandRequest::Lock => actions::lock(ctx).map(|spec| vec![spec]),
        CommandRequest::Raw { class, syncml } => raw::build(*class, syncml),
    }
}

/// The platform as administrators call it.
pub fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Windows81 => "Windows 8.1",
        Platform::Windows10 => "Windows 10/11",
    }
}

fn set_names(platform: Platform) -> String {
    InventorySet::ALL
        .into_iter()
        .filter(|s| s.supported_on(platform))
        .map(InventorySet::name)
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- command builders shared by the kind modules ----

/// The placeholder CmdID of every built command.
const PLACEHOLDER_ID: CmdId = CmdId(1);

/// `Format chr`, `Type text/plain`: the Meta of the MS-MDM §3.1.5.1.5 WMI Exec sample (fixture
/// `mdm-spec/04`), used for every string-valued Exec and Replace the catalog writes.
fn chr_text() -> Meta {
    Meta::format("chr").with(MetInf::Type, "text/plain")
}

/// An item addressing `loc_uri`, with optional Meta and Data.
fn target_item(loc_uri: impl Into<String>, meta: Option<Meta>, data: Option<Data>) -> Item {
    Item {
        target: Some(Location::uri(loc_uri)),
        meta,
        data,
        ..Item::default()
    }
}

fn item_command(items: Vec<Item>) -> ItemCommand {
    ItemCommand {
        cmd_id: PLACEHOLDER_ID,
        no_resp: false,
        correlator: None,
        meta: None,
        items,
    }
}

/// One Get with one Item per URI (several nodes read by one tracked command).
fn get<I, S>(loc_uris: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Command::Get(item_command(
        loc_uris
            .into_iter()
            .map(|u| target_item(u, None, None))
            .collect(),
    ))
}

/// An Exec of `loc_uri` with optional Meta and Data.
fn exec(loc_uri: impl Into<String>, meta: Option<Meta>, data: Option<Data>) -> Command {
    Command::Exec(item_command(vec![target_item(loc_uri, meta, data)]))
}

fn spec(class: CommandClass, label: impl Into<String>, command: Command) -> QueuedSpec {
    QueuedSpec {
        class,
        label: label.into(),
        command,
        secret: false,
    }
}

/// Refuses an empty (after trimming) value and ASCII control characters.
fn required(field: &'static str, value: &str) -> Result<(), CatalogError> {
    if value.trim().is_empty() {
        return Err(CatalogError::InvalidField {
            field,
            reason: "must not be empty".into(),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(CatalogError::InvalidField {
            field,
            reason: "must not contain control characters".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn ctx(platform: Platform) -> CatalogContext {
        CatalogContext {
            platform,
            device_id: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
            provider_id: "Casement".into(),
            wns: Some(WnsIdentity {
                app_id: "Casement".into(),
                package_family_name: "Contoso.MDM_8wekyb3d8bbwe".into(),
            }),
        }
    }

    #[test]
    fn request_kinds_use_the_api_names() {
        let cases = [
            (r#"{"kind":"inventory"}"#, "inventory"),
            (
                r#"{"kind":"inventory","sets":["os","devinfo"]}"#,
                "inventory",
            ),
            (
                r#"{"kind":"reset-password","user":"a@b.c","password":"x"}"#,
                "reset-password",
            ),
            (r#"{"kind":"unenroll"}"#, "unenroll"),
            (r#"{"kind":"push-config"}"#, "push-config"),
            (
                r#"{"kind":"app-install","app":{"type":"app-install-job","job_data":"x"}}"#,
                "app-install",
            ),
            (
                r#"{"kind":"raw","class":"settings","syncml":"<Get/>"}"#,
                "raw",
            ),
        ];
        for (json, kind) in cases {
            let request: CommandRequest = serde_json::from_str(json).expect(json);
            assert_eq!(request.kind().as_str(), kind);
            let value = serde_json::to_value(&request).unwrap();
            assert_eq!(value["kind"], kind);
            let again: CommandRequest = serde_json::from_value(value).unwrap();
            assert_eq!(again, request);
        }
    }

    #[test]
    fn a_raw_request_without_a_class_is_refused_by_serde() {
        assert!(
            serde_json::from_str::<CommandRequest>(r#"{"kind":"raw","syncml":"<Get/>"}"#).is_err()
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let request = CommandRequest::ResetPassword {
            user: "alice@contoso.com".into(),
            password: "Hunter2!".into(),
        };
        let shown = format!("{request:?}");
        assert!(shown.contains("alice@contoso.com"));
        assert!(!shown.contains("Hunter2!"));
        let specs = build(&request, &ctx(Platform::Windows81)).unwrap();
        let shown = format!("{specs:?}");
        assert!(!shown.contains("Hunter2!"), "{shown}");
    }

    #[test]
    fn every_error_reads_as_a_sentence() {
        let e = CatalogError::SetUnsupported {
            set: InventorySet::DeviceStatus,
            platform: Platform::Windows81,
        };
        assert_eq!(
            e.to_string(),
            "inventory set \"device-status\" is not available on Windows 8.1 (available: os, computer, bios, mdm-client, devinfo, devdetail, apps)"
        );
        assert!(CatalogError::MissingWnsConfig.to_string().contains("WNS"));
    }
}
