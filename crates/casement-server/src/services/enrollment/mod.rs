//! Enrollment: discovery, the Federated sign-in (our STS), XCEP GetPolicies and WSTEP
//! RequestSecurityToken, for Windows 8.1 (MS-MDE) and Windows 10/11 (MS-MDE2).
//!
//! Every outcome is a SOAP message: a response, or an MS-MDE2 fault (never an HTTP 500 with a
//! stack). Internal failures are logged with a trace id and answered `InternalServiceFault`.
//!
//! Layout: `endpoints` (the SOAP endpoints and the credential check), `wstep` (new enrollment
//! and renewal), `provisioning` (provisioning document and certificate records), `sts_pages`
//! (our STS's sign-in pages), `reply` (SOAP replies, faults and parsing).

mod endpoints;
mod provisioning;
mod reply;
mod sts_pages;
mod wstep;

pub use endpoints::{discover, get_policies, request_security_token};
pub use reply::SoapReply;
pub use sts_pages::{StsPage, sign_in, sign_in_submit};
