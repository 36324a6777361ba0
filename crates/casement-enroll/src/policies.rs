//! Certificate enrollment policy (MS-XCEP profile of MS-MDE §3.3 / MS-MDE2 §3.3): the
//! `GetPolicies` request and the `GetPoliciesResponse`.

use crate::error::EnrollError;
use crate::security::{SecurityToken, read_security};
use crate::soap::{
    self, Envelope, Limits, ReplyTo, SoapHeader, SoapMessage, XmlWriter, action, ns,
};

/// A parsed `GetPolicies` request. Its body (`client/lastUpdate`, `preferredLanguage`,
/// `requestFilter`) is always nil from Windows (MS-MDE §3.3.4.1.1.1) and is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetPoliciesRequest {
    /// WS-Addressing header.
    pub header: SoapHeader,
    /// The credential (Federated token or OnPremise user name/password).
    pub security: SecurityToken,
}

impl GetPoliciesRequest {
    /// Parses a GetPolicies request with the default [`Limits`].
    pub fn parse(body: &[u8]) -> Result<GetPoliciesRequest, EnrollError> {
        GetPoliciesRequest::parse_with(body, &Limits::default())
    }

    /// Parses a GetPolicies request with explicit limits.
    pub fn parse_with(body: &[u8], limits: &Limits) -> Result<GetPoliciesRequest, EnrollError> {
        let doc = soap::parse_document(body, limits)?;
        let env = Envelope::read(&doc)?;
        env.expect_action(action::GET_POLICIES)?;
        GetPoliciesRequest::from_envelope(&env)
    }

    pub(crate) fn from_envelope(env: &Envelope<'_, '_>) -> Result<GetPoliciesRequest, EnrollError> {
        soap::expect_element(
            env.operation,
            ns::XCEP,
            "GetPolicies",
            "s:Body/xcep:GetPolicies",
        )?;
        let security = read_security(env.header_node)?;
        Ok(GetPoliciesRequest {
            header: env.header.clone(),
            security,
        })
    }
}

/// The hash algorithm the policy asks the client to sign its CSR with
/// (`hashAlgorithmOIDReference`, which MUST reference an `oIDs/oID`, MS-MDE §3.3.4.1.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// OID 1.3.14.3.2.29 `szOID_OIWSEC_sha1RSASign`, the value of the windows-itpro-docs Win10
    /// sample, and what a real Windows 10 signed its CSR with.
    Sha1Rsa,
    /// OID 2.16.840.1.101.3.4.2.1 `szOID_NIST_sha256` (MS-XCEP hash group 1). Not verified
    /// against a real client.
    Sha256,
}

impl HashAlgorithm {
    /// The dotted OID.
    pub fn oid(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1Rsa => "1.3.14.3.2.29",
            HashAlgorithm::Sha256 => "2.16.840.1.101.3.4.2.1",
        }
    }

    /// The `defaultName` sent with the OID.
    pub fn default_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1Rsa => "szOID_OIWSEC_sha1RSASign",
            HashAlgorithm::Sha256 => "szOID_NIST_sha256",
        }
    }
}

/// What the policy announces. The CA decides the real certificate; these values tell the
/// client what to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// `attributes/commonName`: the template name.
    pub common_name: String,
    /// `privateKeyAttributes/minimalKeyLength` (bits).
    pub minimal_key_length: u32,
    /// `hashAlgorithmOIDReference` target.
    pub hash_algorithm: HashAlgorithm,
    /// `certificateValidity/validityPeriodSeconds`.
    pub validity_period_seconds: u64,
    /// `certificateValidity/renewalPeriodSeconds`.
    pub renewal_period_seconds: u64,
}

impl Default for PolicyConfig {
    /// "Casement", 2048-bit keys, SHA-1/RSA (the sample's), 365 days validity, renewal 42 days
    /// before expiry.
    fn default() -> Self {
        PolicyConfig {
            common_name: "Casement".into(),
            minimal_key_length: 2048,
            hash_algorithm: HashAlgorithm::Sha1Rsa,
            validity_period_seconds: 365 * 86_400,
            renewal_period_seconds: 42 * 86_400,
        }
    }
}

/// Builds a well-formed `GetPoliciesResponse` modelled on the full Windows 10 sample of
/// windows-itpro-docs `on-premise-authentication-device-enrollment.md` (policySchema 3, the
/// optional elements present and nil, one oID with `oIDReferenceID` 0 referenced by both
/// `policyOIDReference` and `hashAlgorithmOIDReference`).
///
/// The MS-MDE §4.2.2 sample is not well-formed (`<algorithmOIDReferencexsi:nil=…>`); this one is.
pub fn build_get_policies_response(reply: &ReplyTo<'_>, config: &PolicyConfig) -> SoapMessage {
    let mut w = XmlWriter::new();
    soap::open_envelope(&mut w, action::GET_POLICIES_RESPONSE, reply, false, |_| {});
    w.open("s:Body", &[("xmlns:xsi", ns::XSI), ("xmlns:xsd", ns::XSD)]);
    w.open("GetPoliciesResponse", &[("xmlns", ns::XCEP)]);
    w.open("response", &[]);
    w.empty("policyID", &[]);
    w.nil("policyFriendlyName");
    w.nil("nextUpdateHours");
    w.nil("policiesNotChanged");
    w.open("policies", &[]);
    w.open("policy", &[]);
    w.element("policyOIDReference", &[], "0");
    w.nil("cAs");
    w.open("attributes", &[]);
    w.element("commonName", &[], &config.common_name);
    w.element("policySchema", &[], "3");
    w.open("certificateValidity", &[]);
    w.element(
        "validityPeriodSeconds",
        &[],
        &config.validity_period_seconds.to_string(),
    );
    w.element(
        "renewalPeriodSeconds",
        &[],
        &config.renewal_period_seconds.to_string(),
    );
    w.close("certificateValidity");
    w.open("permission", &[]);
    w.element("enroll", &[], "true");
    w.element("autoEnroll", &[], "false");
    w.close("permission");
    w.open("privateKeyAttributes", &[]);
    w.element(
        "minimalKeyLength",
        &[],
        &config.minimal_key_length.to_string(),
    );
    for nil in [
        "keySpec",
        "keyUsageProperty",
        "permissions",
        "algorithmOIDReference",
        "cryptoProviders",
    ] {
        w.nil(nil);
    }
    w.close("privateKeyAttributes");
    w.open("revision", &[]);
    w.element("majorRevision", &[], "101");
    w.element("minorRevision", &[], "0");
    w.close("revision");
    for nil in [
        "supersededPolicies",
        "privateKeyFlags",
        "subjectNameFlags",
        "enrollmentFlags",
        "generalFlags",
    ] {
        w.nil(nil);
    }
    w.element("hashAlgorithmOIDReference", &[], "0");
    for nil in ["rARequirements", "keyArchivalAttributes", "extensions"] {
        w.nil(nil);
    }
    w.close("attributes");
    w.close("policy");
    w.close("policies");
    w.close("response");
    w.nil("cAs");
    w.open("oIDs", &[]);
    w.open("oID", &[]);
    w.element("value", &[], config.hash_algorithm.oid());
    w.element("group", &[], "1");
    w.element("oIDReferenceID", &[], "0");
    w.element("defaultName", &[], config.hash_algorithm.default_name());
    w.close("oID");
    w.close("oIDs");
    w.close("GetPoliciesResponse");
    w.close("s:Body");
    soap::close_envelope(&mut w);
    SoapMessage::from_xml(w.finish())
}
