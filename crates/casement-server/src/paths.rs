//! The URL paths this server answers on.

/// MS-MDE discovery; "always constant" ([MS-MDE] §3.1).
pub const DISCOVERY: &str = "/EnrollmentServer/Discovery.svc";
/// The Federated sign-in page (our STS, `AuthenticationServiceUrl`).
pub const STS: &str = "/EnrollmentServer/Sts";
/// XCEP GetPolicies.
pub const POLICY: &str = "/EnrollmentServer/Policy.svc";
/// WSTEP RequestSecurityToken.
pub const ENROLLMENT: &str = "/EnrollmentServer/Enrollment.svc";
/// OMA-DM management (the provisioned `ADDR`).
pub const MANAGEMENT: &str = "/ManagementServer/MDM.svc";
