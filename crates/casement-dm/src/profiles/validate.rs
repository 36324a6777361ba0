//! The checks a profile passes at creation, each with a precise message (docs/profiles.md).
//!
//! In order: the profile (name, platforms, size, scope against platforms, nodes mixed across
//! platforms), then each setting (LocURI syntax, root against platforms, scope, removal, the
//! value and the restore value against the format and the variables, and, for a node whose
//! definition is shipped in [`super::ddf`], its format, scope, allowed values and Delete).

use std::collections::HashMap;

use casement_platform::Platform;

use super::ddf::{self, Root};
use super::setting::{Format, ProfileScope, Removal, Setting, is_user_node, is_wmi_bridge};
use super::variables::{VARIABLES, sample_expansion, unknown_variables, variables_in};

/// The most settings one profile may have.
pub const MAX_SETTINGS: usize = 500;
/// The longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The longest LocURI, in bytes.
pub const MAX_LOC_URI_BYTES: usize = 1024;
/// The longest profile name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// Why a profile was refused: which setting (0-based index and node, when one is at fault) and
/// the reason in words, meant for the API's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Invalid {
    /// The index of the setting at fault.
    pub setting: Option<usize>,
    /// Its node.
    pub loc_uri: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl Invalid {
    /// A reason about the profile as a whole.
    pub fn profile(reason: impl Into<String>) -> Self {
        Self {
            setting: None,
            loc_uri: None,
            reason: reason.into(),
        }
    }

    /// A reason about setting `index`.
    pub fn setting(index: usize, setting: &Setting, reason: impl Into<String>) -> Self {
        Self {
            setting: Some(index),
            loc_uri: Some(setting.loc_uri.clone()),
            reason: reason.into(),
        }
    }

    /// "setting 2 (./Device/…/AllowCamera): value \"yes\" is not an int".
    pub fn message(&self) -> String {
        match (&self.setting, &self.loc_uri) {
            (Some(i), Some(uri)) => format!("setting {} ({uri}): {}", i + 1, self.reason),
            _ => self.reason.clone(),
        }
    }
}

/// Checks a profile: its name, platforms, scope and every setting.
pub fn validate_profile(
    name: &str,
    platforms: &[Platform],
    scope: ProfileScope,
    settings: &[Setting],
) -> Result<(), Invalid> {
    if name.trim().is_empty() {
        return Err(Invalid::profile("the profile needs a name"));
    }
    let name_chars = name.chars().count();
    if name_chars > MAX_NAME_CHARS {
        return Err(Invalid::profile(format!(
            "the profile name is {name_chars} characters long: at most {MAX_NAME_CHARS}"
        )));
    }
    if platforms.is_empty() {
        return Err(Invalid::profile(
            "the profile targets no platform: give windows-10, windows-8.1 or both",
        ));
    }
    if settings.is_empty() {
        return Err(Invalid::profile("the profile has no settings"));
    }
    if settings.len() > MAX_SETTINGS {
        return Err(Invalid::profile(format!(
            "the profile has {} settings: at most {MAX_SETTINGS}",
            settings.len()
        )));
    }
    let win81 = platforms.contains(&Platform::Windows81);
    let win10 = platforms.contains(&Platform::Windows10);
    if scope == ProfileScope::User && win81 {
        return Err(Invalid::profile(
            "a user profile cannot target Windows 8.1: it has no ./User/ tree (its WMI-bridge \
             properties are device-wide); make the profile device-scoped or Windows 10/11 only",
        ));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, s) in settings.iter().enumerate() {
        if let Some(first) = seen.insert(node_key(&s.loc_uri), i) {
            return Err(Invalid::setting(
                i,
                s,
                format!(
                    "the same node as setting {} (LocURIs compared ignoring case, ./Vendor/ being \
                     ./Device/Vendor/): a profile sets each node once",
                    first + 1
                ),
            ));
        }
    }
    if win81 && win10 {
        let first_wmi = settings.iter().position(|s| is_wmi_bridge(&s.loc_uri));
        let first_csp = settings.iter().position(|s| !is_wmi_bridge(&s.loc_uri));
        if let (Some(wmi), Some(csp)) = (first_wmi, first_csp) {
            let at = wmi.max(csp);
            return Err(Invalid::setting(
                at,
                &settings[at],
                format!(
                    "the profile mixes Windows 8.1 WMI-bridge nodes (./cimv2/…, setting {}) and \
                     Windows 10/11 CSP nodes (setting {}): no node is valid on both, so make one \
                     profile per platform",
                    wmi + 1,
                    csp + 1
                ),
            ));
        }
    }
    for (i, s) in settings.iter().enumerate() {
        check_setting(s, win81, win10, scope).map_err(|reason| Invalid::setting(i, s, reason))?;
    }
    Ok(())
}

/// The node a LocURI names, for finding a node set twice: lowercase, and `./Vendor/…` written
/// `./Device/Vendor/…` (the Policy CSP page, policy-configuration-service-provider.md, "Policy
/// scope": for device-wide configuration the `Device/` portion may be omitted, the paths being
/// equivalent).
fn node_key(loc_uri: &str) -> String {
    let lower = loc_uri.to_lowercase();
    match lower.strip_prefix("./vendor/") {
        Some(rest) => format!("./device/vendor/{rest}"),
        None => lower,
    }
}

/// Checks one setting; the reason when it is refused.
fn check_setting(s: &Setting, win81: bool, win10: bool, scope: ProfileScope) -> Result<(), String> {
    check_loc_uri(&s.loc_uri)?;
    let uri = s.loc_uri.as_str();
    if is_wmi_bridge(uri) {
        if win10 {
            return Err(if win81 {
                "a ./cimv2/ WMI-bridge node is for Windows 8.1, but the profile also targets \
                 Windows 10/11: target Windows 8.1 only"
            } else {
                "a ./cimv2/ WMI-bridge node is for Windows 8.1: this profile targets Windows 10/11, \
                 whose nodes start with ./Device/, ./User/ or ./Vendor/"
            }
            .to_owned());
        }
        check_wmi_path(uri)?;
    } else {
        if win81 {
            return Err(format!(
                "Windows 8.1 only accepts ./cimv2/<Class>/<instance>/<Property> WMI-bridge \
                 properties ([MS-MDM] §3.1.5.1.3){}",
                if win10 {
                    ", and the profile also targets Windows 8.1: target Windows 10/11 only"
                } else {
                    ""
                }
            ));
        }
        let root_ok = ["./Device/", "./User/", "./Vendor/"]
            .iter()
            .any(|root| uri.starts_with(root));
        if !root_ok {
            return Err(
                "a Windows 10/11 node starts with ./Device/, ./User/ or ./Vendor/ \
                        (./Vendor/ is the device); this one does not"
                    .to_owned(),
            );
        }
    }
    match (scope, is_user_node(uri)) {
        (ProfileScope::Device, true) => {
            return Err("a ./User/ node in a device profile: make the profile user-scoped".into());
        }
        (ProfileScope::User, false) => {
            return Err(
                "a user profile sets ./User/ nodes only: this node is not under ./User/ \
                        (put device nodes in a device profile)"
                    .into(),
            );
        }
        _ => {}
    }
    if s.removal == Removal::Delete && is_wmi_bridge(uri) {
        return Err("a WMI property cannot be deleted: use restore or leave".into());
    }
    check_value("value", s.format, &s.value)?;
    if let Removal::Restore(restore) = &s.removal {
        check_value("restore value", s.format, restore)?;
    }
    if let Some((root, def)) = ddf::lookup_with_root(uri) {
        if def.format != s.format {
            return Err(format!(
                "the DDF defines this node as {}, not {} ({})",
                def.format.as_str(),
                s.format.as_str(),
                def.source
            ));
        }
        match root {
            Root::User if !def.user => {
                return Err(format!(
                    "this node is defined for the device scope only ({}): address it as \
                     ./Device/Vendor/MSFT/{} in a device profile",
                    def.source, def.path
                ));
            }
            Root::Device | Root::Vendor if !def.device => {
                return Err(format!(
                    "this node is defined for the user scope only ({}): address it as \
                     ./User/Vendor/MSFT/{} in a user profile",
                    def.source, def.path
                ));
            }
            _ => {}
        }
        let mut values = vec![("value", s.value.as_str())];
        if let Removal::Restore(restore) = &s.removal {
            values.push(("restore value", restore.as_str()));
        }
        for (what, value) in values {
            let expanded = sample_expansion(value);
            if !def.allowed.allows(&expanded) {
                return Err(format!(
                    "{what} {} is not allowed: the DDF allows {} ({})",
                    quoted(value),
                    def.allowed.describe(),
                    def.source
                ));
            }
        }
        if s.removal == Removal::Delete && !def.deletable {
            return Err(format!(
                "this node does not support Delete ({}): use restore or leave",
                def.source
            ));
        }
    }
    Ok(())
}

/// The LocURI's syntax: `./` then non-empty segments, no `.`/`..`, no whitespace, control
/// characters, `?` or `#`, well-formed percent-encoding, at most [`MAX_LOC_URI_BYTES`].
fn check_loc_uri(uri: &str) -> Result<(), String> {
    if uri.is_empty() {
        return Err("the setting has no LocURI".into());
    }
    if uri.len() > MAX_LOC_URI_BYTES {
        return Err(format!(
            "the LocURI is {} bytes long: at most {MAX_LOC_URI_BYTES}",
            uri.len()
        ));
    }
    let Some(path) = uri.strip_prefix("./") else {
        return Err("a LocURI starts with ./ (e.g. ./Device/Vendor/MSFT/…)".into());
    };
    if let Some(c) = uri.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the LocURI contains whitespace or a control character (U+{:04X}): percent-encode \
             it (a space is %20)",
            u32::from(c)
        ));
    }
    if let Some(c) = uri.chars().find(|c| *c == '?' || *c == '#') {
        return Err(format!(
            "the LocURI contains '{c}': a LocURI names a node and has no query or fragment"
        ));
    }
    if path.is_empty() {
        return Err("the LocURI names only the root ./: name a node".into());
    }
    for segment in path.split('/') {
        match segment {
            "" => {
                return Err(
                    "the LocURI has an empty segment (// or a trailing /): name each node".into(),
                );
            }
            "." | ".." => {
                return Err(format!(
                    "the LocURI has a '{segment}' segment: a LocURI names a node by its full path"
                ));
            }
            _ => {}
        }
    }
    let bytes = uri.as_bytes();
    for (at, _) in uri.match_indices('%') {
        let hex = bytes.get(at + 1..at + 3);
        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            return Err(format!(
                "the LocURI has a malformed percent-encoding at byte {at}: '%' is followed by two \
                 hex digits (%22 for a quote)"
            ));
        }
    }
    Ok(())
}

/// A Windows 8.1 WMI-bridge property path, `./cimv2/<Class>/<Class>.<Key>=<value>/<Property>`
/// ([MS-MDM] §3.1.5.1.3: e.g.
/// `./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22/SettingValue`).
fn check_wmi_path(uri: &str) -> Result<(), String> {
    const SHAPE: &str = "a Windows 8.1 WMI-bridge node is \
                         ./cimv2/<Class>/<Class>.<Key>=<value>/<Property> ([MS-MDM] §3.1.5.1.3)";
    let segments: Vec<&str> = uri.trim_start_matches("./cimv2/").split('/').collect();
    let [class, instance, property] = segments.as_slice() else {
        return Err(format!(
            "{SHAPE}: this one has {} segment(s) after ./cimv2/, not 3",
            segments.len()
        ));
    };
    if !is_identifier(class) {
        return Err(format!(
            "{SHAPE}: the class {} is not a WMI class name",
            quoted(class)
        ));
    }
    let key_part = instance
        .get(..class.len())
        .filter(|head| head.eq_ignore_ascii_case(class))
        .map(|_| &instance[class.len()..]);
    let well_formed = key_part.is_some_and(|rest| rest.starts_with('.') && rest.contains('='));
    if !well_formed {
        return Err(format!(
            "{SHAPE}: the instance {} is not {class}.<Key>=<value>",
            quoted(instance)
        ));
    }
    if !is_identifier(property) {
        return Err(format!(
            "{SHAPE}: the property {} is not a WMI property name",
            quoted(property)
        ));
    }
    Ok(())
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value (`what`: "value" or "restore value") against its format, its size and variables.
fn check_value(what: &str, format: Format, value: &str) -> Result<(), String> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "the {what} is {} bytes long: at most {MAX_VALUE_BYTES}",
            value.len()
        ));
    }
    if let Some(unknown) = unknown_variables(value).first() {
        return Err(format!(
            "{what} uses the unknown variable {unknown}: the variables are {} (write $$ for a \
             literal $)",
            VARIABLES.join(", ")
        ));
    }
    let has_variables = !variables_in(value).is_empty();
    let expanded = sample_expansion(value);
    check_format(format, &expanded).map_err(|expected| {
        let expanded_note = if has_variables {
            " once its variables are expanded"
        } else {
            ""
        };
        format!("{what} {} is not {expected}{expanded_note}", quoted(value))
    })
}

/// `Ok` when `value` is a valid `format` value; else what was expected ("an int (…)").
fn check_format(format: Format, value: &str) -> Result<(), String> {
    let v = value.trim();
    let ok = match format {
        Format::Chr => true,
        Format::Int => v.parse::<i32>().is_ok(),
        Format::Bool => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        Format::Float => v.parse::<f64>().is_ok_and(f64::is_finite),
        Format::Date => is_iso_date(v),
        Format::B64 => is_base64(v),
        Format::Xml => return check_xml(v),
        Format::Null => value.is_empty(),
    };
    if ok {
        return Ok(());
    }
    Err(match format {
        Format::Int => "an int (a whole number from -2147483648 to 2147483647)",
        Format::Bool => "a bool (true or false)",
        Format::Float => "a float (a decimal number such as 1.5)",
        Format::Date => "a date (ISO 8601: YYYY-MM-DD or an RFC 3339 date-time)",
        Format::B64 => "base64 (standard alphabet, = padding)",
        Format::Null => "empty, as a null setting has no value",
        Format::Chr | Format::Xml => unreachable!("chr is always valid, xml returned above"),
    }
    .to_owned())
}

/// Standard-alphabet base64 with its `=` padding (ASCII whitespace ignored, as long values are
/// often wrapped).
fn is_base64(value: &str) -> bool {
    use base64::Engine as _;
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .is_ok()
}

/// `YYYY-MM-DD` or an RFC 3339 date-time (`2024-05-01T10:00:00Z`, `…+02:00`).
fn is_iso_date(value: &str) -> bool {
    use time::format_description::well_known::Rfc3339;
    let date = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &date).is_ok() || time::OffsetDateTime::parse(value, &Rfc3339).is_ok()
}

/// Well-formed XML: a document or a fragment (several elements, text around them). A leading
/// XML declaration is allowed; an empty value is not.
fn check_xml(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("XML (the value is empty)".into());
    }
    let body = match value.strip_prefix("<?xml") {
        Some(rest) => match rest.find("?>") {
            Some(end) => &rest[end + 2..],
            None => return Err("well-formed XML (the XML declaration is not closed)".into()),
        },
        None => value,
    };
    let wrapped = format!("<casement-fragment>{body}</casement-fragment>");
    roxmltree::Document::parse(&wrapped)
        .map(|_| ())
        .map_err(|e| format!("well-formed XML ({e})"))
}

/// `"value"`, cut to 40 characters.
fn quoted(value: &str) -> String {
    let mut cut: String = value.chars().take(40).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
    const WMI: &str = "./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22/SettingValue";
    const W10: &[Platform] = &[Platform::Windows10];
    const W81: &[Platform] = &[Platform::Windows81];
    const BOTH: &[Platform] = &[Platform::Windows81, Platform::Windows10];

    fn setting(uri: &str, format: Format, value: &str) -> Setting {
        Setting {
            loc_uri: uri.into(),
            format,
            r#type: None,
            value: value.into(),
            removal: Removal::Delete,
        }
    }

    fn chr(uri: &str, value: &str) -> Setting {
        setting(uri, Format::Chr, value)
    }

    fn wmi(value: &str) -> Setting {
        Setting {
            removal: Removal::Leave,
            ..setting(WMI, Format::Bool, value)
        }
    }

    /// The message of validating `settings` on Windows 10 as a device profile.
    fn refused(settings: &[Setting]) -> String {
        refused_with(W10, ProfileScope::Device, settings)
    }

    fn refused_with(platforms: &[Platform], scope: ProfileScope, settings: &[Setting]) -> String {
        validate_profile("p", platforms, scope, settings)
            .expect_err("refused")
            .message()
    }

    fn accepted(platforms: &[Platform], scope: ProfileScope, settings: &[Setting]) {
        if let Err(e) = validate_profile("p", platforms, scope, settings) {
            panic!("refused: {e}");
        }
    }

    fn assert_contains(message: &str, part: &str) {
        assert!(
            message.contains(part),
            "{message:?} does not contain {part:?}"
        );
    }

    #[test]
    fn a_valid_device_profile_passes() {
        accepted(
            W10,
            ProfileScope::Device,
            &[
                setting(CAMERA, Format::Int, "0"),
                chr("./Vendor/MSFT/Custom/Node", "$DEVICE_NAME"),
            ],
        );
    }

    #[test]
    fn the_name_is_required() {
        let m = validate_profile(" ", W10, ProfileScope::Device, &[chr("./Vendor/A", "")])
            .unwrap_err()
            .message();
        assert_eq!(m, "the profile needs a name");
    }

    #[test]
    fn the_name_has_at_most_128_characters() {
        let long = "é".repeat(129);
        let m = validate_profile(&long, W10, ProfileScope::Device, &[chr("./Vendor/A", "")])
            .unwrap_err()
            .message();
        assert_eq!(m, "the profile name is 129 characters long: at most 128");
        assert!(
            validate_profile(
                &"é".repeat(128),
                W10,
                ProfileScope::Device,
                &[chr("./Vendor/A", "")]
            )
            .is_ok()
        );
    }

    #[test]
    fn at_least_one_platform_is_required() {
        assert_contains(
            &refused_with(&[], ProfileScope::Device, &[chr("./Vendor/A", "")]),
            "the profile targets no platform",
        );
    }

    #[test]
    fn at_least_one_setting_is_required() {
        assert_eq!(refused(&[]), "the profile has no settings");
    }

    #[test]
    fn at_most_max_settings() {
        let many: Vec<Setting> = (0..=MAX_SETTINGS)
            .map(|i| chr(&format!("./Vendor/MSFT/X/N{i}"), ""))
            .collect();
        assert_eq!(refused(&many), "the profile has 501 settings: at most 500");
    }

    #[test]
    fn a_node_twice_is_refused_ignoring_case() {
        let m = refused(&[
            setting(CAMERA, Format::Int, "0"),
            setting(
                &CAMERA.to_uppercase().replace("./DEVICE", "./Device"),
                Format::Int,
                "0",
            ),
        ]);
        assert_contains(&m, "setting 2 (");
        assert_contains(&m, "the same node as setting 1");
    }

    #[test]
    fn a_node_twice_under_vendor_and_device_vendor_is_refused() {
        let m = refused(&[
            setting(CAMERA, Format::Int, "0"),
            setting(
                "./Vendor/MSFT/Policy/Config/Camera/AllowCamera",
                Format::Int,
                "1",
            ),
        ]);
        assert_contains(
            &m,
            "the same node as setting 1 (LocURIs compared ignoring case, ./Vendor/ being ./Device/Vendor/)",
        );
    }

    #[test]
    fn loc_uri_must_start_with_dot_slash() {
        assert_contains(
            &refused(&[chr("Vendor/MSFT/A", "")]),
            "a LocURI starts with ./",
        );
    }

    #[test]
    fn loc_uri_empty_is_refused() {
        assert_contains(&refused(&[chr("", "")]), "the setting has no LocURI");
    }

    #[test]
    fn loc_uri_without_a_node_is_refused() {
        assert_contains(&refused(&[chr("./", "")]), "names only the root");
    }

    #[test]
    fn loc_uri_empty_segments_are_refused() {
        assert_contains(&refused(&[chr("./Vendor//A", "")]), "an empty segment");
        assert_contains(&refused(&[chr("./Vendor/A/", "")]), "an empty segment");
    }

    #[test]
    fn loc_uri_dot_segments_are_refused() {
        assert_contains(&refused(&[chr("./Vendor/../A", "")]), "has a '..' segment");
        assert_contains(&refused(&[chr("./Vendor/./A", "")]), "has a '.' segment");
    }

    #[test]
    fn loc_uri_whitespace_and_controls_are_refused() {
        assert_contains(
            &refused(&[chr("./Vendor/A B", "")]),
            "whitespace or a control character (U+0020)",
        );
        assert_contains(&refused(&[chr("./Vendor/A\u{1}", "")]), "(U+0001)");
    }

    #[test]
    fn loc_uri_query_and_fragment_are_refused() {
        assert_contains(&refused(&[chr("./Vendor/A?x=1", "")]), "contains '?'");
        assert_contains(&refused(&[chr("./Vendor/A#x", "")]), "contains '#'");
    }

    #[test]
    fn loc_uri_longer_than_the_limit_is_refused() {
        let long = format!("./Vendor/{}", "a".repeat(MAX_LOC_URI_BYTES));
        assert_contains(&refused(&[chr(&long, "")]), "bytes long: at most 1024");
    }

    #[test]
    fn loc_uri_percent_encoding_must_be_well_formed() {
        assert_contains(
            &refused(&[chr("./Vendor/A%2", "")]),
            "malformed percent-encoding at byte 10",
        );
        assert_contains(
            &refused(&[chr("./Vendor/A%zz", "")]),
            "malformed percent-encoding",
        );
        accepted(W10, ProfileScope::Device, &[chr("./Vendor/A%20B", "")]);
    }

    #[test]
    fn windows10_accepts_device_user_and_vendor_roots_only() {
        assert_contains(
            &refused(&[chr("./DevDetail/Ext/X", "")]),
            "a Windows 10/11 node starts with ./Device/, ./User/ or ./Vendor/",
        );
        accepted(
            W10,
            ProfileScope::Device,
            &[chr("./Device/Vendor/MSFT/X", "")],
        );
        accepted(W10, ProfileScope::User, &[chr("./User/Vendor/MSFT/X", "")]);
    }

    #[test]
    fn windows10_refuses_wmi_bridge_nodes() {
        assert_contains(
            &refused(&[wmi("true")]),
            "a ./cimv2/ WMI-bridge node is for Windows 8.1",
        );
    }

    #[test]
    fn windows81_accepts_wmi_bridge_properties_only() {
        accepted(W81, ProfileScope::Device, &[wmi("true")]);
        assert_contains(
            &refused_with(W81, ProfileScope::Device, &[chr("./Vendor/MSFT/X", "")]),
            "Windows 8.1 only accepts ./cimv2/<Class>/<instance>/<Property>",
        );
    }

    #[test]
    fn windows81_wmi_path_shape_is_checked() {
        let bad = |uri: &str| {
            refused_with(
                W81,
                ProfileScope::Device,
                &[Setting {
                    loc_uri: uri.into(),
                    ..wmi("true")
                }],
            )
        };
        assert_contains(
            &bad("./cimv2/MDM_Restrictions/DataRoamingEnabled"),
            "has 2 segment(s) after ./cimv2/, not 3",
        );
        assert_contains(
            &bad("./cimv2/MDM_Restrictions/Other.Key=%221%22/DataRoamingEnabled"),
            "is not MDM_Restrictions.<Key>=<value>",
        );
        assert_contains(
            &bad("./cimv2/MDM-X/MDM-X.Key=1/P"),
            "is not a WMI class name",
        );
        assert_contains(
            &bad("./cimv2/MDM_Restrictions/MDM_Restrictions.Key=%221%22/Data-Roaming"),
            "is not a WMI property name",
        );
    }

    #[test]
    fn both_platforms_refuse_mixed_nodes() {
        let m = refused_with(
            BOTH,
            ProfileScope::Device,
            &[wmi("true"), setting(CAMERA, Format::Int, "0")],
        );
        assert_contains(&m, "setting 2 (");
        assert_contains(
            &m,
            "mixes Windows 8.1 WMI-bridge nodes (./cimv2/…, setting 1) and Windows 10/11 CSP nodes (setting 2)",
        );
    }

    #[test]
    fn both_platforms_refuse_nodes_valid_on_one_only() {
        assert_contains(
            &refused_with(BOTH, ProfileScope::Device, &[wmi("true")]),
            "the profile also targets Windows 10/11: target Windows 8.1 only",
        );
        assert_contains(
            &refused_with(
                BOTH,
                ProfileScope::Device,
                &[setting(CAMERA, Format::Int, "0")],
            ),
            "target Windows 10/11 only",
        );
    }

    #[test]
    fn a_user_node_in_a_device_profile_is_refused() {
        assert_contains(
            &refused(&[chr("./User/Vendor/MSFT/X", "")]),
            "a ./User/ node in a device profile: make the profile user-scoped",
        );
    }

    #[test]
    fn a_device_node_in_a_user_profile_is_refused() {
        assert_contains(
            &refused_with(W10, ProfileScope::User, &[chr("./Vendor/MSFT/X", "")]),
            "a user profile sets ./User/ nodes only",
        );
    }

    #[test]
    fn a_user_profile_for_windows81_is_refused() {
        assert_contains(
            &refused_with(W81, ProfileScope::User, &[wmi("true")]),
            "a user profile cannot target Windows 8.1",
        );
    }

    #[test]
    fn int_values_must_parse_as_i32() {
        let uri = "./Vendor/MSFT/X";
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(uri, Format::Int, "-2147483648")],
        );
        assert_contains(
            &refused(&[setting(uri, Format::Int, "yes")]),
            "value \"yes\" is not an int",
        );
        assert_contains(
            &refused(&[setting(uri, Format::Int, "2147483648")]),
            "is not an int",
        );
    }

    #[test]
    fn bool_values_are_true_or_false_in_any_case() {
        let uri = "./Vendor/MSFT/X";
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(uri, Format::Bool, "TRUE")],
        );
        assert_contains(
            &refused(&[setting(uri, Format::Bool, "1")]),
            "value \"1\" is not a bool (true or false)",
        );
    }

    #[test]
    fn float_values_must_parse() {
        let uri = "./Vendor/MSFT/X";
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(uri, Format::Float, "1.5")],
        );
        assert_contains(
            &refused(&[setting(uri, Format::Float, "1,5")]),
            "is not a float",
        );
        assert_contains(
            &refused(&[setting(uri, Format::Float, "NaN")]),
            "is not a float",
        );
    }

    #[test]
    fn date_values_are_iso_8601() {
        let uri = "./Vendor/MSFT/X";
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(uri, Format::Date, "2024-02-29")],
        );
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(uri, Format::Date, "2024-05-01T10:00:00+02:00")],
        );
        assert_contains(
            &refused(&[setting(uri, Format::Date, "2023-02-29")]),
            "is not a date (ISO 8601",
        );
        assert_contains(
            &refused(&[setting(uri, Format::Date, "01/05/2024")]),
            "is not a date",
        );
    }

    #[test]
    fn b64_values_must_decode() {
        let uri = "./Vendor/MSFT/X";
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(uri, Format::B64, "aGVs\nbG8=")],
        );
        assert_contains(
            &refused(&[setting(uri, Format::B64, "aGk")]),
            "is not base64 (standard alphabet, = padding)",
        );
        assert_contains(
            &refused(&[setting(uri, Format::B64, "a-_=")]),
            "is not base64",
        );
    }

    #[test]
    fn xml_values_must_be_well_formed() {
        let uri = "./Vendor/MSFT/X";
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(
                uri,
                Format::Xml,
                "<?xml version=\"1.0\"?><a><b/></a>",
            )],
        );
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(uri, Format::Xml, "<a/><b>t</b>")],
        );
        assert_contains(
            &refused(&[setting(uri, Format::Xml, "<a><b></a>")]),
            "is not well-formed XML (",
        );
        assert_contains(
            &refused(&[setting(uri, Format::Xml, "")]),
            "is not XML (the value is empty)",
        );
    }

    #[test]
    fn null_values_are_empty() {
        let uri = "./Vendor/MSFT/X";
        accepted(W10, ProfileScope::Device, &[setting(uri, Format::Null, "")]);
        assert_contains(
            &refused(&[setting(uri, Format::Null, "x")]),
            "is not empty, as a null setting has no value",
        );
    }

    #[test]
    fn values_longer_than_the_limit_are_refused() {
        let big = "a".repeat(MAX_VALUE_BYTES + 1);
        assert_contains(
            &refused(&[chr("./Vendor/MSFT/X", &big)]),
            "the value is 65537 bytes long: at most 65536",
        );
    }

    #[test]
    fn unknown_variables_are_refused_by_name() {
        assert_contains(
            &refused(&[chr("./Vendor/MSFT/X", "$UPN-$SERIAL")]),
            "value uses the unknown variable $SERIAL",
        );
        accepted(
            W10,
            ProfileScope::Device,
            &[chr("./Vendor/MSFT/X", "$$SERIAL")],
        );
    }

    #[test]
    fn variables_are_checked_against_the_format_once_expanded() {
        let uri = "./Vendor/MSFT/X";
        accepted(W10, ProfileScope::Device, &[chr(uri, "$UPN")]);
        assert_contains(
            &refused(&[setting(uri, Format::Int, "$UPN")]),
            "value \"$UPN\" is not an int (a whole number from -2147483648 to 2147483647) once its variables are expanded",
        );
    }

    #[test]
    fn restore_values_are_checked_against_the_format() {
        let s = Setting {
            removal: Removal::Restore("maybe".into()),
            ..setting("./Vendor/MSFT/X", Format::Bool, "true")
        };
        assert_contains(&refused(&[s]), "restore value \"maybe\" is not a bool");
    }

    #[test]
    fn a_wmi_property_cannot_be_deleted() {
        let s = Setting {
            removal: Removal::Delete,
            ..wmi("true")
        };
        assert_contains(
            &refused_with(W81, ProfileScope::Device, &[s]),
            "a WMI property cannot be deleted: use restore or leave",
        );
    }

    #[test]
    fn ddf_format_must_match() {
        assert_contains(
            &refused(&[setting(CAMERA, Format::Chr, "0")]),
            "the DDF defines this node as int, not chr (policy-csp-camera.md)",
        );
    }

    #[test]
    fn ddf_allowed_values_are_checked() {
        assert_contains(
            &refused(&[setting(CAMERA, Format::Int, "2")]),
            "value \"2\" is not allowed: the DDF allows one of 0, 1 (policy-csp-camera.md)",
        );
        let length = "./Device/Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength";
        assert_contains(
            &refused(&[setting(length, Format::Int, "3")]),
            "the DDF allows 4 to 16",
        );
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(length, Format::Int, "16")],
        );
    }

    #[test]
    fn ddf_restore_value_is_checked_against_allowed_values() {
        let s = Setting {
            removal: Removal::Restore("7".into()),
            ..setting(CAMERA, Format::Int, "0")
        };
        assert_contains(&refused(&[s]), "restore value \"7\" is not allowed");
    }

    #[test]
    fn ddf_device_only_node_under_user_is_refused() {
        let uri = "./User/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
        assert_contains(
            &refused_with(W10, ProfileScope::User, &[setting(uri, Format::Int, "0")]),
            "this node is defined for the device scope only (policy-csp-camera.md)",
        );
    }

    #[test]
    fn ddf_user_only_node_under_device_is_refused() {
        let uri = "./Device/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight";
        assert_contains(
            &refused(&[setting(uri, Format::Int, "0")]),
            "this node is defined for the user scope only (policy-csp-experience.md)",
        );
        let user = "./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight";
        accepted(W10, ProfileScope::User, &[setting(user, Format::Int, "0")]);
    }

    #[test]
    fn ddf_node_in_both_scopes_is_accepted_in_each() {
        let device = "./Device/Vendor/MSFT/Policy/Config/Browser/AllowCookies";
        let user = "./User/Vendor/MSFT/Policy/Config/Browser/AllowCookies";
        accepted(
            W10,
            ProfileScope::Device,
            &[setting(device, Format::Int, "2")],
        );
        accepted(W10, ProfileScope::User, &[setting(user, Format::Int, "1")]);
    }

    #[test]
    fn ddf_node_without_delete_refuses_delete_removal() {
        let uri = "./Device/Vendor/MSFT/Accounts/Users/alice/Password";
        assert_contains(
            &refused(&[chr(uri, "secret")]),
            "this node does not support Delete (accounts-ddf-file.md, accounts-csp.md): use restore or leave",
        );
        let leave = Setting {
            removal: Removal::Leave,
            ..chr(uri, "secret")
        };
        accepted(W10, ProfileScope::Device, &[leave]);
    }

    #[test]
    fn messages_name_the_setting_by_position_and_node() {
        let m = refused(&[
            chr("./Vendor/MSFT/A", ""),
            setting(CAMERA, Format::Int, "yes"),
        ]);
        assert!(
            m.starts_with(&format!(
                "setting 2 ({CAMERA}): value \"yes\" is not an int"
            )),
            "{m}"
        );
    }
}
