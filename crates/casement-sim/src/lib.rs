//! Casement's Windows device simulator.
//!
//! It speaks only the wire protocol to the server: it shares the protocol crates
//! (`casement-enroll`, `casement-ca`, later `casement-syncml` / `casement-dm`) and never the
//! server's storage or code.
//!
//! - [`mod@enroll`]: the device side of enrollment (MS-MDE for Windows 8.1, MS-MDE2 for Windows
//!   10/11): discovery, the Federated sign-in page or OnPremise credentials, GetPolicies,
//!   RequestSecurityToken with a Windows-shaped CSR, the provisioning document.
//! - [`state`]: the enrolled device ([`EnrolledDevice`]) and its state directory, and the
//!   mutual-TLS client for management sessions.
//! - [`http`]: the [`http::Transport`] the flows use and its reqwest implementation.
//!
//! ```no_run
//! # async fn run() -> Result<(), casement_sim::EnrollError> {
//! use casement_sim::{EnrollOptions, WindowsRelease, enroll};
//!
//! let mut options = EnrollOptions::new(
//!     "https://127.0.0.1:8443/EnrollmentServer/Discovery.svc",
//!     "ann@example.com",
//!     "correct horse",
//!     WindowsRelease::Windows81,
//! );
//! options.server_tls_pem = Some(std::fs::read_to_string("casement-data/tls.pem").unwrap());
//! let device = enroll(&options).await?;
//! let client = device.management_client(options.server_tls_pem.as_deref())?;
//! # drop(client);
//! # Ok(())
//! # }
//! ```

pub mod agent;
pub mod enroll;
pub mod http;
pub mod load;
pub mod scenario;
pub mod state;
pub mod transcript;
pub mod wns;

pub use enroll::{
    AuthMode, EnrollError, EnrollOptions, Hardware, Step, WindowsRelease, enroll, enroll_with,
};
pub use state::{EnrolledDevice, StateError};
