//! What a device's answers mean beyond one status per command: commands answered item by item,
//! and the warnings a session carries for the administrator.

use casement_syncml::{MsgId, StatusCode};
use serde::{Deserialize, Serialize};

/// How the Items of one command fared, when the device answered them one by one.
///
/// Windows 10/11 answer a command with several Items (a `Get` of five DevDetail nodes, a
/// `Replace` of three policies) with one `Status` per Item, each naming its Item in `TargetRef`,
/// then one `Results` for the Items that were read (`docs/protocol.md`, "Per-item statuses").
/// Each Item keeps its own code; the command is done when at least one Item succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutcomes {
    /// How many Items the command had.
    pub total: usize,
    /// The Items whose status was not 2xx, in the order the device reported them.
    pub failed: Vec<ItemFailure>,
}

/// One Item the device did not carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFailure {
    /// The Item's LocURI (the Status's `TargetRef`).
    pub loc_uri: String,
    /// The device's code for it.
    pub status: StatusCode,
}

impl ItemOutcomes {
    /// In words, when some Items failed and others succeeded: `4 of 5 items; ./DevInfo/Mod 404
    /// not found`. `None` when every Item succeeded (nothing to say) or the command had one Item.
    pub fn summary(&self) -> Option<String> {
        if self.failed.is_empty() {
            return None;
        }
        let done = self.total.saturating_sub(self.failed.len());
        let failures: Vec<String> = self
            .failed
            .iter()
            .map(|f| format!("{} {}", f.loc_uri, in_words(f.status)))
            .collect();
        Some(format!(
            "{done} of {} items; {}",
            self.total,
            failures.join("; ")
        ))
    }
}

/// Something the administrator should know about a session, recorded with it and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "warning")]
pub enum SessionWarning {
    /// The device answered our SyncHdr with an error: it could not process a message we sent
    /// (Windows puts a Status for the SyncHdr, `MsgRef` 0 and `Data` 500, at the head of its next
    /// package 1). The commands that message carried go back to pending.
    DeviceCouldNotProcess {
        /// The `MsgRef` it gave (0: the last message of the previous session).
        msg_ref: MsgId,
        /// Its code.
        status: StatusCode,
        /// How many of our commands go back to pending because of it.
        requeued: usize,
    },
    /// Package 1 reports a `./DevInfo/DevId` other than the device its certificate names. The
    /// certificate decides who the device is; the reported value is not stored.
    DevIdMismatch {
        /// The DevId package 1 reported (cut to 64 characters).
        reported: String,
        /// The device the certificate (and the SyncHdr Source) names.
        device_id: String,
    },
}

impl std::fmt::Display for SessionWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DeviceCouldNotProcess {
                msg_ref,
                status,
                requeued,
            } => {
                let which = if msg_ref.0 == 0 {
                    "the server's last message".to_owned()
                } else {
                    format!("server message {}", msg_ref.0)
                };
                write!(
                    f,
                    "the device could not process {which} (status {}); ",
                    in_words(*status)
                )?;
                match requeued {
                    // Package 1: the previous session's unanswered commands were already
                    // returned to pending when this session replaced it.
                    0 => f.write_str("anything it carried goes back to pending"),
                    1 => f.write_str("its command goes back to pending"),
                    n => write!(f, "its {n} commands go back to pending"),
                }
            }
            Self::DevIdMismatch {
                reported,
                device_id,
            } => write!(
                f,
                "package 1 reports ./DevInfo/DevId {reported:?}, but the certificate is for {device_id:?}; the reported value is not stored"
            ),
        }
    }
}

/// A status code in words: `404 not found`, `500 command failed`.
pub fn in_words(status: StatusCode) -> String {
    let meaning = status.meaning();
    let short = meaning.split([':', '.']).next().unwrap_or(meaning);
    format!("{} {}", status.code(), short.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_counts_the_items_and_names_each_failure_in_words() {
        let outcomes = ItemOutcomes {
            total: 5,
            failed: vec![ItemFailure {
                loc_uri: "./DevInfo/Mod".into(),
                status: StatusCode::NotFound,
            }],
        };
        assert_eq!(
            outcomes.summary().unwrap(),
            "4 of 5 items; ./DevInfo/Mod 404 not found"
        );
        assert_eq!(ItemOutcomes::default().summary(), None);
    }

    #[test]
    fn codes_in_words() {
        assert_eq!(in_words(StatusCode::CommandFailed), "500 command failed");
        assert_eq!(in_words(StatusCode::Ok), "200 ok");
        assert_eq!(in_words(StatusCode::Other(299)), "299 unknown");
    }

    #[test]
    fn warnings_in_words() {
        let w = SessionWarning::DeviceCouldNotProcess {
            msg_ref: MsgId(0),
            status: StatusCode::CommandFailed,
            requeued: 0,
        };
        assert_eq!(
            w.to_string(),
            "the device could not process the server's last message (status 500 command failed); anything it carried goes back to pending"
        );
        let w = SessionWarning::DeviceCouldNotProcess {
            msg_ref: MsgId(2),
            status: StatusCode::CommandFailed,
            requeued: 3,
        };
        assert!(w.to_string().ends_with("its 3 commands go back to pending"));
    }
}
