//! Settings derived from a SyncML body of `Add`/`Replace` items, as administrators have them
//! from other MDMs.
//!
//! Accepted: a whole `<SyncML>` message, a `<SyncBody>`, one command, or several bare command
//! elements one after the other (`<Add>…</Add><Replace>…</Replace>`), with `Atomic` and
//! `Sequence` opened. A `<SyncML>` without a `SyncHdr` or without its namespace (as pasted from
//! documentation and other consoles) is read through its `<SyncBody>`. Parsing is
//! [`casement_syncml::parse_fragment`]'s; the result still goes through
//! [`super::validate::validate_profile`] (the caller's job).

use casement_syncml::{Command, Fragment, ItemCommand, ParseErrorKind, parse_fragment};

use super::setting::{Format, Removal, Setting};
use super::validate::Invalid;

/// The settings a SyncML body (a `<SyncBody>`, or bare `Add`/`Replace`/`Atomic` elements) sets.
pub fn settings_from_syncml(body: &str) -> Result<Vec<Setting>, Invalid> {
    if body.trim().is_empty() {
        return Err(Invalid::profile("the SyncML body is empty"));
    }
    let fragment = read(body)?;
    let mut settings = Vec::new();
    collect_fragment(&fragment, &mut settings)?;
    if settings.is_empty() {
        return Err(Invalid::profile(
            "the SyncML body has no Add or Replace item: a profile sets nodes with Add or Replace",
        ));
    }
    Ok(settings)
}

/// The body decoded: as is, else its bare commands wrapped in one element, else (a `<SyncML>`
/// the codec refuses for its header or namespace) its `<SyncBody>` alone.
fn read(body: &str) -> Result<Fragment, Invalid> {
    let first = match parse_fragment(body.as_bytes()) {
        Ok(fragment) => return Ok(fragment),
        Err(e) => e,
    };
    if first.kind == ParseErrorKind::TrailingContent {
        let wrapped = format!("<Commands>{}</Commands>", without_declaration(body));
        return parse_fragment(wrapped.as_bytes())
            .map_err(|e| Invalid::profile(format!("the SyncML body cannot be read: {e}")));
    }
    let from_body = sync_body_element(body).and_then(|b| parse_fragment(b.as_bytes()).ok());
    if let Some(fragment) = from_body {
        return Ok(fragment);
    }
    Err(Invalid::profile(format!(
        "the SyncML body cannot be read: {first}"
    )))
}

/// `body` without a leading `<?xml …?>` declaration (it cannot be wrapped in an element).
fn without_declaration(body: &str) -> &str {
    let trimmed = body.trim_start();
    match trimmed.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").map_or(trimmed, |end| &rest[end + 2..]),
        None => trimmed,
    }
}

/// The text from `<SyncBody` to the end of the last `</SyncBody>`, when both are present.
fn sync_body_element(body: &str) -> Option<&str> {
    let start = body.find("<SyncBody")?;
    let end = body.rfind("</SyncBody>")? + "</SyncBody>".len();
    (start < end).then(|| &body[start..end])
}

fn collect_fragment(fragment: &Fragment, out: &mut Vec<Setting>) -> Result<(), Invalid> {
    match fragment {
        Fragment::Message(message) => collect_commands(&message.body.commands, out),
        Fragment::Body(body) => collect_commands(&body.commands, out),
        Fragment::Command(command) => collect_commands(std::slice::from_ref(command), out),
        Fragment::Item(_) => Err(Invalid::profile(
            "a bare <Item> is not a setting: put it in an <Add> or a <Replace>",
        )),
        Fragment::List(list) => list.iter().try_for_each(|f| collect_fragment(f, out)),
    }
}

fn collect_commands(commands: &[Command], out: &mut Vec<Setting>) -> Result<(), Invalid> {
    for command in commands {
        match command {
            Command::Add(c) | Command::Replace(c) => collect_items(command, c, out)?,
            Command::Atomic(c) | Command::Sequence(c) => collect_commands(&c.commands, out)?,
            other => {
                return Err(Invalid::profile(format!(
                    "{} is not a setting: a profile sets nodes with Add or Replace",
                    other.kind()
                )));
            }
        }
    }
    Ok(())
}

fn collect_items(
    command: &Command,
    c: &ItemCommand,
    out: &mut Vec<Setting>,
) -> Result<(), Invalid> {
    let kind = command.kind();
    let command_meta = c.meta.as_ref();
    for (n, item) in c.items.iter().enumerate() {
        let index = out.len();
        let at = |reason: String| Invalid {
            setting: Some(index),
            loc_uri: item.target.as_ref().map(|t| t.loc_uri.clone()),
            reason,
        };
        let Some(target) = &item.target else {
            return Err(Invalid::profile(format!(
                "item {} of {kind} (CmdID {}) has no Target: a setting needs a LocURI",
                n + 1,
                c.cmd_id.0
            )));
        };
        if item.more_data {
            return Err(at(
                "a chunked item (<MoreData/>) cannot be a setting: give the whole value".into(),
            ));
        }
        let item_meta = item.meta.as_ref();
        let format_name = item_meta
            .and_then(|m| m.format_value())
            .or_else(|| command_meta.and_then(|m| m.format_value()));
        let format = match format_name {
            None => Format::Chr,
            Some(name) => Format::from_name(name).ok_or_else(|| {
                at(format!(
                    "format {name:?} is not a setting format (int, bool, chr, b64, xml, float, \
                     date, null)"
                ))
            })?,
        };
        let r#type = item_meta
            .and_then(|m| m.type_value())
            .or_else(|| command_meta.and_then(|m| m.type_value()))
            .map(str::to_owned);
        let loc_uri = target.loc_uri.trim().to_owned();
        // A WMI-bridge property cannot be deleted ([MS-MDM] §3.1.5.1.3: properties are set with
        // Replace): what Windows 8.1 was given stays when the profile leaves.
        let removal = if super::setting::is_wmi_bridge(&loc_uri) {
            Removal::Leave
        } else {
            Removal::Delete
        };
        out.push(Setting {
            loc_uri,
            format,
            r#type,
            value: item
                .data
                .as_ref()
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
            removal,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [MS-MDM] §3.1.5.1.3: an `Atomic` with two `Replace`s on WMI-bridge properties
    /// (testdata/05-wmi-atomic-replace-fragment.xml, copied from the conformance fixtures
    /// `mdm-spec/05-wmi-atomic-replace-fragment.xml`; testdata/README.md).
    const WMI_ATOMIC: &str = include_str!("../../testdata/05-wmi-atomic-replace-fragment.xml");
    /// windows-itpro-docs `policy-csp-devicelock.md`, MinDevicePasswordLength example, as a
    /// whole message (testdata/README.md).
    const POLICY_MESSAGE: &str =
        include_str!("../../testdata/policy-devicelock-atomic-replace-message.xml");

    fn message(reason: Result<Vec<Setting>, Invalid>) -> String {
        reason.expect_err("refused").message()
    }

    #[test]
    fn the_wmi_atomic_fixture_gives_two_chr_settings() {
        let settings = settings_from_syncml(WMI_ATOMIC).unwrap();
        assert_eq!(settings.len(), 2);
        assert_eq!(
            settings[0].loc_uri,
            "./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22/SettingValue"
        );
        assert_eq!(settings[0].format, Format::Chr);
        assert_eq!(settings[0].value, "true");
        assert_eq!(
            settings[0].removal,
            Removal::Leave,
            "a WMI property cannot be deleted: it is left"
        );
        assert_eq!(
            settings[1].loc_uri,
            "./cimv2/MDM_Restrictions/MDM_Restrictions.Key=%221%22/DataRoamingEnabled"
        );
    }

    #[test]
    fn the_policy_message_fixture_gives_its_int_settings() {
        let settings = settings_from_syncml(POLICY_MESSAGE).unwrap();
        assert_eq!(settings.len(), 2);
        assert_eq!(
            settings[1].loc_uri,
            "./Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength"
        );
        assert_eq!(settings[1].format, Format::Int);
        assert_eq!(settings[1].value, "4");
        super::super::validate::validate_profile(
            "lock",
            &[casement_platform::Platform::Windows10],
            super::super::ProfileScope::Device,
            &settings,
        )
        .unwrap();
    }

    #[test]
    fn bare_commands_are_read_one_after_the_other() {
        let body = r#"<?xml version="1.0"?>
            <Add><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/A</LocURI></Target>
              <Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>1</Data></Item></Add>
            <Replace><CmdID>2</CmdID><Meta><Format xmlns="syncml:metinf">bool</Format>
              <Type xmlns="syncml:metinf">text/plain</Type></Meta>
              <Item><Target><LocURI>./Vendor/MSFT/B</LocURI></Target><Data>true</Data></Item>
              <Item><Target><LocURI>./Vendor/MSFT/C</LocURI></Target><Data>false</Data></Item>
            </Replace>"#;
        let settings = settings_from_syncml(body).unwrap();
        let summary: Vec<_> = settings
            .iter()
            .map(|s| {
                (
                    s.loc_uri.as_str(),
                    s.format,
                    s.value.as_str(),
                    s.r#type.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("./Vendor/MSFT/A", Format::Int, "1", None),
                ("./Vendor/MSFT/B", Format::Bool, "true", Some("text/plain")),
                ("./Vendor/MSFT/C", Format::Bool, "false", Some("text/plain")),
            ]
        );
    }

    #[test]
    fn item_meta_wins_over_command_meta() {
        let body = r#"<Replace><CmdID>2</CmdID><Meta><Format xmlns="syncml:metinf">bool</Format></Meta>
              <Item><Target><LocURI>./Vendor/MSFT/B</LocURI></Target>
              <Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>3</Data></Item></Replace>"#;
        assert_eq!(settings_from_syncml(body).unwrap()[0].format, Format::Int);
    }

    #[test]
    fn a_sync_body_with_sequence_is_opened() {
        let body = r#"<SyncBody><Sequence><CmdID>1</CmdID>
              <Add><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/MSFT/A</LocURI></Target><Data>x</Data></Item></Add>
            </Sequence><Final/></SyncBody>"#;
        let settings = settings_from_syncml(body).unwrap();
        assert_eq!(settings.len(), 1);
        assert_eq!(settings[0].format, Format::Chr);
    }

    #[test]
    fn a_syncml_without_header_or_namespace_is_read_through_its_body() {
        // As pasted in custom-profile guides: no xmlns, no SyncHdr.
        let body = r#"<SyncML><SyncBody><Replace><CmdID>1331</CmdID><Item>
              <Target><LocURI>./Vendor/MSFT/Policy/Config/Camera/AllowCamera</LocURI></Target>
              <Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>0</Data>
            </Item></Replace><Final/></SyncBody></SyncML>"#;
        let settings = settings_from_syncml(body).unwrap();
        assert_eq!(
            settings[0].loc_uri,
            "./Vendor/MSFT/Policy/Config/Camera/AllowCamera"
        );
        assert_eq!(settings[0].value, "0");
    }

    #[test]
    fn xml_data_is_kept_as_markup() {
        let body = r#"<Add><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/X</LocURI></Target>
              <Meta><Format xmlns="syncml:metinf">xml</Format></Meta>
              <Data><MsiInstallJob id="{1}"><Product/></MsiInstallJob></Data></Item></Add>"#;
        let settings = settings_from_syncml(body).unwrap();
        assert_eq!(settings[0].format, Format::Xml);
        assert!(
            settings[0].value.starts_with("<MsiInstallJob"),
            "{}",
            settings[0].value
        );
    }

    #[test]
    fn exec_is_refused_by_name() {
        let body = r#"<Exec><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/Reboot/RebootNow</LocURI></Target></Item></Exec>"#;
        assert_eq!(
            message(settings_from_syncml(body)),
            "Exec is not a setting: a profile sets nodes with Add or Replace"
        );
    }

    #[test]
    fn delete_and_get_inside_atomic_are_refused() {
        let body = r#"<Atomic><CmdID>1</CmdID>
            <Delete><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/MSFT/A</LocURI></Target></Item></Delete>
            </Atomic>"#;
        assert_eq!(
            message(settings_from_syncml(body)),
            "Delete is not a setting: a profile sets nodes with Add or Replace"
        );
        let get = r#"<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>"#;
        assert!(message(settings_from_syncml(get)).starts_with("Get is not a setting"));
    }

    #[test]
    fn an_item_without_target_is_refused() {
        let body = r#"<Replace><CmdID>7</CmdID><Item><Source><LocURI>./Vendor/MSFT/A</LocURI></Source><Data>1</Data></Item></Replace>"#;
        assert_eq!(
            message(settings_from_syncml(body)),
            "item 1 of Replace (CmdID 7) has no Target: a setting needs a LocURI"
        );
    }

    #[test]
    fn an_unknown_format_is_refused() {
        let body = r#"<Add><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/Accounts/Users/a</LocURI></Target>
              <Meta><Format xmlns="syncml:metinf">node</Format></Meta></Item></Add>"#;
        let m = message(settings_from_syncml(body));
        assert!(m.contains("format \"node\" is not a setting format"), "{m}");
        assert!(
            m.starts_with("setting 1 (./Vendor/MSFT/Accounts/Users/a)"),
            "{m}"
        );
    }

    #[test]
    fn an_empty_body_is_refused() {
        assert_eq!(
            message(settings_from_syncml("  ")),
            "the SyncML body is empty"
        );
        assert_eq!(
            message(settings_from_syncml("<SyncBody><Final/></SyncBody>")),
            "the SyncML body has no Add or Replace item: a profile sets nodes with Add or Replace"
        );
    }

    #[test]
    fn unreadable_xml_is_refused_with_the_parser_message() {
        let m = message(settings_from_syncml("<Add><CmdID>1</CmdID>"));
        assert!(m.starts_with("the SyncML body cannot be read: "), "{m}");
    }

    #[test]
    fn a_bare_item_is_refused() {
        let m = message(settings_from_syncml(
            "<Item><Target><LocURI>./Vendor/MSFT/A</LocURI></Target></Item>",
        ));
        assert_eq!(
            m,
            "a bare <Item> is not a setting: put it in an <Add> or a <Replace>"
        );
    }
}
