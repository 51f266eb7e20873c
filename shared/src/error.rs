//! The shared crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in the domain core. Messages are Chinese and
/// name the offending field or value, because they reach people unchanged.
#[derive(Debug, Error)]
pub enum Error {
    /// A value broke a rule of the archive card.
    #[error("{}", invalid_text(field, message))]
    Invalid {
        /// Dotted path of the field, e.g. `credit.limit`.
        field: String,
        /// What is wrong, in Chinese.
        message: String,
    },
    /// A path that names no field of the card.
    #[error("没有字段 {0}")]
    UnknownField(String),
    /// An archive field was changed without stating why.
    #[error("修改客户档案必须说明原因(--reason)")]
    ReasonRequired,
    /// A document's bytes could not be loaded or its content does not match the schema.
    #[error("客户文档已损坏或格式不符: {0}")]
    Corrupt(String),
    /// Incoming changes reuse a writer's sequence number for different
    /// content: one of the two copies went back in time (a store restored
    /// from an older copy, a cloned disk, a server restored from a backup).
    /// Such changes never merge; the side that wrote them must record their
    /// effects again under a new actor ([`crate::rebase`]).
    #[error("同一写入者(actor {actor})的修改序号 {seq} 出现了两个不同的版本:资料库可能是从旧副本恢复或复制来的")]
    Clash {
        /// The actor whose sequence number repeats, hex.
        actor: String,
        /// The repeated sequence number.
        seq: u64,
    },
    /// An automerge operation failed (boxed: the automerge error is large
    /// and would bloat every `Result` of the crate).
    #[error("文档操作失败: {0}")]
    Automerge(Box<automerge::AutomergeError>),
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        match e {
            automerge::AutomergeError::DuplicateSeqNumber(seq, actor) => Error::Clash {
                actor: actor.to_hex_string(),
                seq,
            },
            e => Error::Automerge(Box::new(e)),
        }
    }
}

fn invalid_text(field: &str, message: &str) -> String {
    if field.is_empty() {
        message.to_string()
    } else {
        format!("{}:{message}", crate::labels::field_name(field))
    }
}

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Result alias for the shared crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
