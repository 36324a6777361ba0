//! Scenario tests: what each context's session carries, and how the core survives faults.

use casement_dm::ContextReason;
use casement_dm::device::{DeviceSession, Platform};
use casement_dm::server::{self, Effect, SessionOutcome};
use casement_dm::*;
use casement_syncml::{AlertCode, CmdKind, Command, Container, MsgId, StatusCode};

use crate::harness::*;

const PUSH_CONFIG: &str = "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22Casement%22/Exec=UpdateConfiguration";
const RESET_PASSWORD: &str = "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22/Exec=ResetUserPassword";
const OS_CAPTION: &str =
    "./cimv2/Win32_OperatingSystem/Win32_OperatingSystem.Name=%22Windows%22/Caption";
const INSTALL_JOB: &str = "./cimv2/MDM_AppInstallJob/Exec=CreateJob";
const EAS_POLICY: &str = "./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/Exec=SetValues";

fn win81_with_three_queued() -> Pair {
    let mut pair = Pair::new(Platform::Windows81);
    pair.tree
        .nodes
        .insert(OS_CAPTION.into(), "Microsoft Windows 8.1 Enterprise".into());
    pair.queue(
        "push-config",
        CommandClass::PushConfiguration,
        exec(
            PUSH_CONFIG,
            "ConfigString=Casement;Contoso.MDM_8wekyb3d8bbwe",
        ),
    );
    pair.queue(
        "reset-password",
        CommandClass::PasswordReset,
        exec(RESET_PASSWORD, "ConfigString=alice@contoso.com;Temp1234!"),
    );
    pair.queue("inventory", CommandClass::Inventory, get(OS_CAPTION));
    pair
}

fn ids(delivered: &[CommandRef]) -> Vec<&str> {
    delivered.iter().map(|c| c.0.as_str()).collect()
}

#[test]
fn a_machine_session_carries_only_reset_password_and_inventory() {
    let mut pair = win81_with_three_queued();
    let t = pair.session(Some("Machine"), None, false);
    assert_eq!(t.context, Some(Context::Machine));
    assert_eq!(ids(&t.delivered), ["reset-password", "inventory"]);
    assert_eq!(pair.state("push-config"), &State::Pending);
    assert_eq!(
        ContextPolicy::WINDOWS
            .waits_for(CommandClass::PushConfiguration, Context::Machine)
            .unwrap()
            .to_string(),
        "waits for a Maintenance session"
    );
    assert!(matches!(
        pair.state("reset-password"),
        State::Done(StatusCode::Ok, _)
    ));
    let State::Done(_, results) = pair.state("inventory") else {
        panic!("inventory not done")
    };
    assert_eq!(
        results[0].data.as_deref(),
        Some("Microsoft Windows 8.1 Enterprise")
    );
    assert_eq!(
        pair.tree.execs.len(),
        1,
        "only the password reset ran on the device"
    );
    assert!(matches!(
        t.effects.last(),
        Some(Effect::SessionEnded {
            outcome: SessionOutcome::Completed
        })
    ));
}

#[test]
fn the_next_maintenance_session_carries_push_config() {
    let mut pair = win81_with_three_queued();
    pair.session(Some("Machine"), None, false);
    let t = pair.session(Some("Maintenance"), None, false);
    assert_eq!(t.context, Some(Context::Maintenance));
    assert_eq!(ids(&t.delivered), ["push-config"]);
    assert!(matches!(
        pair.state("push-config"),
        State::Done(StatusCode::Ok, _)
    ));
    assert_eq!(pair.tree.execs[1].0, PUSH_CONFIG);
}

#[test]
fn an_apps_session_carries_the_install_and_nothing_of_the_settings_class() {
    let mut pair = Pair::new(Platform::Windows81);
    pair.queue(
        "settings",
        CommandClass::Settings,
        exec(EAS_POLICY, "NamedValuesList=MinPasswordLength,8;"),
    );
    pair.queue(
        "install",
        CommandClass::AppManagement,
        exec(INSTALL_JOB, "JobData=..."),
    );
    pair.queue(
        "reset",
        CommandClass::PasswordReset,
        exec(RESET_PASSWORD, "ConfigString=a;b"),
    );
    let t = pair.session(Some("Apps"), None, false);
    assert_eq!(t.context, Some(Context::Apps));
    assert_eq!(ids(&t.delivered), ["install"]);
    assert_eq!(pair.state("settings"), &State::Pending);
    assert_eq!(pair.state("reset"), &State::Pending);
}

#[test]
fn an_unknown_mode_is_treated_as_machine_and_recorded() {
    let mut pair = win81_with_three_queued();
    let t = pair.session(Some("Sleepwalk"), None, false);
    assert_eq!(t.context, Some(Context::Machine));
    let Some(Effect::SessionStarted { decision }) = t.effects.first() else {
        panic!()
    };
    assert_eq!(decision.reason, ContextReason::UnknownModeDefaultsToMachine);
    assert_eq!(decision.mode, ModeParam::Unknown("Sleepwalk".into()));
    assert_eq!(ids(&t.delivered), ["reset-password", "inventory"]);
}

#[test]
fn windows_10_login_status_user_with_maintenance_carries_everything() {
    let mut pair = win81_with_three_queued();
    pair.platform = Platform::Windows10;
    let t = pair.session(Some("Maintenance"), Some("user"), false);
    assert_eq!(t.context, Some(Context::Maintenance));
    assert_eq!(
        ids(&t.delivered),
        ["push-config", "reset-password", "inventory"]
    );
    let mut pair = win81_with_three_queued();
    pair.platform = Platform::Windows10;
    let t = pair.session(Some("Maintenance"), Some("others"), false);
    assert_eq!(t.context, Some(Context::Machine));
    assert_eq!(ids(&t.delivered), ["reset-password", "inventory"]);
}

#[test]
fn a_lost_reply_returns_its_commands_to_pending_and_they_are_sent_again_once() {
    let mut pair = win81_with_three_queued();
    pair.hook = Some(Box::new(|direction, message| {
        let carries_commands = message
            .body
            .commands
            .iter()
            .any(|c| !matches!(c, Command::Status(_)));
        if direction == Direction::ToDevice && carries_commands {
            Delivery::Drop
        } else {
            Delivery::Deliver
        }
    }));
    let lost = pair.session(Some("Machine"), None, false);
    assert_eq!(ids(&lost.delivered), ["reset-password", "inventory"]);
    assert_eq!(pair.state("reset-password"), &State::Sent);
    assert!(pair.tree.execs.is_empty(), "the device never got the reply");

    pair.hook = None;
    let t = pair.session(Some("Machine"), None, false);
    assert!(t.effects.iter().any(|e| matches!(
        e,
        Effect::SessionEnded {
            outcome: SessionOutcome::Abandoned
        }
    )));
    assert_eq!(ids(&t.delivered), ["reset-password", "inventory"]);
    assert!(matches!(pair.state("reset-password"), State::Done(..)));
    assert_eq!(pair.attempts("reset-password"), 2);
    assert_eq!(pair.tree.execs.len(), 1);

    let t = pair.session(Some("Maintenance"), None, false);
    assert_eq!(
        ids(&t.delivered),
        ["push-config"],
        "a command reported done is never sent again"
    );
}

#[test]
fn a_status_for_a_command_never_sent_is_reported_not_trusted() {
    let mut pair = win81_with_three_queued();
    pair.hook = Some(Box::new(|direction, message| {
        if direction == Direction::ToServer
            && message.header.msg_id == MsgId(2)
            && let Command::Status(s) = &mut message.body.commands[1]
        {
            s.cmd_ref = 99;
        }
        Delivery::Deliver
    }));
    let t = pair.session(Some("Machine"), None, false);
    assert!(
        t.effects
            .iter()
            .any(|e| matches!(e, Effect::UnmatchedStatus { cmd_ref: 99, .. }))
    );
    // The command whose status was forged away is not trusted done: it is unanswered, so pending.
    assert_eq!(pair.state("reset-password"), &State::Pending);
    assert!(matches!(pair.state("inventory"), State::Done(..)));
}

#[test]
fn the_device_abort_alert_ends_the_session_and_requeues_what_was_in_flight() {
    let mut pair = win81_with_three_queued();
    pair.hook = Some(Box::new(|direction, message| {
        if direction == Direction::ToServer && message.header.msg_id == MsgId(2) {
            message
                .body
                .commands
                .retain(|c| matches!(c, Command::Status(s) if s.cmd == CmdKind::SyncHdr));
            message
                .body
                .commands
                .push(Command::Alert(casement_syncml::Alert {
                    cmd_id: casement_syncml::CmdId(9),
                    no_resp: false,
                    correlator: None,
                    code: AlertCode::SessionAbort,
                    items: vec![],
                }));
        }
        Delivery::Deliver
    }));
    let t = pair.session(Some("Machine"), None, false);
    assert!(matches!(
        t.effects.last(),
        Some(Effect::SessionEnded {
            outcome: SessionOutcome::AbortedByDevice
        })
    ));
    assert_eq!(pair.state("reset-password"), &State::Pending);
    assert_eq!(pair.state("inventory"), &State::Pending);
    assert!(pair.server.is_none());
}

#[test]
fn a_repeated_message_gets_the_same_reply_and_changes_nothing() {
    let pair = win81_with_three_queued();
    let (_, first) = DeviceSession::start(casement_dm::device::Package1 {
        device_id: pair.device_id.clone(),
        server_uri: "https://mdm.example/ManagementServer/MDM.svc".into(),
        session_id: "7".into(),
        platform: Platform::Windows81,
        login_status: None,
        push_triggered: false,
        devinfo: vec![],
        unenroll_request: false,
    });
    let pending: Vec<PendingCommand> = pair.queue.iter().map(|q| q.pending.clone()).collect();
    let step =
        casement_dm::server::start(pair.now, &first, ModeParam::Machine, &pending, &pair.config);
    let session = step.next.expect("commands were sent");
    let again = session
        .clone()
        .on_message(pair.now + 10, &first, &pending, &pair.config);
    assert_eq!(again.reply_xml, step.reply_xml);
    assert!(again.effects.is_empty());
    assert_eq!(again.next, Some(session));
}

#[test]
fn an_out_of_order_message_gets_400_and_ends_the_session() {
    let mut pair = win81_with_three_queued();
    pair.hook = Some(Box::new(|direction, message| {
        if direction == Direction::ToServer && message.header.msg_id == MsgId(2) {
            message.header.msg_id = MsgId(5);
        }
        Delivery::Deliver
    }));
    let t = pair.session(Some("Machine"), None, false);
    let last_reply = t
        .messages
        .iter()
        .rev()
        .find(|(d, _)| *d == Direction::ToDevice)
        .unwrap();
    let Command::Status(header) = &last_reply.1.body.commands[0] else {
        panic!()
    };
    assert_eq!(header.code, StatusCode::BadRequest);
    assert!(matches!(
        t.effects.last(),
        Some(Effect::SessionEnded {
            outcome: SessionOutcome::ProtocolError(_)
        })
    ));
    assert_eq!(pair.state("reset-password"), &State::Pending);
}

#[test]
fn the_budget_splits_commands_over_messages_and_keeps_atomic_whole() {
    let mut pair = Pair::new(Platform::Windows10);
    pair.config.budget.max_commands = 2;
    for i in 0..4 {
        let uri = format!("./DevDetail/Node{i}");
        pair.tree.nodes.insert(uri.clone(), format!("v{i}"));
        pair.queue(&format!("get{i}"), CommandClass::Inventory, get(&uri));
    }
    let atomic = Command::Atomic(Container {
        cmd_id: casement_syncml::CmdId(1),
        no_resp: false,
        meta: None,
        commands: vec![
            replace("./Vendor/MSFT/Policy/A", "1"),
            replace("./Vendor/MSFT/Policy/B", "2"),
        ],
    });
    pair.queue("atomic", CommandClass::Settings, atomic);
    let t = pair.session(Some("Maintenance"), Some("user"), false);
    let server_messages: Vec<_> = t
        .messages
        .iter()
        .filter(|(d, _)| *d == Direction::ToDevice)
        .collect();
    assert_eq!(
        server_messages.len(),
        4,
        "2 + 2 + 1 commands, then the status-only end"
    );
    let last_with_commands = &server_messages[2].1;
    let Command::Atomic(sent) = &last_with_commands.body.commands.last().unwrap() else {
        panic!("atomic sent whole")
    };
    assert_eq!(sent.commands.len(), 2);
    for q in &pair.queue {
        assert!(matches!(q.state, State::Done(..)), "{:?}", q);
    }
    assert_eq!(
        pair.tree
            .nodes
            .get("./Vendor/MSFT/Policy/B")
            .map(String::as_str),
        Some("2")
    );
}

#[test]
fn a_failed_atomic_rolls_back_and_is_reported_failed() {
    let mut pair = Pair::new(Platform::Windows10);
    pair.tree.failing.insert(
        "./Vendor/MSFT/Policy/B".into(),
        StatusCode::CommandNotAllowed,
    );
    let atomic = Command::Atomic(Container {
        cmd_id: casement_syncml::CmdId(1),
        no_resp: false,
        meta: None,
        commands: vec![
            replace("./Vendor/MSFT/Policy/A", "1"),
            replace("./Vendor/MSFT/Policy/B", "2"),
        ],
    });
    pair.queue("atomic", CommandClass::Settings, atomic);
    pair.session(Some("Maintenance"), Some("user"), false);
    assert_eq!(
        pair.state("atomic"),
        &State::Failed(StatusCode::AtomicFailed)
    );
    assert!(
        !pair.tree.nodes.contains_key("./Vendor/MSFT/Policy/A"),
        "rolled back"
    );
}

#[test]
fn exec_answered_202_is_accepted_pending() {
    let mut pair = win81_with_three_queued();
    pair.tree.exec_status = Some(StatusCode::AcceptedForProcessing);
    pair.session(Some("Machine"), None, false);
    assert_eq!(
        pair.state("reset-password"),
        &State::Done(StatusCode::AcceptedForProcessing, vec![])
    );
}

#[test]
fn an_expired_command_is_never_sent() {
    let mut pair = win81_with_three_queued();
    pair.queue[1].pending.expires_at = Some(pair.now - 1);
    let t = pair.session(Some("Machine"), None, false);
    assert_eq!(ids(&t.delivered), ["inventory"]);
    assert_eq!(pair.state("reset-password"), &State::Expired);
}

#[test]
fn a_device_failure_status_is_recorded() {
    let mut pair = win81_with_three_queued();
    pair.tree
        .failing
        .insert(RESET_PASSWORD.into(), StatusCode::CommandFailed);
    pair.session(Some("Machine"), None, false);
    assert_eq!(
        pair.state("reset-password"),
        &State::Failed(StatusCode::CommandFailed)
    );
}

#[test]
fn a_failed_push_configuration_goes_back_to_pending_and_marks_the_channel_failed() {
    // An interactive run of MDMAgent cannot impersonate the user: UpdateConfiguration fails,
    // and is retried in a later Maintenance session (docs/product.md §3 flow 6).
    let mut pair = win81_with_three_queued();
    pair.tree
        .failing
        .insert(PUSH_CONFIG.into(), StatusCode::CommandFailed);
    let t = pair.session(Some("Maintenance"), None, false);
    assert_eq!(pair.state("push-config"), &State::Pending);
    // Sent: being configured; then refused: failed (the last word is what is stored).
    let observed: Vec<_> = t
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::ChannelObserved { channel } => Some(channel.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        observed[0].state,
        casement_dm::channel::ChannelState::Configuring
    );
    let failed = observed.last().cloned().expect("the channel is observed");
    assert_eq!(failed.state, casement_dm::channel::ChannelState::Failed);
    assert!(
        failed
            .reason
            .unwrap()
            .contains("retried in a later Maintenance session")
    );

    pair.tree.failing.clear();
    pair.session(Some("Maintenance"), None, false);
    assert!(matches!(pair.state("push-config"), State::Done(..)));
    assert_eq!(pair.attempts("push-config"), 2);
}

#[test]
fn the_real_windows_10_package_1_gets_the_reply_shape_a_real_device_accepted() {
    let xml = include_str!("../../testdata/win10-07-session1-client-msg1.xml");
    let message = casement_syncml::parse(xml.as_bytes()).unwrap();
    let step = casement_dm::server::start(
        0,
        &message,
        ModeParam::parse(Some("Maintenance")),
        &[],
        &Default::default(),
    );
    let statuses: Vec<_> = step
        .reply
        .body
        .commands
        .iter()
        .map(|c| match c {
            Command::Status(s) => (s.cmd_id.0, s.msg_ref.0, s.cmd_ref, s.cmd, s.code),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    // As in win10-real-fleet-dump/08: Status for SyncHdr, then one per command in order.
    assert_eq!(
        statuses,
        [
            (1, 1, 0, CmdKind::SyncHdr, StatusCode::Ok),
            (2, 1, 2, CmdKind::Alert, StatusCode::Ok),
            (3, 1, 3, CmdKind::Alert, StatusCode::Ok),
            (4, 1, 4, CmdKind::Replace, StatusCode::Ok),
        ]
    );
    assert!(step.reply.body.is_final);
    assert_eq!(
        step.reply.header.target.loc_uri,
        "B5B954E81FBCB94EB79BD08BE625F4EE"
    );
    assert_eq!(
        step.reply.header.source.loc_uri,
        "https://windows.fleetdm.ngrok.io/ManagementServer/MDM.svc"
    );
    assert!(step.next.is_none(), "nothing to send: the session ends");
    assert!(
        step.effects
            .iter()
            .any(|e| matches!(e, Effect::DeviceInfo { items } if items.len() == 5))
    );
}

#[test]
fn the_real_unenroll_package_is_read_as_an_unenrollment_request() {
    let xml = include_str!("../../testdata/win10-09-session2-client-msg1-unenroll.xml");
    let message = casement_syncml::parse(xml.as_bytes()).unwrap();
    let step = casement_dm::server::start(
        0,
        &message,
        ModeParam::Maintenance,
        &[],
        &Default::default(),
    );
    assert!(step.effects.contains(&Effect::UnenrollmentRequested));
}

#[test]
fn the_session_state_survives_serialization_between_requests() {
    let mut pair = win81_with_three_queued();
    let (mut device, first) = DeviceSession::start(casement_dm::device::Package1 {
        device_id: pair.device_id.clone(),
        server_uri: "https://mdm.example/x".into(),
        session_id: "3".into(),
        platform: Platform::Windows81,
        login_status: None,
        push_triggered: false,
        devinfo: vec![],
        unenroll_request: false,
    });
    let pending: Vec<PendingCommand> = pair.queue.iter().map(|q| q.pending.clone()).collect();
    let step =
        casement_dm::server::start(pair.now, &first, ModeParam::Machine, &pending, &pair.config);
    let stored = serde_json::to_string(&step.next.unwrap()).unwrap();
    let restored: casement_dm::server::ActiveSession = serde_json::from_str(&stored).unwrap();
    let answer = device
        .on_server_message(&step.reply, &mut pair.tree)
        .unwrap();
    let step = restored.on_message(pair.now + 1, &answer, &[], &pair.config);
    assert_eq!(
        step.effects
            .iter()
            .filter(|e| matches!(e, Effect::CommandReported { .. }))
            .count(),
        2
    );
}

/// Regression (issue 4): a package 1 carrying the user's unenroll alert got the pending commands
/// in its reply, so the device's answer came after it had been retired and was refused.
#[test]
fn regression_issue_4_the_unenroll_alert_ends_the_session_without_new_commands() {
    let xml = include_str!("../../testdata/win10-09-session2-client-msg1-unenroll.xml");
    let message = casement_syncml::parse(xml.as_bytes()).unwrap();
    let pending = [PendingCommand {
        id: CommandRef("inv".into()),
        class: CommandClass::Inventory,
        command: get("./DevDetail/SwV"),
        expires_at: None,
    }];
    let step = casement_dm::server::start(
        0,
        &message,
        ModeParam::Maintenance,
        &pending,
        &Default::default(),
    );
    assert!(step.effects.contains(&Effect::UnenrollmentRequested));
    assert!(
        step.reply
            .body
            .commands
            .iter()
            .all(|c| matches!(c, Command::Status(_))),
        "status only"
    );
    assert!(step.next.is_none());
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::CommandSent { .. }))
    );
}

/// A Get of several nodes in one command.
fn get_many(uris: &[&str]) -> Command {
    let mut c = casement_syncml::ItemCommand::target(casement_syncml::CmdId(1), uris[0]);
    for uri in &uris[1..] {
        c.items.push(
            casement_syncml::ItemCommand::target(casement_syncml::CmdId(1), *uri).items[0].clone(),
        );
    }
    Command::Get(c)
}

fn reported(t: &Transcript, id: &str) -> (StatusCode, Vec<ResultItem>, server::ItemOutcomes) {
    t.effects
        .iter()
        .find_map(|e| match e {
            Effect::CommandReported {
                command,
                status,
                results,
                items,
                ..
            } if command.0 == id => Some((*status, results.clone(), items.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{id} not reported: {:#?}", t.effects))
}

#[test]
fn regression_issue_11_a_multi_item_get_answered_item_by_item_keeps_every_item() {
    let nodes = [
        "./DevDetail/SwV",
        "./DevInfo/Mod",
        "./DevDetail/Ext/Microsoft/DeviceName",
    ];
    // The failing item first, then last: the outcome must not depend on the order.
    for missing in [0, 2] {
        let mut pair = Pair::new(Platform::Windows10);
        for (i, uri) in nodes.iter().enumerate() {
            if i != missing {
                pair.tree.nodes.insert((*uri).into(), format!("value {i}"));
            }
        }
        pair.queue("inventory", CommandClass::Inventory, get_many(&nodes));
        let t = pair.session(Some("Machine"), None, false);
        // The device answered one Status per Item, each with its TargetRef.
        let (_, device_reply) = &t.messages[2];
        let per_item: Vec<_> = device_reply
            .body
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Status(s) if s.cmd == CmdKind::Get => Some(s.target_refs.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(per_item.len(), 3, "{device_reply:#?}");
        let (status, results, items) = reported(&t, "inventory");
        assert_eq!(status, StatusCode::Ok);
        assert_eq!(results.len(), 2, "every item that was read is kept");
        assert!(results.iter().all(|r| r.loc_uri != nodes[missing]));
        assert_eq!(items.total, 3);
        assert_eq!(items.failed.len(), 1);
        assert_eq!(items.failed[0].loc_uri, nodes[missing]);
        assert_eq!(
            items.summary().unwrap(),
            format!("2 of 3 items; {} 404 not found", nodes[missing])
        );
        assert!(
            !t.effects
                .iter()
                .any(|e| matches!(e, Effect::UnmatchedStatus { .. })),
            "no per-item status is taken for a command never sent"
        );
        assert!(matches!(pair.state("inventory"), State::Done(..)));
    }
}

#[test]
fn regression_issue_11_a_multi_item_replace_whose_items_all_fail_is_failed() {
    let mut pair = Pair::new(Platform::Windows10);
    let a = "./Vendor/MSFT/Policy/Config/Camera/AllowCamera";
    let b = "./Vendor/MSFT/Policy/Config/Bluetooth/AllowDiscoverableMode";
    pair.tree.failing.insert(a.into(), StatusCode::BadRequest);
    pair.tree
        .failing
        .insert(b.into(), StatusCode::CommandFailed);
    let mut command = replace(a, "0");
    if let Command::Replace(c) = &mut command {
        let second = replace(b, "0");
        if let Command::Replace(other) = second {
            c.items.push(other.items[0].clone());
        }
    }
    pair.queue("settings", CommandClass::Settings, command);
    let t = pair.session(Some("Maintenance"), Some("user"), false);
    let (status, _, items) = reported(&t, "settings");
    assert_eq!(status, StatusCode::BadRequest, "the first failure speaks");
    assert_eq!(items.failed.len(), 2);
    assert_eq!(
        pair.state("settings"),
        &State::Failed(StatusCode::BadRequest)
    );
}

#[test]
fn regression_issue_11_a_synchdr_500_returns_the_message_commands_to_pending() {
    let mut pair = win81_with_three_queued();
    // The device cannot process the server's first message with commands: it answers its
    // SyncHdr with 500 and nothing else.
    pair.hook = Some(Box::new(|direction, message| {
        if direction == Direction::ToServer && message.header.msg_id == MsgId(2) {
            message
                .body
                .commands
                .retain(|c| matches!(c, Command::Status(s) if s.cmd == CmdKind::SyncHdr));
            if let Command::Status(s) = &mut message.body.commands[0] {
                s.code = StatusCode::CommandFailed;
            }
        }
        Delivery::Deliver
    }));
    let t = pair.session(Some("Machine"), None, false);
    assert!(
        t.effects.iter().any(|e| matches!(
            e,
            Effect::Warning {
                warning: server::SessionWarning::DeviceCouldNotProcess { requeued: 2, .. }
            }
        )),
        "{:#?}",
        t.effects
    );
    // Back to pending with their identity, the attempt counted; the session went on and ended
    // without sending them again.
    assert_eq!(pair.state("reset-password"), &State::Pending);
    assert_eq!(pair.state("inventory"), &State::Pending);
    assert_eq!(pair.attempts("reset-password"), 1);
    assert!(t.effects.iter().any(|e| matches!(
        e,
        Effect::SessionEnded {
            outcome: SessionOutcome::Completed
        }
    )));
    assert_eq!(ids(&t.delivered), ["reset-password", "inventory"]);

    pair.hook = None;
    let t = pair.session(Some("Machine"), None, false);
    assert_eq!(ids(&t.delivered), ["reset-password", "inventory"]);
    assert!(matches!(pair.state("reset-password"), State::Done(..)));
    assert_eq!(pair.attempts("reset-password"), 2);
}

#[test]
fn regression_issue_11_package_1_with_a_msgref_0_synchdr_500_is_a_warning_not_a_failure() {
    let xml = include_str!("../../testdata/win10-msgref0-synchdr-500-pkg1.xml");
    let message = casement_syncml::parse(xml.as_bytes()).unwrap();
    let pending = [PendingCommand {
        id: CommandRef("inventory".into()),
        class: CommandClass::Inventory,
        command: get("./DevDetail/SwV"),
        expires_at: None,
    }];
    let step = casement_dm::server::start(
        0,
        &message,
        ModeParam::parse(Some("Maintenance")),
        &pending,
        &Default::default(),
    );
    assert!(step.effects.contains(&Effect::Warning {
        warning: server::SessionWarning::DeviceCouldNotProcess {
            msg_ref: MsgId(0),
            status: StatusCode::CommandFailed,
            requeued: 0,
        }
    }));
    // The session goes on: the device's commands are answered and the pending Get is sent.
    assert!(step.next.is_some());
    assert!(
        step.effects
            .iter()
            .any(|e| matches!(e, Effect::CommandSent { .. }))
    );
    assert!(matches!(&step.reply.body.commands[0], Command::Status(s) if s.code == StatusCode::Ok));
}

#[test]
fn regression_issue_11_a_devid_other_than_the_certificate_device_is_a_warning_not_stored() {
    let xml = include_str!("../../testdata/win10-07-session1-client-msg1.xml").replacen(
        "<Data>B5B954E81FBCB94EB79BD08BE625F4EE</Data>",
        "<Data>SOMEONE-ELSE</Data>",
        1,
    );
    let message = casement_syncml::parse(xml.as_bytes()).unwrap();
    let step = casement_dm::server::start(
        0,
        &message,
        ModeParam::Maintenance,
        &[],
        &Default::default(),
    );
    let Some(Effect::DeviceInfo { items }) = step
        .effects
        .iter()
        .find(|e| matches!(e, Effect::DeviceInfo { .. }))
    else {
        panic!("no DeviceInfo");
    };
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|i| i.loc_uri != "./DevInfo/DevId"));
    assert!(step.effects.contains(&Effect::Warning {
        warning: server::SessionWarning::DevIdMismatch {
            reported: "SOMEONE-ELSE".into(),
            device_id: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
        }
    }));
}
