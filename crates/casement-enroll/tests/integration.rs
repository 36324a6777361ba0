//! The one integration-test binary of casement-enroll: every fixture under `testdata/` (sources
//! in `testdata/README.md`) against the public API.

#[path = "integration/support.rs"]
mod support;

#[path = "integration/discovery.rs"]
mod discovery;
#[path = "integration/faults.rs"]
mod faults;
#[path = "integration/hostile.rs"]
mod hostile;
#[path = "integration/policies.rs"]
mod policies;
#[path = "integration/provisioning.rs"]
mod provisioning;
#[path = "integration/requests.rs"]
mod requests;
#[path = "integration/rstrc.rs"]
mod rstrc;
#[path = "integration/sts.rs"]
mod sts;
