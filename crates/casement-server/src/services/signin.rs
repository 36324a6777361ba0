//! The one sign-in throttle and password check behind every door that takes a password: the
//! STS page, OnPremise `Policy.svc` and `Enrollment.svc`, the portal and the console.
//!
//! Failures are counted in the database (`login_failures`), so every node sees them, under two
//! keys: the client address and the account ([`account_key`]: the same key for a user whatever
//! the door, so failures on the portal slow down enrollment too). Before any password is
//! checked:
//!
//! | counted within [`WINDOW_MS`]                        | answer                                          |
//! |-----------------------------------------------------|-------------------------------------------------|
//! | ≥ `failures_per_address` from this address           | refused for the window (address first)          |
//! | ≥ `failures_per_account` for the account, n over it  | refused until `delay · 2ⁿ` (≤ `max_delay`) has passed since its last failure |
//! | otherwise                                            | the password is checked on the [`HashPool`]      |
//!
//! An account is slowed down, never locked: whoever attacks it from elsewhere, its owner gets
//! in after at most `max_delay` (a minute by default). A refused attempt is not counted, and no
//! password is hashed for it. A success clears the account's failures.
//!
//! [`HashPool`]: crate::password::HashPool

use casement_store::StoreError;

use crate::state::AppState;

/// The window failures are counted in.
pub const WINDOW_MS: i64 = 15 * 60_000;

/// Why a sign-in was not decided by its password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// Too many failures from this address or for this account: try again later.
    #[error("too many failed sign-ins; try again in {retry_after_seconds} seconds")]
    Throttled {
        /// When trying again may succeed.
        retry_after_seconds: u64,
    },
    /// The password pool is full: try again shortly.
    #[error(transparent)]
    Busy(#[from] crate::password::PoolBusy),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whose password is checked.
#[derive(Debug, Clone, Copy)]
pub enum Account<'a> {
    /// An end user of the directory (portal, STS, OnPremise enrollment), by UPN.
    User(&'a str),
    /// A console administrator, by name.
    Admin(&'a str),
}

/// The `login_failures` key of an account (case and surrounding spaces ignored).
pub fn account_key(account: Account<'_>) -> String {
    match account {
        Account::User(upn) => format!("user:{}", upn.trim().to_lowercase()),
        Account::Admin(name) => format!("admin:{}", name.trim().to_lowercase()),
    }
}

/// The `login_failures` key of a client address.
pub fn address_key(address: Option<std::net::IpAddr>) -> String {
    match address {
        Some(ip) => format!("ip:{ip}"),
        None => "ip:unknown".into(),
    }
}

/// The client's address for the throttle: the TCP peer, or — only when the peer is one of
/// `trusted_proxies` — the last `X-Forwarded-For` entry (the one the proxy added; nginx's
/// `$proxy_add_x_forwarded_for`), so that clients behind nginx are not all one address.
pub fn client_address(
    peer: Option<std::net::IpAddr>,
    headers: &axum::http::HeaderMap,
    trusted_proxies: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let peer = peer?;
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| last.trim().parse().ok())
        .or(Some(peer))
}

/// Checks `password` against `stored` (the account's hash; `None` for an unknown account, which
/// costs the same) under the throttle. `Ok(true)` only for the right password of a known
/// account; a wrong one is counted against the account and the address.
pub async fn check(
    state: &AppState,
    account: Account<'_>,
    address: &str,
    password: &str,
    stored: Option<&str>,
) -> Result<bool, SignInError> {
    let key = account_key(account);
    refuse_if_throttled(state, &key, address).await?;
    let hash = stored.unwrap_or(crate::password::dummy_hash());
    let ok = state.hash_pool.verify(password, hash).await? && stored.is_some();
    if ok {
        state.store.clear_login_failures(&key).await?;
    } else {
        let now = state.clock.now_ms();
        state.store.record_login_failure(&key, now).await?;
        state.store.record_login_failure(address, now).await?;
        state.metrics.refusal("signin-failed");
    }
    Ok(ok)
}

/// Refuses (without checking any password) when the address or the account is throttled.
pub async fn refuse_if_throttled(
    state: &AppState,
    account_key: &str,
    address: &str,
) -> Result<(), SignInError> {
    let policy = state.config.signin;
    let now = state.clock.now_ms();
    let since = now - WINDOW_MS;
    if state.store.login_failures_since(address, since).await? >= policy.failures_per_address {
        state.metrics.refusal("signin-throttled-address");
        tracing::warn!(
            address,
            "sign-in refused: too many failures from this address"
        );
        let retry_after_seconds = (WINDOW_MS / 1000) as u64;
        crate::services::events::signin_throttled(state, address, retry_after_seconds).await;
        return Err(SignInError::Throttled {
            retry_after_seconds,
        });
    }
    let failures = state.store.login_failures_since(account_key, since).await?;
    let Some(excess) = failures.checked_sub(policy.failures_per_account) else {
        return Ok(());
    };
    let delay = account_delay_ms(&policy, excess);
    if state
        .store
        .login_failures_since(account_key, now - delay)
        .await?
        > 0
    {
        state.metrics.refusal("signin-throttled-account");
        tracing::warn!(
            account = account_key,
            address,
            failures,
            "sign-in refused: the account is slowed down after failed sign-ins"
        );
        let retry_after_seconds = (delay as u64).div_ceil(1000);
        crate::services::events::signin_throttled(state, account_key, retry_after_seconds).await;
        return Err(SignInError::Throttled {
            retry_after_seconds,
        });
    }
    Ok(())
}

/// The wait after an account's last failure once it has `excess` failures over the allowance:
/// `delay · 2^excess`, at most `max_delay`.
pub fn account_delay_ms(policy: &crate::config::SigninPolicy, excess: u64) -> i64 {
    let factor = 1i64 << excess.min(20);
    policy
        .delay_ms
        .saturating_mul(factor)
        .min(policy.max_delay_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_delay_doubles_up_to_its_cap() {
        let policy = crate::config::SigninPolicy {
            failures_per_address: 30,
            failures_per_account: 5,
            delay_ms: 2000,
            max_delay_ms: 60_000,
        };
        let delays: Vec<i64> = (0..8).map(|n| account_delay_ms(&policy, n)).collect();
        assert_eq!(
            delays,
            [2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(account_delay_ms(&policy, u64::MAX), 60_000);
    }

    #[test]
    fn one_key_per_account_whatever_the_door_or_case() {
        assert_eq!(
            account_key(Account::User(" Alice@Contoso.com ")),
            "user:alice@contoso.com"
        );
        assert_eq!(account_key(Account::Admin("Root")), "admin:root");
        assert_eq!(address_key(None), "ip:unknown");
    }

    #[test]
    fn behind_a_trusted_proxy_the_address_is_the_one_it_added() {
        let proxy: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = axum::http::HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6, 1.2.3.4".parse().unwrap());
        headers.append("x-forwarded-for", "5.6.7.8".parse().unwrap());
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        assert_eq!(
            client_address(Some(proxy), &headers, &[proxy]),
            ip("5.6.7.8")
        );
        assert_eq!(
            client_address(ip("9.9.9.9"), &headers, &[proxy]),
            ip("9.9.9.9"),
            "a header from anyone else is ignored"
        );
        assert_eq!(
            client_address(Some(proxy), &axum::http::HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
    }
}
