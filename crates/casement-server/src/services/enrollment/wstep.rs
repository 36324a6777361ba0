//! WSTEP RequestSecurityToken, the two request types: a new enrollment ([`issue`]) and a
//! certificate renewal ([`renew`]), with the device-ID and active-certificate checks.
//!
//! Contract: a new enrollment respects the per-user device limit and never takes over a device
//! enrolled by another user; a renewal needs the device's current, unrevoked certificate as TLS
//! client certificate and a request from the same device. Refusals are [`Failure`]s.

use casement_ca::VerifiedDevice;
use casement_enroll::*;
use casement_store::NewDevice;
use rand::RngCore;

use super::endpoints::authenticate_token;
use super::provisioning::{certificate, new_certificate, provisioning_doc};
use super::reply::Failure;
use crate::clock::to_ms;
use crate::state::AppState;

pub(super) async fn issue(
    state: &AppState,
    request: &RstRequest,
    address: &str,
) -> Result<SoapMessage, Failure> {
    let user = authenticate_token(state, &request.security, true, address).await?;
    let user = match (request.kind, request.context.enrollment_on_behalf_of_user()) {
        (RstKind::OnBehalfOf, Some(upn)) => state
            .store
            .user_by_upn(upn)
            .await
            .map_err(Failure::internal)?
            .ok_or_else(|| {
                Failure::new(
                    FaultSubcode::Authorization,
                    "the user enrolled on behalf of is unknown",
                )
            })?,
        _ => user,
    };
    let platform = request.platform();
    let csr = match &request.certificate_request {
        CertificateRequest::Pkcs10(der) => {
            casement_ca::VerifiedCsr::from_der(der).map_err(Failure::ca)?
        }
        CertificateRequest::Pkcs7(_) => {
            return Err(Failure::new(
                FaultSubcode::CertificateRequest,
                "a new enrollment carries a PKCS#10 request",
            ));
        }
    };
    let device_id = device_id_for(request, &csr)?;
    let existing = state
        .store
        .device(&device_id)
        .await
        .map_err(Failure::internal)?;
    let re_enrollment = existing
        .as_ref()
        .is_some_and(|d| d.retired_at.is_none() && d.user_id == user.id);
    if !re_enrollment {
        let count = state
            .store
            .count_active_devices_of_user(&user.id)
            .await
            .map_err(Failure::internal)?;
        if count >= u64::from(state.config.max_devices_per_user) {
            tracing::warn!(upn = %user.upn, count, "enrollment refused: device limit");
            let detail = FaultDetail::new(
                FaultErrorType::DeviceCapReached,
                format!(
                    "{} has enrolled the most devices allowed ({})",
                    user.upn, state.config.max_devices_per_user
                ),
                uuid::Uuid::new_v4().to_string(),
            );
            return Err(Failure {
                fault: Fault::new(FaultSubcode::Authorization, "device limit reached")
                    .with_detail(detail),
            });
        }
    }
    if existing
        .as_ref()
        .is_some_and(|d| d.retired_at.is_none() && d.user_id != user.id)
    {
        return Err(Failure::new(
            FaultSubcode::Authorization,
            "this device is enrolled by another user",
        ));
    }
    let now = state.clock.now_utc();
    let issued = state
        .ca
        .issue_device_certificate(&csr, &device_id, now, &mut rand::rng())
        .map_err(Failure::ca)?;
    let doc = provisioning_doc(state, platform, &issued, request.context.device_name())?;
    let device = NewDevice {
        id: device_id.clone(),
        platform,
        user_id: user.id.clone(),
        upn: user.upn.clone(),
        user_sid: request.context.get("UserSID").map(str::to_owned),
        name: request.context.device_name().map(str::to_owned),
        enrollment_context: request
            .context
            .items()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        enrolled_at: to_ms(now),
    };
    // The device.enrolled event is written in the enrollment's own transaction.
    let event =
        crate::services::events::device_enrolled(state, &device_id, &user.upn, platform.as_str());
    state
        .store
        .record_enrollment_with_event(&device, &new_certificate(&issued, to_ms(now)), &event)
        .await
        .map_err(Failure::internal)?;
    tracing::info!(device = %device_id, upn = %user.upn, platform = platform.as_str(), serial = %issued.serial_hex, "device enrolled");
    // The profiles of the groups the device is in are pending for it from now on.
    if let Err(e) = crate::services::profiles::reconcile_device(state, &device_id).await {
        tracing::warn!(device = %device_id, error = %e, "could not give a new device its profiles (the reconciler will)");
    }
    let new_device = existing.as_ref().is_none_or(|d| d.retired_at.is_some());
    if new_device && state.config.auto_push_config && state.config.wns.is_some() {
        // A new device gets its push channel configured in its first Maintenance session.
        if let Err(e) = crate::services::commands::queue(
            state,
            &device_id,
            &casement_dm::catalog::CommandRequest::PushConfig,
            None,
            "system",
        )
        .await
        {
            tracing::warn!(device = %device_id, error = %e, "could not queue push configuration for a new device");
        }
    }
    Ok(build_rstrc(
        &ReplyTo::to(&request.header.message_id),
        platform,
        &doc,
        now,
    ))
}

pub(super) async fn renew(
    state: &AppState,
    request: &RstRequest,
    client_cert: Option<&[u8]>,
) -> Result<SoapMessage, Failure> {
    let now = state.clock.now_utc();
    let Some(cert) = client_cert else {
        return Err(Failure::new(
            FaultSubcode::Authentication,
            "renewal needs the device's current certificate as TLS client certificate",
        ));
    };
    let tls_device = state.ca.verify_client_certificate(cert, now).map_err(|_| {
        Failure::new(
            FaultSubcode::Authentication,
            "the client certificate is not one this server issued, or has expired",
        )
    })?;
    check_active_certificate(state, &tls_device).await?;
    let csr = match &request.certificate_request {
        CertificateRequest::Pkcs7(der) => {
            let (wrapped, signer) = state
                .ca
                .verify_renewal_request(der, now)
                .map_err(Failure::ca)?;
            if signer.device_id() != tls_device.device_id() {
                return Err(Failure::new(
                    FaultSubcode::Authorization,
                    "the renewal request is signed by another device",
                ));
            }
            wrapped.into_csr()
        }
        CertificateRequest::Pkcs10(der) => {
            casement_ca::VerifiedCsr::from_der(der).map_err(Failure::ca)?
        }
    };
    let issued = state
        .ca
        .issue_device_certificate(&csr, tls_device.device_id(), now, &mut rand::rng())
        .map_err(Failure::ca)?;
    state
        .store
        .record_renewal(&new_certificate(&issued, to_ms(now)))
        .await
        .map_err(|e| match e {
            casement_store::StoreError::NotFound(_) => Failure {
                fault: Fault::new(FaultSubcode::Authorization, "device not enrolled").with_detail(
                    FaultDetail::new(
                        FaultErrorType::NotEligibleToRenew,
                        "the device is not enrolled",
                        uuid::Uuid::new_v4().to_string(),
                    ),
                ),
            },
            other => Failure::internal(other),
        })?;
    let cert = certificate(&issued.der, &issued.sha1_thumbprint)?;
    let doc = build_renewal_provisioning_doc(&cert);
    let platform = request.platform();
    tracing::info!(device = %tls_device.device_id(), serial = %issued.serial_hex, "certificate renewed");
    Ok(build_rstrc(
        &ReplyTo::to(&request.header.message_id),
        platform,
        &doc,
        now,
    ))
}

/// The certificate must be recorded, not revoked, and its device not retired.
async fn check_active_certificate(
    state: &AppState,
    device: &VerifiedDevice,
) -> Result<(), Failure> {
    let stored = state
        .store
        .certificate(&device.serial_hex().to_lowercase())
        .await
        .map_err(Failure::internal)?;
    match stored {
        Some(c) if c.revoked_at.is_none() && c.device_id == device.device_id() => Ok(()),
        _ => Err(Failure::new(
            FaultSubcode::Authorization,
            "the certificate is revoked or unknown",
        )),
    }
}

/// The device ID: the DeviceID context item (Windows 10/11), else the CSR's Microsoft DeviceID
/// extension, else a new random one (Windows 8.1 sends neither, as far as the public record
/// shows). Only characters Windows uses in device IDs are accepted.
fn device_id_for(request: &RstRequest, csr: &casement_ca::VerifiedCsr) -> Result<String, Failure> {
    let claimed = request
        .context
        .device_id()
        .or(csr.device_id_extension())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match claimed {
        Some(id)
            if id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '{' | '}' | '_')) =>
        {
            Ok(id.to_owned())
        }
        Some(id) => Err(Failure {
            fault: Fault::new(
                FaultSubcode::MessageFormat,
                format!(
                    "device ID {:?} is not acceptable",
                    id.chars().take(80).collect::<String>()
                ),
            )
            .with_detail(FaultDetail::new(
                FaultErrorType::InvalidEnrollmentData,
                "bad DeviceID",
                uuid::Uuid::new_v4().to_string(),
            )),
        }),
        None => {
            let mut bytes = [0u8; 16];
            rand::rng().fill_bytes(&mut bytes);
            Ok(hex::encode_upper(bytes))
        }
    }
}
