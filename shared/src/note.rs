//! Who made a change and why, carried in the automerge change message.
//!
//! Every change a person makes is committed with a [`ChangeNote`], so the
//! history of any value can be explained from the document alone, on any
//! replica (rule 4 of DOMAIN.md: every change records what and why).

use serde::{Deserialize, Serialize};

/// What kind of action produced a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new customer was entered.
    Create,
    /// Archive fields were changed.
    Edit,
    /// A visit or other activity was logged.
    Activity,
    /// A contact was added.
    Contact,
    /// Records came from an import file.
    Import,
    /// A person chose the value of a conflicting field.
    Resolve,
    /// A sale was recorded, or its payment.
    Sale,
    /// A credit-limit change was requested.
    CreditRequest,
    /// A credit-limit request was decided at head office.
    Decide,
    /// A complaint was registered or handled.
    Complaint,
    /// The record was reviewed.
    Review,
    /// A major change was flagged or cleared.
    Flag,
    /// Head office set the grade from the grading rule.
    Grade,
}

impl Action {
    /// Chinese name of the action.
    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "新建客户",
            Action::Edit => "修改档案",
            Action::Activity => "记录活动",
            Action::Contact => "新增联系人",
            Action::Import => "导入",
            Action::Resolve => "解决冲突",
            Action::Sale => "记录销售",
            Action::CreditRequest => "申请信用额度变更",
            Action::Decide => "审批信用额度",
            Action::Complaint => "客户投诉",
            Action::Review => "定期审查",
            Action::Flag => "重大变化",
            Action::Grade => "评定等级",
        }
    }
}

/// Author and reason of one change, serialised as the change message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeNote {
    /// Login of the person who made the change.
    pub by: String,
    /// What they did.
    pub action: Action,
    /// Why; required for changes to existing archive fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The server's seal on a change it made itself (head office's, or
    /// its own put-backs): a keyed hash of the customer, the note and the
    /// time (see [`ChangeNote::seal_input`]) under a key only servers hold
    /// and the backup keeps. A server restored from a backup that lacks
    /// the change recognises it by this when a laptop hands it back,
    /// whatever its clock said. Laptops neither make nor check seals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

impl ChangeNote {
    /// A note without a reason.
    pub fn new(by: impl Into<String>, action: Action) -> Self {
        ChangeNote {
            by: by.into(),
            action,
            reason: None,
            seal: None,
        }
    }

    /// The same note with a reason; blank reasons count as none.
    pub fn with_reason(mut self, reason: Option<impl Into<String>>) -> Self {
        self.reason = reason
            .map(Into::into)
            .filter(|r: &String| !r.trim().is_empty());
        self
    }

    /// What a seal covers: the customer, who, what, why and when (the
    /// change's time in seconds), each length-prefixed so that no two
    /// notes give the same bytes.
    pub fn seal_input(&self, customer: &str, time_secs: i64) -> Vec<u8> {
        let mut out = Vec::new();
        let reason = self.reason.as_deref().unwrap_or("");
        let time = time_secs.to_string();
        let action = serde_json::to_string(&self.action).expect("an action serialises");
        for part in [customer, &self.by, &action, reason, &time] {
            out.extend_from_slice(&(part.len() as u64).to_le_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }

    /// The change message form.
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).expect("a note always serialises")
    }

    /// Reads a change message; `None` for changes that carry no note
    /// (the deterministic skeleton, or changes from foreign tools).
    pub fn from_message(msg: Option<&str>) -> Option<ChangeNote> {
        msg.and_then(|m| serde_json::from_str(m).ok())
    }
}
