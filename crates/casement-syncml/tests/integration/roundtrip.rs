//! Property: for any message the model can hold, `parse(write(m)) == m` (compact and pretty).

use casement_syncml::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Text without surrounding whitespace and without CR (XML normalises line ends), including the
/// characters that need escaping.
fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9&<>\"'./:%=;,{}é漢 -]{0,12}".prop_map(|s| s.trim().to_owned())
}

fn location() -> impl Strategy<Value = Location> {
    (word(), option::of(word())).prop_map(|(loc_uri, loc_name)| Location { loc_uri, loc_name })
}

fn meta() -> impl Strategy<Value = Meta> {
    let field = prop_oneof![
        Just(MetInf::Format),
        Just(MetInf::Type),
        Just(MetInf::Mark),
        Just(MetInf::Size),
        Just(MetInf::NextNonce)
    ];
    vec((field, word()), 0..4).prop_map(|fields| {
        fields
            .into_iter()
            .fold(Meta::default(), |m, (f, v)| m.with(f, v))
    })
}

fn data() -> impl Strategy<Value = Data> {
    prop_oneof![
        "[a-zA-Z0-9&<> \n\t'\"]{0,20}".prop_map(Data::Text),
        word().prop_map(|s| Data::Cdata(s.replace("]]>", ""))),
        word().prop_map(|s| Data::Xml(format!(
            "<Job id=\"1\"><Url>{}</Url><Empty/></Job>",
            s.replace('&', "&amp;").replace('<', "&lt;")
        ))),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    (
        option::of(location()),
        option::of(location()),
        option::of(meta()),
        option::of(data()),
        any::<bool>(),
    )
        .prop_map(|(target, source, meta, data, more_data)| Item {
            target,
            source,
            meta,
            data,
            more_data,
        })
}

fn cmd_id() -> impl Strategy<Value = CmdId> {
    (1u32..1000).prop_map(CmdId)
}

fn leaf_command() -> impl Strategy<Value = Command> {
    let item_command = || {
        (
            cmd_id(),
            any::<bool>(),
            option::of(meta()),
            vec(item(), 1..3),
        )
            .prop_map(|(cmd_id, no_resp, meta, items)| ItemCommand {
                cmd_id,
                no_resp,
                correlator: None,
                meta,
                items,
            })
    };
    let alert =
        (cmd_id(), 1100u16..1300, vec(item(), 0..2)).prop_map(|(cmd_id, code, items)| Alert {
            cmd_id,
            no_resp: false,
            correlator: None,
            code: AlertCode::from_code(code),
            items,
        });
    let status = (
        cmd_id(),
        1u32..9,
        0u32..50,
        100u16..600,
        vec(word(), 0..2),
        option::of("0x[0-9A-F]{8}"),
    )
        .prop_map(
            |(cmd_id, msg_ref, cmd_ref, code, target_refs, original_error)| Status {
                cmd_id,
                msg_ref: MsgId(msg_ref),
                cmd_ref,
                cmd: if cmd_ref == 0 {
                    CmdKind::SyncHdr
                } else {
                    CmdKind::Get
                },
                target_refs,
                source_refs: vec![],
                cred: None,
                chal: None,
                code: StatusCode::from_code(code),
                original_error,
                items: vec![],
            },
        );
    let results = (cmd_id(), option::of(1u32..9), 1u32..50, vec(item(), 1..3)).prop_map(
        |(cmd_id, msg_ref, cmd_ref, items)| Results {
            cmd_id,
            msg_ref: msg_ref.map(MsgId),
            cmd_ref,
            cmd: Some(CmdKind::Get),
            meta: None,
            target_refs: vec![],
            source_refs: vec![],
            items,
        },
    );
    prop_oneof![
        item_command().prop_map(Command::Get),
        item_command().prop_map(Command::Replace),
        item_command().prop_map(Command::Exec),
        item_command().prop_map(Command::Add),
        item_command().prop_map(Command::Delete),
        alert.prop_map(Command::Alert),
        status.prop_map(Command::Status),
        results.prop_map(Command::Results),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    leaf_command().prop_recursive(2, 12, 4, |inner| {
        (cmd_id(), any::<bool>(), vec(inner, 1..4)).prop_map(|(cmd_id, atomic, commands)| {
            let container = Container {
                cmd_id,
                no_resp: false,
                meta: None,
                commands,
            };
            if atomic {
                Command::Atomic(container)
            } else {
                Command::Sequence(container)
            }
        })
    })
}

fn message() -> impl Strategy<Value = SyncMl> {
    (
        word(),
        1u32..100,
        location(),
        location(),
        option::of(meta()),
        vec(command(), 0..6),
        any::<bool>(),
    )
        .prop_map(
            |(session_id, msg_id, target, source, meta, commands, is_final)| SyncMl {
                version: SyncMlVersion::V1_2,
                header: SyncHdr {
                    ver_dtd: "1.2".into(),
                    ver_proto: "DM/1.2".into(),
                    session_id,
                    msg_id: MsgId(msg_id),
                    target,
                    source,
                    resp_uri: None,
                    no_resp: false,
                    cred: None,
                    meta,
                },
                body: SyncBody { commands, is_final },
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_of_write_is_identity(m in message()) {
        let compact = to_string(&m);
        prop_assert_eq!(parse(compact.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?, m.clone(), "{}", compact);
        let pretty = to_string_pretty(&m);
        let reparsed = parse(pretty.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Pretty printing may only add whitespace around Data text of nested XML, nothing else.
        prop_assert_eq!(to_string(&reparsed).len(), compact.len());
    }
}
