//! `casement apply DIR` (issue 14, docs/configuration-as-code.md) run as an administrator would:
//! the real binary against an in-process server on 127.0.0.1 with simulated Windows 10 and 8.1
//! PCs enrolled, so that the plan's device counts are real.

use std::path::Path;
use std::process::Output;

use casement_server::{RawConfig, Server};
use casement_sim::{AuthMode, EnrollOptions, WindowsRelease, enroll};
use serde_json::Value;

const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";

struct Env {
    server: Server,
    http: reqwest::Client,
    token: String,
    dir: tempfile::TempDir,
    // Dropped last: stops the throwaway PostgreSQL server after the Casement server.
    _postgres: Option<casement_store_tests::postgres::TempPostgres>,
}

/// A server with two Windows 10 PCs and one Windows 8.1 PC enrolled.
async fn start() -> Env {
    start_on(None).await
}

/// [`start`] on a throwaway PostgreSQL server when one is given.
async fn start_on(postgres: Option<casement_store_tests::postgres::TempPostgres>) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(RawConfig {
        data_dir: dir.path().join("data"),
        listen: "127.0.0.1:0".into(),
        database: postgres.as_ref().map(|pg| pg.url.clone()),
        ..RawConfig::default()
    })
    .await
    .unwrap();
    std::fs::write(dir.path().join("tls.pem"), &server.tls_certificate_pem).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(server.tls_certificate_pem.as_bytes()).unwrap(),
        ])
        .build()
        .unwrap();
    let token = std::fs::read_to_string(&server.admin_token_path)
        .unwrap()
        .trim()
        .to_owned();
    let env = Env {
        server,
        http,
        token,
        dir,
        _postgres: postgres,
    };
    let created = env
        .http
        .post(env.url("/api/v1/users"))
        .bearer_auth(&env.token)
        .json(&serde_json::json!({"upn": "alice@contoso.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for release in [
        WindowsRelease::Windows10,
        WindowsRelease::Windows11,
        WindowsRelease::Windows81,
    ] {
        let mut o = EnrollOptions::new(
            env.url("/EnrollmentServer/Discovery.svc"),
            "alice@contoso.com",
            "correct horse battery",
            release,
        );
        o.auth = if release == WindowsRelease::Windows81 {
            AuthMode::Federated
        } else {
            AuthMode::OnPremise
        };
        o.server_tls_pem = Some(env.server.tls_certificate_pem.clone());
        enroll(&o).await.expect("the PC enrolls");
    }
    env
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.local_url())
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        response.json().await.unwrap()
    }

    /// Writes the directory `name` with one file per (file name, text).
    fn write_dir(&self, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir = self.dir.path().join(name);
        for (file, text) in files {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    /// `casement apply DIR [extra…]` against the server.
    async fn apply(&self, dir: &Path, extra: &[&str]) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_casement"))
            .arg("apply")
            .arg(dir)
            .args(extra)
            .arg("--url")
            .arg(self.server.local_url())
            .arg("--ca-cert")
            .arg(self.dir.path().join("tls.pem"))
            .arg("--data-dir")
            .arg(self.dir.path().join("nowhere"))
            .env("CASEMENT_ADMIN_TOKEN", &self.token)
            .env_remove("CASEMENT_URL")
            .output()
            .await
            .unwrap()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

const GROUPS: &str = r#"
[[group]]
name = "Windows 10 PCs"
description = "Every Windows 10 and 11 PC"
kind = "filter"
filter = { platform = "windows-10" }
"#;

const PROFILES: &str = r#"
[[profile]]
name = "Camera off"
description = "No camera on company PCs"
platforms = ["windows-10"]
scope = "device"
groups = ["Windows 10 PCs"]
[[profile.setting]]
loc_uri = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera"
format = "int"
value = "0"
removal = { restore = "1" }

[[profile]]
name = "Unenroll on expiry"
platforms = ["windows-8.1"]
groups = ["all-devices"]
[[profile.setting]]
loc_uri = "./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22/SettingValue"
format = "chr"
value = "true"
removal = "leave"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn issue_14_apply_twice_changes_nothing_the_second_time() {
    apply_twice(start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_apply_twice_changes_nothing_the_second_time_on_postgres() {
    let test = "issue_14_apply_twice_changes_nothing_the_second_time_on_postgres";
    if let Some(pg) = casement_store_tests::postgres::start_or_skip(test) {
        apply_twice(start_on(Some(pg)).await).await;
    }
}

async fn apply_twice(env: Env) {
    let dir = env.write_dir(
        "fleet",
        &[("groups.toml", GROUPS), ("profiles/base.toml", PROFILES)],
    );

    // The plan alone changes nothing and says what would reach how many devices.
    let planned = env.apply(&dir, &[]).await;
    let text = stdout(&planned);
    assert!(planned.status.success(), "{text}{}", stderr(&planned));
    for line in [
        "+ create group \"Windows 10 PCs\" (reaches ? devices: a new filter group is counted once it exists)",
        "+ create profile \"Camera off\" (reaches ? devices: a filter group new or changed here is counted once applied)",
        "+ create profile \"Unenroll on expiry\" (reaches 1 device)",
        "+ assign \"Camera off\" → \"Windows 10 PCs\" (reaches ? devices",
        "+ assign \"Unenroll on expiry\" → \"All devices\" (reaches 1 device)",
        "Plan: 3 to create, 0 to change, 2 to assign, 0 to unassign, 0 to delete.",
        "Nothing was changed: run again with --yes to apply.",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    assert_eq!(
        env.get("/profiles").await["profiles"],
        serde_json::json!([])
    );

    // --yes makes it, in order, and says what the server did.
    let applied = env.apply(&dir, &["--yes"]).await;
    let text = stdout(&applied);
    assert!(applied.status.success(), "{text}{}", stderr(&applied));
    assert!(
        text.contains("counted once applied): done, 2 device(s) added"),
        "{text}"
    );
    assert!(text.contains("Applied 5 change(s)."), "{text}");
    let creates: Vec<usize> = ["create group", "create profile \"Camera off\"", "assign"]
        .iter()
        .map(|s| text.rfind(s).unwrap())
        .collect();
    assert!(creates.windows(2).all(|w| w[0] < w[1]), "{text}");

    // The second time: nothing to do, and nothing is done.
    let again = env.apply(&dir, &[]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), "No changes.\n");
    let again = env.apply(&dir, &["--yes", "--prune"]).await;
    assert_eq!(stdout(&again), "No changes.\n", "{}", stderr(&again));

    // The server has what the files say.
    let groups = env.get("/groups").await;
    let group = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Windows 10 PCs")
        .unwrap()
        .clone();
    assert_eq!(group["devices"], 2);
    assert_eq!(group["members"]["filter"]["platform"], "windows-10");
    let camera = env.get("/profiles/Camera%20off").await;
    assert_eq!(camera["revision"], 1, "not changed by the second run");
    assert_eq!(camera["groups"], serde_json::json!([group["id"]]));
    assert_eq!(camera["description"], "No camera on company PCs");
    assert_eq!(
        camera["settings"],
        serde_json::json!([{ "loc_uri": CAMERA, "format": "int", "value": "0", "removal": { "restore": "1" } }])
    );
    let devices = env
        .get(&format!(
            "/profiles/{}/devices",
            camera["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(devices["devices"].as_array().unwrap().len(), 2);
    let legacy = env.get("/profiles/Unenroll%20on%20expiry").await;
    assert_eq!(legacy["groups"], serde_json::json!(["all-devices"]));
    assert_eq!(legacy["platforms"], serde_json::json!(["windows-8.1"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn issue_14_apply_shows_changes_and_refuses_a_conflict() {
    let env = start().await;
    let dir = env.write_dir(
        "fleet",
        &[("groups.toml", GROUPS), ("profiles.toml", PROFILES)],
    );
    let applied = env.apply(&dir, &["--yes"]).await;
    assert!(applied.status.success(), "{}", stderr(&applied));

    // A changed value is a change of the profile's settings, reaching its devices.
    std::fs::write(
        dir.join("profiles.toml"),
        PROFILES.replace("value = \"0\"", "value = \"1\""),
    )
    .unwrap();
    let planned = env.apply(&dir, &[]).await;
    assert_eq!(
        stdout(&planned),
        "~ change profile \"Camera off\": settings (reaches 2 devices)\n\
         Plan: 0 to create, 1 to change, 0 to assign, 0 to unassign, 0 to delete.\n\
         Nothing was changed: run again with --yes to apply.\n",
        "{}",
        stderr(&planned)
    );
    let changed = env.apply(&dir, &["--yes"]).await;
    assert!(changed.status.success(), "{}", stderr(&changed));
    assert!(
        stdout(&changed).contains(": done, revision 2"),
        "{}",
        stdout(&changed)
    );
    assert_eq!(stdout(&env.apply(&dir, &[]).await), "No changes.\n");
    let camera = env.get("/profiles/Camera%20off").await;
    assert_eq!(camera["settings"][0]["value"], "1");

    // A profile setting the camera node to another value on the same PCs is refused with the
    // server's reason, and the run stops there with a non-zero exit.
    std::fs::write(
        dir.join("more.toml"),
        format!(
            r#"
[[profile]]
name = "Camera blocked"
platforms = ["windows-10"]
groups = ["all-devices"]
[[profile.setting]]
loc_uri = "{CAMERA}"
format = "int"
value = "0"
"#
        ),
    )
    .unwrap();
    let planned = env.apply(&dir, &[]).await;
    let text = stdout(&planned);
    assert!(
        text.contains("+ create profile \"Camera blocked\" (reaches 2 devices)"),
        "{text}"
    );
    assert!(
        text.contains("+ assign \"Camera blocked\" → \"All devices\" (reaches 2 devices)"),
        "{text}"
    );
    let refused = env.apply(&dir, &["--yes"]).await;
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert!(
        err.contains("assign \"Camera blocked\" → \"All devices\"")
            && err.contains("409")
            && err.contains(&format!(
                "profiles \"Camera blocked\" and \"Camera off\" set {CAMERA} to different values"
            )),
        "{err}"
    );
    assert!(err.contains("(1 of 2 changes made)"), "{err}");
    let blocked = env.get("/profiles/Camera%20blocked").await;
    assert_eq!(blocked["groups"], serde_json::json!([]), "not assigned");
    // What is left to do is the refused assignment.
    let planned = env.apply(&dir, &[]).await;
    assert!(
        stdout(&planned).starts_with("+ assign \"Camera blocked\" → \"All devices\""),
        "{}",
        stdout(&planned)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn issue_14_apply_reports_mistakes_in_the_files_without_calling_the_server() {
    let env = start().await;
    let dir = env.write_dir(
        "broken",
        &[(
            "a.toml",
            "[[profile]]\nname = \"P\"\nplatforms = [\"windows-10\"]\ngroups = [\"all-devices\"]\n",
        )],
    );
    let out = env.apply(&dir, &["--yes"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("profile \"P\": a profile needs [[profile.setting]] tables or syncml"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        env.get("/profiles").await["profiles"],
        serde_json::json!([])
    );
}

impl Env {
    /// `casement admin ARGS…` against the server; its JSON output.
    async fn admin(&self, args: &[&str], stdin: Option<&str>) -> (bool, Value, String) {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_casement"))
            .arg("admin")
            .arg("--url")
            .arg(self.server.local_url())
            .arg("--ca-cert")
            .arg(self.dir.path().join("tls.pem"))
            .arg("--token")
            .arg(&self.token)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .await
            .unwrap();
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        (
            out.status.success(),
            serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
            stderr(&out),
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn issue_14_admin_profiles_and_groups_from_the_shell() {
    let env = start().await;
    let group_file = env.dir.path().join("group.json");
    std::fs::write(
        &group_file,
        r#"{"name": "Windows 10 PCs", "kind": "filter", "filter": {"platform": "windows-10"}}"#,
    )
    .unwrap();
    let (ok, group, err) = env
        .admin(
            &["groups", "create", "--file", group_file.to_str().unwrap()],
            None,
        )
        .await;
    assert!(ok, "{err}");
    assert_eq!(group["devices"], 2);
    let (_, groups, _) = env.admin(&["groups", "list"], None).await;
    assert_eq!(groups["groups"].as_array().unwrap().len(), 2, "{groups}");
    let (_, shown, _) = env.admin(&["groups", "show", "Windows 10 PCs"], None).await;
    assert_eq!(shown["device_ids"].as_array().unwrap().len(), 2);

    // The profile from stdin.
    let profile = format!(
        r#"{{"name": "Camera off", "platforms": ["windows-10"], "settings": [{{"loc_uri": "{CAMERA}", "format": "int", "value": "0"}}]}}"#
    );
    let (ok, created, err) = env
        .admin(&["profiles", "create", "--file", "-"], Some(&profile))
        .await;
    assert!(ok, "{err}");
    assert_eq!(created["revision"], 1);
    let (ok, assigned, err) = env
        .admin(
            &["profiles", "assign", "Camera off", "Windows 10 PCs"],
            None,
        )
        .await;
    assert!(ok, "{err}");
    assert_eq!(assigned["devices_added"], 2);
    let (_, devices, _) = env
        .admin(
            &["profiles", "devices", "Camera off", "--status", "pending"],
            None,
        )
        .await;
    assert_eq!(devices["devices"].as_array().unwrap().len(), 2, "{devices}");
    let device = devices["devices"][0]["device_id"].as_str().unwrap();
    let (_, of_device, _) = env.admin(&["devices", "profiles", device], None).await;
    assert_eq!(of_device["profiles"][0]["profile_name"], "Camera off");

    // A conflicting profile: refused with the server's reason, exit code 2.
    let conflicting = profile
        .replace("Camera off", "Camera blocked")
        .replace("\"0\"", "\"1\"");
    let (ok, _, err) = env
        .admin(&["profiles", "create", "--file", "-"], Some(&conflicting))
        .await;
    assert!(ok, "{err}");
    let (ok, _, err) = env
        .admin(
            &["profiles", "assign", "Camera blocked", "all-devices"],
            None,
        )
        .await;
    assert!(!ok);
    assert!(
        err.contains("409") && err.contains("different values"),
        "{err}"
    );

    let (ok, _, err) = env
        .admin(
            &["profiles", "unassign", "Camera off", "Windows 10 PCs"],
            None,
        )
        .await;
    assert!(ok, "{err}");
    let (ok, deleted, err) = env.admin(&["profiles", "delete", "Camera off"], None).await;
    assert!(ok, "{err}");
    assert_eq!(deleted["deleted"], true);
    let (ok, _, err) = env
        .admin(&["groups", "delete", "Windows 10 PCs"], None)
        .await;
    assert!(ok, "{err}");
    let (_, list, _) = env.admin(&["profiles", "list"], None).await;
    assert_eq!(list["profiles"].as_array().unwrap().len(), 1);
}

/// The example of docs/configuration-as-code.md, as written there.
fn documented_example() -> String {
    let doc = include_str!("../../../docs/configuration-as-code.md");
    let start = doc.find("```toml\n").expect("the doc has a toml example") + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn issue_14_the_documented_example_applies_and_then_changes_nothing() {
    let env = start().await;
    let dir = env.write_dir("doc", &[("example.toml", &documented_example())]);
    let applied = env.apply(&dir, &["--yes"]).await;
    assert!(
        applied.status.success(),
        "{}{}",
        stdout(&applied),
        stderr(&applied)
    );
    assert!(
        stdout(&applied).contains("Applied 9 change(s)."),
        "{}",
        stdout(&applied)
    );
    let again = env.apply(&dir, &[]).await;
    assert_eq!(stdout(&again), "No changes.\n", "{}", stderr(&again));
}
