use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::agent::fixtures::{self, FakeServer, NOW};
use crate::agent::{Agent, UserSession};
use crate::enroll::WindowsRelease;
use crate::transcript::Outcome;

fn parse(value: Value) -> Result<Scenario, ScenarioError> {
    Scenario::parse(&value, Path::new("base"), Path::new("devs"), None)
}

fn reason(value: Value) -> String {
    match parse(value) {
        Err(ScenarioError::Invalid { where_, reason }) => format!("{where_}: {reason}"),
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn the_documented_example_parses() {
    let doc = include_str!("../scenario.rs");
    let start = doc.find("```json").unwrap() + 7;
    let end = start + doc[start..].find("```").unwrap();
    let example: String = doc[start..end]
        .lines()
        .map(|l| l.trim_start().trim_start_matches("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let value: Value = serde_json::from_str(&example).unwrap();
    let scenario = parse(value).unwrap();
    assert_eq!(scenario.start, datetime!(2026-11-23 18:00 UTC));
    assert_eq!(scenario.devices["ann"], Path::new("base/devices/ann"));
    let steps: Vec<_> = scenario
        .steps
        .iter()
        .map(|s| (s.at, s.device.as_deref(), s.action.clone()))
        .collect();
    use crate::agent::Event::*;
    assert_eq!(
        steps,
        [
            (
                datetime!(2026-11-23 18:00 UTC),
                Some("ann"),
                Action::Event(Logon)
            ),
            (
                datetime!(2026-11-23 19:00 UTC),
                Some("ann"),
                Action::Event(Lock)
            ),
            (
                datetime!(2026-11-23 20:00 UTC),
                Some("bob"),
                Action::Event(Logoff)
            ),
            (
                datetime!(2026-11-24 02:00 UTC),
                Some("ann"),
                Action::Event(Nightly)
            ),
            (
                datetime!(2026-11-24 02:00 UTC),
                Some("bob"),
                Action::Event(Nightly)
            ),
            (
                datetime!(2026-11-24 02:00 UTC),
                Some("ann"),
                Action::Event(Push)
            ),
            (
                datetime!(2026-11-24 02:00 UTC),
                None,
                Action::Wait(datetime!(2026-11-26 02:00 UTC))
            ),
            (
                datetime!(2026-11-26 09:00 UTC),
                Some("ann"),
                Action::Event(Interactive)
            ),
            (
                datetime!(2026-11-26 09:00 UTC),
                Some("bob"),
                Action::Event(Reboot)
            ),
            (
                datetime!(2026-11-26 09:00 UTC),
                Some("ann"),
                Action::ChangeSetting {
                    node: "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera".into(),
                    value: "1".into()
                }
            ),
        ]
    );
}

#[test]
fn a_plain_list_uses_the_default_directory_and_the_earliest_time() {
    let scenario = parse(json!([
        { "device": "ann", "event": "logon", "at": "2026-11-24T08:00:00Z" },
        { "device": "ann", "event": "wait", "until": 3600 },
    ]))
    .unwrap();
    assert_eq!(scenario.start, datetime!(2026-11-24 08:00 UTC));
    assert_eq!(scenario.devices["ann"], Path::new("devs/ann"));
    assert_eq!(
        scenario.steps[1].action,
        Action::Wait(datetime!(2026-11-24 09:00 UTC))
    );
}

#[test]
fn invalid_scenarios_say_where_and_why() {
    let cases = [
        (
            json!([{ "device": "a", "event": "dance" }]),
            "events[0]: unknown event",
        ),
        (
            json!([{ "device": "a", "event": "logon", "at": "2026-11-24T08:00:00Z" },
                   { "device": "a", "event": "logon", "at": "2026-11-24T07:00:00Z" }]),
            "events[1]: at 2026-11-24T07:00:00Z is before",
        ),
        (json!([{ "event": "wait" }]), "events[0]: wait needs"),
        (
            json!([{ "event": "logon" }]),
            "events[0]: device is required",
        ),
        (
            json!([{ "device": "a", "event": "logon", "sconds": 1 }]),
            "events[0]: unknown field",
        ),
        (
            json!([{ "device": "a", "event": "logon", "seconds": 1 }]),
            "events[0]: seconds and until",
        ),
        (
            json!([{ "device": "a", "event": "logon", "at": "noon" }]),
            "events[0].at: \"noon\" is not",
        ),
        (json!({ "events": [], "extra": 1 }), "extra: unknown field"),
        (json!({ "start": 5, "events": [] }), "start: must be"),
        (json!("hello"), ": expected a list"),
        (
            json!([{ "device": "a", "event": "change-setting", "node": "./X" }]),
            "events[0]: change-setting needs a value",
        ),
        (
            json!([{ "device": "a", "event": "change-setting", "value": 1 }]),
            "events[0]: change-setting needs a node",
        ),
        (
            json!([{ "event": "change-setting", "node": "./X", "value": 1 }]),
            "events[0]: device is required",
        ),
        (
            json!([{ "device": "a", "event": "logon", "node": "./X" }]),
            "events[0]: node and value belong to change-setting",
        ),
    ];
    for (value, expected) in cases {
        let got = reason(value);
        assert!(
            got.starts_with(expected),
            "{got:?} should start with {expected:?}"
        );
    }
}

#[tokio::test]
async fn a_scenario_runs_every_device_and_writes_its_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let ann = dir.path().join("ann");
    let bob = dir.path().join("bob");
    let mut bob_device = fixtures::device(WindowsRelease::Windows10);
    bob_device.device_id = "BOB00000000000000000000000000000".into();
    Agent::new(fixtures::device(WindowsRelease::Windows81), NOW).save_all(&ann);
    Agent::new(bob_device, NOW).save_all(&bob);
    let server = FakeServer::new(vec![]);
    let transcript_path = dir.path().join("out/transcript.json");
    let options = ScenarioOptions {
        devices_dir: dir.path().to_owned(),
        transcript_path: Some(transcript_path.clone()),
        ..ScenarioOptions::default()
    };
    let scenario = json!({
        "start": "2026-11-24T01:00:00Z",
        "events": [
            { "device": "bob", "event": "logoff" },
            { "device": "ann", "event": "nightly" },
            { "at": 3600, "device": "ann", "event": "nightly" },
            { "event": "wait", "seconds": 86400 },
            { "device": "ann", "event": "push" },
            { "device": "bob", "event": "interactive" },
        ]
    });
    let transcript = run_scenario_with(scenario, &options, &server)
        .await
        .unwrap();
    let rows: Vec<_> = transcript
        .sessions
        .iter()
        .map(|e| {
            (
                e.device.as_str(),
                e.event.as_str(),
                e.session.as_ref().map(|s| s.mode.as_str()),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("bob", "logoff", None),
            ("ann", "nightly", None),
            ("ann", "nightly", Some("Maintenance")),
            ("ann", "nightly", Some("Maintenance")),
            ("bob", "nightly", Some("Machine")),
            ("ann", "push", Some("Apps")),
            ("bob", "interactive", Some("Maintenance")),
        ]
    );
    assert_eq!(transcript.summary.sessions, 5);
    assert_eq!(transcript.summary.outcomes["completed"], 5);
    assert_eq!(transcript.finished_at, datetime!(2026-11-25 02:00 UTC));
    assert!(
        transcript
            .sessions
            .iter()
            .filter_map(|e| e.session.as_ref())
            .all(|s| s.outcome == Outcome::Completed)
    );
    let written: Transcript =
        serde_json::from_slice(&std::fs::read(&transcript_path).unwrap()).unwrap();
    assert_eq!(written, transcript);
    // The states were saved.
    let bob = Agent::load(&bob).unwrap();
    assert_eq!(bob.state().user, UserSession::LoggedOff);
    assert_eq!(bob.state().next_session_id, 3);
    assert_eq!(bob.state().clock, datetime!(2026-11-25 02:00 UTC));
}

#[tokio::test]
async fn change_setting_steps_change_the_device_without_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let ann = dir.path().join("ann");
    Agent::new(fixtures::device(WindowsRelease::Windows10), NOW).save_all(&ann);
    let options = ScenarioOptions {
        devices_dir: dir.path().to_owned(),
        ..ScenarioOptions::default()
    };
    let camera = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
    let transcript = run_scenario_with(
        json!({
            "start": "2026-11-24T10:00:00Z",
            "events": [
                { "device": "ann", "event": "change-setting", "node": camera, "value": 1 },
                { "at": 60, "device": "ann", "event": "change-setting", "node": camera, "value": "0" },
                { "device": "ann", "event": "change-setting", "node": camera, "value": "9" },
            ]
        }),
        &options,
        &FakeServer::new(vec![]),
    )
    .await
    .unwrap();
    assert!(transcript.sessions.is_empty());
    let changes = &transcript.setting_changes;
    assert_eq!(changes.len(), 3);
    assert_eq!(
        changes[0].after.as_ref().map(|v| v.data.as_str()),
        Some("1")
    );
    assert_eq!(changes[1].at, datetime!(2026-11-24 10:01 UTC));
    assert_eq!(
        changes[1].before.as_ref().map(|v| v.data.as_str()),
        Some("1")
    );
    assert!(
        changes[2]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("500"))
    );
    assert_eq!(transcript.finished_at, datetime!(2026-11-24 10:01 UTC));
    // Saved.
    let ann = Agent::load(&ann).unwrap();
    assert_eq!(
        ann.state().tree.settings["./Vendor/MSFT/Policy/Config/Camera/AllowCamera"].data,
        "0"
    );
}

#[tokio::test]
async fn a_missing_device_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let options = ScenarioOptions {
        devices_dir: dir.path().to_owned(),
        no_save: true,
        ..ScenarioOptions::default()
    };
    let err = run_scenario_with(
        json!([{ "device": "ghost", "event": "logon" }]),
        &options,
        &FakeServer::new(vec![]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ScenarioError::Device { ref name, .. } if name == "ghost"),
        "{err}"
    );
}

impl Agent {
    fn save_all(&self, dir: &Path) {
        self.device().save(dir).unwrap();
        self.save(dir).unwrap();
    }
}
