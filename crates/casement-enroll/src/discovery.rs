//! Discovery (`POST /EnrollmentServer/Discovery.svc`): the `Discover` request of MS-MDE §3.1.4.1
//! (Windows 8.1) and MS-MDE2 §3.1.4.1 (Windows 10/11), the negotiation of the authentication
//! policy and the enrollment version, and the `DiscoverResponse`.
//!
//! The preceding `GET` on the same URL only needs an HTTP 200 (empty body); it has no SOAP.

use roxmltree::Node;

use crate::error::{EnrollError, clip};
use crate::platform::{AuthPolicy, DeviceType, EnrollmentVersion, Platform};
use crate::soap::{
    self, Envelope, Limits, ReplyTo, SoapHeader, SoapMessage, XmlWriter, action, child, is_nil, ns,
    text_of,
};

/// A parsed `Discover` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverRequest {
    /// WS-Addressing header (MessageID for `RelatesTo`).
    pub header: SoapHeader,
    /// `EmailAddress` (trimmed); `None` when empty or nil. May be `domain\user` when the user
    /// typed that instead of an e-mail address.
    pub email_address: Option<String>,
    /// Which protocol generation the request has the shape of.
    pub protocol: DiscoverProtocol,
}

/// The two shapes of `Discover`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoverProtocol {
    /// MS-MDE: only `EmailAddress` and a nil/empty `RequestVersion` ("The value MUST be set to
    /// nil", MS-MDE §3.1.4.1.3.1).
    Mde1,
    /// MS-MDE2: a `RequestVersion` plus device information and the policies the client supports.
    Mde2(Mde2Discover),
}

/// The MS-MDE2 fields of `Discover` (MS-MDE2 §3.1.4.1.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mde2Discover {
    /// `RequestVersion`: the highest enrollment version the client speaks (Windows 10 19043
    /// sends 4.0, Windows 11 22621 sends 6.0).
    pub request_version: EnrollmentVersion,
    /// `DeviceType` (required by the schema; tolerated when missing).
    pub device_type: Option<DeviceType>,
    /// `ApplicationVersion`, a dotted quad such as `10.0.19043.2364`.
    pub application_version: Option<String>,
    /// `OSEdition`: the product type number (MS-MDE2 §2.2.9.6; 72 = Enterprise Evaluation, 48 =
    /// Professional, 101 = Core, 4 = Enterprise...).
    pub os_edition: Option<u32>,
    /// `AuthPolicies/AuthPolicy`, in the client's order; unknown values are skipped.
    pub auth_policies: Vec<AuthPolicy>,
}

impl DiscoverRequest {
    /// Parses a Discover request with the default [`Limits`].
    pub fn parse(body: &[u8]) -> Result<DiscoverRequest, EnrollError> {
        DiscoverRequest::parse_with(body, &Limits::default())
    }

    /// Parses a Discover request with explicit limits.
    pub fn parse_with(body: &[u8], limits: &Limits) -> Result<DiscoverRequest, EnrollError> {
        let doc = soap::parse_document(body, limits)?;
        let env = Envelope::read(&doc)?;
        env.expect_action(action::DISCOVER)?;
        DiscoverRequest::from_envelope(&env)
    }

    pub(crate) fn from_envelope(env: &Envelope<'_, '_>) -> Result<DiscoverRequest, EnrollError> {
        let discover = env.operation;
        let namespace = discovery_namespace(discover)?;
        let request = child(discover, namespace, "request").ok_or(EnrollError::Missing {
            path: "Discover/request",
        })?;
        let field = |name: &str| {
            child(request, namespace, name)
                .filter(|n| !is_nil(*n))
                .map(text_of)
        };
        let email_address = field("EmailAddress").filter(|e| !e.is_empty());
        let protocol = match field("RequestVersion").filter(|v| !v.is_empty()) {
            None => DiscoverProtocol::Mde1,
            Some(version) => DiscoverProtocol::Mde2(Mde2Discover {
                request_version: version.parse()?,
                device_type: field("DeviceType")
                    .filter(|d| !d.is_empty())
                    .map(|d| DeviceType::parse(&d)),
                application_version: field("ApplicationVersion").filter(|v| !v.is_empty()),
                os_edition: field("OSEdition")
                    .filter(|v| !v.is_empty())
                    .map(|v| {
                        v.parse::<u32>().map_err(|_| EnrollError::BadValue {
                            path: "Discover/request/OSEdition",
                            value: clip(&v),
                        })
                    })
                    .transpose()?,
                auth_policies: read_auth_policies(request, namespace)?,
            }),
        };
        Ok(DiscoverRequest {
            header: env.header.clone(),
            email_address,
            protocol,
        })
    }

    /// The platform this request comes from.
    ///
    /// Rule (inferred; see `docs/protocol.md` §1.7 and §6.5):
    /// - MS-MDE shape (nil/empty `RequestVersion`) → Windows 8.1: MS-MDE says the value MUST be
    ///   nil and MS-MDE2 makes it mandatory, so its presence is the one field that separates them.
    /// - MS-MDE2 with `DeviceType` `WindowsPhone` → refused ([`EnrollError::UnsupportedDevice`]):
    ///   phones expect a CSP-based provisioning document this server does not produce.
    /// - MS-MDE2 with `RequestVersion` < 3.0 → Windows 8.1: Windows 10 RTM introduced 3.0
    ///   (windows-itpro-docs samples mark 3.0 "Updated in Windows 10"); older versions come from
    ///   8.x-era clients, which get the MS-MDE answer (Federated, no EnrollmentVersion).
    /// - otherwise → Windows 10/11.
    pub fn platform(&self) -> Result<Platform, EnrollError> {
        match &self.protocol {
            DiscoverProtocol::Mde1 => Ok(Platform::Windows81),
            DiscoverProtocol::Mde2(v2) => {
                if v2.device_type == Some(DeviceType::WindowsPhone) {
                    return Err(EnrollError::UnsupportedDevice {
                        device_type: DeviceType::WindowsPhone.as_str().into(),
                    });
                }
                if v2.request_version < EnrollmentVersion::V3_0 {
                    return Ok(Platform::Windows81);
                }
                Ok(Platform::Windows10)
            }
        }
    }
}

/// What the server offers, configured once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// `EnrollmentPolicyServiceUrl` (XCEP GetPolicies endpoint), an `https://` URL.
    pub enrollment_policy_service_url: String,
    /// `EnrollmentServiceUrl` (WSTEP RST endpoint), an `https://` URL. It may equal the policy
    /// URL (MS-MDE §4.1.2) but must be on the same host (windows-itpro-docs).
    pub enrollment_service_url: String,
    /// `AuthenticationServiceUrl`: our STS sign-in page. Required for Federated.
    pub authentication_service_url: Option<String>,
    /// Policies the server allows, in order of preference.
    pub allowed_auth_policies: Vec<AuthPolicy>,
    /// Highest EnrollmentVersion the server is willing to speak. Default 4.0: the version a real
    /// Windows 10 accepted (`win10/02`); 5.0+ adds TPM attestation context items this server
    /// does not verify.
    pub max_enrollment_version: EnrollmentVersion,
}

/// The negotiated content of a `DiscoverResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverResult {
    /// The platform the answer is shaped for.
    pub platform: Platform,
    /// `AuthPolicy`.
    pub auth_policy: AuthPolicy,
    /// `EnrollmentVersion`; `None` for Windows 8.1 (MS-MDE has no such element).
    pub enrollment_version: Option<EnrollmentVersion>,
    /// `AuthenticationServiceUrl`; present exactly when the policy is Federated.
    pub authentication_service_url: Option<String>,
    /// `EnrollmentPolicyServiceUrl`.
    pub enrollment_policy_service_url: String,
    /// `EnrollmentServiceUrl`.
    pub enrollment_service_url: String,
}

/// Chooses the authentication policy and the enrollment version for a Discover request.
///
/// Rules:
/// - Windows 8.1 (see [`DiscoverRequest::platform`]): AuthPolicy is Federated ("MUST be the
///   string Federated", MS-MDE §3.1.4.1.3.2) and no EnrollmentVersion is sent.
/// - Windows 10/11: the first policy in the server's preference order that the client offered.
///   EnrollmentVersion = min(client `RequestVersion`, server maximum): the client announces the
///   highest version it supports and the server answers the version to use (MS-MDE2
///   §3.1.4.1.3.2 makes the element optional; App. B lists 3.0–7.0 by Windows build). A real
///   Windows 11 that was answered 5.0 then sent RequestVersion 5.0 in its RST context.
///
/// Errors: [`EnrollError::NoCommonAuthPolicy`] (peer), [`EnrollError::UnsupportedDevice`] (peer),
/// [`EnrollError::InvalidConfig`] when Federated is chosen without an authentication URL or a
/// URL is not `https://` (ours).
pub fn negotiate_discovery(
    request: &DiscoverRequest,
    config: &DiscoveryConfig,
) -> Result<DiscoverResult, EnrollError> {
    check_https(
        "enrollment_policy_service_url",
        &config.enrollment_policy_service_url,
    )?;
    check_https("enrollment_service_url", &config.enrollment_service_url)?;
    let platform = request.platform()?;
    let (auth_policy, enrollment_version) = match (&request.protocol, platform) {
        (DiscoverProtocol::Mde2(v2), Platform::Windows10) => {
            let chosen = config
                .allowed_auth_policies
                .iter()
                .copied()
                .find(|p| v2.auth_policies.contains(p))
                .ok_or_else(|| EnrollError::NoCommonAuthPolicy {
                    offered: v2.auth_policies.clone(),
                    allowed: config.allowed_auth_policies.clone(),
                })?;
            (
                chosen,
                Some(v2.request_version.min(config.max_enrollment_version)),
            )
        }
        _ => {
            if !config
                .allowed_auth_policies
                .contains(&AuthPolicy::Federated)
            {
                return Err(EnrollError::NoCommonAuthPolicy {
                    offered: vec![AuthPolicy::Federated],
                    allowed: config.allowed_auth_policies.clone(),
                });
            }
            (AuthPolicy::Federated, None)
        }
    };
    let authentication_service_url =
        match auth_policy {
            AuthPolicy::Federated => {
                let url = config.authentication_service_url.clone().ok_or(
                    EnrollError::InvalidConfig {
                        field: "authentication_service_url",
                        reason: "required for the Federated policy".into(),
                    },
                )?;
                check_https("authentication_service_url", &url)?;
                Some(url)
            }
            _ => None,
        };
    Ok(DiscoverResult {
        platform,
        auth_policy,
        enrollment_version,
        authentication_service_url,
        enrollment_policy_service_url: config.enrollment_policy_service_url.clone(),
        enrollment_service_url: config.enrollment_service_url.clone(),
    })
}

/// Builds the `DiscoverResponse` envelope.
///
/// Element order follows the MS-MDE `xsd:sequence` (AuthPolicy, AuthenticationServiceUrl,
/// EnrollmentPolicyServiceUrl, EnrollmentServiceUrl), which the MS-MDE2 `xsd:all` also accepts;
/// `EnrollmentVersion` follows `AuthPolicy` as in the response a real Windows 10 accepted.
pub fn build_discover_response(reply: &ReplyTo<'_>, result: &DiscoverResult) -> SoapMessage {
    let mut w = XmlWriter::new();
    soap::open_envelope(&mut w, action::DISCOVER_RESPONSE, reply, false, |_| {});
    w.open("s:Body", &[]);
    w.open("DiscoverResponse", &[("xmlns", ns::DISCOVERY)]);
    w.open("DiscoverResult", &[]);
    w.element("AuthPolicy", &[], result.auth_policy.as_str());
    if let Some(version) = result.enrollment_version {
        w.element("EnrollmentVersion", &[], &version.to_string());
    }
    if let Some(url) = &result.authentication_service_url {
        w.element("AuthenticationServiceUrl", &[], url);
    }
    w.element(
        "EnrollmentPolicyServiceUrl",
        &[],
        &result.enrollment_policy_service_url,
    );
    w.element("EnrollmentServiceUrl", &[], &result.enrollment_service_url);
    w.close("DiscoverResult");
    w.close("DiscoverResponse");
    w.close("s:Body");
    soap::close_envelope(&mut w);
    SoapMessage::from_xml(w.finish())
}

/// The namespace of `Discover`: the MS-MDE/MDE2 one, also accepted with a trailing slash as in
/// the windows-itpro-docs request samples (`…/2012/01/enrollment/`).
fn discovery_namespace<'a>(discover: Node<'a, '_>) -> Result<&'a str, EnrollError> {
    let name = discover.tag_name();
    if name.name() != "Discover" {
        return Err(EnrollError::UnexpectedElement {
            expected: "s:Body/Discover",
            found: soap::expanded_name(discover),
        });
    }
    match name.namespace() {
        Some(found) if found.strip_suffix('/').unwrap_or(found) == ns::DISCOVERY => Ok(found),
        other => Err(EnrollError::WrongNamespace {
            element: "Discover",
            expected: ns::DISCOVERY,
            found: clip(other.unwrap_or_default()),
        }),
    }
}

fn read_auth_policies(
    request: Node<'_, '_>,
    namespace: &str,
) -> Result<Vec<AuthPolicy>, EnrollError> {
    let list = child(request, namespace, "AuthPolicies").ok_or(EnrollError::Missing {
        path: "Discover/request/AuthPolicies",
    })?;
    let mut policies = Vec::new();
    for value in soap::children(list, namespace, "AuthPolicy").map(text_of) {
        if let Some(policy) = AuthPolicy::parse(&value)
            && !policies.contains(&policy)
        {
            policies.push(policy);
        }
    }
    Ok(policies)
}

fn check_https(field: &'static str, url: &str) -> Result<(), EnrollError> {
    let ok = url.len() > 8
        && url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    if ok && !url.contains(char::is_whitespace) {
        return Ok(());
    }
    Err(EnrollError::InvalidConfig {
        field,
        reason: format!("{url:?} is not an https:// URL"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(version: &str, policies: &[AuthPolicy]) -> DiscoverRequest {
        DiscoverRequest {
            header: SoapHeader {
                action: action::DISCOVER.into(),
                message_id: soap::MessageId::new("urn:uuid:1").unwrap(),
                to: None,
            },
            email_address: Some("u@example.com".into()),
            protocol: DiscoverProtocol::Mde2(Mde2Discover {
                request_version: version.parse().unwrap(),
                device_type: Some(DeviceType::CimClientWindows),
                application_version: None,
                os_edition: None,
                auth_policies: policies.to_vec(),
            }),
        }
    }

    fn config(allowed: &[AuthPolicy]) -> DiscoveryConfig {
        DiscoveryConfig {
            enrollment_policy_service_url: "https://e.example/p".into(),
            enrollment_service_url: "https://e.example/e".into(),
            authentication_service_url: Some("https://e.example/sts".into()),
            allowed_auth_policies: allowed.to_vec(),
            max_enrollment_version: EnrollmentVersion::V4_0,
        }
    }

    #[test]
    fn server_preference_wins_among_offered_policies() {
        use AuthPolicy::*;
        let r = negotiate_discovery(
            &v2("6.0", &[OnPremise, Federated]),
            &config(&[Federated, OnPremise]),
        )
        .unwrap();
        assert_eq!(r.auth_policy, Federated);
        assert_eq!(
            r.authentication_service_url.as_deref(),
            Some("https://e.example/sts")
        );
        assert_eq!(r.enrollment_version, Some(EnrollmentVersion::V4_0));
        let r = negotiate_discovery(&v2("3.0", &[OnPremise, Federated]), &config(&[OnPremise]))
            .unwrap();
        assert_eq!(
            (
                r.auth_policy,
                r.enrollment_version,
                r.authentication_service_url
            ),
            (OnPremise, Some(EnrollmentVersion::V3_0), None)
        );
    }

    #[test]
    fn no_common_policy_is_the_peers_fault() {
        let err = negotiate_discovery(
            &v2("4.0", &[AuthPolicy::Certificate]),
            &config(&[AuthPolicy::OnPremise]),
        )
        .unwrap_err();
        assert!(matches!(err, EnrollError::NoCommonAuthPolicy { .. }));
        assert!(err.is_peer_fault());
    }

    #[test]
    fn old_request_versions_get_the_windows81_answer() {
        let r = negotiate_discovery(
            &v2("2.0", &[AuthPolicy::OnPremise]),
            &config(&[AuthPolicy::OnPremise, AuthPolicy::Federated]),
        )
        .unwrap();
        assert_eq!(
            (r.platform, r.auth_policy, r.enrollment_version),
            (Platform::Windows81, AuthPolicy::Federated, None)
        );
    }

    #[test]
    fn federated_without_sts_url_is_a_config_error() {
        let mut c = config(&[AuthPolicy::Federated]);
        c.authentication_service_url = None;
        let err = negotiate_discovery(&v2("4.0", &[AuthPolicy::Federated]), &c).unwrap_err();
        assert!(matches!(
            err,
            EnrollError::InvalidConfig {
                field: "authentication_service_url",
                ..
            }
        ));
        assert!(!err.is_peer_fault());
    }
}
