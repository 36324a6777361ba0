//! Every SyncML sample in `testdata/` parses to the values it carries, and writing it back gives an
//! equivalent document.

use casement_syncml::*;

use crate::equivalence::assert_equivalent;

fn read(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const MESSAGES: &[&str] = &[
    "01-client-pkg1.xml",
    "02-server-pkg2.xml",
    "03-client-pkg3.xml",
    "win10-07-session1-client-msg1.xml",
    "win10-08-session1-server-msg1-end.server.xml",
    "win10-09-session2-client-msg1-unenroll.xml",
    "win10-10-session2-server-msg1.server.xml",
    "mde2-requestpending-keepalive-alert.xml",
    "win10-msgref0-synchdr-500-pkg1.xml",
    "win11-get-per-item-status.xml",
];

const FRAGMENTS: &[&str] = &[
    "04-wmi-exec-setvalues-fragment.xml",
    "05-wmi-atomic-replace-fragment.xml",
    "07-unenroll-generic-alert-1226-docs.xml",
    "08-dmclient-unenroll-exec-fragment.xml",
];

#[test]
fn every_whole_message_round_trips_to_an_equivalent_document() {
    for name in MESSAGES {
        let xml = read(name);
        let message = parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_equivalent(&xml, &to_string(&message));
        assert_equivalent(&xml, &to_string_pretty(&message));
        assert_eq!(
            parse(to_string(&message).as_bytes()).unwrap(),
            message,
            "{name}"
        );
    }
}

#[test]
fn every_fragment_round_trips_to_an_equivalent_document() {
    for name in FRAGMENTS {
        let xml = read(name);
        let fragment = parse_fragment(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_equivalent(&xml, &fragment_to_string(&fragment));
    }
}

#[test]
fn the_docs_shorthand_get_is_refused_with_its_path() {
    let err = parse_fragment(read("06-wmi-get-class-enumeration.xml").as_bytes()).unwrap_err();
    // The docs shorten Get/Item/Target to Get/Target; the first thing refused is that Target.
    assert_eq!(err.kind, ParseErrorKind::UnexpectedElement("Target".into()));
    assert_eq!(err.path, "/Fragments/Get/Target");
    let xml = read("06-wmi-get-class-enumeration.xml");
    assert!(xml[err.offset..].starts_with("<Target>"));
}

#[test]
fn the_real_windows_10_package_1_carries_its_values() {
    let m = parse(read("win10-07-session1-client-msg1.xml").as_bytes()).unwrap();
    assert_eq!(m.version, SyncMlVersion::V1_2);
    assert_eq!(m.header.session_id, "1");
    assert_eq!(m.header.msg_id, MsgId(1));
    assert_eq!(
        m.header.target.loc_uri,
        "https://windows.fleetdm.ngrok.io/ManagementServer/MDM.svc"
    );
    assert_eq!(m.header.source.loc_uri, "B5B954E81FBCB94EB79BD08BE625F4EE");
    assert!(m.body.is_final);
    let kinds: Vec<_> = m.body.commands.iter().map(Command::kind).collect();
    assert_eq!(kinds, [CmdKind::Alert, CmdKind::Alert, CmdKind::Replace]);
    let Command::Alert(login) = &m.body.commands[1] else {
        panic!()
    };
    assert_eq!(login.code, AlertCode::ClientEvent);
    assert_eq!(
        login.items[0].meta.as_ref().unwrap().type_value(),
        Some("com.microsoft/MDM/LoginStatus")
    );
    assert_eq!(login.items[0].data, Some(Data::text("user")));
    let Command::Replace(devinfo) = &m.body.commands[2] else {
        panic!()
    };
    let pairs: Vec<_> = devinfo
        .items
        .iter()
        .map(|i| (i.loc_uri().unwrap(), i.data.as_ref().unwrap().as_str()))
        .collect();
    assert_eq!(pairs[2], ("./DevInfo/Mod", "VMware7,1"));
    assert_eq!(pairs.len(), 5);
}

#[test]
fn the_real_unenroll_package_carries_generic_alert_1226() {
    let m = parse(read("win10-09-session2-client-msg1-unenroll.xml").as_bytes()).unwrap();
    let Command::Alert(alert) = &m.body.commands[2] else {
        panic!()
    };
    assert_eq!(alert.code, AlertCode::Generic);
    let meta = alert.items[0].meta.as_ref().unwrap();
    assert_eq!(
        meta.type_value(),
        Some("com.microsoft:mdm.unenrollment.userrequest")
    );
    assert_eq!(meta.format_value(), Some("int"));
}

#[test]
fn statuses_and_results_keep_their_references() {
    let m = parse(read("03-client-pkg3.xml").as_bytes()).unwrap();
    let Command::Status(hdr) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(
        (hdr.cmd, hdr.cmd_ref, hdr.msg_ref, hdr.code),
        (CmdKind::SyncHdr, 0, MsgId(1), StatusCode::Ok)
    );
    let Command::Results(r) = &m.body.commands[3] else {
        panic!()
    };
    assert_eq!(
        (r.cmd_ref, r.msg_ref, r.cmd),
        (4, Some(MsgId(1)), Some(CmdKind::Get))
    );
    assert_eq!(
        r.items[0].meta.as_ref().unwrap().format_value(),
        Some("chr")
    );
}

#[test]
fn the_wmi_exec_and_atomic_samples_keep_order_and_uris() {
    let Fragment::Body(body) =
        parse_fragment(read("05-wmi-atomic-replace-fragment.xml").as_bytes()).unwrap()
    else {
        panic!()
    };
    let Command::Atomic(atomic) = &body.commands[0] else {
        panic!()
    };
    assert_eq!(atomic.cmd_id, CmdId(10));
    let ids: Vec<_> = atomic.commands.iter().map(|c| c.cmd_id().0).collect();
    assert_eq!(ids, [8, 9]);
    let Fragment::Body(body) =
        parse_fragment(read("04-wmi-exec-setvalues-fragment.xml").as_bytes()).unwrap()
    else {
        panic!()
    };
    let item = &body.commands[0].items()[0];
    assert_eq!(
        item.loc_uri(),
        Some("./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/Exec=SetValues")
    );
    assert_eq!(
        item.data,
        Some(Data::text("NamedValuesList=MinPasswordLength,8;"))
    );
}

#[test]
fn variants_real_clients_send_are_accepted() {
    let variants = [
        // declaration, single quotes, SyncML 1.1, xmlns:msft on SyncBody, padded URIs and numbers
        "<?xml version='1.0' encoding='UTF-8'?><SyncML xmlns='SYNCML:SYNCML1.1'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>7</SessionID><MsgID> 1 </MsgID><Target><LocURI>\n  https://a/b\n</LocURI></Target><Source><LocURI>D</LocURI><LocName>u</LocName></Source><Meta><MaxMsgSize xmlns='syncml:metinf'>65535</MaxMsgSize></Meta></SyncHdr><SyncBody xmlns:msft='http://schemas.microsoft.com/MobileDevice/MDM'><Alert><CmdID>1</CmdID><Data>1201</Data></Alert><Final/></SyncBody></SyncML>",
        // Meta declaring the namespace once, Cred in SyncHdr
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>7</SessionID><MsgID>2</MsgID><Target><LocURI>https://a/b</LocURI></Target><Source><LocURI>D</LocURI></Source><Cred><Meta xmlns=\"syncml:metinf\"><Format>b64</Format><Type>syncml:auth-md5</Type></Meta><Data>abc=</Data></Cred></SyncHdr><SyncBody><Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data xmlns:msft=\"http://schemas.microsoft.com/MobileDevice/MDM\" msft:originalerror=\"0x86000002\">404</Data></Status></SyncBody></SyncML>",
    ];
    let first = parse(variants[0].as_bytes()).unwrap();
    assert_eq!(first.version, SyncMlVersion::V1_1);
    assert_eq!(first.header.target.loc_uri, "https://a/b");
    assert_eq!(first.header.msg_id, MsgId(1));
    assert_eq!(first.header.source.loc_name.as_deref(), Some("u"));
    let second = parse(variants[1].as_bytes()).unwrap();
    assert_eq!(
        second
            .header
            .cred
            .as_ref()
            .unwrap()
            .meta
            .as_ref()
            .unwrap()
            .type_value(),
        Some("syncml:auth-md5")
    );
    let Command::Status(s) = &second.body.commands[0] else {
        panic!()
    };
    assert_eq!(
        (s.code, s.original_error.as_deref()),
        (StatusCode::NotFound, Some("0x86000002"))
    );
    for v in variants {
        let m = parse(v.as_bytes()).unwrap();
        assert_eq!(parse(to_string(&m).as_bytes()).unwrap(), m);
    }
}

#[test]
fn data_keeps_escaped_text_cdata_and_nested_xml_exactly() {
    let msg = |data: &str| {
        format!(
            "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>D</LocURI></Target><Source><LocURI>S</LocURI></Source></SyncHdr><SyncBody><Add><CmdID>2</CmdID><Item><Target><LocURI>./x</LocURI></Target><Data>{data}</Data></Item></Add><Final/></SyncBody></SyncML>"
        )
    };
    let data_of = |xml: &str| {
        parse(xml.as_bytes()).unwrap().body.commands[0].items()[0]
            .data
            .clone()
            .unwrap()
    };
    assert_eq!(
        data_of(&msg("&lt;Policy&gt; a &amp; b &#x41;")),
        Data::text("<Policy> a & b A")
    );
    assert_eq!(
        data_of(&msg(" <![CDATA[<wap-provisioningdoc/>]]> ")),
        Data::Cdata("<wap-provisioningdoc/>".into())
    );
    let nested = "<MsiInstallJob id=\"{A}\"><Product Version=\"1.0\"><Download><ContentURLList><ContentURL>https://x/y.msi?a=1&amp;b=2</ContentURL></ContentURLList></Download></Product></MsiInstallJob>";
    assert_eq!(data_of(&msg(nested)), Data::Xml(nested.into()));
    for data in [
        "&lt;Policy&gt; a &amp; b",
        "<![CDATA[x]]]]><![CDATA[>y]]>",
        nested,
    ] {
        let xml = msg(data);
        let m = parse(xml.as_bytes()).unwrap();
        assert_equivalent(&xml, &to_string(&m));
        assert_eq!(parse(to_string(&m).as_bytes()).unwrap(), m);
    }
}

#[test]
fn regression_issue_11_a_synchdr_status_with_msgref_0_is_accepted() {
    let message = parse(read("win10-msgref0-synchdr-500-pkg1.xml").as_bytes()).unwrap();
    let Command::Status(status) = &message.body.commands[0] else {
        panic!("{:?}", message.body.commands[0]);
    };
    assert_eq!(status.msg_ref, MsgId(0));
    assert_eq!(status.cmd_ref, 0);
    assert_eq!(status.cmd, CmdKind::SyncHdr);
    assert_eq!(status.code, StatusCode::CommandFailed);
    // Written back, it keeps MsgRef 0.
    assert!(to_string(&message).contains("<MsgRef>0</MsgRef>"));
    // Results may name MsgRef 0 as well; a MsgID itself may not be 0.
    let results = "<Results><CmdID>2</CmdID><MsgRef>0</MsgRef><CmdRef>1</CmdRef></Results>";
    let Fragment::Command(Command::Results(r)) = parse_fragment(results.as_bytes()).unwrap() else {
        panic!("not a Results");
    };
    assert_eq!(r.msg_ref, Some(MsgId(0)));
}

#[test]
fn regression_issue_11_per_item_statuses_keep_their_target_refs() {
    let message = parse(read("win11-get-per-item-status.xml").as_bytes()).unwrap();
    let per_item: Vec<(String, u16)> = message
        .body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Status(s) if s.cmd == CmdKind::Get => {
                Some((s.target_refs[0].clone(), s.code.code()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        per_item,
        [
            ("./DevDetail/SwV".to_owned(), 200),
            ("./DevDetail/Ext/Microsoft/DeviceName".to_owned(), 200),
            ("./DevDetail/Ext/Microsoft/NoSuchNode".to_owned(), 404),
        ]
    );
}
