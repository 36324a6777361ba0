//! The portal and the console in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, with fantoccini), against the real server over HTTPS, with the simulator's
//! Windows 8.1 device and its WNS endpoint (as in `e2e_push.rs`).
//!
//! - Portal: a user signs in, installs an app on their PC with one click, the server pushes,
//!   the simulated PC runs its Apps session, and the page shows "Installed" by itself.
//! - Console: an administrator signs in, finds the device, queues push configuration and sees
//!   it wait for a Maintenance session (still after a Machine session).
//! - Console, issue 14: a profile created with the form and assigned, verified on a Windows 11
//!   PC, and a user profile waiting for its user, in the list, the profile's page and the
//!   device's profiles.
//!
//! Screenshots of every page go to `target/screenshots/` (or `$CASEMENT_SCREENSHOTS`).
//! Without `chromium` and `chromedriver` (Debian packages `chromium`, `chromium-driver`) the
//! tests skip with a message, except with `CI=true`, where they fail.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use casement_server::{RawConfig, Server};
use casement_sim::agent::{Agent, Event};
use casement_sim::wns::{WnsEndpoint, WnsEndpointConfig};
use casement_sim::{AuthMode, EnrollOptions, WindowsRelease, enroll};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "a long admin password";
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_a_user_installs_an_app_and_watches_it_reach_installed() {
    let Some(browser) = Browser::start_or_skip("portal").await else {
        return;
    };
    let env = Env::start().await;
    let mut agent = env.agent().await;
    let id = agent.device().device_id.clone();
    let mut pushes = env.wns.subscribe();
    // The user logs on to the PC: the Maintenance session configures its push channel.
    let now = time::OffsetDateTime::now_utc();
    agent.event(Event::Logon, now).await;
    let app = json!({ "name": "Contoso Notes", "version": "1.0", "payloads": { "windows-8.1": { "type": "app-install-job", "job_data": "<Job PackageFullName=\"Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe\"/>", "package_full_name": "Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe" } } });
    let (status, app) = env.post("/apps", app).await;
    assert_eq!(status, 201, "{app}");

    let b = &browser.client;
    // Signed in, the portal's home page: its address is /portal, and only it has the catalog.
    browser
        .sign_in(
            &env.url("/portal"),
            ("upn", "alice@contoso.com", PASSWORD),
            "portal-01-sign-in",
            |at| at == "/portal",
            Locator::Id("install-list"),
        )
        .await;
    let heading = browser.text(Locator::Css("main h1")).await;
    assert_eq!(heading, "Hello, alice@contoso.com");
    let card = browser.text(Locator::Css("article.card")).await;
    assert!(
        card.contains("Windows 8.1") && card.contains("while you were signed in"),
        "{card}"
    );
    assert!(
        card.contains("Ready") && card.contains("Installs start right away."),
        "{card}"
    );
    browser.shot("portal-02-devices-and-apps").await;

    // One click. The page's script requests it through the JSON API (no reload); the row of the
    // new install exists only once the server accepted it.
    b.find(Locator::Css("form.install button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = browser
        .text(Locator::Css("#install-list li[data-install-id]"))
        .await;
    assert!(text.contains("Contoso Notes 1.0 on"), "{text}");
    browser.shot("portal-03-install-requested").await;

    // The server pushes through WNS; the push starts MDMAgent -App: an Apps session installs.
    let pushed = tokio::time::timeout(WAIT, pushes.recv())
        .await
        .expect("a push")
        .unwrap();
    assert_eq!(pushed, id);
    let entry = agent
        .event(Event::Push, now + time::Duration::minutes(1))
        .await;
    assert_eq!(entry.session.as_ref().unwrap().mode, "Apps");

    // The page follows by itself (no reload): the PC got the install and is working on it (the
    // simulated job runs on after the session, so the check sent with it finds it unfinished).
    browser
        .wait_for(Locator::Css("#install-list li[data-status=delivered]"))
        .await;
    // The server wakes the PC again; the next Apps session confirms the app is installed.
    let pushed = tokio::time::timeout(WAIT, pushes.recv())
        .await
        .expect("a confirmation push")
        .unwrap();
    assert_eq!(pushed, id);
    agent
        .event(Event::Push, now + time::Duration::minutes(2))
        .await;
    // The script updates the row in place (attribute and text in one task), so the text read
    // here is the installed row's.
    let text = browser
        .text(Locator::Css("#install-list li[data-status=installed]"))
        .await;
    assert!(
        text.contains("Installed") && text.contains("the app is installed (version 1.0.0.0)"),
        "{text}"
    );
    browser.shot("portal-04-installed").await;
    b.set_window_size(390, 844).await.unwrap();
    browser
        .reload_then(Locator::Css("#install-list li[data-status=installed]"))
        .await;
    browser.shot("portal-05-phone").await;
    browser.stop().await;
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_an_administrator_finds_the_device_and_queues_a_command_that_waits_for_maintenance()
{
    let Some(browser) = Browser::start_or_skip("console").await else {
        return;
    };
    let env = Env::start().await;
    let (status, body) = env
        .post(
            "/admins",
            json!({ "username": ADMIN, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut agent = env.agent().await;
    let id = agent.device().device_id.clone();
    let now = time::OffsetDateTime::now_utc();
    agent.event(Event::Logon, now).await;
    let app = json!({ "name": "Contoso Notes", "version": "1.0", "payloads": { "windows-8.1": { "type": "app-install-job", "job_data": "<Job/>" } } });
    env.post("/apps", app).await;

    let b = &browser.client;
    browser
        .sign_in(
            &env.url("/console"),
            ("username", ADMIN, ADMIN_PASSWORD),
            "console-01-sign-in",
            |at| at == "/console",
            Locator::Css("figure.chart svg"),
        )
        .await;
    browser.shot("console-02-dashboard").await;

    // Find the device.
    let search = browser
        .click_to_page(
            Locator::LinkText("Devices"),
            |at| at == "/console/devices",
            Locator::Id("q"),
        )
        .await;
    search.send_keys(&id).await.unwrap();
    browser
        .click_to_page(
            Locator::Css("form[role=search] button"),
            |at| at.starts_with("/console/devices?") && at.contains("q="),
            Locator::Id("result-count"),
        )
        .await;
    let count = browser.text(Locator::Id("result-count")).await;
    assert!(count.starts_with("1 device matches."), "{count}");
    browser.shot("console-03-devices").await;
    browser
        .click_to_page(
            Locator::Css("table a[href^='/console/devices/']"),
            |at| at.starts_with("/console/devices/"),
            Locator::Css("dl.facts"),
        )
        .await;
    let facts = browser.text(Locator::Css("dl.facts")).await;
    assert!(
        facts.contains(&id) && facts.contains("alice@contoso.com"),
        "{facts}"
    );
    browser.shot("console-04-device").await;

    // Queue push configuration: it waits for a Maintenance session. The answer is the device's
    // page again, at an address that says what was done.
    browser
        .click_to_page(
            Locator::Css("form:has(input[value=push-config]) button"),
            |at| at.contains("done=queued"),
            Locator::Css("#queue tr[data-state=pending] .waits"),
        )
        .await;
    let pending = browser
        .text(Locator::Css("#queue tr[data-state=pending] .waits"))
        .await;
    assert_eq!(pending, "waits for a Maintenance session");
    let notice = browser.text(Locator::Css("p.notice")).await;
    assert!(notice.contains("queued"), "{notice}");
    browser
        .shot("console-05-queued-waits-for-maintenance")
        .await;

    // A reboot: a Machine session cannot carry it; it still waits. The reloaded page is the one
    // that lists the Machine session. The device is put under investigation first, so that
    // this session — idle: it carries nothing — keeps its messages (issue 17,
    // docs/retention.md).
    browser
        .click_to_page(
            Locator::Css("#recording button"),
            |at| at.contains("done=recording"),
            Locator::Css("#recording-on"),
        )
        .await;
    let recording = browser.text(Locator::Css("#recording-on")).await;
    assert!(
        recording.contains("every session keeps its messages until"),
        "{recording}"
    );
    browser.shot("console-23-device-under-investigation").await;
    agent
        .event(Event::Reboot, now + time::Duration::minutes(1))
        .await;
    browser
        .reload_then(Locator::Css("#queue tr[data-state=pending] .waits"))
        .await;
    let pending = browser
        .text(Locator::Css("#queue tr[data-state=pending] .waits"))
        .await;
    assert_eq!(pending, "waits for a Maintenance session");
    let sessions = b
        .find_all(Locator::Css("a[href^='/console/sessions/']"))
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2, "the Maintenance and the Machine session");
    let newest = sessions[0].attr("href").await.unwrap().unwrap();
    browser
        .click_to_page(
            Locator::Css(&format!("a[href='{newest}']")),
            |at| at == newest,
            Locator::Css(".exchange pre"),
        )
        .await;
    let h1 = browser.text(Locator::Css("main h1")).await;
    assert!(h1.starts_with("Machine session"), "{h1}");
    browser.shot("console-06-session-syncml").await;

    for (path, name, only_there) in [
        (
            "/console/apps",
            "console-07-apps",
            "a[href='/console/apps'][aria-current=page]",
        ),
        (
            "/console/users",
            "console-08-users",
            "a[href='/console/users'][aria-current=page]",
        ),
        // Issue 15: the roles table, accounts and personal API tokens.
        ("/console/team", "console-11-team-roles", "#roles"),
        // Last: the audit log is read below.
        ("/console/audit", "console-09-audit", "#audit"),
    ] {
        browser
            .goto_then(&env.url(path), Locator::Css(only_there))
            .await;
        browser.shot(name).await;
    }
    let audit = browser.text(Locator::Id("audit")).await;
    assert!(
        audit.contains("admin:root") && audit.contains("command.queue"),
        "{audit}"
    );
    b.set_window_size(390, 844).await.unwrap();
    browser
        .goto_then(&env.url("/console/devices"), Locator::Id("result-count"))
        .await;
    browser.shot("console-10-devices-phone").await;
    browser.stop().await;
    env.server.shutdown().await;
}

/// Issue 15: the console's device actions page. The administrator types the device's name to
/// confirm a wipe (a wrong name is refused with the reason); the queued wipe waits for the next
/// session; the simulated Windows 11 PC runs it in a session without a user and the page then
/// says the device is retired: "wipe acknowledged — the PC is resetting".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_an_administrator_wipes_a_windows_11_pc_after_typing_its_name() {
    let Some(browser) = Browser::start_or_skip("console-wipe").await else {
        return;
    };
    let env = Env::start().await;
    let (status, body) = env
        .post(
            "/admins",
            json!({ "username": ADMIN, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut agent = env.agent_of(WindowsRelease::Windows11).await;
    let id = agent.device().device_id.clone();
    let device: Value = env
        .http
        .get(env.url(&format!("/api/v1/devices/{id}")))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let name = device["name"].as_str().unwrap_or(&id).to_owned();
    let page = format!("/console/devices/{id}/actions");

    browser
        .sign_in(
            &env.url("/console"),
            ("username", ADMIN, ADMIN_PASSWORD),
            "console-12-sign-in-for-actions",
            |at| at == "/console",
            Locator::Css("figure.chart svg"),
        )
        .await;
    // The device page links to its actions page.
    browser
        .goto_then(
            &env.url(&format!("/console/devices/{id}")),
            Locator::Id("device-actions-link"),
        )
        .await;
    browser
        .click_to_page(
            Locator::Id("device-actions-link"),
            |at| at == page,
            Locator::Id("wipe-confirm"),
        )
        .await;
    browser.shot("console-13-device-actions").await;

    // A wrong name: refused, with the reason.
    browser
        .wait_for(Locator::Id("wipe-confirm"))
        .await
        .send_keys("SOME-OTHER-PC")
        .await
        .unwrap();
    browser
        .click_to_page(
            Locator::Id("wipe-submit"),
            |at| at == page,
            Locator::Css("p.error[role=alert]"),
        )
        .await;
    let refused = browser.text(Locator::Css("p.error[role=alert]")).await;
    assert!(
        refused.contains("a wipe names the device it wipes"),
        "{refused}"
    );
    browser.shot("console-14-wipe-wrong-name").await;

    // The device's name typed: the wipe is queued and waits for the next session.
    browser
        .wait_for(Locator::Id("wipe-confirm"))
        .await
        .send_keys(&name)
        .await
        .unwrap();
    browser
        .click_to_page(
            Locator::Id("wipe-submit"),
            |at| at == page,
            Locator::Id("action-notice"),
        )
        .await;
    let waits = browser
        .text(Locator::Css(
            "#action-commands tr[data-state=pending] .waits",
        ))
        .await;
    assert_eq!(waits, "waits for the next session");
    browser.shot("console-15-wipe-queued").await;

    // The PC restarts: a session without a user carries the wipe; the device is retired.
    agent
        .event(Event::Reboot, time::OffsetDateTime::now_utc())
        .await;
    // (Opened again, not reloaded: a reload would post the form again.)
    browser
        .goto_then(
            &env.url(&page),
            Locator::Css("#action-commands tr[data-state=done]"),
        )
        .await;
    let retired = browser.text(Locator::Css("main p.error")).await;
    assert!(
        retired.contains("wipe acknowledged — the PC is resetting"),
        "{retired}"
    );
    browser.shot("console-16-wiped-and-retired").await;
    browser.stop().await;
    env.server.shutdown().await;
}

/// Issue 14: the console's profiles. The administrator creates a device profile with the form
/// (a wrong value is refused with the validation's reason), assigns it to all devices on its
/// page; a user profile is added through the API. The simulated Windows 11 PC restarts: its
/// session without a user writes and reads back the device profile (verified), while the user
/// profile waits for alice to sign in. The list, the profile's page and the device's profiles
/// say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_console_profiles_list_and_a_devices_profiles() {
    const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
    const SPOTLIGHT: &str = "./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight";
    let Some(browser) = Browser::start_or_skip("console-profiles").await else {
        return;
    };
    let env = Env::start().await;
    let (status, body) = env
        .post(
            "/admins",
            json!({ "username": ADMIN, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut agent = env.agent_of(WindowsRelease::Windows11).await;

    browser
        .sign_in(
            &env.url("/console"),
            ("username", ADMIN, ADMIN_PASSWORD),
            "console-17-sign-in-for-profiles",
            |at| at == "/console",
            Locator::Css("figure.chart svg"),
        )
        .await;
    browser
        .click_to_page(
            Locator::LinkText("Profiles"),
            |at| at == "/console/profiles",
            Locator::Id("create-profile"),
        )
        .await;

    // The form: a value that is not an int is refused with the validation's reason.
    let b = &browser.client;
    let on_page = &browser;
    let fill = move |field: &'static str, text: &'static str| async move {
        let input = on_page.wait_for(Locator::Id(field)).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    };
    fill("profile-name", "Camera off").await;
    b.find(Locator::Id("platform-windows-10"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill("profile-loc-uri", CAMERA).await;
    fill("profile-value", "off").await;
    browser
        .click_to_page(
            Locator::Id("create-profile-submit"),
            |at| at == "/console/profiles",
            Locator::Css("p.error[role=alert]"),
        )
        .await;
    let refused = browser.text(Locator::Css("p.error[role=alert]")).await;
    assert!(
        refused.contains(&format!(
            "setting 1 ({CAMERA}): value \"off\" is not an int"
        )),
        "{refused}"
    );
    browser.shot("console-18-profile-refused").await;

    // Corrected (the form kept the rest): the new profile's page; assigned to all devices.
    fill("profile-value", "0").await;
    browser
        .click_to_page(
            Locator::Id("create-profile-submit"),
            |at| at.starts_with("/console/profiles/") && at.ends_with("?done=profile"),
            Locator::Id("assign-form"),
        )
        .await;
    browser
        .click_to_page(
            Locator::Id("assign-submit"),
            |at| at.contains("done=assigned"),
            Locator::Id("profile-devices"),
        )
        .await;
    let profile_page = browser.address().await;
    let profile_page = profile_page.split('?').next().unwrap().to_owned();
    let (status, spotlight) = env
        .post(
            "/profiles",
            json!({ "name": "No Spotlight", "platforms": ["windows-10"], "scope": "user",
                    "settings": [{ "loc_uri": SPOTLIGHT, "format": "int", "value": "0" }] }),
        )
        .await;
    assert_eq!(status, 201, "{spotlight}");
    let (status, body) = env
        .post(
            &format!(
                "/profiles/{}/assignments",
                spotlight["id"].as_str().unwrap()
            ),
            json!({ "group": "all-devices" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The PC restarts: nobody signed in. The device profile is written and read back.
    agent
        .event(Event::Reboot, time::OffsetDateTime::now_utc())
        .await;

    browser
        .goto_then(&env.url("/console/profiles"), Locator::Id("profiles"))
        .await;
    let rows = browser.text(Locator::Id("profiles")).await;
    assert!(
        rows.contains("Camera off") && rows.contains("1 verified"),
        "{rows}"
    );
    assert!(
        rows.contains("No Spotlight")
            && rows.contains("1 pending — wait for their users to sign in"),
        "{rows}"
    );
    browser.shot("console-19-profiles").await;

    browser
        .click_to_page(
            Locator::LinkText("Camera off"),
            |at| at == profile_page,
            Locator::Css("#profile-devices tr[data-status=verified]"),
        )
        .await;
    let summary = browser.text(Locator::Id("profile-summary")).await;
    assert_eq!(summary, "1 verified");
    let row = browser
        .text(Locator::Css("#profile-devices tr[data-status=verified]"))
        .await;
    assert!(row.contains(CAMERA) && row.contains("verified"), "{row}");
    // The devices table is below the settings and groups: scrolled to for the screenshot.
    b.execute(
        "document.getElementById('devices-h').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    browser.shot("console-20-profile").await;

    // The device's profiles: verified, and the user profile waits for its user.
    browser
        .click_to_page(
            Locator::Css("#profile-devices a[href^='/console/devices/']"),
            |at| at.starts_with("/console/devices/") && !at.ends_with("/profiles"),
            Locator::Id("device-profiles-link"),
        )
        .await;
    browser
        .click_to_page(
            Locator::Id("device-profiles-link"),
            |at| at.ends_with("/profiles"),
            Locator::Id("device-profiles"),
        )
        .await;
    let waits = browser
        .text(Locator::Css(
            "#device-profiles tr[data-status=pending] .waits",
        ))
        .await;
    assert!(
        waits.starts_with("waits for alice@contoso.com to sign in on "),
        "{waits}"
    );
    let verified = browser
        .text(Locator::Css("#device-profiles tr[data-status=verified]"))
        .await;
    assert!(
        verified.contains("Camera off") && verified.contains(CAMERA),
        "{verified}"
    );
    browser.shot("console-21-device-profiles").await;

    browser
        .goto_then(&env.url("/console/groups"), Locator::Id("groups"))
        .await;
    let groups = browser.text(Locator::Id("groups")).await;
    assert!(groups.contains("every enrolled device"), "{groups}");
    browser.shot("console-22-groups").await;
    browser.stop().await;
    env.server.shutdown().await;
}

/// chromedriver + a headless Chromium session.
struct Browser {
    client: Client,
    driver: Child,
    shots: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a browser session, or says why not: a skip locally, a failure
    /// with `CI=true`.
    async fn start_or_skip(test: &str) -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) = (find("chromium"), find("chromedriver")) else {
            let why =
                "chromium and chromedriver are needed (apt-get install chromium chromium-driver)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why}");
            }
            eprintln!("skipping the {test} browser test: {why}");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("acceptInsecureCerts".into(), json!(true));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--ignore-certificate-errors", "--no-first-run"]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        // chromedriver and Chromium start slowly on a busy machine: give them a minute.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    let shots = screenshots_dir();
                    std::fs::create_dir_all(&shots).unwrap();
                    return Some(Browser {
                        client,
                        driver,
                        shots,
                    });
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no browser session through chromedriver: {last:?}");
    }

    /// Waits (at most [`WAIT`]) for an element of the current page.
    async fn wait_for(&self, what: Locator<'_>) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(what)
            .await
            .unwrap_or_else(|e| panic!("waiting for {what:?}: {e}"))
    }

    /// The text of an element, waited for and read on the current page (no navigation is
    /// expected meanwhile: call it after the page that has `what` is known to be loaded).
    async fn text(&self, what: Locator<'_>) -> String {
        self.wait_for(what).await.text().await.unwrap()
    }

    /// Clicks `target`, which leaves the page: waits until the page it was on is gone (its root
    /// element stale), the address (path and query) satisfies `arrived`, and the new page shows
    /// `then`; returns `then`, found on the new page.
    async fn click_to_page(
        &self,
        target: Locator<'_>,
        arrived: impl Fn(&str) -> bool,
        then: Locator<'_>,
    ) -> Element {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .find(target)
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.arrive(old, arrived, then).await
    }

    /// Reloads the page and waits for `then` on the reloaded one.
    async fn reload_then(&self, then: Locator<'_>) -> Element {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        let at = self.address().await;
        self.client.refresh().await.unwrap();
        self.arrive(old, |now| now == at, then).await
    }

    /// Opens `url` and waits for `then`, an element only that page has.
    async fn goto_then(&self, url: &str, then: Locator<'_>) -> Element {
        let old = self.client.find(Locator::Css("html")).await.ok();
        self.client.goto(url).await.unwrap();
        // "https://host:port/a/b?c" → "/a/b?c"
        let path = format!("/{}", url.splitn(4, '/').nth(3).unwrap_or_default());
        match old {
            Some(old) => self.arrive(old, |now| now.starts_with(&path), then).await,
            None => self.wait_for(then).await,
        }
    }

    /// Opens `url` (a page that sends to the sign-in form), takes the screenshot `shot` of the
    /// form, fills in `(name field, name, password)` and submits; waits for the landing page.
    async fn sign_in(
        &self,
        url: &str,
        (field, name, password): (&str, &str, &str),
        shot: &str,
        arrived: impl Fn(&str) -> bool,
        then: Locator<'_>,
    ) -> Element {
        self.client.goto(url).await.unwrap();
        let input = self.wait_for(Locator::Id(field)).await;
        self.shot(shot).await;
        input.send_keys(name).await.unwrap();
        self.wait_for(Locator::Id("password"))
            .await
            .send_keys(password)
            .await
            .unwrap();
        self.click_to_page(Locator::Css("form button[type=submit]"), arrived, then)
            .await
    }

    /// Waits until `old` (the previous page's root) is stale, the address satisfies `arrived`,
    /// and `then` is on the page.
    async fn arrive(
        &self,
        old: Element,
        arrived: impl Fn(&str) -> bool,
        then: Locator<'_>,
    ) -> Element {
        let deadline = tokio::time::Instant::now() + WAIT;
        // Any command on an element of a page that is gone fails (stale element reference).
        while old.tag_name().await.is_ok() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the page did not change within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        loop {
            let at = self.address().await;
            if arrived(&at) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never arrived: still at {at}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.wait_for(then).await
    }

    /// The current address's path and query (`/console/devices?q=X`).
    async fn address(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// `$CASEMENT_SCREENSHOTS`, or `target/screenshots` of the workspace.
fn screenshots_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CASEMENT_SCREENSHOTS") {
        return dir.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

/// The server with WNS pushes to the simulator's endpoint, a user alice.
struct Env {
    server: Server,
    wns: WnsEndpoint,
    http: reqwest::Client,
    token: String,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut listen = WnsEndpointConfig::new("ms-app://S-1-15-2-1234", "wns-secret");
        listen.listen = "127.0.0.1:0".parse().unwrap();
        let wns = WnsEndpoint::start(listen).await.unwrap();
        let trust = dir.path().join("wns.pem");
        std::fs::write(&trust, wns.certificate_pem()).unwrap();
        let raw = RawConfig {
            data_dir: dir.path().join("server"),
            listen: "127.0.0.1:0".into(),
            wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
            wns_client_id: Some("ms-app://S-1-15-2-1234".into()),
            wns_client_secret: Some("wns-secret".into()),
            wns_token_url: Some(wns.token_url()),
            wns_local_hosts: vec![wns.host_port().to_owned()],
            wns_trust_pem: Some(trust),
            push_interval_seconds: 0,
            ..RawConfig::default()
        };
        let server = Server::start(raw).await.unwrap();
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
            wns,
            http,
            token,
            _dir: dir,
        };
        let (status, body) = env
            .post(
                "/users",
                json!({ "upn": "alice@contoso.com", "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        env
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.local_url())
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1{path}", self.server.local_url()))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn agent(&self) -> Agent {
        self.agent_of(WindowsRelease::Windows81).await
    }

    async fn agent_of(&self, release: WindowsRelease) -> Agent {
        let mut options = EnrollOptions::new(
            format!("{}/EnrollmentServer/Discovery.svc", self.server.local_url()),
            "alice@contoso.com",
            PASSWORD,
            release,
        );
        if release == WindowsRelease::Windows81 {
            options.auth = AuthMode::Federated;
        }
        options.server_tls_pem = Some(self.server.tls_certificate_pem.clone());
        let device = enroll(&options).await.unwrap();
        let mut agent = Agent::new(device, time::OffsetDateTime::now_utc());
        agent.state_mut().wns_endpoint = self.wns.channel_base();
        agent.state_mut().server_tls_pem = Some(self.server.tls_certificate_pem.clone());
        agent
    }
}
