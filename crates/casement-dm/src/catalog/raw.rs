//! Raw commands: SyncML an administrator wrote, with the class they declare (docs/product.md §2: "A raw
//! command an administrator writes by hand declares its class; the server refuses to guess").
//!
//! The text is read with [`casement_syncml::parse_fragment`] (same rules and limits as whole
//! messages; DOCTYPE and entities refused). It may be one command, a `<SyncBody>`, any wrapper
//! element around commands, or several bare sibling commands. Each top-level command becomes one
//! tracked [`QueuedSpec`] of the declared class, kept whole (an `Atomic` stays one command); its
//! CmdIDs, nested ones included, are reset to the placeholder `1`.
//!
//! Refused, with a message for the API:
//! - nothing but whitespace, or no command ([`CatalogError::EmptyRaw`]);
//! - text the codec cannot read ([`CatalogError::InvalidRaw`], with its byte offset and element
//!   path in the administrator's text);
//! - a whole `<SyncML>` message or a lone `<Item>`, and `Status`, `Results`, `Alert` anywhere:
//!   they are the device's side of the protocol ([`CatalogError::RawRefused`]);
//! - an item command with no `Item`, an `Item` without a `Target/LocURI`, a LocURI starting with
//!   `/`; an `Atomic` inside an `Atomic` and a `Get` inside an `Atomic` (Windows answers 500/507:
//!   windows-itpro-docs `oma-dm-protocol-support.md`, "Nested Atomic and Get commands aren't
//!   allowed"); an empty `Atomic` or `Sequence`;
//! - a user-scoped LocURI (`./User/...`) declared as inventory, password reset or unenrollment:
//!   those classes are delivered in Machine sessions, where no user is logged on, and docs/product.md §2
//!   says "User-scoped LocURIs (./User/...) are settings/app commands that need a user"
//!   ([`CatalogError::UserScopedUri`]).
//!
//! A raw command is marked secret when it is declared a password reset or when one of its LocURIs
//! is a known password carrier ([`carries_secret`]); redacting too much is harmless.

use casement_syncml::{Command, Fragment, ParseError, ParseErrorKind, parse_fragment};

use super::uri::is_user_scoped;
use super::{CatalogError, PLACEHOLDER_ID, QueuedSpec, spec};
use crate::context::CommandClass;

/// The wrapper put around bare sibling commands before reading them again.
const WRAP_OPEN: &str = "<Commands>";
const WRAP_CLOSE: &str = "</Commands>";

/// Whether a LocURI's Data is a password (case-insensitive): `MDM_Client…/Exec=ResetUserPassword`
/// (8.1), `Accounts/Users/<name>/Password` (Accounts CSP), `RemoteLock/NewPINValue` (RemoteLock
/// CSP).
pub fn carries_secret(loc_uri: &str) -> bool {
    let uri = loc_uri.to_ascii_lowercase();
    uri.ends_with("/exec=resetuserpassword")
        || uri.contains("/remotelock/newpinvalue")
        || (uri.contains("/accounts/users/") && uri.ends_with("/password"))
}

/// Builds the commands of a raw request.
pub(super) fn build(class: CommandClass, syncml: &str) -> Result<Vec<QueuedSpec>, CatalogError> {
    if syncml.trim().is_empty() {
        return Err(CatalogError::EmptyRaw);
    }
    let commands = top_level(read(syncml)?)?;
    if commands.is_empty() {
        return Err(CatalogError::EmptyRaw);
    }
    commands
        .into_iter()
        .map(|mut command| {
            check(&command, class, false)?;
            reset_ids(&mut command);
            let mut uris = Vec::new();
            collect_uris(&command, &mut uris);
            let mut spec = spec(class, label(&command, &uris), command);
            spec.secret =
                class == CommandClass::PasswordReset || uris.iter().any(|u| carries_secret(u));
            Ok(spec)
        })
        .collect()
}

/// Parses the text; bare siblings (trailing content after the first element) are read again
/// inside a wrapper, with error positions mapped back to the administrator's text.
fn read(syncml: &str) -> Result<Fragment, CatalogError> {
    match parse_fragment(syncml.as_bytes()) {
        Ok(fragment) => Ok(fragment),
        Err(e) if e.kind == ParseErrorKind::TrailingContent && !has_declaration(syncml) => {
            let wrapped = format!("{WRAP_OPEN}{syncml}{WRAP_CLOSE}");
            parse_fragment(wrapped.as_bytes()).map_err(|e| unwrap_error(e, syncml.len()))
        }
        Err(e) => Err(CatalogError::InvalidRaw(e)),
    }
}

fn has_declaration(syncml: &str) -> bool {
    syncml.trim_start().starts_with("<?")
}

fn unwrap_error(mut e: ParseError, original_len: usize) -> CatalogError {
    e.offset = e.offset.saturating_sub(WRAP_OPEN.len()).min(original_len);
    let inner = e.path.strip_prefix("/Commands").unwrap_or(&e.path);
    e.path = if inner.is_empty() {
        "/".into()
    } else {
        inner.to_owned()
    };
    CatalogError::InvalidRaw(e)
}

fn top_level(fragment: Fragment) -> Result<Vec<Command>, CatalogError> {
    match fragment {
        Fragment::Command(command) => Ok(vec![command]),
        Fragment::Body(body) => Ok(body.commands),
        Fragment::List(parts) => {
            let mut commands = Vec::with_capacity(parts.len());
            for part in parts {
                match part {
                    Fragment::Command(command) => commands.push(command),
                    Fragment::Body(body) => commands.extend(body.commands),
                    Fragment::List(inner) => commands.extend(top_level(Fragment::List(inner))?),
                    Fragment::Item(_) => return Err(refused("an <Item> outside a command")),
                    Fragment::Message(_) => return Err(whole_message()),
                }
            }
            Ok(commands)
        }
        Fragment::Item(_) => Err(refused("an <Item> alone is not a command")),
        Fragment::Message(_) => Err(whole_message()),
    }
}

fn check(command: &Command, class: CommandClass, in_atomic: bool) -> Result<(), CatalogError> {
    let kind = command.kind();
    match command {
        Command::Status(_) | Command::Results(_) | Command::Alert(_) => Err(refused(&format!(
            "<{kind}> is sent by devices, not by the server; write Get, Add, Replace, Delete, Exec, Atomic or Sequence"
        ))),
        Command::Atomic(_) if in_atomic => Err(refused(
            "an <Atomic> inside an <Atomic> (Windows answers 500 and 507)",
        )),
        Command::Get(_) if in_atomic => {
            Err(refused("a <Get> inside an <Atomic> (Windows answers 500)"))
        }
        Command::Atomic(c) | Command::Sequence(c) => {
            if c.commands.is_empty() {
                return Err(refused(&format!("an empty <{kind}>")));
            }
            let in_atomic = in_atomic || matches!(command, Command::Atomic(_));
            c.commands
                .iter()
                .try_for_each(|inner| check(inner, class, in_atomic))
        }
        Command::Add(c)
        | Command::Delete(c)
        | Command::Exec(c)
        | Command::Get(c)
        | Command::Replace(c) => {
            if c.items.is_empty() {
                return Err(refused(&format!("<{kind}> has no <Item>")));
            }
            for item in &c.items {
                let Some(uri) = item.target.as_ref().map(|t| t.loc_uri.as_str()) else {
                    return Err(refused(&format!(
                        "an <Item> of <{kind}> has no <Target>: the server addresses nodes by Target/LocURI"
                    )));
                };
                if uri.is_empty() {
                    return Err(refused(&format!(
                        "an <Item> of <{kind}> has an empty LocURI"
                    )));
                }
                if uri.starts_with('/') {
                    return Err(refused(&format!(
                        "LocURI {uri} starts with '/' (Windows refuses it; write ./...)"
                    )));
                }
                if is_user_scoped(uri)
                    && matches!(
                        class,
                        CommandClass::Inventory
                            | CommandClass::PasswordReset
                            | CommandClass::Unenrollment
                    )
                {
                    return Err(CatalogError::UserScopedUri {
                        class,
                        loc_uri: uri.to_owned(),
                    });
                }
            }
            Ok(())
        }
    }
}

fn reset_ids(command: &mut Command) {
    command.set_cmd_id(PLACEHOLDER_ID);
    if let Command::Atomic(c) | Command::Sequence(c) = command {
        c.commands.iter_mut().for_each(reset_ids);
    }
}

fn collect_uris(command: &Command, out: &mut Vec<String>) {
    match command {
        Command::Atomic(c) | Command::Sequence(c) => {
            c.commands.iter().for_each(|inner| collect_uris(inner, out));
        }
        other => out.extend(
            other
                .items()
                .iter()
                .filter_map(|i| i.loc_uri())
                .map(str::to_owned),
        ),
    }
}

/// "Raw Get ./DevDetail/SwV", "Raw Replace ./A (+1 more)", "Raw Atomic of 2 commands (./A, …)".
fn label(command: &Command, uris: &[String]) -> String {
    let kind = command.kind();
    let first = uris.first().map(String::as_str).unwrap_or("");
    let more = match uris.len() {
        0 | 1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    match command {
        Command::Atomic(c) | Command::Sequence(c) => {
            let n = c.commands.len();
            let commands = if n == 1 { "command" } else { "commands" };
            format!("Raw {kind} of {n} {commands}: {first}{more}")
        }
        _ => format!("Raw {kind} {first}{more}"),
    }
}

fn refused(reason: &str) -> CatalogError {
    CatalogError::RawRefused(reason.to_owned())
}

fn whole_message() -> CatalogError {
    refused("a whole <SyncML> message; give the commands (or the <SyncBody>) only")
}

#[cfg(test)]
mod tests {
    use super::*;
    use casement_syncml::CmdKind;

    const ATOMIC: &str = r#"<Atomic><CmdID>10</CmdID>
      <Replace><CmdID>8</CmdID><Item><Target><LocURI>./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22/SettingValue</LocURI></Target><Data>true</Data></Item></Replace>
      <Replace><CmdID>9</CmdID><Item><Target><LocURI>./cimv2/MDM_Restrictions/MDM_Restrictions.Key=%221%22/DataRoamingEnabled</LocURI></Target><Data>true</Data></Item></Replace>
    </Atomic>"#;

    #[test]
    fn an_atomic_is_kept_whole_with_placeholder_ids() {
        let specs = build(CommandClass::Settings, ATOMIC).unwrap();
        assert_eq!(specs.len(), 1);
        let Command::Atomic(atomic) = &specs[0].command else {
            panic!("not an Atomic")
        };
        assert_eq!(atomic.cmd_id, PLACEHOLDER_ID);
        assert_eq!(atomic.commands.len(), 2);
        assert!(atomic.commands.iter().all(|c| c.cmd_id() == PLACEHOLDER_ID));
        assert_eq!(
            specs[0].label,
            "Raw Atomic of 2 commands: ./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22/SettingValue (+1 more)"
        );
        assert_eq!(specs[0].class, CommandClass::Settings);
        assert!(!specs[0].secret);
    }

    #[test]
    fn bare_siblings_become_one_spec_each() {
        let text = "<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>\n\
                    <Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/HwV</LocURI></Target></Item></Get>";
        let specs = build(CommandClass::Inventory, text).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].label, "Raw Get ./DevDetail/SwV");
        assert_eq!(specs[1].label, "Raw Get ./DevDetail/HwV");
    }

    #[test]
    fn errors_in_bare_siblings_point_into_the_original_text() {
        let text = "<Get><CmdID>1</CmdID><Item><Target><LocURI>./A</LocURI></Target></Item></Get><Get><CmdID>x</CmdID></Get>";
        let Err(CatalogError::InvalidRaw(e)) = build(CommandClass::Inventory, text) else {
            panic!("expected a parse error")
        };
        assert_eq!(e.path, "/Get[2]/CmdID");
        assert_eq!(&text[e.offset..e.offset + 7], "<CmdID>");
    }

    #[test]
    fn device_side_commands_are_refused_even_nested() {
        let status = "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>";
        let err = build(CommandClass::Settings, status).unwrap_err();
        assert!(
            err.to_string().contains("<Status> is sent by devices"),
            "{err}"
        );
        let nested = format!("<Sequence><CmdID>1</CmdID>{status}</Sequence>");
        assert!(matches!(
            build(CommandClass::Settings, &nested),
            Err(CatalogError::RawRefused(_))
        ));
        let alert = "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>";
        assert!(matches!(
            build(CommandClass::Settings, alert),
            Err(CatalogError::RawRefused(_))
        ));
    }

    #[test]
    fn windows_atomic_limits_are_refused() {
        let get_in_atomic = "<Atomic><CmdID>1</CmdID><Get><CmdID>2</CmdID><Item><Target><LocURI>./A</LocURI></Target></Item></Get></Atomic>";
        assert!(matches!(
            build(CommandClass::Settings, get_in_atomic),
            Err(CatalogError::RawRefused(_))
        ));
        let nested = format!("<Atomic><CmdID>1</CmdID>{ATOMIC}</Atomic>");
        assert!(matches!(
            build(CommandClass::Settings, &nested),
            Err(CatalogError::RawRefused(_))
        ));
        let get_in_sequence = "<Sequence><CmdID>1</CmdID><Get><CmdID>2</CmdID><Item><Target><LocURI>./A</LocURI></Target></Item></Get></Sequence>";
        assert!(build(CommandClass::Settings, get_in_sequence).is_ok());
    }

    #[test]
    fn items_must_target_a_relative_uri() {
        for text in [
            "<Get><CmdID>1</CmdID></Get>",
            "<Get><CmdID>1</CmdID><Item><Source><LocURI>./A</LocURI></Source></Item></Get>",
            "<Get><CmdID>1</CmdID><Item><Target><LocURI>/A</LocURI></Target></Item></Get>",
            "<Atomic><CmdID>1</CmdID></Atomic>",
        ] {
            assert!(
                matches!(
                    build(CommandClass::Settings, text),
                    Err(CatalogError::RawRefused(_))
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn user_uris_need_a_class_delivered_with_a_user() {
        let text = "<Get><CmdID>1</CmdID><Item><Target><LocURI>./User/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/AppStore</LocURI></Target></Item></Get>";
        for class in [
            CommandClass::Inventory,
            CommandClass::PasswordReset,
            CommandClass::Unenrollment,
        ] {
            assert!(matches!(
                build(class, text),
                Err(CatalogError::UserScopedUri { .. })
            ));
        }
        for class in [
            CommandClass::Settings,
            CommandClass::AppManagement,
            CommandClass::PushConfiguration,
        ] {
            assert!(build(class, text).is_ok(), "{class}");
        }
    }

    #[test]
    fn whole_messages_items_and_emptiness_are_refused() {
        assert_eq!(
            build(CommandClass::Settings, " \n "),
            Err(CatalogError::EmptyRaw)
        );
        assert_eq!(
            build(CommandClass::Settings, "<Commands/>"),
            Err(CatalogError::EmptyRaw)
        );
        assert!(matches!(
            build(
                CommandClass::Settings,
                "<Item><Target><LocURI>./A</LocURI></Target></Item>"
            ),
            Err(CatalogError::RawRefused(_))
        ));
        let message = r#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI></Source></SyncHdr><SyncBody><Final/></SyncBody></SyncML>"#;
        assert!(matches!(
            build(CommandClass::Settings, message),
            Err(CatalogError::RawRefused(_))
        ));
    }

    #[test]
    fn password_carriers_are_secret() {
        let text = "<Exec><CmdID>1</CmdID><Item><Target><LocURI>./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22X%22/Exec=ResetUserPassword</LocURI></Target><Data>ConfigString=a;b</Data></Item></Exec>";
        let specs = build(CommandClass::PasswordReset, text).unwrap();
        assert!(specs[0].secret);
        let specs = build(CommandClass::Settings, text).unwrap();
        assert!(specs[0].secret, "known carrier, whatever the class");
        assert!(carries_secret(
            "./Device/Vendor/MSFT/Accounts/Users/bob/Password"
        ));
        assert!(carries_secret("./Vendor/MSFT/RemoteLock/NewPINValue"));
        assert!(!carries_secret("./DevDetail/SwV"));
    }

    #[test]
    fn a_sync_body_is_read_as_its_commands() {
        let text = format!("<SyncBody>{ATOMIC}<Final/></SyncBody>");
        let specs = build(CommandClass::Settings, &text).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].command.kind(), CmdKind::Atomic);
    }
}
