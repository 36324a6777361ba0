//! `casement bench` runs end to end on a tiny fleet and reports every scenario as a table and as
//! JSON (no figure is checked: timings are never asserted in tests).

use std::process::Command;

#[test]
fn bench_sessions_reports_every_scenario_with_its_ratio_to_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_casement"))
        .args(["bench", "sessions", "--devices", "4", "--rounds", "2"])
        // Exactly the rounds asked for: no lengthening of short rows (issue 17's --min-seconds).
        .args(["--min-seconds", "0"])
        .args(["--concurrency", "2", "--commands", "2", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("transport ceiling"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let scenarios: Vec<&str> = rows
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        scenarios,
        [
            "transport ceiling: GET /healthz (mTLS)",
            "idle check-in (package 1 → end)",
            "check-in delivering 2 commands",
            "check-in with 10 verified profiles",
            "enrollment (discovery → CSR signed)"
        ]
    );
    for row in rows {
        assert_eq!(row["errors"], 0, "{row}");
        assert!(row["operations"].as_u64().unwrap() > 0, "{row}");
        assert!(row["server_cpu_ms"].is_number(), "{row}");
    }
    assert_eq!(rows[0]["operations"], 8);
    assert_eq!(
        rows[2]["requests_per_operation"], 2.0,
        "statuses come back in a second message"
    );
    assert!(rows[1]["ratio_to_ceiling"].is_number());
    assert!(rows[3]["ratio_to_idle"].is_number(), "{}", rows[3]);
    assert!(rows[1]["ratio_to_idle"].is_null());
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("40 of 40 device × profile rows verified")),
        "every bench device verified the 10 profiles before the measure: {notes:?}"
    );
    assert!(
        stdout.contains("check-in with 10 verified profiles"),
        "{stdout}"
    );
    assert_eq!(report["setup"]["database"], "sqlite");
}

#[test]
fn bench_profiles_reports_the_assignment_and_the_counts_with_their_goals() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_casement"))
        .args(["bench", "profiles", "--devices", "3", "--rounds", "1"])
        .args(["--min-seconds", "0"])
        .args([
            "--concurrency",
            "2",
            "--assigned-to",
            "50",
            "--repeats",
            "2",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let scenarios: Vec<&str> = rows
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        scenarios,
        [
            "transport ceiling: GET /healthz (mTLS)",
            "idle check-in",
            "assign 1 profile to 50 devices (new rows)",
            "unassign it from 50 devices",
            "assign it again to 50 devices",
            "counts for 50 devices: GET /profiles",
            "counts for 50 devices: GET /profiles/{id}",
            "check-ins applying it (write + read-back)",
            "check-in with it verified",
        ]
    );
    for row in rows {
        assert_eq!(row["errors"], 0, "{row}");
        assert!(row["operations"].as_u64().unwrap() > 0, "{row}");
    }
    assert_eq!(rows[2]["operations"], 50, "every device got the profile");
    assert_eq!(rows[3]["operations"], 50);
    assert_eq!(rows[4]["operations"], 50);
    assert_eq!(
        rows[5]["operations"], 2,
        "the counts were read --repeats times"
    );
    assert!(rows[8]["ratio_to_idle"].is_number());
    let notes = report["notes"].to_string();
    assert!(notes.contains("< 1 s of server work"), "{notes}");
    assert!(notes.contains("< 100 ms"), "{notes}");
    assert!(stdout.contains("goal:"), "{stdout}");
}
