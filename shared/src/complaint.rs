//! Handling a complaint as a case (客户投诉处理流程): which step comes next,
//! who may take it, and recording it.
//!
//! The handbook's flow: 登记客诉资料 → 初步判断(质量/非质量)→ 相关部门协商
//! 提出处理方案 → 销售管理部经理签署意见 → 与客户协商 → 按方案执行, or 诉讼
//! 程序 when no agreement is reached → 客户满意度 → 结案. Each step is taken
//! by the roles that own it ([`may_take`]) and in order; the card records
//! who took it and when ([`StepMark`]).
//!
//! A salesperson's laptop takes only the salesperson's steps. The fields of
//! the other steps ([`office_part`]) are head office's alone: the server
//! puts back any a laptop changes, as it does for credit decisions.

use serde::{Deserialize, Serialize};

use crate::codes::{ComplaintCategory, ComplaintStep, Position, Role};
use crate::customer::{Complaint, Millis, StepMark};

/// Who takes a step.
#[derive(Debug, Clone, Copy)]
pub struct Handler<'a> {
    /// Login, recorded on the step.
    pub login: &'a str,
    /// Role.
    pub role: Role,
    /// Approval position, for the manager's opinion.
    pub position: Option<Position>,
}

/// What a step records; each step reads only its own fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepInput {
    /// 初步判断: quality or not.
    pub category: Option<ComplaintCategory>,
    /// 处理方案: what the investigation found.
    pub investigation: String,
    /// 处理方案: the remedy proposed.
    pub remedy: String,
    /// 处理方案, quality issues: whether the sample was returned.
    pub sample_returned: Option<bool>,
    /// 处理方案, quality issues: the inspection's result.
    pub inspection: String,
    /// 处理方案, quality issues: the department responsible.
    pub responsible_department: String,
    /// 经理签署意见.
    pub opinion: String,
    /// 与客户协商: whether the customer agreed.
    pub agreed: Option<bool>,
    /// 与客户协商: how it went.
    pub negotiation: String,
    /// 按方案执行: how it was carried out.
    pub execution: String,
    /// 诉讼程序: where the proceedings stand.
    pub litigation: String,
    /// 客户满意度.
    pub satisfied: Option<bool>,
}

/// Why a step cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The case is closed.
    #[error("该投诉已结案,不能再办理")]
    Closed,
    /// Another step comes first.
    #[error("该投诉现在应当“{next}”,还不能“{step}”")]
    NotNow {
        /// The step that comes next.
        next: &'static str,
        /// The step asked for.
        step: &'static str,
    },
    /// The role does not own the step.
    #[error("“{step}”由{owners}办理,{role}不能办理")]
    NotYours {
        /// The step asked for.
        step: &'static str,
        /// Who may take it.
        owners: &'static str,
        /// The asker's role.
        role: &'static str,
    },
    /// A field the step needs is empty.
    #[error("“{step}”须填写{field}")]
    Missing {
        /// The step asked for.
        step: &'static str,
        /// The field, in Chinese.
        field: &'static str,
    },
}

/// Whether `role` (holding `position`) may take `step`.
pub fn may_take(step: ComplaintStep, role: Role, position: Option<Position>) -> bool {
    use ComplaintStep::*;
    match step {
        Registered | Negotiated | Executed | Satisfaction => {
            matches!(role, Role::Salesperson | Role::Clerk | Role::Manager)
        }
        Judged | Plan | Closed => matches!(role, Role::Clerk | Role::Manager),
        Opinion => role == Role::Manager && position == Some(Position::SalesManager),
        Litigation => role == Role::Manager,
    }
}

/// Who may take `step`, in Chinese.
pub fn owners(step: ComplaintStep) -> &'static str {
    use ComplaintStep::*;
    match step {
        Registered | Negotiated | Executed | Satisfaction => "业务员、档案管理员或经理",
        Judged | Plan | Closed => "档案管理员或经理",
        Opinion => "销售管理部经理",
        Litigation => "经理",
    }
}

/// A complaint registered before cases had steps is judged by its fields.
fn legacy(k: &Complaint) -> bool {
    !k.steps.contains_key(ComplaintStep::Registered.code())
}

/// Whether `step` of `k` has been taken.
pub fn taken(k: &Complaint, step: ComplaintStep) -> bool {
    use ComplaintStep::*;
    if step == Closed {
        return k.closed_at.is_some();
    }
    if step == Registered || k.steps.contains_key(step.code()) {
        return true;
    }
    legacy(k)
        && match step {
            Judged => k.category.is_some(),
            Plan => !k.remedy.is_empty() || !k.investigation.is_empty(),
            Opinion => !k.manager_opinion.is_empty(),
            Negotiated => k.agreed.is_some(),
            Executed => !k.execution.is_empty(),
            Litigation => !k.litigation.is_empty(),
            Satisfaction => k.satisfied.is_some(),
            Registered | Closed => unreachable!("answered above"),
        }
}

/// The steps case `k` goes through, in order: with the remedy carried out,
/// or with court proceedings when the customer did not agree.
pub fn path(k: &Complaint) -> [ComplaintStep; 8] {
    use ComplaintStep::*;
    let sixth = if k.agreed == Some(false) {
        Litigation
    } else {
        Executed
    };
    [
        Registered,
        Judged,
        Plan,
        Opinion,
        Negotiated,
        sixth,
        Satisfaction,
        Closed,
    ]
}

/// The step `k` waits for; none once closed (a case closed before cases
/// had steps may have skipped some).
pub fn next_step(k: &Complaint) -> Option<ComplaintStep> {
    if k.closed_at.is_some() {
        return None;
    }
    path(k).into_iter().find(|s| !taken(k, *s))
}

/// Where `k` stands, in Chinese: "已结案" or "待<step>".
pub fn stage_label(k: &Complaint) -> String {
    match next_step(k) {
        None => "已结案".into(),
        Some(s) => format!("待{}", s.label()),
    }
}

/// A new complaint registered by `by` at `at`.
pub fn register(description: &str, by: &Handler, at: Millis) -> Result<Complaint, StepError> {
    let step = ComplaintStep::Registered;
    check_owner(step, by)?;
    let description = description.trim();
    if description.is_empty() {
        return Err(StepError::Missing {
            step: step.label(),
            field: "投诉内容",
        });
    }
    let mut k = Complaint {
        at,
        by: by.login.to_string(),
        description: description.to_string(),
        ..Default::default()
    };
    mark(&mut k, step, by, at);
    Ok(k)
}

fn check_owner(step: ComplaintStep, by: &Handler) -> Result<(), StepError> {
    if may_take(step, by.role, by.position) {
        Ok(())
    } else {
        Err(StepError::NotYours {
            step: step.label(),
            owners: owners(step),
            role: by.role.label(),
        })
    }
}

fn mark(k: &mut Complaint, step: ComplaintStep, by: &Handler, at: Millis) {
    k.steps.insert(
        step.code().to_string(),
        StepMark {
            by: by.login.to_string(),
            at,
        },
    );
}

/// Text `s` trimmed, or the error naming `field` when it is empty.
fn needed(step: ComplaintStep, field: &'static str, s: &str) -> Result<String, StepError> {
    let t = s.trim();
    if t.is_empty() {
        Err(StepError::Missing {
            step: step.label(),
            field,
        })
    } else {
        Ok(t.to_string())
    }
}

fn given<T>(step: ComplaintStep, field: &'static str, v: Option<T>) -> Result<T, StepError> {
    v.ok_or(StepError::Missing {
        step: step.label(),
        field,
    })
}

/// Takes `step` of case `k` for `by` at `at` with what `input` says: the
/// step must be the one the case waits for, `by` must own it, and it must
/// say what the step decides. Nothing changes when it is refused.
pub fn take(
    k: &mut Complaint,
    step: ComplaintStep,
    input: &StepInput,
    by: &Handler,
    at: Millis,
) -> Result<(), StepError> {
    use ComplaintStep::*;
    let Some(next) = next_step(k) else {
        return Err(StepError::Closed);
    };
    if next != step {
        return Err(StepError::NotNow {
            next: next.label(),
            step: step.label(),
        });
    }
    check_owner(step, by)?;
    let mut new = k.clone();
    match step {
        Registered => unreachable!("a registered case waits for a later step"),
        Judged => new.category = Some(given(step, "投诉性质", input.category)?),
        Plan => {
            new.remedy = needed(step, "处理方案", &input.remedy)?;
            new.investigation = input.investigation.trim().to_string();
            if new.category == Some(ComplaintCategory::Quality) {
                new.inspection = needed(step, "检验结果", &input.inspection)?;
                new.responsible_department =
                    needed(step, "责任部门", &input.responsible_department)?;
                new.sample_returned = Some(given(step, "样品是否退回", input.sample_returned)?);
            }
        }
        Opinion => new.manager_opinion = needed(step, "经理意见", &input.opinion)?,
        Negotiated => {
            new.agreed = Some(given(step, "是否达成一致", input.agreed)?);
            new.negotiation = input.negotiation.trim().to_string();
        }
        Executed => new.execution = needed(step, "执行情况", &input.execution)?,
        Litigation => new.litigation = needed(step, "诉讼情况", &input.litigation)?,
        Satisfaction => new.satisfied = Some(given(step, "客户是否满意", input.satisfied)?),
        Closed => new.closed_at = Some(at),
    }
    mark(&mut new, step, by, at);
    *k = new;
    Ok(())
}

/// Whole days case `k` has been open at `now` (until it closed, if it did).
pub fn age_days(k: &Complaint, now: Millis) -> i64 {
    (k.closed_at.unwrap_or(now) - k.at).max(0) / 86_400_000
}

/// The steps only head office takes.
fn office_step(step: ComplaintStep) -> bool {
    !may_take(step, Role::Salesperson, None)
}

/// The part of `k` only head office writes: the judgement, the plan and the
/// investigation form's fields, the manager's opinion, the proceedings, the
/// closing, and who took those steps. Everything else is left default.
pub fn office_part(k: &Complaint) -> Complaint {
    Complaint {
        category: k.category,
        investigation: k.investigation.clone(),
        remedy: k.remedy.clone(),
        sample_returned: k.sample_returned,
        inspection: k.inspection.clone(),
        responsible_department: k.responsible_department.clone(),
        manager_opinion: k.manager_opinion.clone(),
        litigation: k.litigation.clone(),
        closed_at: k.closed_at,
        steps: k
            .steps
            .iter()
            .filter(|(code, _)| code.parse::<ComplaintStep>().map_or(true, office_step))
            .map(|(c, m)| (c.clone(), m.clone()))
            .collect(),
        ..Default::default()
    }
}

/// Puts head office's part of `k` back to `held`'s (see [`office_part`]),
/// keeping what the salesperson wrote.
pub fn restore_office_part(k: &mut Complaint, held: &Complaint) {
    let h = office_part(held);
    k.category = h.category;
    k.investigation = h.investigation;
    k.remedy = h.remedy;
    k.sample_returned = h.sample_returned;
    k.inspection = h.inspection;
    k.responsible_department = h.responsible_department;
    k.manager_opinion = h.manager_opinion;
    k.litigation = h.litigation;
    k.closed_at = h.closed_at;
    k.steps
        .retain(|code, _| code.parse::<ComplaintStep>().is_ok_and(|s| !office_step(s)));
    k.steps.extend(h.steps);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComplaintStep::*;

    fn who(role: Role, position: Option<Position>) -> Handler<'static> {
        let login = match role {
            Role::Salesperson => "zhang",
            Role::Clerk => "li",
            _ => "wang",
        };
        Handler {
            login,
            role,
            position,
        }
    }

    #[test]
    fn a_quality_case_runs_through_every_step_by_its_owners() {
        let sales = who(Role::Salesperson, None);
        let clerk = who(Role::Clerk, None);
        let manager = who(Role::Manager, Some(Position::SalesManager));
        let mut k = register("包装破损", &sales, 1_000).unwrap();
        assert_eq!(next_step(&k), Some(Judged));
        let judged = StepInput {
            category: Some(ComplaintCategory::Quality),
            ..Default::default()
        };
        assert!(matches!(
            take(&mut k, Judged, &judged, &sales, 2_000),
            Err(StepError::NotYours { .. })
        ));
        take(&mut k, Judged, &judged, &clerk, 2_000).unwrap();
        // A quality plan needs the investigation form's fields.
        let mut plan = StepInput {
            remedy: "补发".into(),
            ..Default::default()
        };
        let before = k.clone();
        assert_eq!(
            take(&mut k, Plan, &plan, &clerk, 3_000),
            Err(StepError::Missing {
                step: "提出处理方案",
                field: "检验结果"
            })
        );
        assert_eq!(k, before, "a refused step changes nothing");
        plan.inspection = "外箱受潮".into();
        plan.responsible_department = "物流部".into();
        plan.sample_returned = Some(true);
        take(&mut k, Plan, &plan, &clerk, 3_000).unwrap();
        let opinion = StepInput {
            opinion: "同意补发".into(),
            ..Default::default()
        };
        let other_manager = who(Role::Manager, Some(Position::SalesVp));
        assert!(take(&mut k, Opinion, &opinion, &other_manager, 4_000).is_err());
        take(&mut k, Opinion, &opinion, &manager, 4_000).unwrap();
        let talk = StepInput {
            agreed: Some(true),
            ..Default::default()
        };
        take(&mut k, Negotiated, &talk, &sales, 5_000).unwrap();
        assert_eq!(next_step(&k), Some(Executed));
        let done = StepInput {
            execution: "已补发".into(),
            satisfied: Some(true),
            ..Default::default()
        };
        take(&mut k, Executed, &done, &sales, 6_000).unwrap();
        take(&mut k, Satisfaction, &done, &sales, 7_000).unwrap();
        assert!(take(&mut k, Closed, &done, &sales, 8_000).is_err());
        take(&mut k, Closed, &done, &clerk, 8_000).unwrap();
        assert_eq!(next_step(&k), None);
        assert_eq!(
            take(&mut k, Closed, &done, &clerk, 9_000),
            Err(StepError::Closed)
        );
        assert_eq!(k.steps["opinion"].by, "wang");
        assert_eq!(k.steps["plan"].at, 3_000);
        assert_eq!(age_days(&k, i64::MAX), 0);
    }

    #[test]
    fn no_agreement_goes_to_court_and_steps_keep_their_order() {
        let clerk = who(Role::Clerk, None);
        let manager = who(Role::Manager, Some(Position::SalesManager));
        let mut k = register("货款纠纷", &clerk, 0).unwrap();
        let input = StepInput {
            category: Some(ComplaintCategory::NonQuality),
            remedy: "退一半货款".into(),
            opinion: "同意".into(),
            agreed: Some(false),
            litigation: "已起诉".into(),
            ..Default::default()
        };
        assert!(matches!(
            take(&mut k, Plan, &input, &clerk, 1),
            Err(StepError::NotNow {
                next: "初步判断",
                ..
            })
        ));
        for step in [Judged, Plan, Opinion, Negotiated] {
            take(&mut k, step, &input, &manager, 1).unwrap();
        }
        assert_eq!(next_step(&k), Some(Litigation));
        assert!(take(&mut k, Litigation, &input, &clerk, 2).is_err());
        take(&mut k, Litigation, &input, &manager, 2).unwrap();
        assert_eq!(stage_label(&k), "待客户满意度");
    }

    #[test]
    fn a_complaint_from_before_the_steps_is_judged_by_its_fields() {
        let k = Complaint {
            description: "送货延误".into(),
            category: Some(ComplaintCategory::NonQuality),
            remedy: "道歉".into(),
            execution: "已道歉".into(),
            ..Default::default()
        };
        assert_eq!(next_step(&k), Some(Opinion));
        let closed = Complaint {
            closed_at: Some(5),
            ..k
        };
        assert_eq!(next_step(&closed), None);
    }

    #[test]
    fn the_office_part_is_put_back_and_the_salespersons_part_kept() {
        let clerk = who(Role::Clerk, None);
        let sales = who(Role::Salesperson, None);
        let mut held = register("包装破损", &sales, 0).unwrap();
        let judged = StepInput {
            category: Some(ComplaintCategory::NonQuality),
            ..Default::default()
        };
        take(&mut held, Judged, &judged, &clerk, 1).unwrap();
        let mut forged = held.clone();
        forged.category = Some(ComplaintCategory::Quality);
        forged.remedy = "全额退款".into();
        forged.steps.insert(
            "plan".into(),
            StepMark {
                by: "zhang".into(),
                at: 2,
            },
        );
        forged.negotiation = "客户同意".into();
        assert_ne!(office_part(&forged), office_part(&held));
        restore_office_part(&mut forged, &held);
        assert_eq!(office_part(&forged), office_part(&held));
        assert_eq!(forged.negotiation, "客户同意");
        assert_eq!(forged.steps.len(), 2);
    }
}
