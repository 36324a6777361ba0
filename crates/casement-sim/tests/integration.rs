//! The one integration-test binary of casement-sim: the requests the simulator builds read back
//! by the server's parsers, the server's responses read by the simulator's parsers, and the
//! whole enrollment flow against an in-memory server built from the protocol crates (no
//! network). Fixtures under `testdata/` are copies of the conformance fixtures listed in `docs/fixtures.md`.

#[path = "integration/support.rs"]
mod support;

#[path = "integration/agent_server.rs"]
mod agent_server;
#[path = "integration/flow.rs"]
mod flow;
#[path = "integration/profiles.rs"]
mod profiles;
#[path = "integration/requests.rs"]
mod requests;
#[path = "integration/responses.rs"]
mod responses;
#[path = "integration/wns_endpoint.rs"]
mod wns_endpoint;
