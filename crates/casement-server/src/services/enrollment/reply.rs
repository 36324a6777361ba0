//! The SOAP plumbing shared by the enrollment endpoints: [`SoapReply`], the [`Failure`] that
//! becomes an MS-MDE2 fault, the parse-failure fault and the off-runtime parser.
//!
//! Contract: every refusal leaves as a SOAP fault; internal failures are logged with a trace id
//! and answered `InternalServiceFault` without detail; large bodies are parsed on a blocking
//! thread, never on the async workers.

use casement_ca::CaError;
use casement_enroll::*;

/// A SOAP reply and whether it is a fault (faults go out with HTTP 500, as SOAP 1.2 binds
/// `Receiver` faults, which is the code MS-MDE2 faults carry).
#[derive(Debug)]
pub struct SoapReply {
    /// The envelope.
    pub message: SoapMessage,
    /// True for a fault.
    pub is_fault: bool,
}

/// A refusal on its way to becoming a SOAP fault.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) fault: Fault,
}

impl Failure {
    pub(super) fn new(subcode: FaultSubcode, reason: impl Into<String>) -> Self {
        Self {
            fault: Fault::new(subcode, reason),
        }
    }

    /// Our own failure: logged with a trace id, answered without detail.
    pub(super) fn internal(e: impl std::fmt::Display) -> Self {
        let trace = uuid::Uuid::new_v4().to_string();
        tracing::error!(trace_id = %trace, error = %e, "enrollment: internal failure");
        Self {
            fault: Fault::new(
                FaultSubcode::InternalServiceFault,
                format!("internal error (trace id {trace})"),
            ),
        }
    }

    /// A CA refusal: the peer's CSR or certificate is at fault, or we are.
    pub(super) fn ca(e: CaError) -> Self {
        match e.fault() {
            casement_ca::Fault::Peer => Self::new(FaultSubcode::CertificateRequest, e.to_string()),
            _ => Self::internal(e),
        }
    }

    pub(super) fn reply(self, relates_to: &MessageId, context: FaultContext) -> SoapReply {
        SoapReply {
            message: build_fault(&ReplyTo::to(relates_to), context, &self.fault),
            is_fault: true,
        }
    }
}

/// A fault for a request that failed to parse (the peer's fault, logged).
pub(super) fn peer_fault(
    relates_to: Option<&MessageId>,
    context: FaultContext,
    e: &EnrollError,
) -> SoapReply {
    tracing::warn!(error = %e, "enrollment request refused");
    let reply = ReplyTo {
        relates_to,
        activity_id: None,
    };
    SoapReply {
        message: build_fault(&reply, context, &e.fault("")),
        is_fault: true,
    }
}

/// Requests larger than this are parsed on a blocking thread, not on the async workers (a real
/// request is under 5 KB and parses in microseconds; the parser's limit is 256 KiB).
const INLINE_PARSE_BYTES: usize = 16 * 1024;

/// Parses an enrollment request, off the async workers when it is large.
pub(super) async fn parse_off_runtime<T: Send + 'static>(
    body: &[u8],
    parse: fn(&[u8]) -> Result<T, EnrollError>,
) -> Result<T, EnrollError> {
    if body.len() <= INLINE_PARSE_BYTES {
        return parse(body);
    }
    let owned = body.to_vec();
    tokio::task::spawn_blocking(move || parse(&owned))
        .await
        .unwrap_or_else(|e| {
            Err(EnrollError::NotXml {
                detail: format!("the parse did not finish: {e}"),
            })
        })
}
