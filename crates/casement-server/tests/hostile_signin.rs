//! Issue 12 ("Hold up against hostile clients"), the password rows, over real HTTPS: the
//! bounded password pool, one throttle for every door, and an administrator an attacker cannot
//! lock out. Clients at other addresses bind 127.0.0.x on loopback.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use casement_server::RawConfig;
use common::*;

const APPRU: &str = "ms-app%3A%2F%2Fwindows.immersivecontrolpanel";
const POLICIES: &str = include_str!("../testdata/win10-03-getpolicies-request-onpremise.xml");

/// A client that does not follow redirects, from `local` (default 127.0.0.1).
fn browser(h: &Harness, local: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(h.server.tls_certificate_pem.as_bytes()).unwrap(),
        ])
        .redirect(reqwest::redirect::Policy::none())
        .local_address(local)
        .build()
        .unwrap()
}

fn ip(last: u8) -> Option<IpAddr> {
    Some(IpAddr::from([127, 0, 0, last]))
}

/// Signs in on `/{site}/login` (portal: `upn`; console: `username`); returns the status.
async fn web_sign_in(
    h: &Harness,
    client: &reqwest::Client,
    site: &str,
    name: &str,
    password: &str,
) -> u16 {
    let url = format!("{}/{site}/login", h.server.local_url());
    let page = client.get(&url).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-casement-signin="))
        .expect("the sign-in cookie");
    let token = cookie.split_once('=').unwrap().1.to_owned();
    let field = if site == "portal" { "upn" } else { "username" };
    client
        .post(&url)
        .header("cookie", cookie)
        .form(&[
            ("csrf", token.as_str()),
            (field, name),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sts_sign_in(h: &Harness, client: &reqwest::Client, password: &str) -> (u16, String) {
    let response = client
        .post(format!("{}/EnrollmentServer/Sts", h.server.local_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=demio&password={password}&appru={APPRU}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn regression_issue_12_a_full_password_pool_answers_busy_at_once_and_recovers() {
    // One worker and no queue: while the worker is held, every check is refused at once.
    let h = start(RawConfig {
        password_workers: 1,
        password_queue: 0,
        ..RawConfig::default()
    })
    .await;
    let pool = h.server.state.hash_pool.clone();
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let (started, running) = tokio::sync::oneshot::channel();
    let holder = tokio::spawn(async move {
        pool.run(move || {
            let _ = started.send(());
            let _ = hold.recv();
        })
        .await
    });
    running.await.unwrap();
    let client = browser(&h, None);
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (h, client) = (&h, client.clone());
            async move { sts_sign_in(h, &client, "wrong").await }
        })
        .collect();
    for (status, page) in futures_join_all(burst).await {
        assert_eq!(status, 429, "{page}");
        assert!(page.contains("busy"));
    }
    let policies = client
        .post(format!(
            "{}/EnrollmentServer/Policy.svc",
            h.server.local_url()
        ))
        .header("content-type", "application/soap+xml; charset=utf-8")
        .body(POLICIES)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(policies.contains("s:EnrollmentServer"), "{policies}");
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
    // Once the worker is free again, the right password signs in.
    let mut signed_in = false;
    for _ in 0..50 {
        if sts_sign_in(&h, &client, "demo").await.0 == 200 {
            signed_in = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(signed_in);
    h.server.shutdown().await;
}

/// Polls every future to completion, concurrently.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn regression_issue_12_enrollment_sign_ins_share_the_portals_throttle() {
    // A long delay, so that "slowed down" cannot end during the test.
    let h = start(RawConfig {
        signin_delay_seconds: 600,
        signin_max_delay_seconds: 600,
        ..RawConfig::default()
    })
    .await;
    let attacker = browser(&h, None);
    for _ in 0..5 {
        assert_eq!(
            web_sign_in(&h, &attacker, "portal", "demio", "guess").await,
            401
        );
    }
    // The STS page refuses even the right password for now, without checking it.
    let (status, page) = sts_sign_in(&h, &attacker, "demo").await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("Too many failed sign-ins"));
    // So do OnPremise GetPolicies and RequestSecurityToken.
    for (path, body) in [
        ("/EnrollmentServer/Policy.svc", POLICIES),
        ("/EnrollmentServer/Enrollment.svc", RST),
    ] {
        let fault = attacker
            .post(format!("{}{path}", h.server.local_url()))
            .header("content-type", "application/soap+xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(fault.contains("s:Authentication"), "{path}: {fault}");
        assert!(
            fault.contains("too many failed sign-ins"),
            "{path}: {fault}"
        );
    }
    h.server.shutdown().await;
}

#[tokio::test]
async fn regression_issue_12_an_attacker_cannot_lock_the_administrator_out() {
    let h = start(RawConfig {
        signin_failures_per_address: 3,
        signin_failures_per_account: 5,
        signin_delay_seconds: 1,
        signin_max_delay_seconds: 2,
        ..RawConfig::default()
    })
    .await;
    const PASSWORD: &str = "the real administrator";
    let (status, body) = h
        .api_post(
            "/admins",
            serde_json::json!({"username": "root", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let admin = browser(&h, None);

    // One address guessing is refused after its allowance, whatever the account…
    let attacker = browser(&h, ip(2));
    for _ in 0..3 {
        assert_eq!(
            web_sign_in(&h, &attacker, "console", "root", "guess").await,
            401
        );
    }
    assert_eq!(
        web_sign_in(&h, &attacker, "console", "root", PASSWORD).await,
        429
    );
    // …while the administrator, elsewhere, signs in at once.
    assert_eq!(
        web_sign_in(&h, &admin, "console", "root", PASSWORD).await,
        303
    );

    // Many addresses guessing slow the account down, but never lock it.
    for last in 3..=8 {
        let bot = browser(&h, ip(last));
        for _ in 0..2 {
            let status = web_sign_in(&h, &bot, "console", "root", "guess").await;
            assert!(status == 401 || status == 429, "{status}");
        }
    }
    let mut signed_in = false;
    for _ in 0..40 {
        if web_sign_in(&h, &admin, "console", "root", PASSWORD).await == 303 {
            signed_in = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        signed_in,
        "the administrator gets in once the short delay has passed"
    );
    h.server.shutdown().await;
}

/// Figures for issue 12: peak memory while 250 wrong-password sign-ins arrive at once. Run with
/// `cargo test -p casement-server --test hostile_signin -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: prints figures"]
async fn measure_memory_during_250_concurrent_wrong_password_sign_ins() {
    let h = start(RawConfig {
        signin_failures_per_address: 100_000,
        signin_failures_per_account: 100_000,
        ..RawConfig::default()
    })
    .await;
    let client = browser(&h, None);
    // Warm up: one sign-in of each kind, so that idle includes the first hash.
    sts_sign_in(&h, &client, "demo").await;
    let idle = status_kib("VmRSS");
    let burst: Vec<_> = (0..250)
        .map(|_| {
            let (h, client) = (&h, client.clone());
            async move { sts_sign_in(h, &client, "wrong").await.0 }
        })
        .collect();
    let statuses = futures_join_all(burst).await;
    let peak = status_kib("VmHWM");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = status_kib("VmRSS");
    let busy = statuses.iter().filter(|s| **s == 429).count();
    let refused = statuses.iter().filter(|s| **s == 401).count();
    println!(
        "idle RSS {} MB, peak RSS {} MB (+{} MB), RSS 2 s after {} MB; answers: {refused} wrong password, {busy} busy",
        idle / 1024,
        peak / 1024,
        (peak - idle) / 1024,
        after / 1024
    );
    h.server.shutdown().await;
}

/// The baseline of the figure above: the same 250 concurrent connections asking `/healthz`
/// (client and server share this process, so both sides' connection buffers are in it).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: prints figures"]
async fn measure_memory_during_250_concurrent_health_checks() {
    let h = start(RawConfig::default()).await;
    let client = browser(&h, None);
    sts_sign_in(&h, &client, "demo").await;
    let idle = status_kib("VmRSS");
    let burst: Vec<_> = (0..250)
        .map(|_| {
            let (h, client) = (&h, client.clone());
            async move {
                client
                    .get(format!("{}/healthz", h.server.local_url()))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        })
        .collect();
    let statuses = futures_join_all(burst).await;
    let peak = status_kib("VmHWM");
    println!(
        "healthz: idle RSS {} MB, peak RSS {} MB (+{} MB); {} answered 200",
        idle / 1024,
        peak / 1024,
        (peak - idle) / 1024,
        statuses.iter().filter(|s| **s == 200).count()
    );
    h.server.shutdown().await;
}

fn status_kib(field: &str) -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}
