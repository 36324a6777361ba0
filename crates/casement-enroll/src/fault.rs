//! SOAP 1.2 faults of the enrollment server (MS-MDE2 §2.2.10).
//!
//! Element names: the MS-MDE2 sample (fixtures `mde2/`) is printed all lower-case
//! (`s:fault`, `deviceenrollmentserviceerror`), which is not a SOAP 1.2 fault at all. The Windows
//! enrollment client parses faults with namespace-qualified, case-sensitive XPath
//! (`//s:Fault//s:Code//s:Subcode//s:Value`,
//! `//s:Fault//s:Detail//e:DeviceEnrollmentServiceError//e:ErrorType` and `…//e:TraceId`, with
//! `e` = `http://schemas.microsoft.com/windows/pki/2009/01/enrollment`), and Intune's real faults
//! use that casing, so this builder writes `s:Fault/s:Code/s:Value`, `s:Receiver`, `s:Subcode`,
//! `s:Reason/s:Text`, `s:Detail/DeviceEnrollmentServiceError/{ErrorType, Message, TraceId}`.
//! The client reads the detail's ErrorType first and falls back to the subcode.

use crate::soap::{self, ReplyTo, SoapMessage, XmlWriter, action, ns};

/// The fault subcodes of MS-MDE2 §2.2.10 (the HRESULT the client reports is the discriminant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum FaultSubcode {
    /// `s:MessageFormat` — MENROLL_E_DEVICE_MESSAGE_FORMAT_ERROR: "Message format is bad."
    MessageFormat = 0x8018_0001,
    /// `s:Authentication` — MENROLL_E_DEVICE_AUTHENTICATION_ERROR: "User not recognized."
    Authentication = 0x8018_0002,
    /// `s:Authorization` — MENROLL_E_DEVICE_AUTHORIZATION_ERROR: "User not allowed to enroll."
    Authorization = 0x8018_0003,
    /// `s:CertificateRequest` — MENROLL_E_DEVICE_CERTIFCATEREQUEST_ERROR: "Failed to get
    /// certificate."
    CertificateRequest = 0x8018_0004,
    /// `s:EnrollmentServer` — MENROLL_E_DEVICE_CONFIGMGRSERVER_ERROR: "Generic failure from
    /// management server, such as a database access error."
    EnrollmentServer = 0x8018_0005,
    /// `s:InternalServiceFault` — MENROLL_E_DEVICE_INTERNALSERVICE_ERROR: "The server hit an
    /// unexpected issue."
    InternalServiceFault = 0x8018_0006,
    /// `a:InvalidSecurity` (WS-Addressing namespace) — MENROLL_E_DEVICE_INVALIDSECURITY_ERROR:
    /// "Cannot parse the security header."
    InvalidSecurity = 0x8018_0007,
}

impl FaultSubcode {
    /// Every subcode, in HRESULT order.
    pub const ALL: [FaultSubcode; 7] = [
        FaultSubcode::MessageFormat,
        FaultSubcode::Authentication,
        FaultSubcode::Authorization,
        FaultSubcode::CertificateRequest,
        FaultSubcode::EnrollmentServer,
        FaultSubcode::InternalServiceFault,
        FaultSubcode::InvalidSecurity,
    ];

    /// The HRESULT the Windows client reports for it.
    pub fn hresult(self) -> u32 {
        self as u32
    }

    /// The qualified name written in `s:Subcode/s:Value` (`s:` = SOAP 1.2, `a:` = WS-Addressing).
    pub fn qname(self) -> &'static str {
        match self {
            FaultSubcode::MessageFormat => "s:MessageFormat",
            FaultSubcode::Authentication => "s:Authentication",
            FaultSubcode::Authorization => "s:Authorization",
            FaultSubcode::CertificateRequest => "s:CertificateRequest",
            FaultSubcode::EnrollmentServer => "s:EnrollmentServer",
            FaultSubcode::InternalServiceFault => "s:InternalServiceFault",
            FaultSubcode::InvalidSecurity => "a:InvalidSecurity",
        }
    }
}

/// `DeviceEnrollmentServiceError/ErrorType` values of MS-MDE2 §2.2.10 (Windows 10 1507+; the
/// HRESULT is the discriminant). Whether Windows 8.1 reads the detail is undocumented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum FaultErrorType {
    /// MENROLL_E_DEVICECAPREACHED: "User already enrolled in too many devices. Delete or unenroll
    /// old ones to fix this error. The user can fix it without admin help."
    DeviceCapReached = 0x8018_0013,
    /// MENROLL_E_DEVICENOTSUPPORTED: "Specific platform or version is not supported. There is no
    /// point retrying or calling admin. User could upgrade device."
    DeviceNotSupported = 0x8018_0014,
    /// MENROLL_E_NOTSUPPORTED: "Mobile device management generally not supported (would save an
    /// admin call)."
    NotSupported = 0x8018_0015,
    /// MENROLL_E_NOTELIGIBLETORENEW: "Device is trying to renew but server rejects the request.
    /// Client might show notification for this if Robo fails. Check time on device. The user can
    /// fix it by re-enrolling."
    NotEligibleToRenew = 0x8018_0016,
    /// MENROLL_E_INMAINTENANCE: "Account is in maintenance; retry later."
    InMaintenance = 0x8018_0017,
    /// MENROLL_E_USERLICENSE: "License of user is in bad state and blocking" enrollment.
    UserLicense = 0x8018_0018,
    /// MENROLL_E_ENROLLMENTDATAINVALID: the enrollment data the client sent is invalid
    /// (paraphrase; the spec row was not available in full).
    InvalidEnrollmentData = 0x8018_0019,
    /// MENROLL_E_CUSTOMSERVERERROR: the server's own message (`s:Reason/s:Text`) is shown to the
    /// user (Windows 10 20H2+, MS-MDE2 errata 2023-06-12).
    CustomServerError = 0x8018_0032,
}

impl FaultErrorType {
    /// The HRESULT the Windows client reports for it.
    pub fn hresult(self) -> u32 {
        self as u32
    }

    /// The wire value of `ErrorType`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultErrorType::DeviceCapReached => "DeviceCapReached",
            FaultErrorType::DeviceNotSupported => "DeviceNotSupported",
            FaultErrorType::NotSupported => "NotSupported",
            FaultErrorType::NotEligibleToRenew => "NotEligibleToRenew",
            FaultErrorType::InMaintenance => "InMaintenance",
            FaultErrorType::UserLicense => "UserLicense",
            FaultErrorType::InvalidEnrollmentData => "InvalidEnrollmentData",
            FaultErrorType::CustomServerError => "CustomServerError",
        }
    }
}

/// The optional `s:Detail/DeviceEnrollmentServiceError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultDetail {
    /// `ErrorType`.
    pub error_type: FaultErrorType,
    /// `Message`.
    pub message: String,
    /// `TraceId`: the server's correlation id, stored by Windows as `LastSoapErrorTraceId`.
    pub trace_id: String,
}

impl FaultDetail {
    /// A detail element.
    pub fn new(
        error_type: FaultErrorType,
        message: impl Into<String>,
        trace_id: impl Into<String>,
    ) -> FaultDetail {
        FaultDetail {
            error_type,
            message: message.into(),
            trace_id: trace_id.into(),
        }
    }
}

/// A fault: `s:Receiver` with a subcode, a reason text and an optional detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `s:Subcode/s:Value`.
    pub subcode: FaultSubcode,
    /// `s:Reason/s:Text` (`xml:lang="en-US"`); never put internal details here.
    pub reason: String,
    /// Optional `s:Detail`.
    pub detail: Option<FaultDetail>,
}

impl Fault {
    /// A fault without detail.
    pub fn new(subcode: FaultSubcode, reason: impl Into<String>) -> Fault {
        Fault {
            subcode,
            reason: reason.into(),
            detail: None,
        }
    }

    /// Adds the `DeviceEnrollmentServiceError` detail.
    pub fn with_detail(mut self, detail: FaultDetail) -> Fault {
        self.detail = Some(detail);
        self
    }
}

/// Which operation a fault answers: decides the fault's `a:Action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultContext {
    /// A RequestSecurityToken: the RSTRC action, as in the MS-MDE2 §2.2.10 sample.
    RequestSecurityToken,
    /// Discovery, GetPolicies, or a request too broken to know: the generic WS-Addressing fault
    /// action.
    Other,
}

/// Builds the fault envelope. `reply.relates_to` is `None` when the request could not be parsed
/// far enough to find its MessageID.
pub fn build_fault(reply: &ReplyTo<'_>, context: FaultContext, fault: &Fault) -> SoapMessage {
    let fault_action = match context {
        FaultContext::RequestSecurityToken => action::RSTRC,
        FaultContext::Other => action::ADDRESSING_FAULT,
    };
    let mut w = XmlWriter::new();
    soap::open_envelope(&mut w, fault_action, reply, false, |_| {});
    w.open("s:Body", &[]);
    w.open("s:Fault", &[]);
    w.open("s:Code", &[]);
    w.element("s:Value", &[], "s:Receiver");
    w.open("s:Subcode", &[]);
    w.element("s:Value", &[], fault.subcode.qname());
    w.close("s:Subcode");
    w.close("s:Code");
    w.open("s:Reason", &[]);
    w.element("s:Text", &[("xml:lang", "en-US")], &fault.reason);
    w.close("s:Reason");
    if let Some(detail) = &fault.detail {
        w.open("s:Detail", &[]);
        w.open("DeviceEnrollmentServiceError", &[("xmlns", ns::ENROLLMENT)]);
        w.element("ErrorType", &[], detail.error_type.as_str());
        w.element("Message", &[], &detail.message);
        w.element("TraceId", &[], &detail.trace_id);
        w.close("DeviceEnrollmentServiceError");
        w.close("s:Detail");
    }
    w.close("s:Fault");
    w.close("s:Body");
    soap::close_envelope(&mut w);
    SoapMessage::from_xml(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hresults_follow_the_spec_table() {
        let got: Vec<u32> = FaultSubcode::ALL.iter().map(|s| s.hresult()).collect();
        assert_eq!(got, (0x8018_0001..=0x8018_0007).collect::<Vec<u32>>());
        assert_eq!(FaultErrorType::DeviceCapReached.hresult(), 0x8018_0013);
        assert_eq!(FaultErrorType::InvalidEnrollmentData.hresult(), 0x8018_0019);
        assert_eq!(FaultErrorType::CustomServerError.hresult(), 0x8018_0032);
    }
}
