//! The `wap-provisioningdoc` returned (base64) in the RSTRC: certificates to install and the
//! OMA-DM account (`w7` APPLICATION) plus the platform's DM client settings.
//!
//! Sources: MS-MDE §3.6 (Windows 8.1 document, fixture `mde1/07`), MS-MDE §3.5.4.1.1.2 (renewal,
//! `mde1/08`), windows-itpro-docs on-premise-authentication-device-enrollment.md (Windows 10
//! sample) and the document a real Windows 10 accepted from Fleet (`win10/06b`); parameter
//! semantics from MS-MDE2 §2.2.9.3 (DMClient) and §2.2.9.5 (w7).

mod input;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub use input::{
    AppAuth, Certificate, ConnectionRetry, ManagementUrl, OmaDmRetry, PlatformProvisioning,
    PollSchedule, ProviderId, ProvisioningInput, RoboRenewal, Thumbprint, Windows10Provisioning,
    Windows81Provisioning,
};

use crate::error::EnrollError;
use crate::soap::XmlWriter;

/// A finished provisioning document (XML text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningDoc(String);

impl ProvisioningDoc {
    /// The XML.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The base64 of the UTF-8 XML, as carried in the RSTRC `BinarySecurityToken`.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }

    /// Consumes the document into its XML.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// `ROLE` of the w7 account: MS-MDE2 §2.2.9.5 documents 8 and 32, but the MS-MDE sample and a
/// server a real Windows 10 accepted both send 4294967295 (all roles).
pub const W7_ROLE: &str = "4294967295";
/// `DEFAULTENCODING`: XML SyncML (the MS-MDE sample says `+wbxml`; this server speaks XML only).
pub const DEFAULT_ENCODING: &str = "application/vnd.syncml.dm+xml";

/// Builds the enrollment provisioning document.
///
/// Layout (document order):
/// - `CertificateStore`: `Root/System/<ca>`, `CA/System/<intermediate>`…, `My/User/<device>`.
///   Windows 8.1 puts the MS-MDE `PrivateKeyContainer` (KeySpec 2, ContainerName
///   ConfigMgrEnrollment, ProviderType 1) inside the device certificate node; Windows 10/11 gets
///   the empty `PrivateKeyContainer` sibling of the windows-itpro-docs sample and of `win10/06b`
///   ("must be present for XML syntax correctness"), plus `My/WSTEP/Renew` when ROBO renewal is
///   configured.
/// - `APPLICATION` (w7), in the MS-MDE §3.6 order.
/// - Windows 8.1: the four MS-MDE `Registry` blocks. Windows 10/11: `DMClient/Provider/<id>`
///   with `Poll`, `EntDMID` and `EntDeviceName`.
///
/// Errors: [`EnrollError::InvalidConfig`] when the 8.1 OMADM account id is empty or contains `\`.
pub fn build_provisioning_doc(input: &ProvisioningInput) -> Result<ProvisioningDoc, EnrollError> {
    if let PlatformProvisioning::Windows81(p) = &input.platform
        && (p.omadm_account_id.trim().is_empty() || p.omadm_account_id.contains('\\'))
    {
        return Err(EnrollError::InvalidConfig {
            field: "omadm_account_id",
            reason: "must be non-empty and free of '\\'".into(),
        });
    }
    let mut w = XmlWriter::new();
    w.open("wap-provisioningdoc", &[("version", "1.1")]);
    write_certificate_store(&mut w, input);
    write_w7(&mut w, input);
    match &input.platform {
        PlatformProvisioning::Windows81(p) => write_windows81_registry(&mut w, input, p),
        PlatformProvisioning::Windows10Plus(p) => write_dmclient(&mut w, input, p),
    }
    w.close("wap-provisioningdoc");
    Ok(ProvisioningDoc(w.finish()))
}

/// Builds the renewal document: only `CertificateStore/My/User/<thumb>/EncodedCertificate`
/// (MS-MDE §3.5.4.1.1.2).
pub fn build_renewal_provisioning_doc(device_cert: &Certificate) -> ProvisioningDoc {
    let mut w = XmlWriter::new();
    w.open("wap-provisioningdoc", &[("version", "1.1")]);
    open_path(&mut w, &["CertificateStore", "My", "User"]);
    write_certificate_node(&mut w, device_cert, |_| {});
    close_path(&mut w, 3);
    w.close("wap-provisioningdoc");
    ProvisioningDoc(w.finish())
}

fn write_certificate_store(w: &mut XmlWriter, input: &ProvisioningInput) {
    let windows81 = matches!(input.platform, PlatformProvisioning::Windows81(_));
    open_path(w, &["CertificateStore", "Root", "System"]);
    write_certificate_node(w, &input.root_ca, |_| {});
    close_path(w, 2);
    if !input.intermediate_cas.is_empty() {
        open_path(w, &["CA", "System"]);
        for ca in &input.intermediate_cas {
            write_certificate_node(w, ca, |_| {});
        }
        close_path(w, 2);
    }
    open_path(w, &["My", "User"]);
    if windows81 {
        write_certificate_node(w, &input.device_cert, |w| {
            open_path(w, &["PrivateKeyContainer"]);
            parm(w, "KeySpec", Some("2"), None);
            parm(w, "ContainerName", Some("ConfigMgrEnrollment"), None);
            parm(w, "ProviderType", Some("1"), None);
            close_path(w, 1);
        });
    } else {
        write_certificate_node(w, &input.device_cert, |_| {});
        w.empty("characteristic", &[("type", "PrivateKeyContainer")]);
    }
    close_path(w, 1);
    if let PlatformProvisioning::Windows10Plus(Windows10Provisioning {
        robo_renewal: Some(robo),
        ..
    }) = &input.platform
    {
        open_path(w, &["WSTEP", "Renew"]);
        // "If the datatype for ROBOSupport, RenewPeriod, and RetryInterval tags exist, they must
        // be set explicitly" (windows-itpro-docs sample).
        parm(w, "ROBOSupport", Some("true"), Some("boolean"));
        parm(
            w,
            "RenewPeriod",
            Some(&robo.renew_period_days.to_string()),
            Some("integer"),
        );
        parm(
            w,
            "RetryInterval",
            Some(&robo.retry_interval_days.to_string()),
            Some("integer"),
        );
        close_path(w, 2);
    }
    close_path(w, 2);
}

fn write_w7(w: &mut XmlWriter, input: &ProvisioningInput) {
    open_path(w, &["APPLICATION"]);
    parm(w, "APPID", Some("w7"), None);
    parm(w, "PROVIDER-ID", Some(input.provider_id.as_str()), None);
    parm(w, "NAME", Some(&input.name), None);
    if let Some(link) = &input.ssp_hyperlink {
        parm(w, "SSPHyperlink", Some(link), None);
    }
    parm(w, "ADDR", Some(input.addr.as_str()), None);
    if let Some(list) = &input.server_list {
        parm(w, "ServerList", Some(list), None);
    }
    parm(w, "ROLE", Some(W7_ROLE), None);
    if let Some(check) = input.crl_check {
        parm(w, "CRLCheck", Some(if check { "1" } else { "0" }), None);
    }
    parm(
        w,
        "CONNRETRYFREQ",
        Some(&input.connection.conn_retry_freq.to_string()),
        None,
    );
    parm(
        w,
        "INITIALBACKOFFTIME",
        Some(&input.connection.initial_backoff_ms.to_string()),
        None,
    );
    parm(
        w,
        "MAXBACKOFFTIME",
        Some(&input.connection.max_backoff_ms.to_string()),
        None,
    );
    parm(w, "BACKCOMPATRETRYDISABLED", None, None);
    parm(w, "DEFAULTENCODING", Some(DEFAULT_ENCODING), None);
    let criteria = format!(
        "Subject=CN%3d{}&Stores=MY%5CUser",
        percent_encode(&input.device_cert_subject_cn)
    );
    parm(w, "SSLCLIENTCERTSEARCHCRITERIA", Some(&criteria), None);
    let auth = &input.app_auth;
    open_path(w, &["APPAUTH"]);
    parm(w, "AAUTHLEVEL", Some("CLIENT"), None);
    parm(w, "AAUTHTYPE", Some("DIGEST"), None);
    parm(w, "AAUTHSECRET", Some(&auth.client_secret), None);
    parm(w, "AAUTHDATA", Some(&auth.client_nonce), None);
    close_path(w, 1);
    open_path(w, &["APPAUTH"]);
    parm(w, "AAUTHLEVEL", Some("APPSRV"), None);
    parm(w, "AAUTHTYPE", Some("DIGEST"), None);
    parm(w, "AAUTHNAME", Some(&auth.server_name), None);
    parm(w, "AAUTHSECRET", Some(&auth.server_secret), None);
    parm(w, "AAUTHDATA", Some(&auth.server_nonce), None);
    close_path(w, 1);
    close_path(w, 1);
}

fn write_windows81_registry(
    w: &mut XmlWriter,
    input: &ProvisioningInput,
    p: &Windows81Provisioning,
) {
    let int = Some("integer");
    let string = Some("string");
    let retry = &p.oma_dm_retry;
    open_path(w, &["Registry", r"HKLM\Security\MachineEnrollment"]);
    parm(w, "RenewalPeriod", Some(&p.renewal_period.to_string()), int);
    close_path(w, 1);
    open_path(w, &[r"HKLM\Security\MachineEnrollment\OmaDmRetry"]);
    for (name, value) in [
        ("NumRetries", retry.num_retries),
        ("RetryInterval", retry.retry_interval),
        ("AuxNumRetries", retry.aux_num_retries),
        ("AuxRetryInterval", retry.aux_retry_interval),
        ("Aux2NumRetries", retry.aux2_num_retries),
        ("Aux2RetryInterval", retry.aux2_retry_interval),
    ] {
        parm(w, name, Some(&value.to_string()), int);
    }
    close_path(w, 2);
    open_path(
        w,
        &[
            "Registry",
            r"HKLM\Software\Windows\CurrentVersion\MDM\MachineEnrollment",
        ],
    );
    parm(
        w,
        "DeviceName",
        Some(input.device_name.as_deref().unwrap_or("")),
        string,
    );
    close_path(w, 2);
    // Key spelling (SOFTWARE vs Software) and the MY\System store follow the MS-MDE sample.
    let device_thumb = input.device_cert.thumbprint().to_string();
    open_path(
        w,
        &[
            "Registry",
            r"HKLM\SOFTWARE\Windows\CurrentVersion\MDM\MachineEnrollment",
        ],
    );
    parm(
        w,
        "SslServerRootCertHash",
        Some(&input.root_ca.thumbprint().to_string()),
        string,
    );
    parm(w, "SslClientCertStore", Some("MY%5CSystem"), string);
    let subject = format!("CN%3d{}", percent_encode(&input.device_cert_subject_cn));
    parm(w, "SslClientCertSubjectName", Some(&subject), string);
    parm(w, "SslClientCertHash", Some(&device_thumb), string);
    close_path(w, 1);
    let account = format!(
        r"HKLM\Security\Provisioning\OMADM\Accounts\{}",
        p.omadm_account_id
    );
    open_path(w, &[&account]);
    parm(
        w,
        "SslClientCertReference",
        Some(&format!("My;System;{device_thumb}")),
        string,
    );
    close_path(w, 2);
}

fn write_dmclient(w: &mut XmlWriter, input: &ProvisioningInput, p: &Windows10Provisioning) {
    let int = Some("integer");
    let poll = &p.poll;
    open_path(
        w,
        &["DMClient", "Provider", input.provider_id.as_str(), "Poll"],
    );
    for (name, value) in [
        ("NumberOfFirstRetries", poll.number_of_first_retries),
        (
            "IntervalForFirstSetOfRetries",
            poll.interval_for_first_set_of_retries,
        ),
        ("NumberOfSecondRetries", poll.number_of_second_retries),
        (
            "IntervalForSecondSetOfRetries",
            poll.interval_for_second_set_of_retries,
        ),
        (
            "NumberOfRemainingScheduledRetries",
            poll.number_of_remaining_scheduled_retries,
        ),
        (
            "IntervalForRemainingScheduledRetries",
            poll.interval_for_remaining_scheduled_retries,
        ),
    ] {
        parm(w, name, Some(&value.to_string()), int);
    }
    parm(
        w,
        "PollOnLogin",
        Some(if poll.poll_on_login { "true" } else { "false" }),
        Some("boolean"),
    );
    close_path(w, 1);
    parm(w, "EntDMID", Some(&p.ent_dm_id), Some("string"));
    if let Some(name) = &input.device_name {
        parm(w, "EntDeviceName", Some(name), Some("string"));
    }
    close_path(w, 3);
}

/// `<characteristic type="<thumb>"><parm name="EncodedCertificate" …/>…</characteristic>`
fn write_certificate_node(
    w: &mut XmlWriter,
    cert: &Certificate,
    inner: impl FnOnce(&mut XmlWriter),
) {
    open_path(w, &[&cert.thumbprint().to_string()]);
    parm(w, "EncodedCertificate", Some(&cert.base64()), None);
    inner(w);
    close_path(w, 1);
}

fn open_path(w: &mut XmlWriter, types: &[&str]) {
    for t in types {
        w.open("characteristic", &[("type", t)]);
    }
}

fn close_path(w: &mut XmlWriter, levels: usize) {
    for _ in 0..levels {
        w.close("characteristic");
    }
}

fn parm(w: &mut XmlWriter, name: &str, value: Option<&str>, datatype: Option<&str>) {
    let mut attrs = vec![("name", name)];
    if let Some(value) = value {
        attrs.push(("value", value));
    }
    if let Some(datatype) = datatype {
        attrs.push(("datatype", datatype));
    }
    w.empty("parm", &attrs);
}

/// Percent-encodes everything but `A-Z a-z 0-9 - . _ ~` (upper-case hex), the encoding the
/// MS-MDE sample applies to `=` (`%3d`) and `\` (`%5C`).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_matches_the_sample_alphabet() {
        assert_eq!(percent_encode("e4c6b893-07a7"), "e4c6b893-07a7");
        assert_eq!(percent_encode("a=b,c\\d !\0"), "a%3Db%2Cc%5Cd%20%21%00");
    }
}
