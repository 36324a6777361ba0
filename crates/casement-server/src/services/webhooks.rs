//! Webhooks (issue 15): events POSTed to HTTPS receivers, at least once, through a durable
//! outbox (`webhook_deliveries`, claimed with a lease like the push outbox, so a node killed
//! mid-delivery loses nothing: its lease runs out and any node sends again).
//!
//! - Every POST is signed: `X-Casement-Timestamp: <unix seconds>` and
//!   `X-Casement-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`; the
//!   receiver recomputes it and should refuse old timestamps (replays).
//! - Only `https://` URLs. A URL whose host is or resolves to a loopback, private, link-local
//!   (169.254/16 — the cloud metadata address 169.254.169.254 — fe80::/10), unique-local or
//!   otherwise non-public address is refused at creation and again at each delivery (DNS may
//!   change), unless `webhook_allow_private` is set. The delivery connects to the address it
//!   checked (no second lookup) and never follows redirects.
//! - A 2xx answer delivers; anything else is retried after `webhook_retry_base_ms`, doubled per
//!   attempt (at most an hour), up to `webhook_max_attempts`. Every attempt is in the endpoint's
//!   log (`GET /api/v1/webhooks/{id}/deliveries`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use casement_store::{
    DeliveryResult, EventRow, StoreError, WebhookAttempt, WebhookDelivery, WebhookRow,
};
use serde_json::{Value, json};
use sha2::Digest;

use crate::services::events::EventKind;
use crate::state::AppState;

/// Deliveries claimed per round.
const BATCH: u32 = 16;
/// Longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 3_600_000;

/// What to create.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://…`
    pub url: String,
    /// The signing secret; one is made (and shown once) when absent.
    pub secret: Option<String>,
    /// Event kinds to deliver; absent or empty: every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// Why a webhook was not created.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The input is not acceptable (the reason says why).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a webhook; returns it and its secret (shown once).
pub async fn create(
    state: &AppState,
    actor: &str,
    new: &NewWebhook,
) -> Result<(WebhookRow, String), WebhookError> {
    check_url(&new.url, state.config.webhooks.allow_private)
        .await
        .map_err(WebhookError::Invalid)?;
    for kind in &new.kinds {
        if EventKind::from_name(kind).is_none() {
            let known: Vec<_> = EventKind::ALL.iter().map(|k| k.name()).collect();
            return Err(WebhookError::Invalid(format!(
                "unknown event kind {kind:?} (known: {})",
                known.join(", ")
            )));
        }
    }
    let secret = match &new.secret {
        Some(s) if s.len() >= 16 && s.len() <= 256 => s.clone(),
        Some(_) => {
            return Err(WebhookError::Invalid(
                "secret must have 16 to 256 characters".into(),
            ));
        }
        None => {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            format!("whsec_{}", hex::encode(bytes))
        }
    };
    let row = WebhookRow {
        id: uuid::Uuid::new_v4().to_string(),
        url: new.url.trim().to_owned(),
        secret: secret.clone(),
        kinds: new.kinds.clone(),
        created_by: actor.to_owned(),
        created_at: state.clock.now_ms(),
        deleted_at: None,
    };
    state.store.create_webhook(&row).await?;
    crate::services::audit::record(
        state,
        actor,
        "webhook.create",
        Some(&row.id),
        json!({ "url": row.url, "kinds": row.kinds }),
    )
    .await;
    Ok((row, secret))
}

/// Checks a webhook URL: `https://`, a host, no credentials, and (unless `allow_private`)
/// every address it resolves to public. Returns the host, the addresses to connect to.
pub async fn check_url(
    url: &str,
    allow_private: bool,
) -> Result<(String, Vec<SocketAddr>), String> {
    let parsed =
        reqwest::Url::parse(url.trim()).map_err(|e| format!("url {url:?} is not a URL: {e}"))?;
    if parsed.scheme() != "https" {
        return Err("webhook URLs must be https://".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("webhook URLs must not carry credentials".into());
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| "the URL has no host".to_owned())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "{host} resolves to {}, a loopback, private, link-local or metadata address: refused (set webhook_allow_private to allow it)",
            bad.ip()
        ));
    }
    Ok((host, addrs))
}

/// Whether an address is on the public internet (not loopback, private, link-local — the
/// metadata address 169.254.169.254 among them —, shared, unique-local, multicast or
/// unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xffc0) == 0xfe80
                || (first & 0xfe00) == 0xfc00
                || (first == 0x2001 && v6.segments()[1] == 0xdb8))
        }
    }
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = sha2::Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = sha2::Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The `X-Casement-Signature` value of a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &message))
    )
}

/// An event as the API and webhooks show it.
pub fn event_json(event: &EventRow) -> Value {
    json!({
        "id": event.id,
        "seq": event.seq,
        "kind": event.kind,
        "at": event.at,
        "device_id": event.device_id,
        "subject": event.subject,
        "data": serde_json::from_str::<Value>(&event.data).unwrap_or(Value::Null),
    })
}

/// Sends the deliveries due now; returns how many were handled.
pub async fn run_once(state: &AppState) -> Result<usize, StoreError> {
    let policy = &state.config.webhooks;
    let lease_ms = 2 * policy.timeout.as_millis() as i64 + 5_000;
    let claimed = state
        .store
        .claim_deliveries(state.clock.now_ms(), lease_ms, BATCH)
        .await?;
    for delivery in &claimed {
        let (result, status, error) = attempt(state, delivery).await?;
        let now = state.clock.now_ms();
        let log = WebhookAttempt {
            delivery_id: delivery.id.clone(),
            webhook_id: delivery.webhook_id.clone(),
            attempt: delivery.attempts,
            at: now,
            status,
            error,
        };
        state
            .store
            .finish_delivery(&delivery.id, &result, &log, now)
            .await?;
    }
    Ok(claimed.len())
}

/// Runs [`run_once`] until the task is aborted, pausing when there is nothing to send.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_once(&state).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook worker: storage unavailable"),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
}

/// One attempt: the result, the HTTP status if any, the failure in words if any.
async fn attempt(
    state: &AppState,
    delivery: &WebhookDelivery,
) -> Result<(DeliveryResult, Option<i64>, Option<String>), StoreError> {
    let policy = &state.config.webhooks;
    let give_up = |why: String| Ok((DeliveryResult::Failed, None, Some(why)));
    let Some(hook) = state.store.webhook(&delivery.webhook_id).await? else {
        return give_up("the webhook no longer exists".into());
    };
    if hook.deleted_at.is_some() {
        return give_up("the webhook was deleted".into());
    }
    let Some(event) = state.store.event(delivery.event_seq).await? else {
        return give_up("the event no longer exists".into());
    };
    let retry_or_fail = |status: Option<i64>, why: String| {
        if delivery.attempts >= policy.max_attempts {
            return (
                DeliveryResult::Failed,
                status,
                Some(format!(
                    "{why}; gave up after {} attempts",
                    delivery.attempts
                )),
            );
        }
        let factor = 1i64 << delivery.attempts.saturating_sub(1).min(30);
        let wait = policy
            .retry_base_ms
            .saturating_mul(factor)
            .min(MAX_BACKOFF_MS);
        (
            DeliveryResult::Retry {
                at: state.clock.now_ms() + wait,
            },
            status,
            Some(format!("{why}; retried in {wait} ms")),
        )
    };
    let (host, addrs) = match check_url(&hook.url, policy.allow_private).await {
        Ok(checked) => checked,
        // An address that became private is refused for good; a name that stopped resolving
        // may come back.
        Err(why) if why.contains("refused") => return give_up(why),
        Err(why) => return Ok(retry_or_fail(None, why)),
    };
    let body = serde_json::to_vec(&event_json(&event)).unwrap_or_default();
    let timestamp = (state.clock.now_ms() / 1000).to_string();
    let signature = signature(&hook.secret, &timestamp, &body);
    let client = match client(policy, &host, &addrs) {
        Ok(c) => c,
        Err(why) => return give_up(why),
    };
    let sent = client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("x-casement-timestamp", &timestamp)
        .header("x-casement-signature", &signature)
        .header("x-casement-event", &event.kind)
        .header("x-casement-delivery", &delivery.id)
        .body(body)
        .send()
        .await;
    Ok(match sent {
        Ok(r) if r.status().is_success() => (
            DeliveryResult::Delivered,
            Some(i64::from(r.status().as_u16())),
            None,
        ),
        Ok(r) => {
            let status = r.status();
            retry_or_fail(
                Some(i64::from(status.as_u16())),
                format!("the receiver answered {status}"),
            )
        }
        Err(e) => retry_or_fail(None, format!("sending failed: {e}")),
    })
}

/// A client that connects `host` to the addresses checked, trusts the public roots and the
/// configured extra ones, and follows no redirect.
fn client(
    policy: &crate::config::WebhookPolicy,
    host: &str,
    addrs: &[SocketAddr],
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout)
        .user_agent(concat!("casement-webhooks/", env!("CARGO_PKG_VERSION")))
        .resolve_to_addrs(host, addrs);
    if let Some(pem) = &policy.extra_roots_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| format!("webhook_ca_file: {e}"))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| format!("HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 §4.3, test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_before_anything_is_sent() {
        assert!(check_url("http://93.184.216.34/x", false).await.is_err());
        assert!(
            check_url("https://user:pw@93.184.216.34/x", false)
                .await
                .is_err()
        );
        let refused = check_url("https://169.254.169.254/latest", false)
            .await
            .unwrap_err();
        assert!(refused.contains("refused"), "{refused}");
        assert!(check_url("https://127.0.0.1:9/x", false).await.is_err());
        assert!(check_url("https://[::1]:9/x", false).await.is_err());
        assert!(check_url("https://127.0.0.1:9/x", true).await.is_ok());
        assert!(check_url("https://93.184.216.34/x", false).await.is_ok());
    }
}
