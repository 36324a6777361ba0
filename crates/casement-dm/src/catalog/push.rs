//! Push configuration: give the device the server's WNS identity and read the channel back
//! (docs/product.md §3 flow 6). Class push configuration: Maintenance sessions only.
//!
//! # Windows 8.1 (three tracked commands)
//!
//! 1. `Exec ./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22<AppId>%22/Exec=UpdateConfiguration`,
//!    `Format chr`, `Type text/plain`, `Data` `ConfigString=<AppId>;<PFN>` — "The WNS configuration
//!    string in the format `<AppId>;<WNS Package Family Name>`" (MicrosoftDocs/win32
//!    `desktop-src/MDMSettingsProv/updateconfiguration-mdm-wnsconfiguration.md`; Exec form of the
//!    MS-MDM §3.1.5.1.5 sample, inferred as in protocol notes §2.10).
//! 2. `Get …/MDM_WNSConfiguration.AppId=%22<AppId>%22/ConfigurationStatus` (0 not configured,
//!    1 configured; `mdm-wnsconfiguration.md`).
//! 3. `Get ./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22<AppId>%22/{Channel, ExpirationTime,
//!    ChannelStatus, LastError}` (`mdm-wnschannel.md`: key `AppId`, all read-only).
//!
//! The status read and the channel read are separate commands so that a channel that does not
//! exist yet (creation failed: `LastError`) does not hide the configuration status. The device
//! runs them in queue order within a session, after the Exec.
//!
//! # Windows 10/11 (two tracked commands)
//!
//! 1. `Sequence` of `Add` then `Replace` of `./Vendor/MSFT/DMClient/Provider/<ProviderID>/Push/PFN`
//!    (`Format chr`, `Data` the PFN). `Push` is optional and Casement's enrollment does not
//!    provision it, so the first configuration needs `Add` (PFN: "Supported operations are Add,
//!    Get, and Replace", [MS-MDE2] §2.2.9.3, windows-itpro-docs `mdm/dmclient-csp.md`); a later one
//!    (new PFN) needs `Replace`, and the `Add` then answers 418. A Sequence runs both in order and
//!    lets either fail harmlessly (an Atomic would roll back on the 418, and Add-then-Replace of a
//!    node is documented as unsupported inside Atomic only); whether the PFN took is read in 2.
//! 2. `Get …/Push/ChannelURI` and `…/Push/Status` (0 success, 1 invalid PFN, … 8; protocol notes
//!    §2.11).

use casement_syncml::{Command, Container, Data};

use super::uri::{
    UPDATE_CONFIGURATION_METHOD, WNS_CHANNEL_CLASS, WNS_CONFIGURATION_CLASS,
    dmclient_push_channel_uri, dmclient_push_pfn, dmclient_push_status, wmi_method, wmi_property,
    wns_channel_instance, wns_configuration_instance,
};
use super::{
    CatalogContext, CatalogError, PLACEHOLDER_ID, QueuedSpec, WnsIdentity, chr_text, exec, get,
    item_command, required, spec, target_item,
};
use crate::context::CommandClass;
use crate::device::Platform;

/// The `MDM_WNSConfiguration` property read after `UpdateConfiguration`.
pub const WNS_CONFIGURATION_STATUS: &str = "ConfigurationStatus";

/// The `MDM_WNSChannel` properties read after `UpdateConfiguration`.
pub const WNS_CHANNEL_PROPERTIES: &[&str] =
    &["Channel", "ExpirationTime", "ChannelStatus", "LastError"];

/// Builds the commands of a push-config request.
pub(super) fn build(ctx: &CatalogContext) -> Result<Vec<QueuedSpec>, CatalogError> {
    let Some(wns) = &ctx.wns else {
        return Err(CatalogError::MissingWnsConfig);
    };
    match ctx.platform {
        Platform::Windows81 => windows81(wns),
        Platform::Windows10 => windows10(wns, &ctx.provider_id),
    }
}

fn windows81(wns: &WnsIdentity) -> Result<Vec<QueuedSpec>, CatalogError> {
    identity("wns.app_id", &wns.app_id)?;
    identity("wns.package_family_name", &wns.package_family_name)?;
    if wns.app_id.contains(';') {
        return Err(CatalogError::InvalidContext(
            "wns.app_id must not contain ';', which separates it from the PFN in ConfigString"
                .into(),
        ));
    }
    let configuration = wns_configuration_instance(&wns.app_id);
    let channel = wns_channel_instance(&wns.app_id);
    let data = Data::text(format!(
        "ConfigString={};{}",
        wns.app_id, wns.package_family_name
    ));
    Ok(vec![
        spec(
            CommandClass::PushConfiguration,
            format!(
                "Configure WNS push ({WNS_CONFIGURATION_CLASS}.{UPDATE_CONFIGURATION_METHOD}, AppId {}, PFN {})",
                wns.app_id, wns.package_family_name
            ),
            exec(
                wmi_method(&configuration, UPDATE_CONFIGURATION_METHOD),
                Some(chr_text()),
                Some(data),
            ),
        ),
        spec(
            CommandClass::PushConfiguration,
            format!(
                "Read the WNS configuration status ({WNS_CONFIGURATION_CLASS}.{WNS_CONFIGURATION_STATUS})"
            ),
            get([wmi_property(&configuration, WNS_CONFIGURATION_STATUS)]),
        ),
        spec(
            CommandClass::PushConfiguration,
            format!(
                "Read the WNS channel ({WNS_CHANNEL_CLASS}: {})",
                WNS_CHANNEL_PROPERTIES.join(", ")
            ),
            get(WNS_CHANNEL_PROPERTIES
                .iter()
                .map(|p| wmi_property(&channel, p))),
        ),
    ])
}

fn windows10(wns: &WnsIdentity, provider: &str) -> Result<Vec<QueuedSpec>, CatalogError> {
    identity("wns.package_family_name", &wns.package_family_name)?;
    required("provider_id", provider).map_err(|e| CatalogError::InvalidContext(e.to_string()))?;
    let pfn_item = || {
        target_item(
            dmclient_push_pfn(provider),
            Some(chr_text()),
            Some(Data::text(wns.package_family_name.clone())),
        )
    };
    let set_pfn = Command::Sequence(Container {
        cmd_id: PLACEHOLDER_ID,
        no_resp: false,
        meta: None,
        commands: vec![
            Command::Add(item_command(vec![pfn_item()])),
            Command::Replace(item_command(vec![pfn_item()])),
        ],
    });
    Ok(vec![
        spec(
            CommandClass::PushConfiguration,
            format!(
                "Set the push PFN to {} (DMClient Push/PFN)",
                wns.package_family_name
            ),
            set_pfn,
        ),
        spec(
            CommandClass::PushConfiguration,
            "Read the push channel (DMClient Push/ChannelURI, Push/Status)",
            get([
                dmclient_push_channel_uri(provider),
                dmclient_push_status(provider),
            ]),
        ),
    ])
}

/// A part of the WNS identity: missing means WNS is not configured.
fn identity(field: &'static str, value: &str) -> Result<(), CatalogError> {
    if value.trim().is_empty() {
        return Err(CatalogError::MissingWnsConfig);
    }
    required(field, value).map_err(|e| CatalogError::InvalidContext(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::ctx;

    fn uris(spec: &QueuedSpec) -> Vec<&str> {
        spec.command
            .items()
            .iter()
            .filter_map(|i| i.loc_uri())
            .collect()
    }

    #[test]
    fn windows81_configures_then_reads_status_then_channel() {
        let specs = build(&ctx(Platform::Windows81)).unwrap();
        assert_eq!(specs.len(), 3);
        assert!(
            specs
                .iter()
                .all(|s| s.class == CommandClass::PushConfiguration && !s.secret)
        );
        let Command::Exec(exec) = &specs[0].command else {
            panic!("not an Exec")
        };
        assert_eq!(
            exec.items[0].loc_uri(),
            Some(
                "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22Casement%22/Exec=UpdateConfiguration"
            )
        );
        assert_eq!(
            exec.items[0].data.as_ref().unwrap().as_str(),
            "ConfigString=Casement;Contoso.MDM_8wekyb3d8bbwe"
        );
        assert_eq!(
            uris(&specs[1]),
            [
                "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22Casement%22/ConfigurationStatus"
            ]
        );
        assert_eq!(
            uris(&specs[2]),
            [
                "./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22Casement%22/Channel",
                "./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22Casement%22/ExpirationTime",
                "./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22Casement%22/ChannelStatus",
                "./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22Casement%22/LastError",
            ]
        );
    }

    #[test]
    fn windows10_sets_the_pfn_in_a_sequence_then_reads_the_channel() {
        let specs = build(&ctx(Platform::Windows10)).unwrap();
        assert_eq!(specs.len(), 2);
        let Command::Sequence(seq) = &specs[0].command else {
            panic!("not a Sequence")
        };
        assert!(matches!(seq.commands[0], Command::Add(_)));
        assert!(matches!(seq.commands[1], Command::Replace(_)));
        for c in &seq.commands {
            assert_eq!(
                c.items()[0].loc_uri(),
                Some("./Vendor/MSFT/DMClient/Provider/Casement/Push/PFN")
            );
            assert_eq!(
                c.items()[0].data.as_ref().unwrap().as_str(),
                "Contoso.MDM_8wekyb3d8bbwe"
            );
        }
        assert_eq!(
            uris(&specs[1]),
            [
                "./Vendor/MSFT/DMClient/Provider/Casement/Push/ChannelURI",
                "./Vendor/MSFT/DMClient/Provider/Casement/Push/Status"
            ]
        );
    }

    #[test]
    fn without_a_wns_identity_nothing_is_queued() {
        for platform in [Platform::Windows81, Platform::Windows10] {
            let mut c = ctx(platform);
            c.wns = None;
            assert_eq!(build(&c), Err(CatalogError::MissingWnsConfig));
            c.wns = Some(WnsIdentity {
                app_id: "Casement".into(),
                package_family_name: " ".into(),
            });
            assert_eq!(build(&c), Err(CatalogError::MissingWnsConfig));
        }
    }
}
