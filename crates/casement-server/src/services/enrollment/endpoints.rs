//! The three SOAP endpoints (discovery, XCEP GetPolicies, WSTEP RequestSecurityToken) and the
//! credential check they share.
//!
//! Contract: each handler answers a [`SoapReply`], never an error; a GetPolicies credential is
//! only checked, the RequestSecurityToken's is consumed (a Federated token is single-use).

use casement_enroll::*;
use casement_store::User;

use super::reply::{Failure, SoapReply, parse_off_runtime, peer_fault};
use super::sts_pages::token_hash;
use super::wstep::{issue, renew};
use crate::paths;
use crate::services::signin::SignInError;
use crate::services::users::authenticate;
use crate::state::AppState;

/// Handles a POST to the discovery endpoint.
pub async fn discover(state: &AppState, body: &[u8]) -> SoapReply {
    let request = match parse_off_runtime(body, DiscoverRequest::parse).await {
        Ok(r) => r,
        Err(e) => return peer_fault(None, FaultContext::Other, &e),
    };
    let config = DiscoveryConfig {
        enrollment_policy_service_url: state.config.url(paths::POLICY),
        enrollment_service_url: state.config.url(paths::ENROLLMENT),
        authentication_service_url: Some(state.config.url(paths::STS)),
        allowed_auth_policies: state.config.auth_policies.clone(),
        max_enrollment_version: EnrollmentVersion::V4_0,
    };
    let reply = ReplyTo::to(&request.header.message_id);
    match negotiate_discovery(&request, &config) {
        Ok(result) => {
            tracing::info!(email = request.email_address.as_deref().unwrap_or(""), platform = ?result.platform, policy = ?result.auth_policy, "discovery");
            SoapReply {
                message: build_discover_response(&reply, &result),
                is_fault: false,
            }
        }
        Err(e) => peer_fault(Some(&request.header.message_id), FaultContext::Other, &e),
    }
}

/// Handles XCEP GetPolicies: the credential must be good; the token is not consumed yet (the
/// RequestSecurityToken that follows presents it again).
///
/// `address` is the client's sign-in throttle key (`services::signin::address_key`).
pub async fn get_policies(state: &AppState, body: &[u8], address: &str) -> SoapReply {
    let request = match parse_off_runtime(body, GetPoliciesRequest::parse).await {
        Ok(r) => r,
        Err(e) => return peer_fault(None, FaultContext::Other, &e),
    };
    let id = &request.header.message_id;
    match authenticate_token(state, &request.security, false, address).await {
        Ok(_) => {}
        Err(failure) => return failure.reply(id, FaultContext::Other),
    }
    let config = PolicyConfig {
        validity_period_seconds: u64::from(state.config.device_cert_days) * 86_400,
        ..PolicyConfig::default()
    };
    SoapReply {
        message: build_get_policies_response(&ReplyTo::to(id), &config),
        is_fault: false,
    }
}

/// Handles WSTEP RequestSecurityToken: a new enrollment (Issue) or a renewal (Renew, with the
/// device's current certificate as the TLS client certificate).
pub async fn request_security_token(
    state: &AppState,
    body: &[u8],
    client_cert: Option<&[u8]>,
    address: &str,
) -> SoapReply {
    let request = match parse_off_runtime(body, RstRequest::parse).await {
        Ok(r) => r,
        Err(e) => return peer_fault(None, FaultContext::RequestSecurityToken, &e),
    };
    let id = request.header.message_id.clone();
    let result = match request.request_type {
        RequestType::Issue => issue(state, &request, address).await,
        RequestType::Renew => renew(state, &request, client_cert).await,
    };
    match result {
        Ok(message) => SoapReply {
            message,
            is_fault: false,
        },
        Err(failure) => failure.reply(&id, FaultContext::RequestSecurityToken),
    }
}

/// Authenticates the credential of a GetPolicies or RST request. A Federated token is checked
/// and, when `consume`, used up (it is single-use: replays are refused).
pub(super) async fn authenticate_token(
    state: &AppState,
    security: &SecurityToken,
    consume: bool,
    address: &str,
) -> Result<User, Failure> {
    match security {
        SecurityToken::UsernamePassword { username, password } => {
            if !state.config.auth_policies.contains(&AuthPolicy::OnPremise) {
                return Err(Failure::new(
                    FaultSubcode::Authentication,
                    "OnPremise authentication is not offered",
                ));
            }
            match authenticate(state, username, password.expose(), address).await {
                Ok(Some(user)) => Ok(user),
                Err(SignInError::Throttled { .. }) => Err(Failure::new(
                    FaultSubcode::Authentication,
                    "too many failed sign-ins for this account or from this address; try again later",
                )),
                Err(SignInError::Busy(_)) => Err(Failure::new(
                    FaultSubcode::EnrollmentServer,
                    "the server is busy; try again in a few seconds",
                )),
                Err(e) => Err(Failure::internal(e)),
                Ok(None) => {
                    tracing::warn!(upn = %username, "enrollment refused: wrong user name or password");
                    Err(Failure::new(
                        FaultSubcode::Authentication,
                        "the user name or password is incorrect",
                    ))
                }
            }
        }
        SecurityToken::Federated(token) => {
            let token = token.sts_token().map_err(|_| {
                Failure::new(
                    FaultSubcode::Authentication,
                    "the sign-in token is not one this server issued",
                )
            })?;
            let hash = token_hash(&token);
            let now = state.clock.now_ms();
            let user_id = if consume {
                state.store.consume_sts_token(&hash, now).await
            } else {
                state.store.sts_token_user(&hash, now).await
            }
            .map_err(Failure::internal)?;
            let Some(user_id) = user_id else {
                tracing::warn!("enrollment refused: unknown, expired or used sign-in token");
                return Err(Failure::new(
                    FaultSubcode::Authentication,
                    "the sign-in token is unknown, expired or already used",
                ));
            };
            state
                .store
                .user_by_id(&user_id)
                .await
                .map_err(Failure::internal)?
                .ok_or_else(|| {
                    Failure::new(
                        FaultSubcode::Authentication,
                        "the signed-in user no longer exists",
                    )
                })
        }
        SecurityToken::None => Err(Failure::new(FaultSubcode::Authentication, "no credentials")),
    }
}
