//! The portal and the console over real HTTPS with a plain HTTP client (the browser flows are in
//! `crates/casement/tests/e2e_browser.rs`): ownership of every portal id, CSRF on every
//! state-changing request, who may use the console, cookies and sessions, the sign-in rate
//! limit, the console's device list and session page, the audit log.

mod common;

use std::collections::HashMap;

use casement_dm::device::Platform as DmPlatform;
use casement_server::RawConfig;
use casement_server::web::auth::{CONSOLE_COOKIE, LOGIN_COOKIE, PORTAL_COOKIE, token_hash};
use casement_store::{NewCertificate, NewDevice, Platform};
use common::*;
use serde_json::{Value, json};

const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "a long admin password";

/// A browser without a browser: a cookie jar, no redirects followed.
struct Client {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The first hidden `csrf` field's value, or the page's csrf-token meta element.
    fn csrf(&self) -> String {
        for marker in ["name=\"csrf\" value=\"", "name=\"csrf-token\" content=\""] {
            if let Some(start) = self.body.find(marker) {
                let rest = &self.body[start + marker.len()..];
                return rest[..rest.find('"').unwrap()].to_owned();
            }
        }
        panic!("no csrf token in the page:\n{}", self.body);
    }
}

impl Client {
    fn new(h: &Harness) -> Client {
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(
                h.server.tls_certificate_pem.as_bytes(),
            )
            .unwrap()])
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Client {
            http,
            base: h.server.local_url(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header("cookie", self.cookie_header())
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set in headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await.unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let request = self.http.post(format!("{}{path}", self.base)).form(fields);
        self.send(request).await
    }

    async fn json(&mut self, path: &str, body: Value, csrf: Option<&str>) -> Answer {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        self.send(request).await
    }

    /// Signs in to the portal (or the console, `site` = "console"); returns the session's CSRF
    /// token read from the first page.
    async fn sign_in(&mut self, site: &str, name: &str, password: &str) -> String {
        let page = self.get(&format!("/{site}/login")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let field = if site == "portal" { "upn" } else { "username" };
        let answer = self
            .form(
                &format!("/{site}/login"),
                &[
                    ("csrf", &page.csrf()),
                    (field, name),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(answer.status, 303, "sign-in of {name}: {}", answer.body);
        assert_eq!(answer.location(), format!("/{site}"));
        let home = self.get(&format!("/{site}")).await;
        assert_eq!(home.status, 200, "{}", home.body);
        home.csrf()
    }
}

/// A server with users alice and bob, each with a Windows 10 device (bob's named "Bob's PC"),
/// an app for Windows 10, and a console administrator.
async fn setup() -> (Harness, String) {
    let h = start(RawConfig {
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        // A slowed-down account stays slowed down for the whole test (no timing in assertions).
        signin_delay_seconds: 600,
        signin_max_delay_seconds: 600,
        ..RawConfig::default()
    })
    .await;
    for (upn, name) in [("alice@contoso.com", "Alice"), ("bob@contoso.com", "Bob")] {
        let (status, body) = h
            .api_post(
                "/users",
                json!({ "upn": upn, "password": "correct horse battery", "display_name": name }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    seed_device(&h, "ALICE-PC", "alice@contoso.com", "Alice's laptop").await;
    seed_device(&h, "BOB-PC", "bob@contoso.com", "Bob's PC").await;
    let app = json!({ "name": "Contoso Notes", "version": "2.1", "payloads": { "windows-10": { "type": "store", "package_family_name": "Contoso.Notes_8wekyb3d8bbwe", "product_id": "9WZDNCRFHVJL", "sku_id": "0016" } } });
    let (status, app) = h.api_post("/apps", app).await;
    assert_eq!(status, 201, "{app}");
    let (status, body) = h
        .api_post(
            "/admins",
            json!({ "username": ADMIN, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (h, app["id"].as_str().unwrap().to_owned())
}

/// A device enrolled straight into the store (the web reads what enrollment wrote).
async fn seed_device(h: &Harness, id: &str, upn: &str, name: &str) {
    let store = &h.server.state.store;
    let user = store.user_by_upn(upn).await.unwrap().unwrap();
    let now = casement_server::clock::now_ms();
    store
        .record_enrollment(
            &NewDevice {
                id: id.into(),
                platform: Platform::Windows10,
                user_id: user.id,
                upn: user.upn,
                user_sid: None,
                name: Some(name.into()),
                enrollment_context: vec![("OSVersion".into(), "10.0.22631.2861".into())],
                enrolled_at: now,
            },
            &NewCertificate {
                serial_hex: format!("{:x}", rand::random::<u64>()),
                device_id: id.into(),
                thumbprint: "AB".repeat(20),
                not_before: now,
                not_after: now + 86_400_000,
                pem: String::new(),
                issued_at: now,
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_user_sees_and_acts_on_only_their_own_devices_and_installs() {
    let (h, app) = setup().await;
    let mut alice = Client::new(&h);
    let alice_csrf = alice
        .sign_in("portal", "alice@contoso.com", "correct horse battery")
        .await;
    let mut bob = Client::new(&h);
    let bob_csrf = bob
        .sign_in("portal", "bob@contoso.com", "correct horse battery")
        .await;

    let home = alice.get("/portal").await;
    assert!(home.body.contains("Alice&#39;s laptop") || home.body.contains("Alice's laptop"));
    assert!(
        !home.body.contains("BOB-PC") && !home.body.contains("Bob"),
        "bob's device is not on alice's page"
    );
    assert!(home.body.contains("Contoso Notes"));

    // Bob installs on his own device.
    let bobs = bob
        .json(
            "/api/v1/portal/installs",
            json!({ "device_id": "BOB-PC", "app_id": app }),
            Some(&bob_csrf),
        )
        .await;
    assert_eq!(bobs.status, 201, "{}", bobs.body);
    let bobs_install = bobs.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(bobs.json()["status"], "queued");
    assert_eq!(bobs.json()["detail"], "waiting for your PC to come online");

    // Alice tampers with the device id: through the API and through the form.
    let tampered = alice
        .json(
            "/api/v1/portal/installs",
            json!({ "device_id": "BOB-PC", "app_id": app }),
            Some(&alice_csrf),
        )
        .await;
    assert_eq!(tampered.status, 404, "{}", tampered.body);
    let unknown = alice
        .json(
            "/api/v1/portal/installs",
            json!({ "device_id": "NO-SUCH-PC", "app_id": app }),
            Some(&alice_csrf),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (tampered.status, tampered.json()),
        "another user's device answers exactly like one that does not exist"
    );
    let form = alice
        .form(
            "/portal/installs",
            &[
                ("csrf", &alice_csrf),
                ("app_id", &app),
                ("device_id", "BOB-PC"),
            ],
        )
        .await;
    assert_eq!(form.status, 404, "{}", form.body);
    let store = &h.server.state.store;
    assert_eq!(
        store.installs_of_device("BOB-PC").await.unwrap().len(),
        1,
        "only bob's own install is on bob's device"
    );
    assert!(
        store
            .commands_of_device("BOB-PC", 100)
            .await
            .unwrap()
            .iter()
            .all(|c| c.created_by == "portal:bob@contoso.com"),
        "no command of alice's on bob's device"
    );

    // Alice's own install works, through the form too; her list has hers only.
    let mine = alice
        .form(
            "/portal/installs",
            &[
                ("csrf", &alice_csrf),
                ("app_id", &app),
                ("device_id", "ALICE-PC"),
            ],
        )
        .await;
    assert_eq!(
        (mine.status, mine.location()),
        (303, "/portal?requested=1#installs")
    );
    let list = alice.get("/api/v1/portal/installs").await;
    assert_eq!(list.status, 200);
    let installs = list.json()["installs"].as_array().unwrap().clone();
    assert_eq!(installs.len(), 1, "{}", list.body);
    assert_eq!(installs[0]["device_id"], "ALICE-PC");
    assert_eq!(installs[0]["label"], "Waiting");
    assert!(!list.body.contains(&bobs_install) && !list.body.contains("BOB-PC"));
    let page = alice.get("/portal").await;
    assert!(page.body.contains("data-status=\"queued\""));
    assert!(!page.body.contains(&bobs_install));

    // A retired device of her own cannot get installs either.
    store
        .retire_device("ALICE-PC", "test", casement_server::clock::now_ms())
        .await
        .unwrap();
    let retired = alice
        .json(
            "/api/v1/portal/installs",
            json!({ "device_id": "ALICE-PC", "app_id": app }),
            Some(&alice_csrf),
        )
        .await;
    assert_eq!(retired.status, 404);

    // The portal API takes the portal session only: no cookie, or the admin token, is 401.
    let mut anonymous = Client::new(&h);
    assert_eq!(anonymous.get("/api/v1/portal/installs").await.status, 401);
    let with_token = h
        .http
        .get(format!("{}/api/v1/portal/installs", h.server.local_url()))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 401);
    assert_eq!(anonymous.get("/portal").await.location(), "/portal/login");
    h.server.shutdown().await;
}

#[tokio::test]
async fn state_changing_requests_without_a_valid_csrf_token_are_refused() {
    let (h, app) = setup().await;
    let mut alice = Client::new(&h);
    let alice_csrf = alice
        .sign_in("portal", "alice@contoso.com", "correct horse battery")
        .await;
    let mut bob = Client::new(&h);
    let bob_csrf = bob
        .sign_in("portal", "bob@contoso.com", "correct horse battery")
        .await;

    for (what, fields) in [
        (
            "no token",
            vec![("app_id", app.as_str()), ("device_id", "ALICE-PC")],
        ),
        (
            "empty token",
            vec![
                ("csrf", ""),
                ("app_id", app.as_str()),
                ("device_id", "ALICE-PC"),
            ],
        ),
        (
            "another session's token",
            vec![
                ("csrf", bob_csrf.as_str()),
                ("app_id", app.as_str()),
                ("device_id", "ALICE-PC"),
            ],
        ),
        (
            "a made-up token",
            vec![
                ("csrf", "0000"),
                ("app_id", app.as_str()),
                ("device_id", "ALICE-PC"),
            ],
        ),
    ] {
        let answer = alice.form("/portal/installs", &fields).await;
        assert_eq!(answer.status, 403, "portal form with {what}");
    }
    let no_header = alice
        .json(
            "/api/v1/portal/installs",
            json!({ "device_id": "ALICE-PC", "app_id": app }),
            None,
        )
        .await;
    assert_eq!(no_header.status, 403);
    assert_eq!(no_header.json()["error"], "forbidden");
    let wrong_header = alice
        .json(
            "/api/v1/portal/installs",
            json!({ "device_id": "ALICE-PC", "app_id": app }),
            Some(&bob_csrf),
        )
        .await;
    assert_eq!(wrong_header.status, 403);
    let store = &h.server.state.store;
    assert!(
        store
            .installs_of_device("ALICE-PC")
            .await
            .unwrap()
            .is_empty(),
        "nothing was installed"
    );
    assert!(
        store
            .commands_of_device("ALICE-PC", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Signing out needs the token too.
    assert_eq!(alice.form("/portal/logout", &[]).await.status, 403);
    assert_eq!(alice.get("/portal").await.status, 200, "still signed in");
    let out = alice.form("/portal/logout", &[("csrf", &alice_csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/portal/login"));

    // Sign-in forms: the token must match the sign-in cookie.
    let mut fresh = Client::new(&h);
    let page = fresh.get("/portal/login").await;
    let token = page.csrf();
    assert!(fresh.cookies.contains_key(LOGIN_COOKIE));
    let forged = fresh
        .form(
            "/portal/login",
            &[
                ("csrf", "forged"),
                ("upn", "alice@contoso.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let mut cookieless = Client::new(&h);
    let no_cookie = cookieless
        .form(
            "/portal/login",
            &[
                ("csrf", &token),
                ("upn", "alice@contoso.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(
        no_cookie.status, 403,
        "a token without its cookie (another browser's form)"
    );

    // The console: a queued command needs the token; with it, it is queued and audited.
    let mut admin = Client::new(&h);
    let csrf = admin.sign_in("console", ADMIN, ADMIN_PASSWORD).await;
    let refused = admin
        .form(
            "/console/devices/ALICE-PC/commands",
            &[("kind", "push-config")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let refused = admin
        .form(
            "/console/devices/ALICE-PC/commands",
            &[("kind", "inventory"), ("csrf", &alice_csrf)],
        )
        .await;
    assert_eq!(
        refused.status, 403,
        "a portal session's token is not the console's"
    );
    assert!(
        store
            .commands_of_device("ALICE-PC", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let queued = admin
        .form(
            "/console/devices/ALICE-PC/commands",
            &[("kind", "inventory"), ("set", "devinfo"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    let commands = store.commands_of_device("ALICE-PC", 10).await.unwrap();
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].created_by, "admin:root");
    let audit = store.audit_log(50).await.unwrap();
    assert!(audit.iter().any(|a| a.actor == "admin:root"
        && a.action == "command.queue"
        && a.target.as_deref() == Some("ALICE-PC")));
    assert!(
        audit
            .iter()
            .any(|a| a.actor == "admin:root" && a.action == "console.sign-in")
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_console_refuses_the_unauthenticated_and_non_admins() {
    let (h, _app) = setup().await;
    let mut anonymous = Client::new(&h);
    for path in [
        "/console",
        "/console/devices",
        "/console/devices/ALICE-PC",
        "/console/sessions/anything",
        "/console/apps",
        "/console/users",
        "/console/audit",
    ] {
        let answer = anonymous.get(path).await;
        assert_eq!(
            (answer.status, answer.location()),
            (303, "/console/login"),
            "{path}"
        );
        assert!(!answer.body.contains("ALICE-PC"));
    }
    let post = anonymous
        .form(
            "/console/devices/ALICE-PC/commands",
            &[("kind", "unenroll"), ("confirm", "on"), ("csrf", "x")],
        )
        .await;
    assert_eq!(post.status, 403);

    // An end user is not an administrator: her password does not open the console, and her
    // portal session is not a console session, whatever the cookie is called.
    let mut alice = Client::new(&h);
    alice
        .sign_in("portal", "alice@contoso.com", "correct horse battery")
        .await;
    let page = alice.get("/console/login").await;
    let refused = alice
        .form(
            "/console/login",
            &[
                ("csrf", &page.csrf()),
                ("username", "alice@contoso.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("The name or password is incorrect."));
    assert_eq!(
        alice.get("/console/devices").await.location(),
        "/console/login"
    );
    let portal_token = alice.cookies[PORTAL_COOKIE].clone();
    alice.cookies.insert(CONSOLE_COOKIE.into(), portal_token);
    assert_eq!(
        alice.get("/console/devices").await.location(),
        "/console/login",
        "a portal session under the console's cookie name"
    );

    // An administrator is not an end user either.
    let mut admin = Client::new(&h);
    admin.sign_in("console", ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(admin.get("/portal").await.location(), "/portal/login");
    let console_token = admin.cookies[CONSOLE_COOKIE].clone();
    admin.cookies.insert(PORTAL_COOKIE.into(), console_token);
    assert_eq!(admin.get("/api/v1/portal/installs").await.status, 401);

    // The admin API's account endpoint wants the admin token.
    let no_token = h
        .http
        .post(format!("{}/api/v1/admins", h.server.local_url()))
        .json(&json!({ "username": "mallory", "password": "long enough password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    assert!(
        h.server
            .state
            .store
            .admin_by_username("mallory")
            .await
            .unwrap()
            .is_none()
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn sessions_are_stored_hashed_with_safe_cookies_and_end_on_sign_out() {
    let (h, _app) = setup().await;
    let mut admin = Client::new(&h);
    let page = admin.get("/console/login").await;
    let answer = admin
        .form(
            "/console/login",
            &[
                ("csrf", &page.csrf()),
                ("username", "ROOT"),
                ("password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "names are case-insensitive");
    let set_cookie: Vec<&str> = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session_cookie = set_cookie
        .iter()
        .find(|c| c.starts_with(CONSOLE_COOKIE))
        .expect("a session cookie");
    for attribute in [
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=28800",
    ] {
        assert!(
            session_cookie.contains(attribute),
            "{session_cookie} lacks {attribute}"
        );
    }
    let token = admin.cookies[CONSOLE_COOKIE].clone();
    let store = &h.server.state.store;
    let now = casement_server::clock::now_ms();
    assert!(
        store.web_session(&token, now).await.unwrap().is_none(),
        "the raw cookie is not stored"
    );
    assert!(
        store
            .web_session(&token_hash(&token), now)
            .await
            .unwrap()
            .is_some(),
        "its SHA-256 is"
    );

    // The portal's cookie is Lax (a link from an e-mail opens it signed in) and lasts 12 hours.
    let mut alice = Client::new(&h);
    let login = alice.get("/portal/login").await;
    let answer = alice
        .form(
            "/portal/login",
            &[
                ("csrf", &login.csrf()),
                ("upn", "alice@contoso.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let portal_cookie = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with(PORTAL_COOKIE))
        .expect("a portal session cookie");
    for attribute in [
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Max-Age=43200",
    ] {
        assert!(
            portal_cookie.contains(attribute),
            "{portal_cookie} lacks {attribute}"
        );
    }

    // Pages are not cached and carry a strict content security policy.
    let page = admin.get("/console/devices").await;
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(page.headers.contains_key("server-timing"));

    let csrf = page.csrf();
    let out = admin.form("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(
        !admin.cookies.contains_key(CONSOLE_COOKIE),
        "cookie cleared"
    );
    assert!(
        store
            .web_session(&token_hash(&token), now)
            .await
            .unwrap()
            .is_none(),
        "session deleted"
    );
    admin.cookies.insert(CONSOLE_COOKIE.into(), token);
    assert_eq!(
        admin.get("/console").await.location(),
        "/console/login",
        "the old cookie is dead"
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account() {
    let (h, _app) = setup().await;
    let mut mallory = Client::new(&h);
    let page = mallory.get("/portal/login").await;
    let csrf = page.csrf();
    for _ in 0..5 {
        let wrong = mallory
            .form(
                "/portal/login",
                &[
                    ("csrf", &csrf),
                    ("upn", "alice@contoso.com"),
                    ("password", "guess guess"),
                ],
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(
            wrong
                .body
                .contains("The user name or password is incorrect.")
        );
    }
    let locked = mallory
        .form(
            "/portal/login",
            &[
                ("csrf", &csrf),
                ("upn", "Alice@Contoso.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(
        locked.status, 429,
        "even the right password, for now (slowed down)"
    );
    assert!(locked.body.contains("Too many failed sign-ins"));
    assert!(!mallory.cookies.contains_key(PORTAL_COOKIE));
    // Another account from the same address is not locked.
    let mut bob = Client::new(&h);
    bob.sign_in("portal", "bob@contoso.com", "correct horse battery")
        .await;
    // The console counts its own accounts.
    let mut admin = Client::new(&h);
    admin.sign_in("console", ADMIN, ADMIN_PASSWORD).await;
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_console_lists_searches_and_pages_devices_and_shows_a_session_side_by_side() {
    let (h, _app) = setup().await;
    for i in 0..60 {
        seed_device(
            &h,
            &format!("FLEET-{i:03}"),
            "bob@contoso.com",
            &format!("Kiosk {i}"),
        )
        .await;
    }
    // A device with a real management session (Maintenance, the enrolled user logged on).
    let device = h.enroll("WEB-SESSION-1").await;
    let mut tree = Tree::default();
    session(
        &h,
        &device,
        Some("Maintenance"),
        1,
        DmPlatform::Windows10,
        Some("user"),
        &mut tree,
    )
    .await;

    let mut admin = Client::new(&h);
    admin.sign_in("console", ADMIN, ADMIN_PASSWORD).await;
    let dashboard = admin.get("/console").await;
    assert!(dashboard.body.contains("<svg") && dashboard.body.contains("Sessions per context"));
    assert!(
        dashboard.body.contains("Maintenance: 1"),
        "the chart counts the session"
    );

    let first = admin.get("/console/devices?q=fleet").await;
    assert_eq!(first.status, 200);
    assert!(first.body.contains("60 devices match."), "{}", first.body);
    assert!(first.body.contains("FLEET-000") && first.body.contains("FLEET-049"));
    assert!(!first.body.contains("FLEET-050"));
    let next = first.body.split("rel=\"next\" href=\"").nth(1).unwrap();
    let next = next[..next.find('"').unwrap()].replace("&amp;", "&");
    assert_eq!(next, "/console/devices?q=fleet&after=FLEET%2D049");
    let second = admin.get(&next).await;
    assert!(second.body.contains("FLEET-050") && second.body.contains("FLEET-059"));
    assert!(!second.body.contains("FLEET-049<") && !second.body.contains("rel=\"next\""));
    assert!(second.body.contains("rel=\"prev\""));
    let filtered = admin.get("/console/devices?context=Maintenance").await;
    assert!(filtered.body.contains("1 device matches.") && filtered.body.contains("WEB-SESSION-1"));
    let never = admin
        .get("/console/devices?context=none&platform=windows-10&q=kiosk+1")
        .await;
    assert!(never.body.contains("11 devices match."), "Kiosk 1, 10..19");

    let page = admin.get("/console/devices/WEB-SESSION-1").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Maintenance"));
    assert!(
        page.body.contains("the device&#39;s ?mode= parameter")
            || page.body.contains("the device's ?mode= parameter")
    );
    let href = page.body.split("href=\"/console/sessions/").nth(1).unwrap();
    let session_id = &href[..href.find('"').unwrap()];
    let session_page = admin.get(&format!("/console/sessions/{session_id}")).await;
    assert_eq!(session_page.status, 200);
    assert!(
        session_page.body.contains("Device → server")
            && session_page.body.contains("Server → device")
    );
    assert!(
        session_page.body.contains("&lt;SyncML"),
        "the SyncML, escaped"
    );
    assert!(session_page.body.contains("WEB-SESSION-1"));
    assert_eq!(admin.get("/console/sessions/nope").await.status, 404);
    assert_eq!(admin.get("/console/devices/NOPE").await.status, 404);

    // Queue push configuration and see what it waits for; cancel it; both audited.
    let csrf = page.csrf();
    let queued = admin
        .form(
            "/console/devices/WEB-SESSION-1/commands",
            &[("kind", "push-config"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    let page = admin.get(queued.location()).await;
    assert!(page.body.contains("The command was queued."));
    // Windows 10/11: push configuration is device-scoped and goes in any session.
    assert!(
        page.body.contains("waits for the next session"),
        "{}",
        page.body
    );
    let queued = admin
        .form(
            "/console/devices/WEB-SESSION-1/commands",
            &[
                ("kind", "reset-password"),
                ("user", "x"),
                ("password", "y"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(
        queued.status, 422,
        "Windows 10 has no password reset: refused with the reason"
    );
    assert!(queued.body.contains("Not queued"));
    let commands = h
        .server
        .state
        .store
        .commands_of_device("WEB-SESSION-1", 10)
        .await
        .unwrap();
    let pending = commands
        .iter()
        .find(|c| c.state == casement_store::CommandState::Pending)
        .unwrap();
    let cancel = admin
        .form(
            &format!("/console/commands/{}/cancel", pending.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(cancel.status, 303);
    let audit = admin.get("/console/audit").await;
    for action in ["command.queue", "command.cancel", "console.sign-in"] {
        assert!(audit.body.contains(action), "{action} in the audit log");
    }
    h.server.shutdown().await;
}

#[tokio::test]
async fn administrators_are_created_through_the_api_and_the_console() {
    let (h, _app) = setup().await;
    let (status, body) = h
        .api_post(
            "/admins",
            json!({ "username": "Root", "password": "another long password" }),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = h
        .api_post(
            "/admins",
            json!({ "username": "short", "password": "too short" }),
        )
        .await;
    assert_eq!(status, 400);
    let list = h.api_get("/admins").await;
    assert_eq!(list["admins"].as_array().unwrap().len(), 1);
    assert!(
        list["admins"][0].get("password_hash").is_none(),
        "never shown"
    );
    let mut admin = Client::new(&h);
    let csrf = admin.sign_in("console", ADMIN, ADMIN_PASSWORD).await;
    let added = admin
        .form(
            "/console/admins",
            &[
                ("csrf", &csrf),
                ("username", "helpdesk"),
                ("password", "helpdesk password 1"),
            ],
        )
        .await;
    assert_eq!(
        (added.status, added.location()),
        (303, "/console/users?done=admin")
    );
    let mut helpdesk = Client::new(&h);
    helpdesk
        .sign_in("console", "helpdesk", "helpdesk password 1")
        .await;
    let audit = h.server.state.store.audit_log(20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.actor == "admin-token" && a.action == "admin.create")
    );
    assert!(audit.iter().any(|a| a.actor == "admin:root"
        && a.action == "admin.create"
        && a.target.as_deref() == Some("helpdesk")));
    h.server.shutdown().await;
}

/// Measurement, not a check: page weight and server time of the console's device list (and the
/// dashboard) with 10,000 devices, each with one recorded session and a third with an active
/// channel. Run with
/// `cargo test --release -p casement-server --test web -- --ignored --nocapture measure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_the_console_device_list_at_10000_devices() {
    use casement_store::{ChannelRow, MessageChanges, SessionRow, SessionWrite};
    let (h, _app) = setup().await;
    let store = &h.server.state.store;
    let user = store.user_by_upn("bob@contoso.com").await.unwrap().unwrap();
    let started = std::time::Instant::now();
    let now = casement_server::clock::now_ms();
    for i in 0..10_000u32 {
        let id = format!("BULK-{i:05}");
        let platform = if i % 2 == 0 {
            Platform::Windows10
        } else {
            Platform::Windows81
        };
        store
            .record_enrollment(
                &NewDevice {
                    id: id.clone(),
                    platform,
                    user_id: user.id.clone(),
                    upn: user.upn.clone(),
                    user_sid: None,
                    name: Some(format!("Desktop {i}")),
                    enrollment_context: vec![("OSVersion".into(), "10.0.22631".into())],
                    enrolled_at: now,
                },
                &NewCertificate {
                    serial_hex: format!("b{i:08x}"),
                    device_id: id.clone(),
                    thumbprint: "AB".repeat(20),
                    not_before: now,
                    not_after: now + 1,
                    pem: String::new(),
                    issued_at: now,
                },
            )
            .await
            .unwrap();
        let context = casement_dm::Context::ALL[(i % 3) as usize];
        let at = now - i64::from(i) * 60_000;
        let mut changes = MessageChanges {
            device_id: id.clone(),
            now: at,
            last_context: Some(context),
            ..MessageChanges::default()
        };
        changes.sessions.push(SessionWrite::Insert(SessionRow {
            id: format!("S-{id}"),
            device_id: id.clone(),
            session_id: "1".into(),
            context,
            reason: "mode-parameter".into(),
            evidence: "{}".into(),
            started_at: at,
            updated_at: at,
            ended_at: Some(at),
            outcome: Some("completed".into()),
            core_state: None,
            version: 1,
            message_count: 4,
            commands_sent: 1,
            warnings: Vec::new(),
            messages_kept: true,
        }));
        if i % 3 == 1 {
            changes.channel = Some(ChannelRow {
                device_id: id.clone(),
                state: casement_store::ChannelState::Active,
                uri: Some("https://db5.notify.windows.com/?token=x".into()),
                expires_at: None,
                status: Some("0".into()),
                last_error: None,
                reason: None,
                updated_at: at,
            });
        }
        store.apply_message(&changes).await.unwrap();
    }
    println!(
        "seeded 10,000 devices (+10,000 sessions) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut admin = Client::new(&h);
    admin.sign_in("console", ADMIN, ADMIN_PASSWORD).await;
    println!("page | bytes | server time median / p95 (ms) | round trip median (ms) | rows");
    for path in [
        "/console/devices",
        "/console/devices?after=BULK%2D05000",
        "/console/devices?q=desktop+999",
        "/console/devices?platform=windows-10&context=Maintenance&channel=active",
        "/console/devices?stale=on",
        "/console",
    ] {
        let mut server = Vec::new();
        let mut round_trip = Vec::new();
        let mut bytes = 0;
        let mut rows = 0;
        for run in 0..23 {
            let t = std::time::Instant::now();
            let answer = admin.get(path).await;
            let elapsed = t.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(answer.status, 200, "{path}");
            if run < 3 {
                continue; // warm-up
            }
            let timing = answer.headers["server-timing"].to_str().unwrap();
            server.push(
                timing
                    .trim_start_matches("app;dur=")
                    .parse::<f64>()
                    .unwrap(),
            );
            round_trip.push(elapsed);
            bytes = answer.body.len();
            rows = answer.body.matches("<tr").count().saturating_sub(1);
        }
        server.sort_by(f64::total_cmp);
        round_trip.sort_by(f64::total_cmp);
        println!(
            "{path} | {bytes} | {:.1} / {:.1} | {:.1} | {rows}",
            server[server.len() / 2],
            server[server.len() * 95 / 100],
            round_trip[round_trip.len() / 2],
        );
    }
    h.server.shutdown().await;
}
