//! The `wap-provisioningdoc` of the RSTRC as the device reads it: certificates to install, the
//! `w7` OMA-DM account, the Windows 10/11 DMClient settings and the Windows 8.1 registry values.
//!
//! Layouts accepted (MS-MDE §3.6 `mde1-spec-win81/07`; the document a real Windows 10 accepted,
//! `win10-real-fleet-dump/06b`; windows-itpro-docs): certificates under
//! `CertificateStore/{Root,CA,My}/<store>/<thumbprint>/EncodedCertificate`, where
//! `PrivateKeyContainer` may be inside the device certificate's node (8.1) or its sibling (10);
//! `My/WSTEP` (renewal settings) is not a certificate.

use roxmltree::Node;
use serde::{Deserialize, Serialize};
use sha1::{Digest as _, Sha1};

use super::{ResponseError, bad, decode_base64, parse_xml};

/// The decoded provisioning document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningDocument {
    /// The document as received.
    pub xml: String,
    /// `CertificateStore/Root/*`: the CA certificates to trust (at least one).
    pub root_certificates: Vec<StoredCertificate>,
    /// `CertificateStore/CA/*`: intermediate certificates.
    pub intermediate_certificates: Vec<StoredCertificate>,
    /// `CertificateStore/My/{User,System}`: the device's client certificate.
    pub device_certificate: StoredCertificate,
    /// Which `My` store the device certificate goes to.
    pub device_store: DeviceStore,
    /// The `APPLICATION` with `APPID` `w7`.
    pub w7: W7Application,
    /// `DMClient/Provider/<PROVIDER-ID>` (Windows 10/11), when present.
    pub dm_client: Option<DmClientProvider>,
    /// Every `Registry/<key>/<parm>` (Windows 8.1), in document order.
    pub registry: Vec<RegistryValue>,
}

/// A certificate from the `CertificateStore` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    /// The characteristic's name: the SHA-1 thumbprint as the server wrote it.
    pub thumbprint: String,
    /// `EncodedCertificate`, decoded.
    pub der: Vec<u8>,
}

/// The `My` store of the device certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceStore {
    /// `My/User`.
    User,
    /// `My/System`.
    System,
}

/// The w7 OMA-DM account (MS-MDE §3.6, MS-MDE2 §2.2.9.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct W7Application {
    /// `PROVIDER-ID`.
    pub provider_id: String,
    /// `ADDR`: the management server URL (the client appends `?mode=…&Platform=WoA`).
    pub addr: String,
    /// `NAME`.
    pub name: Option<String>,
    /// `ServerList`.
    pub server_list: Option<String>,
    /// `DEFAULTENCODING`.
    pub default_encoding: Option<String>,
    /// `SSLCLIENTCERTSEARCHCRITERIA`.
    pub ssl_client_cert_search_criteria: Option<String>,
    /// Every parm of the APPLICATION in order (`None` for a parm without value).
    pub parameters: Vec<(String, Option<String>)>,
    /// The `APPAUTH` characteristics in order.
    pub app_auth: Vec<AppAuth>,
}

impl W7Application {
    /// The value of parm `name` (exact, names are case-sensitive).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// One `APPAUTH` characteristic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAuth {
    /// `AAUTHLEVEL` (`CLIENT` or `APPSRV`).
    pub level: String,
    /// `AAUTHTYPE` (`DIGEST`, `BASIC`).
    pub auth_type: Option<String>,
    /// `AAUTHNAME`.
    pub name: Option<String>,
    /// `AAUTHSECRET`.
    pub secret: Option<String>,
    /// `AAUTHDATA` (base64 nonce).
    pub data: Option<String>,
}

/// `DMClient/Provider/<ProviderID>` (MS-MDE2 §2.2.9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmClientProvider {
    /// The provider node name (equal to the w7 `PROVIDER-ID`).
    pub provider_id: String,
    /// `Poll/*`.
    pub poll: PollSettings,
    /// `EntDMID`.
    pub ent_dm_id: Option<String>,
    /// `EntDeviceName`.
    pub ent_device_name: Option<String>,
}

/// `DMClient/Provider/<id>/Poll` values; absent ones are `None` (the client then uses its
/// defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollSettings {
    /// `NumberOfFirstRetries`.
    pub number_of_first_retries: Option<u32>,
    /// `IntervalForFirstSetOfRetries` (minutes).
    pub interval_for_first_set_of_retries: Option<u32>,
    /// `NumberOfSecondRetries`.
    pub number_of_second_retries: Option<u32>,
    /// `IntervalForSecondSetOfRetries` (minutes).
    pub interval_for_second_set_of_retries: Option<u32>,
    /// `NumberOfRemainingScheduledRetries`.
    pub number_of_remaining_scheduled_retries: Option<u32>,
    /// `IntervalForRemainingScheduledRetries` (minutes).
    pub interval_for_remaining_scheduled_retries: Option<u32>,
    /// `PollOnLogin`.
    pub poll_on_login: Option<bool>,
    /// `AllUsersPollOnFirstLogin`.
    pub all_users_poll_on_first_login: Option<bool>,
}

/// A Windows 8.1 `Registry/<key>` parm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryValue {
    /// The key (`HKLM\Security\MachineEnrollment\OmaDmRetry`).
    pub key: String,
    /// The value name.
    pub name: String,
    /// The value, when given.
    pub value: Option<String>,
    /// `datatype` (`integer`, `string`), when given.
    pub datatype: Option<String>,
}

impl ProvisioningDocument {
    /// Checks that every certificate's node name is the SHA-1 thumbprint of its DER (hex,
    /// either case), as the CertificateStore CSP names them.
    pub fn verify_thumbprints(&self) -> Result<(), ResponseError> {
        let all = self
            .root_certificates
            .iter()
            .chain(&self.intermediate_certificates)
            .chain(std::iter::once(&self.device_certificate));
        for cert in all {
            let digest = Sha1::digest(&cert.der);
            let actual: String = digest.iter().map(|b| format!("{b:02X}")).collect();
            if !actual.eq_ignore_ascii_case(cert.thumbprint.trim()) {
                return Err(bad(
                    "CertificateStore thumbprint",
                    &format!("{} (SHA-1 of the certificate is {actual})", cert.thumbprint),
                ));
            }
        }
        Ok(())
    }
}

/// Parses a provisioning document (XML text).
///
/// Required: at least one Root certificate, exactly one device certificate in `My/User` or
/// `My/System`, the `w7` APPLICATION with `ADDR` and `PROVIDER-ID`. A `DMClient/Provider` node
/// must be named like `PROVIDER-ID` ("MUST equal", windows-itpro-docs).
pub fn parse_provisioning_doc(xml: &str) -> Result<ProvisioningDocument, ResponseError> {
    let doc = parse_xml(xml)?;
    let root = doc.root_element();
    if root.tag_name().name() != "wap-provisioningdoc" || root.tag_name().namespace().is_some() {
        return Err(ResponseError::UnexpectedElement {
            expected: "wap-provisioningdoc",
            found: super::expanded_name(root),
        });
    }
    let mut roots = Vec::new();
    let mut intermediates = Vec::new();
    let mut devices = Vec::new();
    let mut w7 = None;
    let mut providers = Vec::new();
    let mut registry = Vec::new();
    for section in characteristics(root) {
        match type_of(section) {
            "CertificateStore" => {
                for store in characteristics(section) {
                    for location in characteristics(store) {
                        let certs = certificates(location)?;
                        match (type_of(store), type_of(location)) {
                            ("Root", _) => roots.extend(certs),
                            ("CA", _) => intermediates.extend(certs),
                            ("My", "User") => {
                                devices.extend(certs.into_iter().map(|c| (DeviceStore::User, c)))
                            }
                            ("My", "System") => {
                                devices.extend(certs.into_iter().map(|c| (DeviceStore::System, c)))
                            }
                            _ => {}
                        }
                    }
                }
            }
            "APPLICATION" if parm(section, "APPID").flatten().as_deref() == Some("w7") => {
                if w7.is_some() {
                    return Err(bad("APPLICATION", "more than one w7 APPLICATION"));
                }
                w7 = Some(read_w7(section)?);
            }
            "DMClient" => {
                for provider_list in characteristics(section).filter(|c| type_of(*c) == "Provider")
                {
                    providers.extend(characteristics(provider_list).map(read_provider));
                }
            }
            "Registry" => {
                for key in characteristics(section) {
                    for p in parms(key) {
                        registry.push(RegistryValue {
                            key: type_of(key).to_owned(),
                            name: p.attribute("name").unwrap_or_default().to_owned(),
                            value: p.attribute("value").map(str::to_owned),
                            datatype: p.attribute("datatype").map(str::to_owned),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    if roots.is_empty() {
        return Err(ResponseError::Missing(
            "CertificateStore/Root/System/<thumbprint>/EncodedCertificate",
        ));
    }
    let mut devices = devices.into_iter();
    let (device_store, device_certificate) = devices.next().ok_or(ResponseError::Missing(
        "CertificateStore/My/User/<thumbprint>/EncodedCertificate",
    ))?;
    if devices.next().is_some() {
        return Err(bad(
            "CertificateStore/My",
            "more than one device certificate",
        ));
    }
    let w7 = w7.ok_or(ResponseError::Missing("APPLICATION (APPID w7)"))?;
    let dm_client = match providers
        .iter()
        .position(|p| p.provider_id == w7.provider_id)
    {
        Some(i) => Some(providers.swap_remove(i)),
        None if providers.is_empty() => None,
        None => {
            return Err(bad(
                "DMClient/Provider",
                &format!(
                    "{:?} does not match PROVIDER-ID {:?}",
                    providers[0].provider_id, w7.provider_id
                ),
            ));
        }
    };
    Ok(ProvisioningDocument {
        xml: xml.to_owned(),
        root_certificates: roots,
        intermediate_certificates: intermediates,
        device_certificate,
        device_store,
        w7,
        dm_client,
        registry,
    })
}

fn read_w7(app: Node<'_, '_>) -> Result<W7Application, ResponseError> {
    let parameters: Vec<(String, Option<String>)> = parms(app)
        .map(|p| {
            (
                p.attribute("name").unwrap_or_default().to_owned(),
                p.attribute("value").map(str::to_owned),
            )
        })
        .collect();
    let get = |name: &str| {
        parameters
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    };
    let app_auth = characteristics(app)
        .filter(|c| type_of(*c) == "APPAUTH")
        .map(|c| {
            let value = |name| parm(c, name).flatten();
            AppAuth {
                level: value("AAUTHLEVEL").unwrap_or_default(),
                auth_type: value("AAUTHTYPE"),
                name: value("AAUTHNAME"),
                secret: value("AAUTHSECRET"),
                data: value("AAUTHDATA"),
            }
        })
        .collect();
    Ok(W7Application {
        provider_id: get("PROVIDER-ID").ok_or(ResponseError::Missing("APPLICATION/PROVIDER-ID"))?,
        addr: get("ADDR").ok_or(ResponseError::Missing("APPLICATION/ADDR"))?,
        name: get("NAME"),
        server_list: get("ServerList"),
        default_encoding: get("DEFAULTENCODING"),
        ssl_client_cert_search_criteria: get("SSLCLIENTCERTSEARCHCRITERIA"),
        parameters,
        app_auth,
    })
}

fn read_provider(provider: Node<'_, '_>) -> DmClientProvider {
    let mut poll = PollSettings::default();
    if let Some(p) = characteristics(provider).find(|c| type_of(*c) == "Poll") {
        let number = |name| parm(p, name).flatten().and_then(|v| v.trim().parse().ok());
        let flag = |name| {
            parm(p, name)
                .flatten()
                .and_then(|v| match v.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" => Some(true),
                    "false" | "0" => Some(false),
                    _ => None,
                })
        };
        poll = PollSettings {
            number_of_first_retries: number("NumberOfFirstRetries"),
            interval_for_first_set_of_retries: number("IntervalForFirstSetOfRetries"),
            number_of_second_retries: number("NumberOfSecondRetries"),
            interval_for_second_set_of_retries: number("IntervalForSecondSetOfRetries"),
            number_of_remaining_scheduled_retries: number("NumberOfRemainingScheduledRetries"),
            interval_for_remaining_scheduled_retries: number(
                "IntervalForRemainingScheduledRetries",
            ),
            poll_on_login: flag("PollOnLogin"),
            all_users_poll_on_first_login: flag("AllUsersPollOnFirstLogin"),
        };
    }
    DmClientProvider {
        provider_id: type_of(provider).to_owned(),
        poll,
        ent_dm_id: parm(provider, "EntDMID").flatten(),
        ent_device_name: parm(provider, "EntDeviceName").flatten(),
    }
}

/// The certificates directly under a store location (`Root/System`): each characteristic with
/// an `EncodedCertificate` parm (skipping `PrivateKeyContainer`, `WSTEP`, …).
fn certificates(location: Node<'_, '_>) -> Result<Vec<StoredCertificate>, ResponseError> {
    let mut out = Vec::new();
    for node in characteristics(location) {
        let Some(encoded) = parm(node, "EncodedCertificate") else {
            continue;
        };
        let encoded = encoded.ok_or(ResponseError::Missing("EncodedCertificate/@value"))?;
        out.push(StoredCertificate {
            thumbprint: type_of(node).to_owned(),
            der: decode_base64("EncodedCertificate", &encoded)?,
        });
    }
    Ok(out)
}

fn characteristics<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(|n| n.is_element() && n.tag_name().name() == "characteristic")
}

fn parms<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(|n| n.is_element() && n.tag_name().name() == "parm")
}

/// `Some(value)` for a parm named `name` (the value itself optional), `None` without the parm.
fn parm(node: Node<'_, '_>, name: &str) -> Option<Option<String>> {
    parms(node)
        .find(|p| p.attribute("name") == Some(name))
        .map(|p| p.attribute("value").map(str::to_owned))
}

fn type_of<'a>(node: Node<'a, '_>) -> &'a str {
    node.attribute("type").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT_B64: &str = "AQID"; // [1, 2, 3]

    fn doc(body: &str) -> String {
        format!("<wap-provisioningdoc version=\"1.1\">{body}</wap-provisioningdoc>")
    }

    fn store(kind: &str, location: &str, thumb: &str, inner: &str) -> String {
        format!(
            "<characteristic type=\"CertificateStore\"><characteristic type=\"{kind}\"><characteristic type=\"{location}\"><characteristic type=\"{thumb}\"><parm name=\"EncodedCertificate\" value=\"{CERT_B64}\"/>{inner}</characteristic></characteristic></characteristic></characteristic>"
        )
    }

    const W7: &str = r#"<characteristic type="APPLICATION"><parm name="APPID" value="w7"/><parm name="PROVIDER-ID" value="P"/><parm name="ADDR" value="https://m/x"/><parm name="BACKCOMPATRETRYDISABLED"/></characteristic>"#;

    #[test]
    fn minimal_document_and_missing_parts() {
        let ok = doc(&format!(
            "{}{}{W7}",
            store("Root", "System", "AA", ""),
            store("My", "System", "BB", "")
        ));
        let parsed = parse_provisioning_doc(&ok).unwrap();
        assert_eq!(parsed.device_store, DeviceStore::System);
        assert_eq!(parsed.device_certificate.der, vec![1, 2, 3]);
        assert_eq!(parsed.w7.parameter("BACKCOMPATRETRYDISABLED"), None);
        assert!(parsed.dm_client.is_none());
        // A thumbprint that is not the SHA-1 of the DER is reported.
        assert!(parsed.verify_thumbprints().is_err());

        let no_root = doc(&format!("{}{W7}", store("My", "User", "BB", "")));
        assert!(matches!(
            parse_provisioning_doc(&no_root),
            Err(ResponseError::Missing(_))
        ));
        let no_w7 = doc(&format!(
            "{}{}",
            store("Root", "System", "AA", ""),
            store("My", "User", "BB", "")
        ));
        assert_eq!(
            parse_provisioning_doc(&no_w7),
            Err(ResponseError::Missing("APPLICATION (APPID w7)"))
        );
    }

    #[test]
    fn dmclient_provider_must_match_provider_id() {
        let other = r#"<characteristic type="DMClient"><characteristic type="Provider"><characteristic type="Q"><parm name="EntDMID" value="x"/></characteristic></characteristic></characteristic>"#;
        let xml = doc(&format!(
            "{}{}{W7}{other}",
            store("Root", "System", "AA", ""),
            store("My", "User", "BB", "")
        ));
        assert!(matches!(
            parse_provisioning_doc(&xml),
            Err(ResponseError::BadValue {
                path: "DMClient/Provider",
                ..
            })
        ));
    }

    #[test]
    fn thumbprints_are_checked_case_insensitively() {
        // SHA-1 of [1, 2, 3].
        let thumb = "7037807198c22a7d2b0807371d763779a84fdfcf";
        let xml = doc(&format!(
            "{}{}{W7}",
            store("Root", "System", thumb, ""),
            store("My", "User", &thumb.to_uppercase(), "")
        ));
        parse_provisioning_doc(&xml)
            .unwrap()
            .verify_thumbprints()
            .unwrap();
    }
}
