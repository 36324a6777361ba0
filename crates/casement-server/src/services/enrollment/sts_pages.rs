//! The Federated sign-in pages of our STS: the form ([`sign_in`]), its POST
//! ([`sign_in_submit`]) issuing the single-use token, and the token hashing.
//!
//! Contract: every outcome is an [`StsPage`] (HTML with its HTTP status); the store only ever
//! holds the SHA-256 of a token, never the token itself.

use casement_enroll::sts::{self, Appru, SignInForm, SignInPage, StsQuery, StsToken};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::paths;
use crate::services::signin::SignInError;
use crate::services::users::authenticate;
use crate::state::AppState;

/// An HTML page from the STS with the HTTP status to send.
#[derive(Debug)]
pub struct StsPage {
    /// 200, 400 (bad query) or 401 (wrong credentials).
    pub status: u16,
    /// The page.
    pub html: String,
}

/// The sign-in page (`GET AuthenticationServiceUrl?appru=…&login_hint=…`).
pub fn sign_in(state: &AppState, query: &str) -> StsPage {
    match StsQuery::parse(query) {
        Ok(q) => StsPage {
            status: 200,
            html: sign_in_form(state, &q.appru, q.login_hint.as_deref(), None),
        },
        Err(e) => StsPage {
            status: 400,
            html: error_page(&e.to_string()),
        },
    }
}

/// The sign-in form's POST: on success the auto-posting form that hands `wresult` (a
/// single-use token bound to the user) back to the enrollment client (MS-MDE §3.2).
pub async fn sign_in_submit(state: &AppState, body: &str, address: &str) -> StsPage {
    let form = match SignInForm::parse(body) {
        Ok(f) => f,
        Err(e) => {
            return StsPage {
                status: 400,
                html: error_page(&e.to_string()),
            };
        }
    };
    let user = match authenticate(state, &form.username, &form.password, address).await {
        Ok(Some(user)) => user,
        Err(SignInError::Throttled {
            retry_after_seconds,
        }) => {
            let message = format!(
                "Too many failed sign-ins. Wait {retry_after_seconds} seconds, then try again."
            );
            let html = sign_in_form(state, &form.appru, Some(&form.username), Some(&message));
            return StsPage { status: 429, html };
        }
        Err(SignInError::Busy(_)) => {
            let message = "The server is busy. Try again in a few seconds.";
            let html = sign_in_form(state, &form.appru, Some(&form.username), Some(message));
            return StsPage { status: 429, html };
        }
        Ok(None) => {
            tracing::warn!(upn = %form.username, "STS sign-in refused: wrong user name or password");
            let html = sign_in_form(
                state,
                &form.appru,
                Some(&form.username),
                Some("The user name or password is incorrect."),
            );
            return StsPage { status: 401, html };
        }
        Err(e) => {
            tracing::error!(error = %e, "STS sign-in: storage unavailable");
            return StsPage {
                status: 503,
                html: error_page("The service is unavailable; try again later."),
            };
        }
    };
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = StsToken::from_random(bytes);
    let expires_at = state.clock.now_ms() + i64::from(state.config.sts_token_seconds) * 1000;
    if let Err(e) = state
        .store
        .put_sts_token(&token_hash(&token), &user.id, expires_at)
        .await
    {
        tracing::error!(error = %e, "STS: could not store token");
        return StsPage {
            status: 503,
            html: error_page("The service is unavailable; try again later."),
        };
    }
    tracing::info!(upn = %user.upn, "STS sign-in: token issued");
    StsPage {
        status: 200,
        html: sts::auto_post_page(&form.appru, token.as_str()),
    }
}

/// SHA-256 of a token's text: the store never holds usable tokens.
pub(super) fn token_hash(token: &StsToken) -> String {
    hex::encode(Sha256::digest(token.as_str().as_bytes()))
}

fn sign_in_form(
    state: &AppState,
    appru: &Appru,
    login_hint: Option<&str>,
    error: Option<&str>,
) -> String {
    sts::sign_in_page(&SignInPage {
        form_action: paths::STS,
        appru,
        login_hint,
        error,
        service_name: &state.config.provider_id,
        csrf_token: None,
    })
}

fn error_page(message: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign-in error</title></head><body><h1>Sign-in error</h1><p>{}</p></body></html>",
        sts::html_escape(message)
    )
}
