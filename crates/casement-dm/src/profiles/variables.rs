//! Variables in setting values, expanded per device: `$DEVICE_ID`, `$DEVICE_NAME`, `$UPN`,
//! `$USER_SID`. STUB: to be completed.

/// What a device's variables expand to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceVariables {
    /// The device id (`./DevInfo/DevId`).
    pub device_id: String,
    /// The device's name, when known.
    pub device_name: Option<String>,
    /// The enrolled user's UPN.
    pub upn: String,
    /// The enrolled user's SID, when known.
    pub user_sid: Option<String>,
}

/// The variables a value may use.
pub const VARIABLES: [&str; 4] = ["$DEVICE_ID", "$DEVICE_NAME", "$UPN", "$USER_SID"];

/// `template` with every variable replaced by the device's value (an unknown value: empty).
pub fn expand(template: &str, vars: &DeviceVariables) -> String {
    template
        .replace("$DEVICE_ID", &vars.device_id)
        .replace("$DEVICE_NAME", vars.device_name.as_deref().unwrap_or(""))
        .replace("$UPN", &vars.upn)
        .replace("$USER_SID", vars.user_sid.as_deref().unwrap_or(""))
}
