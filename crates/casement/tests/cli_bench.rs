//! `casement bench` runs end to end on a tiny fleet and reports every scenario as a table and as
//! JSON (no figure is checked: timings are never asserted in tests).

use std::process::Command;

#[test]
fn bench_sessions_reports_every_scenario_with_its_ratio_to_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_casement"))
        .args(["bench", "sessions", "--devices", "4", "--rounds", "2"])
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
    assert_eq!(report["setup"]["database"], "sqlite");
}
