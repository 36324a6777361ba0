//! SyncML 1.2 as Windows MDM speaks it: a typed model, a strict and fast decoder, and an encoder.
//!
//! No I/O happens here. [`parse`] turns bytes into a [`SyncMl`]; [`to_string`] turns it back
//! into the compact XML Windows expects. Hostile input is refused early with a [`ParseError`]
//! naming the byte offset and the element path ([`Limits`] bound size, depth and command count;
//! DOCTYPE and undefined entities are refused outright).
//!
//! ```
//! let input = br#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>
//!   <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
//!   <Target><LocURI>https://mdm.example/ManagementServer/MDM.svc</LocURI></Target>
//!   <Source><LocURI>DEVICE1</LocURI></Source></SyncHdr>
//!   <SyncBody><Alert><CmdID>2</CmdID><Data>1201</Data></Alert><Final/></SyncBody></SyncML>"#;
//! let message = casement_syncml::parse(input)?;
//! assert_eq!(message.header.source.loc_uri, "DEVICE1");
//! let again = casement_syncml::parse(casement_syncml::to_string(&message).as_bytes())?;
//! assert_eq!(again, message);
//! # Ok::<(), casement_syncml::ParseError>(())
//! ```

mod codes;
mod error;
mod model;
mod parse;
mod reader;
mod write;

pub use codes::{AlertCode, StatusCode};
pub use error::{ParseError, ParseErrorKind};
pub use model::*;
pub use parse::{Fragment, parse, parse_fragment, parse_with};
pub use reader::Limits;
pub use write::{command_to_string, fragment_to_string, to_string, to_string_pretty};

/// The MIME type of SyncML DM over XML, sent and accepted by Windows ([MS-MDM] §2.1).
pub const CONTENT_TYPE: &str = "application/vnd.syncml.dm+xml";
