//! Hostile and malformed input is refused fast, with the byte offset and the element path.

use casement_syncml::*;

const HDR: &str = "<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>D</LocURI></Target><Source><LocURI>S</LocURI></Source></SyncHdr>";

fn with_body(body: &str) -> String {
    format!("<SyncML xmlns=\"SYNCML:SYNCML1.2\">{HDR}<SyncBody>{body}</SyncBody></SyncML>")
}

fn error(input: &str) -> ParseError {
    parse(input.as_bytes()).expect_err("must be refused")
}

#[test]
fn doctype_and_entity_declarations_are_refused() {
    let bomb = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>{}",
        with_body("")
    );
    let err = error(&bomb);
    assert_eq!(err.kind, ParseErrorKind::Doctype);
    assert_eq!(err.offset, "<?xml version=\"1.0\"?>".len());
    assert_eq!(
        error(&with_body(
            "<Alert><CmdID>1</CmdID><Data>&lol;</Data></Alert>"
        ))
        .kind,
        ParseErrorKind::UndefinedEntity("lol".into())
    );
}

#[test]
fn depth_size_and_command_count_are_bounded() {
    let deep = format!(
        "<Add><CmdID>1</CmdID><Item><Data>{}{}</Data></Item></Add>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    assert!(matches!(
        error(&with_body(&deep)).kind,
        ParseErrorKind::TooDeep { limit: 32 }
    ));
    let huge = with_body(&"<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>".repeat(100_000));
    assert!(matches!(error(&huge).kind, ParseErrorKind::TooLarge { .. }));
    let many = with_body(&"<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>".repeat(20));
    let limits = Limits {
        max_commands: 10,
        ..Limits::default()
    };
    let err = parse_with(many.as_bytes(), limits).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::TooManyCommands { limit: 10 });
    assert_eq!(err.path, "/SyncML/SyncBody/Alert[11]");
}

#[test]
fn invalid_utf8_is_refused_at_its_offset() {
    let mut bytes = with_body("<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>").into_bytes();
    bytes[60] = 0xff;
    let err = parse(&bytes).unwrap_err();
    assert_eq!((err.kind, err.offset), (ParseErrorKind::InvalidUtf8, 60));
}

#[test]
fn wrong_namespaces_are_refused() {
    let other_root = with_body("").replace("SYNCML:SYNCML1.2", "urn:other");
    assert_eq!(
        error(&other_root).kind,
        ParseErrorKind::WrongNamespace("urn:other".into())
    );
    let no_ns = with_body("").replace(" xmlns=\"SYNCML:SYNCML1.2\"", "");
    assert!(matches!(
        error(&no_ns).kind,
        ParseErrorKind::WrongNamespace(_)
    ));
    let bad_meta = with_body(
        "<Alert><CmdID>1</CmdID><Data>1224</Data><Item><Meta><Type xmlns=\"syncml:metinfo\">x</Type></Meta></Item></Alert>",
    );
    let err = error(&bad_meta);
    assert_eq!(
        err.kind,
        ParseErrorKind::WrongNamespace("syncml:metinfo".into())
    );
    assert_eq!(err.path, "/SyncML/SyncBody/Alert/Item/Meta/Type");
    let prefixed = with_body(
        "<x:Alert xmlns:x=\"SYNCML:SYNCML1.2\"><CmdID>1</CmdID><Data>1201</Data></x:Alert>",
    );
    assert!(matches!(
        error(&prefixed).kind,
        ParseErrorKind::WrongNamespace(_)
    ));
}

#[test]
fn structural_errors_name_the_element_path_and_offset() {
    let input = with_body(
        "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert><Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>x</CmdRef><Cmd>Get</Cmd><Data>200</Data></Status>",
    );
    let err = error(&input);
    assert_eq!(err.path, "/SyncML/SyncBody/Status/CmdRef");
    assert!(matches!(
        err.kind,
        ParseErrorKind::InvalidValue {
            expected: "an integer",
            ..
        }
    ));
    assert!(input[err.offset..].starts_with("<CmdRef>x"));

    assert_eq!(
        error(&with_body(
            "<Alert><CmdID>0</CmdID><Data>1201</Data></Alert>"
        ))
        .path,
        "/SyncML/SyncBody/Alert/CmdID"
    );
    assert_eq!(
        error(&with_body("<Bogus/>")).kind,
        ParseErrorKind::UnexpectedElement("Bogus".into())
    );
    assert_eq!(
        error(&with_body("<Alert><Data>1201</Data></Alert>")).kind,
        ParseErrorKind::MissingElement("CmdID")
    );
    assert_eq!(
        error(&with_body("<Get><CmdID>1</CmdID><CmdID>2</CmdID></Get>")).kind,
        ParseErrorKind::DuplicateElement("CmdID")
    );
    assert_eq!(
        error(&with_body("stray text")).kind,
        ParseErrorKind::UnexpectedText
    );
    assert_eq!(
        error(&with_body(
            "<Final/><Alert><CmdID>1</CmdID><Data>1201</Data></Alert>"
        ))
        .kind,
        ParseErrorKind::UnexpectedElement("Alert".into())
    );
    assert_eq!(
        error(&format!("{}<x/>", with_body(""))).kind,
        ParseErrorKind::TrailingContent
    );
    assert!(matches!(
        error("<Envelope/>").kind,
        ParseErrorKind::NotSyncMl(_)
    ));
    assert!(matches!(error("").kind, ParseErrorKind::NotSyncMl(_)));
    assert!(matches!(
        error(&with_body("<Alert><CmdID>1</CmdID>")).kind,
        ParseErrorKind::Syntax(_)
    ));
    assert!(matches!(
        error(&with_body("<Alert><CmdID>1</Data></Alert>")).kind,
        ParseErrorKind::Syntax(_)
    ));
}

#[test]
fn display_gives_offset_path_and_reason() {
    let err = error(&with_body("<Bogus/>"));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("at byte {} (/SyncML/SyncBody/Bogus)", err.offset)),
        "{text}"
    );
}

#[test]
fn regression_issue_12_a_huge_element_name_is_not_echoed() {
    let name = "a".repeat(3_000_000);
    let input = with_body(&format!("<{name}/>"));
    let err = error(&input);
    let shown = err.to_string();
    assert!(shown.len() < 1_000, "{} bytes", shown.len());
    assert!(shown.contains("aaaa…"), "{shown}");
    // Unknown root, namespace and entity names are cut the same way.
    let root = format!("<{name}/>");
    assert!(error(&root).to_string().len() < 1_000);
    let ns = format!("<SyncML xmlns=\"{name}\">{HDR}<SyncBody/></SyncML>");
    assert!(error(&ns).to_string().len() < 1_000);
    let entity = with_body(&format!(
        "<Alert><CmdID>1</CmdID><Data>&{name};</Data></Alert>"
    ));
    assert!(error(&entity).to_string().len() < 1_000);
}

#[test]
fn regression_issue_12_nul_and_other_c0_controls_are_refused_in_text() {
    let body = with_body("<Alert><CmdID>1</CmdID><Data>12\u{0}01</Data></Alert>");
    let err = error(&body);
    assert_eq!(err.kind, ParseErrorKind::ForbiddenCharacter(0));
    assert_eq!(err.offset, body.find('\u{0}').unwrap());
    assert_eq!(
        error(&with_body(
            "<Alert><CmdID>1</CmdID><Data>x&#0;</Data></Alert>"
        ))
        .kind,
        ParseErrorKind::ForbiddenCharacter(0)
    );
    assert_eq!(
        error(&with_body(
            "<Alert><CmdID>1</CmdID><Data>x&#x1B;</Data></Alert>"
        ))
        .kind,
        ParseErrorKind::ForbiddenCharacter(0x1b)
    );
    assert_eq!(
        error(&with_body(
            "<Alert><CmdID>\u{7}1</CmdID><Data>1201</Data></Alert>"
        ))
        .kind,
        ParseErrorKind::ForbiddenCharacter(7)
    );
    // Tab, LF and CR stay allowed, literally and as references.
    parse(with_body("<Alert>\t<CmdID>1</CmdID>\r\n<Data>1201</Data></Alert>").as_bytes()).unwrap();
    parse(with_body("<Alert><CmdID>1</CmdID><Data>1201</Data><Item><Data>a&#9;&#10;&#13;b</Data></Item></Alert>").as_bytes()).unwrap();
}
