//! Credit-limit change requests (客户信用额度变更申请): where one stands on
//! the approval chain, and who may decide it next.
//!
//! A salesperson files the request on the card, offline if need be. The
//! server keeps the authoritative decisions (its own table) and writes them
//! onto the card, so the salesperson sees the outcome after the next sync.
//! Only a request approved by every position of the chain changes the limit.

use serde::{Deserialize, Serialize};

use crate::codes::Position;
use crate::customer::CreditRequest;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "position")]
pub enum CreditStatus {
    /// Waiting for this position's decision.
    Pending(Position),
    /// Every position approved; the limit has been (or is being) changed.
    Approved,
    /// This position rejected it; the chain stops there.
    Rejected(Position),
}

impl CreditStatus {
    /// Chinese description, e.g. "待销售副总审批".
    pub fn label(self) -> String {
        match self {
            CreditStatus::Pending(p) => format!("待{}审批", p.label()),
            CreditStatus::Approved => "已批准".into(),
            CreditStatus::Rejected(p) => format!("{}已驳回", p.label()),
        }
    }

    /// Whether the chain is finished.
    pub fn is_final(self) -> bool {
        !matches!(self, CreditStatus::Pending(_))
    }
}

/// The status of `req` against `chain`: the chain is walked in order; the
/// first rejection ends it, the first position without a decision is next.
pub fn status(req: &CreditRequest, chain: &[Position]) -> CreditStatus {
    for p in chain {
        match req.decisions.get(p.code()) {
            Some(d) if d.approved => continue,
            Some(_) => return CreditStatus::Rejected(*p),
            None => return CreditStatus::Pending(*p),
        }
    }
    CreditStatus::Approved
}

/// Why a decision is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// The request is already approved or rejected.
    #[error("该申请已结束({0}),不能再审批")]
    Finished(String),
    /// Someone else's turn.
    #[error("该申请现在{0},您的职位是{1}")]
    NotYourTurn(String, String),
    /// The decider holds no position on the chain.
    #[error("您没有审批职位,不能审批信用额度申请")]
    NoPosition,
    /// A rejection needs a comment.
    #[error("驳回须填写意见")]
    CommentRequired,
}

/// Checks that the holder of `position` may decide `req` now.
pub fn may_decide(
    req: &CreditRequest,
    chain: &[Position],
    position: Option<Position>,
    approve: bool,
    comment: &str,
) -> Result<(), DecideError> {
    let position = position.ok_or(DecideError::NoPosition)?;
    match status(req, chain) {
        CreditStatus::Pending(p) if p == position => {
            if !approve && comment.trim().is_empty() {
                return Err(DecideError::CommentRequired);
            }
            Ok(())
        }
        s @ CreditStatus::Pending(_) => Err(DecideError::NotYourTurn(
            s.label(),
            position.label().to_string(),
        )),
        s => Err(DecideError::Finished(s.label())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Decision;

    fn decide(req: &mut CreditRequest, p: Position, approved: bool) {
        req.decisions.insert(
            p.code().to_string(),
            Decision {
                approved,
                by: "x".into(),
                at: 1,
                comment: String::new(),
            },
        );
    }

    #[test]
    fn the_chain_runs_in_order_and_a_rejection_ends_it() {
        let chain = Position::ALL.to_vec();
        let mut r = CreditRequest::default();
        assert_eq!(
            status(&r, &chain),
            CreditStatus::Pending(Position::SalesManager)
        );
        decide(&mut r, Position::SalesManager, true);
        assert_eq!(status(&r, &chain), CreditStatus::Pending(Position::SalesVp));
        assert!(matches!(
            may_decide(&r, &chain, Some(Position::GroupGm), true, ""),
            Err(DecideError::NotYourTurn(..))
        ));
        assert_eq!(
            may_decide(&r, &chain, Some(Position::SalesVp), false, " "),
            Err(DecideError::CommentRequired)
        );
        decide(&mut r, Position::SalesVp, false);
        assert_eq!(
            status(&r, &chain),
            CreditStatus::Rejected(Position::SalesVp)
        );
        assert!(matches!(
            may_decide(&r, &chain, Some(Position::SalesGm), true, ""),
            Err(DecideError::Finished(_))
        ));
    }

    #[test]
    fn full_approval_needs_every_position() {
        let chain = Position::ALL.to_vec();
        let mut r = CreditRequest::default();
        for p in &chain[..3] {
            decide(&mut r, *p, true);
        }
        assert_eq!(status(&r, &chain), CreditStatus::Pending(Position::GroupGm));
        decide(&mut r, Position::GroupGm, true);
        assert_eq!(status(&r, &chain), CreditStatus::Approved);
        // A shorter configured chain is finished sooner.
        let short = [Position::SalesManager];
        let mut r = CreditRequest::default();
        decide(&mut r, Position::SalesManager, true);
        assert_eq!(status(&r, &short), CreditStatus::Approved);
        assert_eq!(
            may_decide(&r, &chain, None, true, ""),
            Err(DecideError::NoPosition)
        );
    }
}
