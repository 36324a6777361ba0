//! Password reset and unenrollment: the commands a Machine-context session may carry besides
//! inventory (docs/product.md §2).
//!
//! # Windows 8.1: `MDM_Client` methods
//!
//! - `uint32 ResetUserPassword([in] string ConfigString)` — "The username/password pair. For
//!   example, "User@Company.com;pwd1"", supported from Windows 8.1 Update (MicrosoftDocs/win32
//!   `desktop-src/MDMSettingsProv/resetuserpassword-mdm-client.md`).
//! - `uint32 SendUnenrollRequest([in] string DeviceClientID)` — "The Id of the device"
//!   (`sendunenrollrequest-mdm-client.md`).
//!
//! Both are instance methods of `MDM_Client`, whose key `DeviceClientID` "is a device ID"
//! (`mdm-client.md`). They are sent as in the MS-MDM §3.1.5.1.5 WMI Exec sample (fixture
//! `mdm-spec/04`): `Exec <instance>/Exec=<Method>`, `Meta` `Format chr` + `Type text/plain`,
//! `Data` `<Parameter>=<value>`. No public sample shows these two methods themselves: the Data
//! form is inferred from that sample (protocol notes §2.10, §6.1). The password travels in
//! `Data`, so the spec is marked secret.
//!
//! The password is passed as given; the user may not contain `;`, the separator of the pair
//! (how the provider splits a password holding `;` is undocumented; a failure comes back as the
//! Exec's status).
//!
//! # Windows 10/11
//!
//! - Unenroll: `Exec ./Vendor/MSFT/DMClient/Provider/<ProviderID>/Unenroll`, `Format chr`,
//!   `Data` = the ProviderID ([MS-MDE2] §2.2.9.3; fixture `mdm-spec/08`).
//! - Password reset: **refused**. No CSP sets an existing user's password to a chosen value:
//!   `Accounts/Users/<UserName>/Password` only creates a new local account ("Supported operation
//!   is Add", windows-itpro-docs `mdm/accounts-csp.md`), `RemoteLock/NewPINValue` resets the device
//!   PIN, not a password, and Windows LAPS rotates the managed local administrator's password to a
//!   random value. An administrator who means one of those can send it as a raw command.

use casement_syncml::{Data, Meta};

use super::uri::{
    RESET_USER_PASSWORD_METHOD, SEND_UNENROLL_REQUEST_METHOD, dmclient_unenroll,
    mdm_client_instance, wmi_method,
};
use super::{CatalogContext, CatalogError, QueuedSpec, chr_text, exec, required, spec};
use crate::context::CommandClass;
use crate::device::Platform;

/// `Reset the password of <user>`: one Exec, secret.
pub(super) fn reset_password(
    user: &str,
    password: &str,
    ctx: &CatalogContext,
) -> Result<QueuedSpec, CatalogError> {
    if ctx.platform == Platform::Windows10 {
        return Err(CatalogError::UnsupportedOnPlatform {
            what: "reset-password".into(),
            platform: ctx.platform,
            reason: "no CSP sets an existing user's password (Accounts CSP Users/<name>/Password \
                     only creates a new local account, RemoteLock/NewPINValue resets the PIN, \
                     LAPS rotates the local administrator's password to a random value); send \
                     one of those as a raw command if that is what you mean"
                .into(),
        });
    }
    required("user", user)?;
    required("password", password)?;
    if user.contains(';') {
        return Err(CatalogError::InvalidField {
            field: "user",
            reason: "must not contain ';', which separates the user from the password".into(),
        });
    }
    device_id(ctx)?;
    let uri = wmi_method(
        &mdm_client_instance(&ctx.device_id),
        RESET_USER_PASSWORD_METHOD,
    );
    let data = Data::text(format!("ConfigString={user};{password}"));
    let mut spec = spec(
        CommandClass::PasswordReset,
        format!("Reset the password of {user}"),
        exec(uri, Some(chr_text()), Some(data)),
    );
    spec.secret = true;
    Ok(spec)
}

/// `Unenroll the device`: one Exec.
pub(super) fn unenroll(ctx: &CatalogContext) -> Result<QueuedSpec, CatalogError> {
    match ctx.platform {
        Platform::Windows81 => {
            device_id(ctx)?;
            let uri = wmi_method(
                &mdm_client_instance(&ctx.device_id),
                SEND_UNENROLL_REQUEST_METHOD,
            );
            let data = Data::text(format!("DeviceClientID={}", ctx.device_id));
            Ok(spec(
                CommandClass::Unenrollment,
                "Unenroll the device (MDM_Client.SendUnenrollRequest)",
                exec(uri, Some(chr_text()), Some(data)),
            ))
        }
        Platform::Windows10 => {
            required("provider_id", &ctx.provider_id)
                .map_err(|e| CatalogError::InvalidContext(e.to_string()))?;
            Ok(spec(
                CommandClass::Unenrollment,
                "Unenroll the device (DMClient Unenroll)",
                exec(
                    dmclient_unenroll(&ctx.provider_id),
                    Some(Meta::format("chr")),
                    Some(Data::text(ctx.provider_id.clone())),
                ),
            ))
        }
    }
}

fn device_id(ctx: &CatalogContext) -> Result<(), CatalogError> {
    required("device_id", &ctx.device_id).map_err(|e| CatalogError::InvalidContext(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::ctx;
    use casement_syncml::{Command, MetInf};

    #[test]
    fn reset_password_on_81_is_a_secret_exec_of_mdm_client() {
        let spec =
            reset_password("alice@contoso.com", "N3w;P@ss", &ctx(Platform::Windows81)).unwrap();
        assert_eq!(spec.class, CommandClass::PasswordReset);
        assert!(spec.secret);
        assert_eq!(spec.label, "Reset the password of alice@contoso.com");
        let Command::Exec(exec) = &spec.command else {
            panic!("not an Exec")
        };
        let item = &exec.items[0];
        assert_eq!(
            item.loc_uri(),
            Some(
                "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22/Exec=ResetUserPassword"
            )
        );
        assert_eq!(
            item.data.as_ref().unwrap().as_str(),
            "ConfigString=alice@contoso.com;N3w;P@ss"
        );
        let meta = item.meta.as_ref().unwrap();
        assert_eq!(meta.format_value(), Some("chr"));
        assert_eq!(meta.get(MetInf::Type), Some("text/plain"));
    }

    #[test]
    fn reset_password_refuses_bad_fields_and_windows_10() {
        let c = ctx(Platform::Windows81);
        assert!(matches!(
            reset_password("", "x", &c),
            Err(CatalogError::InvalidField { field: "user", .. })
        ));
        assert!(matches!(
            reset_password("a;b", "x", &c),
            Err(CatalogError::InvalidField { field: "user", .. })
        ));
        assert!(matches!(
            reset_password("a", "", &c),
            Err(CatalogError::InvalidField {
                field: "password",
                ..
            })
        ));
        let err = reset_password("a", "b", &ctx(Platform::Windows10)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("reset-password is not supported on Windows 10/11: no CSP")
        );
    }

    #[test]
    fn unenroll_per_platform() {
        let spec = unenroll(&ctx(Platform::Windows81)).unwrap();
        assert_eq!(spec.class, CommandClass::Unenrollment);
        assert!(!spec.secret);
        let item = &spec.command.items()[0];
        assert_eq!(
            item.loc_uri(),
            Some(
                "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22/Exec=SendUnenrollRequest"
            )
        );
        assert_eq!(
            item.data.as_ref().unwrap().as_str(),
            "DeviceClientID=B5B954E81FBCB94EB79BD08BE625F4EE"
        );

        let spec = unenroll(&ctx(Platform::Windows10)).unwrap();
        let item = &spec.command.items()[0];
        assert_eq!(
            item.loc_uri(),
            Some("./Vendor/MSFT/DMClient/Provider/Casement/Unenroll")
        );
        assert_eq!(item.data.as_ref().unwrap().as_str(), "Casement");
        assert_eq!(item.meta, Some(Meta::format("chr")));
        assert_eq!(spec.label, "Unenroll the device (DMClient Unenroll)");
    }

    #[test]
    fn missing_identities_are_context_errors() {
        let mut c = ctx(Platform::Windows81);
        c.device_id.clear();
        assert!(matches!(unenroll(&c), Err(CatalogError::InvalidContext(_))));
        let mut c = ctx(Platform::Windows10);
        c.provider_id.clear();
        assert!(matches!(unenroll(&c), Err(CatalogError::InvalidContext(_))));
    }
}
