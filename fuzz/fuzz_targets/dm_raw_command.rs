//! Arbitrary text into the command catalog: raw SyncML an administrator queues (read with
//! `casement_syncml::parse_fragment`, then the catalog's checks) and, in the other mode, any
//! command request as the API's JSON.
//!
//! The first byte picks the mode (`seed.sh` writes it in front of every seed): even, raw SyncML
//! declared with class `CommandClass::ALL[(b / 2) % 6]`; odd, a JSON `CommandRequest` for a
//! Windows 8.1 (`(b / 2)` even) or Windows 10/11 device.
//!
//! Besides "no panic", it asserts for every command the catalog accepts: it has the placeholder
//! CmdID (nested ones included); it writes to SyncML that reads back to the same command; raw
//! specs keep the declared class, are secret when the class or a LocURI says so, and queueing the
//! written command again as raw gives the same spec (the checks are idempotent). A refused raw
//! text points into the administrator's text (offset within it, path from `/`, never through the
//! wrapper the catalog puts around bare siblings).

#![no_main]

use casement_dm::CommandClass;
use casement_dm::catalog::{self, CatalogContext, CatalogError, CommandRequest, WnsIdentity};
use casement_dm::device::Platform;
use casement_syncml::{CmdId, Command, Fragment, command_to_string, parse_fragment};
use libfuzzer_sys::fuzz_target;

fn context(platform: Platform) -> CatalogContext {
    CatalogContext {
        platform,
        device_id: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
        provider_id: "Casement".into(),
        wns: Some(WnsIdentity {
            app_id: "casement".into(),
            package_family_name: "Casement.Agent_8wekyb3d8bbwe".into(),
        }),
    }
}

fn placeholder_ids(command: &Command) {
    assert_eq!(command.cmd_id(), CmdId(1), "CmdID is not the placeholder");
    if let Command::Atomic(c) | Command::Sequence(c) = command {
        c.commands.iter().for_each(placeholder_ids);
    }
}

fn round_trip(command: &Command) -> String {
    let written = command_to_string(command);
    match parse_fragment(written.as_bytes()) {
        Ok(Fragment::Command(again)) => assert!(
            again == *command,
            "the written command reads back differently\nwritten: {written}\nfirst: {command:?}\nagain: {again:?}"
        ),
        Ok(other) => panic!("the written command reads back as {other:?}\nwritten: {written}"),
        Err(e) => panic!("the written command is refused: {e}\nwritten: {written}"),
    }
    written
}

fn raw(class: CommandClass, syncml: &str) {
    let request = CommandRequest::Raw {
        class,
        syncml: syncml.to_owned(),
    };
    // The raw path does not depend on the platform.
    let result = catalog::build(&request, &context(Platform::Windows10));
    assert_eq!(
        result,
        catalog::build(&request, &context(Platform::Windows81)),
        "raw SyncML is read differently per platform"
    );
    match result {
        Ok(specs) => {
            assert!(!specs.is_empty());
            for spec in &specs {
                assert_eq!(spec.class, class);
                assert!(!spec.label.is_empty());
                placeholder_ids(&spec.command);
                let mut uris = Vec::new();
                collect_uris(&spec.command, &mut uris);
                let secret = class == CommandClass::PasswordReset
                    || uris.iter().any(|u| catalog::carries_secret(u));
                assert_eq!(spec.secret, secret);
                let written = round_trip(&spec.command);
                let again = catalog::build(
                    &CommandRequest::Raw {
                        class,
                        syncml: written.clone(),
                    },
                    &context(Platform::Windows10),
                );
                match again {
                    Ok(again) => assert!(
                        again.len() == 1 && again[0] == *spec,
                        "queueing the written command again differs\nwritten: {written}"
                    ),
                    Err(e) => {
                        panic!("the written command is refused when queued again: {e}\n{written}")
                    }
                }
            }
        }
        Err(CatalogError::InvalidRaw(e)) => {
            assert!(
                e.offset <= syncml.len(),
                "offset {} past the text",
                e.offset
            );
            assert!(e.path.starts_with('/'), "path {:?}", e.path);
            // The bare-siblings wrapper is <Commands>: a path may only name it if the
            // administrator wrote an element of that name (or one starting with it).
            assert!(
                !e.path.starts_with("/Commands") || syncml.contains("<Commands"),
                "path {:?} names our wrapper",
                e.path
            );
        }
        Err(_) => {}
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

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode % 2 == 0 {
        let class = CommandClass::ALL[usize::from(mode / 2) % CommandClass::ALL.len()];
        raw(class, text);
        return;
    }
    let platform = if (mode / 2) % 2 == 0 {
        Platform::Windows81
    } else {
        Platform::Windows10
    };
    let Ok(request) = serde_json::from_str::<CommandRequest>(text) else {
        return;
    };
    if let Ok(specs) = catalog::build(&request, &context(platform)) {
        assert!(!specs.is_empty());
        for spec in &specs {
            assert!(!spec.label.is_empty());
            placeholder_ids(&spec.command);
            round_trip(&spec.command);
        }
    }
    // What the API stores is the request's JSON: it must read back the same.
    let json = serde_json::to_string(&request).expect("a request serialises");
    assert_eq!(
        serde_json::from_str::<CommandRequest>(&json).ok().as_ref(),
        Some(&request),
        "{json}"
    );
});
