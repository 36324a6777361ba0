//! What an issued certificate turns into: the provisioning document sent to the device, the
//! enrollment crate's [`Certificate`] and the store's [`NewCertificate`] record.
//!
//! Contract: pure construction from the configuration, the CA and the issued certificate (plus
//! random application-level digest credentials); a value that does not convert is an internal
//! [`Failure`].

use casement_enroll::*;
use casement_store::NewCertificate;
use rand::RngCore;

use super::reply::Failure;
use crate::clock::to_ms;
use crate::state::AppState;

pub(super) fn provisioning_doc(
    state: &AppState,
    platform: casement_enroll::Platform,
    issued: &casement_ca::IssuedCertificate,
    device_name: Option<&str>,
) -> Result<ProvisioningDoc, Failure> {
    let root = certificate(state.ca.certificate_der(), state.ca.sha1_thumbprint())?;
    let device_cert = certificate(&issued.der, &issued.sha1_thumbprint)?;
    let provider_id = state
        .config
        .provider_id
        .parse::<ProviderId>()
        .map_err(Failure::internal)?;
    let addr = state
        .config
        .management_url()
        .parse::<ManagementUrl>()
        .map_err(Failure::internal)?;
    let mut secret = [0u8; 16];
    rand::rng().fill_bytes(&mut secret);
    let platform = match platform {
        casement_enroll::Platform::Windows81 => {
            PlatformProvisioning::Windows81(Windows81Provisioning {
                renewal_period: 363,
                oma_dm_retry: OmaDmRetry::default(),
                omadm_account_id: state.config.provider_id.clone(),
            })
        }
        casement_enroll::Platform::Windows10 => {
            PlatformProvisioning::Windows10Plus(Windows10Provisioning {
                ent_dm_id: issued.device_id.clone(),
                poll: PollSchedule::default(),
                robo_renewal: None,
            })
        }
    };
    let input = ProvisioningInput {
        root_ca: root,
        intermediate_cas: Vec::new(),
        device_cert,
        device_cert_subject_cn: issued.device_id.clone(),
        provider_id,
        name: state.config.provider_id.clone(),
        addr,
        server_list: None,
        ssp_hyperlink: None,
        crl_check: None,
        connection: ConnectionRetry::default(),
        // Application-level digest credentials: w7 requires both levels (MS-MDE2 §2.2.9.5);
        // devices authenticate with their TLS client certificate, so these are random.
        app_auth: AppAuth {
            client_secret: hex::encode(secret),
            client_nonce: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                secret,
            ),
            server_name: state.config.provider_id.clone(),
            server_secret: hex::encode(secret.iter().rev().copied().collect::<Vec<u8>>()),
            server_nonce: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                secret.iter().rev().copied().collect::<Vec<u8>>(),
            ),
        },
        device_name: device_name.map(str::to_owned),
        platform,
    };
    build_provisioning_doc(&input).map_err(Failure::internal)
}

pub(super) fn certificate(
    der: &[u8],
    thumbprint_hex: &str,
) -> Result<casement_enroll::Certificate, Failure> {
    let thumbprint = thumbprint_hex
        .parse::<Thumbprint>()
        .map_err(Failure::internal)?;
    casement_enroll::Certificate::new(der.to_vec(), thumbprint).map_err(Failure::internal)
}

pub(super) fn new_certificate(issued: &casement_ca::IssuedCertificate, now: i64) -> NewCertificate {
    NewCertificate {
        serial_hex: issued.serial_hex.to_lowercase(),
        device_id: issued.device_id.clone(),
        thumbprint: issued.sha1_thumbprint.clone(),
        not_before: to_ms(issued.not_before),
        not_after: to_ms(issued.not_after),
        pem: issued.pem.clone(),
        issued_at: now,
    }
}
