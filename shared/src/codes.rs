//! Closed vocabularies of the archive card (grade, status, tier, …).
//!
//! Each value has a stable ASCII code, which is what the document, the JSON
//! output and the database store, and a Chinese label, which is what people
//! read. Parsing accepts either, so `--grade A`, `--status 活跃` and
//! `--status active` all work.

use std::fmt;
use std::str::FromStr;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value outside a closed vocabulary; the message lists what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{value}”不是有效的{what},可选值:{allowed}")]
pub struct UnknownCode {
    /// What kind of value was expected (Chinese), e.g. "客户等级".
    pub what: &'static str,
    /// The rejected input.
    pub value: String,
    /// The accepted codes and labels, joined for display.
    pub allowed: String,
}

macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $code:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored in documents and databases.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese label shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }

        impl FromStr for $name {
            type Err = UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                for v in Self::ALL {
                    if v.code().eq_ignore_ascii_case(t) || v.label() == t {
                        return Ok(*v);
                    }
                }
                Err(UnknownCode {
                    what: $what,
                    value: s.to_string(),
                    allowed: Self::ALL
                        .iter()
                        .map(|v| format!("{}({})", v.code(), v.label()))
                        .collect::<Vec<_>>()
                        .join("、"),
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(self.code())
            }
        }

        impl Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
                s.parse().map_err(|e: UnknownCode| HydrateError::unexpected($what, e.value))
            }
        }
    };
}

code_enum! {
    /// Customer grade (客户等级), A best to E to be phased out.
    Grade, "客户等级" {
        A => "A", "A级";
        B => "B", "B级";
        C => "C", "C级";
        /// 60–70 points: a customer to watch (关注客户).
        D => "D", "D级";
        /// 50–60 points: a customer to phase out (淘汰客户).
        E => "E", "E级";
    }
}

code_enum! {
    /// Customer status (客户状态).
    Status, "客户状态" {
        Active => "active", "活跃";
        Inactive => "inactive", "非活跃";
        Lost => "lost", "丢失";
    }
}

code_enum! {
    /// Customer tier (客户类别), set at the periodic review.
    Tier, "客户类别" {
        Important => "important", "重要";
        Special => "special", "特殊";
        General => "general", "一般";
    }
}

code_enum! {
    /// Customer type (客户类型).
    CustomerKind, "客户类型" {
        Agent => "agent", "代理商";
        Factory => "factory", "工厂";
        Trading => "trading", "贸易公司";
        Other => "other", "其他";
    }
}

code_enum! {
    /// Nature of the customer's company (企业性质).
    Nature, "企业性质" {
        Private => "private", "民营";
        StateOwned => "state_owned", "国有";
        JointVenture => "joint_venture", "合资";
        Listed => "listed", "上市公司";
        Group => "group", "集团";
        Institution => "institution", "事业单位";
        Other => "other", "其他";
    }
}

code_enum! {
    /// Bank credit rating (银行信用等级).
    BankRating, "银行信用等级" {
        Aaa => "AAA", "AAA";
        Aa => "AA", "AA";
        A => "A", "A";
    }
}

code_enum! {
    /// Prospect intent level (意向等级); decides the follow-up cadence.
    Intent, "意向等级" {
        /// Deposit paid (已交定金).
        O => "O", "O级(已交定金)";
        /// Likely order within 7 days.
        H => "H", "H级(7天内)";
        /// 7–15 days.
        A => "A", "A级(7-15天)";
        /// 15–30 days.
        B => "B", "B级(15-30天)";
        /// 31–90 days.
        C => "C", "C级(31-90天)";
        /// Bought elsewhere (战败).
        Lost => "lost", "战败";
    }
}

code_enum! {
    /// Kind of a logged activity (拜访及其他活动).
    ActivityKind, "活动类型" {
        Visit => "visit", "拜访";
        Call => "call", "电话";
        Mail => "mail", "邮寄";
        Event => "event", "活动";
        Survey => "survey", "调查";
        Gift => "gift", "赠礼";
        Message => "message", "短信/消息";
        Meeting => "meeting", "会议";
    }
}

code_enum! {
    /// Complaint classification (投诉性质).
    ComplaintCategory, "投诉性质" {
        Quality => "quality", "质量问题";
        NonQuality => "non_quality", "非质量问题";
    }
}

code_enum! {
    /// A step of handling a complaint, in the handbook's order (客户投诉处理流程):
    /// after talking with the customer, either the remedy is carried out or,
    /// with no agreement, the matter goes to court; both end with the
    /// customer's satisfaction and the closing of the case.
    ComplaintStep, "投诉处理步骤" {
        /// 登记客诉资料: what the customer complained about.
        Registered => "registered", "登记客诉资料";
        /// 初步判断: a quality or a non-quality issue.
        Judged => "judged", "初步判断";
        /// 相关部门协商提出处理方案 (with the investigation form's fields
        /// for a quality issue).
        Plan => "plan", "提出处理方案";
        /// 销售管理部经理签署意见.
        Opinion => "opinion", "销售管理部经理签署意见";
        /// 与客户协商: agreed on the remedy or not.
        Negotiated => "negotiated", "与客户协商";
        /// 按方案执行.
        Executed => "executed", "按方案执行";
        /// 诉讼程序, when no agreement was reached.
        Litigation => "litigation", "诉讼程序";
        /// 客户满意度.
        Satisfaction => "satisfaction", "客户满意度";
        /// 结案.
        Closed => "closed", "结案";
    }
}

code_enum! {
    /// A head-office position (职位) that decides credit-limit requests; the
    /// default approval chain runs in this order.
    Position, "职位" {
        SalesManager => "sales_manager", "销售管理部经理";
        SalesVp => "sales_vp", "销售副总";
        SalesGm => "sales_gm", "销售总经理";
        GroupGm => "group_gm", "集团总经理";
    }
}

code_enum! {
    /// An early-warning rule (预警规则).
    WarningRule, "预警规则" {
        /// Unpaid sales past their due day.
        OverdueArrears => "overdue_arrears", "逾期欠款";
        /// Arrears above the credit limit.
        CreditExceeded => "credit_exceeded", "超出信用额度";
        /// No sale and no contact for the churn period.
        Churn => "churn", "客户流失风险";
        /// The planned follow-up day has passed.
        FollowupOverdue => "followup_overdue", "跟进逾期";
        /// Not reviewed within the review period.
        ReviewOverdue => "review_overdue", "档案未按期审查";
        /// Graded D or E.
        LowGrade => "low_grade", "等级降至D/E";
        /// A major change at the customer, not cleared.
        MajorChange => "major_change", "重大变化";
    }
}

code_enum! {
    /// A user's role (角色); decides what they may see and change.
    Role, "角色" {
        /// 业务员: their own customers only.
        Salesperson => "salesperson", "业务员";
        /// 销售内勤·客户管理: keeps the archive, corrects any record.
        Clerk => "clerk", "档案管理员";
        /// 销售管理部经理 and above: sees everything, approves.
        Manager => "manager", "经理";
        /// Users, roles, devices.
        Admin => "admin", "系统管理员";
        /// Runs, checks and restores backups; no right to read customer content.
        BackupOperator => "backup_operator", "备份管理员";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_chinese_labels() {
        assert_eq!("a".parse::<Grade>().unwrap(), Grade::A);
        assert_eq!("活跃".parse::<Status>().unwrap(), Status::Active);
        assert_eq!("lost".parse::<Intent>().unwrap(), Intent::Lost);
        let err = "Z".parse::<Grade>().unwrap_err().to_string();
        assert!(err.contains("客户等级") && err.contains("A(A级)"), "{err}");
    }

    #[test]
    fn serde_uses_codes() {
        assert_eq!(
            serde_json::to_string(&Status::Inactive).unwrap(),
            "\"inactive\""
        );
        let s: Status = serde_json::from_str("\"丢失\"").unwrap();
        assert_eq!(s, Status::Lost);
        assert!(serde_json::from_str::<Grade>("\"F\"").is_err());
    }
}
