//! Transaction headers (reference §4.6, §8.6): ending a half message, and the broker's check.

use crate::error::ProtocolError;

command_header! {
    /// END_TRANSACTION (37), sent oneway by the Java producer.
    pub struct EndTransactionRequestHeader {
        topic: String = "topic", optional;
        /// Must equal the half message's `PGROUP` property.
        producer_group: String = "producerGroup", required;
        /// The half message's consume-queue offset (`queueOffset` of the send).
        tran_state_table_offset: i64 = "tranStateTableOffset", required;
        /// From the offset message id of the send response.
        commit_log_offset: i64 = "commitLogOffset", required;
        /// 0, 8 or 12: see [`CommitOrRollback`] and [`Self::validate`].
        commit_or_rollback: i32 = "commitOrRollback", required;
        /// True when this answers a CHECK_TRANSACTION_STATE.
        from_transaction_check: bool = "fromTransactionCheck", default(false);
        /// The message's `UNIQ_KEY`.
        msg_id: String = "msgId", required;
        transaction_id: String = "transactionId", optional;
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39, broker → producer, oneway); the body is the half message.
    pub struct CheckTransactionStateRequestHeader {
        topic: String = "topic", optional;
        /// The half message's consume-queue offset.
        tran_state_table_offset: i64 = "tranStateTableOffset", required;
        commit_log_offset: i64 = "commitLogOffset", required;
        /// The message's `UNIQ_KEY`.
        msg_id: String = "msgId", optional;
        /// Equals `msgId`.
        transaction_id: String = "transactionId", optional;
        offset_msg_id: String = "offsetMsgId", optional;
        /// The base-class key `bname`: the broker that holds the half message.
        broker_name: String = "bname", optional;
    }
}

command_header! {
    /// CheckTransactionStateResponseHeader: defined by Java, unused since the check is oneway.
    pub struct CheckTransactionStateResponseHeader {
        producer_group: String = "producerGroup", required;
        tran_state_table_offset: i64 = "tranStateTableOffset", required;
        commit_log_offset: i64 = "commitLogOffset", required;
        /// 8 or 12 only.
        commit_or_rollback: i32 = "commitOrRollback", required;
    }
}

/// The producer's verdict on a half message (`MessageSysFlag.TRANSACTION_*_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitOrRollback {
    /// `TRANSACTION_NOT_TYPE` (0): state unknown, the broker checks again later.
    Unknown,
    /// `TRANSACTION_COMMIT_TYPE` (8).
    Commit,
    /// `TRANSACTION_ROLLBACK_TYPE` (12).
    Rollback,
}

impl CommitOrRollback {
    /// The wire value.
    pub fn code(self) -> i32 {
        match self {
            CommitOrRollback::Unknown => 0,
            CommitOrRollback::Commit => 8,
            CommitOrRollback::Rollback => 12,
        }
    }

    /// Decodes a wire value; anything but 0, 8, 12 is `None`.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(CommitOrRollback::Unknown),
            8 => Some(CommitOrRollback::Commit),
            12 => Some(CommitOrRollback::Rollback),
            _ => None,
        }
    }
}

fn wrong_commit_or_rollback(code: i32) -> ProtocolError {
    ProtocolError::InvalidField { field: "commitOrRollback", value: code.to_string() }
}

impl EndTransactionRequestHeader {
    /// The verdict; a value other than 0, 8, 12 fails like Java's `checkFields`.
    pub fn resolution(&self) -> Result<CommitOrRollback, ProtocolError> {
        CommitOrRollback::from_code(self.commit_or_rollback)
            .ok_or_else(|| wrong_commit_or_rollback(self.commit_or_rollback))
    }

    /// Checks `commitOrRollback` ∈ {0, 8, 12}.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        self.resolution().map(|_| ())
    }
}

impl CheckTransactionStateResponseHeader {
    /// Checks `commitOrRollback` ∈ {8, 12}, like Java's `checkFields`.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        match CommitOrRollback::from_code(self.commit_or_rollback) {
            Some(CommitOrRollback::Commit | CommitOrRollback::Rollback) => Ok(()),
            _ => Err(wrong_commit_or_rollback(self.commit_or_rollback)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext_fields::ExtFields;
    use crate::headers::CommandHeader;

    header_properties! {
        end_transaction_request: EndTransactionRequestHeader,
        check_transaction_state_request: CheckTransactionStateRequestHeader,
        check_transaction_state_response: CheckTransactionStateResponseHeader,
    }

    fn end(commit_or_rollback: &str) -> ExtFields {
        [
            ("producerGroup", "pg"),
            ("tranStateTableOffset", "7"),
            ("commitLogOffset", "1024"),
            ("commitOrRollback", commit_or_rollback),
            ("msgId", "7F000001"),
            ("fromTransactionCheck", "true"),
            ("oway", "true"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn end_transaction_validates_the_verdict() {
        for (raw, want) in [
            ("0", CommitOrRollback::Unknown),
            ("8", CommitOrRollback::Commit),
            ("12", CommitOrRollback::Rollback),
        ] {
            let header = EndTransactionRequestHeader::from_ext(&end(raw)).unwrap();
            assert_eq!(header.resolution(), Ok(want));
            assert_eq!(header.validate(), Ok(()));
            assert_eq!(want.code().to_string(), raw);
            assert!(header.from_transaction_check);
        }
        for raw in ["4", "-1", "9"] {
            let header = EndTransactionRequestHeader::from_ext(&end(raw)).unwrap();
            assert_eq!(
                header.validate(),
                Err(ProtocolError::InvalidField {
                    field: "commitOrRollback",
                    value: raw.to_string()
                })
            );
        }
    }

    #[test]
    fn the_check_response_allows_only_commit_or_rollback() {
        let mut header = CheckTransactionStateResponseHeader {
            producer_group: "pg".into(),
            tran_state_table_offset: 1,
            commit_log_offset: 2,
            commit_or_rollback: 8,
        };
        assert_eq!(header.validate(), Ok(()));
        header.commit_or_rollback = 0;
        assert!(header.validate().is_err());
    }

    #[test]
    fn the_check_request_carries_bname() {
        let header = CheckTransactionStateRequestHeader {
            topic: Some("t".into()),
            tran_state_table_offset: 3,
            commit_log_offset: 4,
            msg_id: Some("m".into()),
            transaction_id: Some("m".into()),
            offset_msg_id: None,
            broker_name: Some("broker-a".into()),
        };
        assert_eq!(header.to_ext().get("bname"), Some("broker-a"));
    }
}
