//! The customer archive card (客户档案表) and everything recorded against it.
//!
//! One [`Customer`] is one automerge document. The same struct is mapped to
//! the document by autosurgeon (`Reconcile`/`Hydrate`) and to JSON by serde,
//! so the field names here are the document schema, the JSON schema and the
//! paths `crm edit --set` accepts. **Schema invariant:** fields are only ever
//! added (with `missing = …` so older documents still load), never renamed.
//!
//! Unknown fields are ignored and missing ones take their defaults, so a
//! laptop on an older version still reads documents written by a newer one.
//!
//! Collections (contacts, activities, complaints, …) are maps keyed by a
//! stable id rather than lists: the same entry arriving twice from two
//! replicas is one entry, and concurrent additions never clash.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::codes::{
    ActivityKind, BankRating, ComplaintCategory, CustomerKind, Grade, Intent, Nature, Status, Tier,
};
use crate::day::Day;

/// Money in whole yuan (元).
pub type Yuan = i64;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The whole archive card of one customer, with its records.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Customer {
    /// Stable id, also the document id (ASCII letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// Company name (客户名称).
    pub name: String,
    /// Login of the assigned salesperson (业务员).
    pub salesperson: String,
    /// Sales region (区域).
    pub region: String,
    /// Active / inactive / lost.
    pub status: Status,
    /// When the record was entered (建档时间).
    pub entered_at: Millis,
    /// End of the record's validity period (有效期).
    pub valid_until: Option<Day>,
    /// Grade A–E (客户等级).
    pub grade: Option<Grade>,
    /// Grading score, 0–100 (评分).
    pub score: Option<f64>,
    /// Tier important / special / general (客户类别).
    pub tier: Option<Tier>,
    /// Type of customer (客户类型).
    pub kind: Option<CustomerKind>,
    /// Nature of the company (企业性质).
    pub nature: Option<Nature>,
    /// Industry (行业).
    pub industry: String,
    /// Prospect intent level set on the card; a logged contact's level overrides it.
    pub intent: Option<Intent>,
    /// Free remarks (备注).
    pub remarks: String,
    /// Contacts keyed by id; the first primary one is the main contact.
    pub contacts: BTreeMap<String, Contact>,
    /// Company information (企业信息).
    pub company: Company,
    /// Business figures (经营状况).
    pub business: Business,
    /// Invoicing details (财务开票信息).
    pub billing: Billing,
    /// Credit (信用).
    pub credit: Credit,
    /// Visits and other activities, keyed by id.
    pub activities: BTreeMap<String, Activity>,
    /// Complaints, keyed by id.
    pub complaints: BTreeMap<String, Complaint>,
    /// Violations (违约记录), keyed by id.
    pub violations: BTreeMap<String, Violation>,
    /// Evaluations (评价), keyed by id.
    pub evaluations: BTreeMap<String, Evaluation>,
    /// Sales (销售记录), keyed by id: the inputs of the grading score.
    pub sales: BTreeMap<String, Sale>,
    /// Credit-limit change requests (信用额度变更申请), keyed by id.
    pub credit_requests: BTreeMap<String, CreditRequest>,
    /// Periodic reviews (定期审查), keyed by id; the latest one counts.
    pub reviews: BTreeMap<String, Review>,
    /// Major changes at the customer (重大变化), keyed by id.
    pub major_changes: BTreeMap<String, MajorChange>,
}

/// One sale to the customer (销售记录).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Sale {
    /// Day of the sale.
    pub day: Option<Day>,
    /// Product (产品).
    pub product: String,
    /// Quantity (数量).
    pub quantity: f64,
    /// Amount in yuan (金额).
    pub amount: Yuan,
    /// Payment due on credit terms (应付款日); none means paid on delivery.
    pub due: Option<Day>,
    /// When it was paid (付款日); none while unpaid.
    pub paid_on: Option<Day>,
    /// Login of who recorded it.
    pub by: String,
}

/// A request to change the credit limit (客户信用额度变更申请表), filed by a
/// salesperson (offline too) and decided at head office along the chain.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct CreditRequest {
    /// When it was filed.
    pub at: Millis,
    /// Login of who filed it.
    pub by: String,
    /// The limit when it was filed (原信用额度).
    pub current: Option<Yuan>,
    /// The limit asked for (拟变更信用额度).
    pub proposed: Yuan,
    /// Why (申请理由).
    pub reason: String,
    /// Decisions keyed by the deciding position's code. Written only by the
    /// server, from its own record; a laptop cannot add or change one.
    pub decisions: BTreeMap<String, Decision>,
}

/// One approver's decision on a credit request (审核意见).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Decision {
    /// Approved (true) or rejected.
    pub approved: bool,
    /// Login of the approver.
    pub by: String,
    /// When.
    pub at: Millis,
    /// Comment (意见).
    pub comment: String,
}

/// A periodic review of the record (定期审查).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Review {
    /// When.
    pub at: Millis,
    /// Login of the reviewer.
    pub by: String,
    /// Tier set at this review.
    pub tier: Option<Tier>,
    /// Remarks.
    pub notes: String,
}

/// A major change at the customer (重大变化): management, ownership,
/// bankruptcy or restructuring. Raises a warning until cleared.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct MajorChange {
    /// When it was flagged.
    pub at: Millis,
    /// Login of who flagged it.
    pub by: String,
    /// What changed.
    pub description: String,
    /// Whether someone has looked at it and cleared the flag.
    pub cleared: bool,
}

/// A person at the customer (联系人).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Contact {
    /// Name (姓名).
    pub name: String,
    /// Main contact (主要联系人) rather than a secondary one.
    pub primary: bool,
    /// Department (部门).
    pub department: String,
    /// Title (职务).
    pub title: String,
    /// Office phone (电话).
    pub phone: String,
    /// Fax (传真).
    pub fax: String,
    /// Mobile (手机).
    pub mobile: String,
    /// Email (邮箱).
    pub email: String,
    /// WeChat id (微信).
    pub wechat: String,
    /// Influence on purchasing decisions (决策影响力).
    pub influence: String,
    /// Birthdays, anniversaries and other dates worth remembering (重要日期).
    pub important_dates: String,
    /// Preferences and hobbies (喜好).
    pub preferences: String,
    /// Willing to receive mail (接受邮寄).
    pub accepts_mail: bool,
    /// Willing to receive SMS (接受短信).
    pub accepts_sms: bool,
}

/// Company information (企业信息).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Company {
    /// Address (地址).
    pub address: String,
    /// Website (网址).
    pub website: String,
    /// Legal representative (法人代表).
    pub legal_rep: String,
    /// Registered capital in yuan (注册资本).
    pub registered_capital: Option<Yuan>,
    /// Business scope (经营范围).
    pub business_scope: String,
    /// Main products (主要产品).
    pub products: String,
    /// Market coverage (市场覆盖).
    pub market_coverage: String,
    /// Sales channels (销售渠道).
    pub sales_channels: String,
    /// Bank credit rating AAA / AA / A (银行信用等级).
    pub bank_rating: Option<BankRating>,
}

/// Business figures (经营状况), amounts in yuan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Business {
    /// Annual sales (年销售额).
    pub annual_sales: Option<Yuan>,
    /// Peak-season sales (旺季销售额).
    pub peak_season_sales: Option<Yuan>,
    /// Off-season sales (淡季销售额).
    pub off_season_sales: Option<Yuan>,
    /// Monthly purchasing power (月采购力).
    pub monthly_purchasing_power: Option<Yuan>,
    /// Competitors present at the customer → how the customer rates them (竞争对手及评价).
    pub competitors: BTreeMap<String, String>,
}

/// Invoicing details (财务开票信息).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Billing {
    /// Bank (开户银行).
    pub bank: String,
    /// Account number (银行账号).
    pub account_no: String,
    /// Tax registration number (税务登记号).
    pub tax_no: String,
    /// Invoicing phone (开票电话).
    pub invoice_phone: String,
    /// Special invoicing requirements (开票特殊要求).
    pub requirements: String,
}

/// Credit (信用).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Credit {
    /// Credit limit in yuan (信用额度).
    pub limit: Option<Yuan>,
    /// On-time credit performance rate, percent 0–100 (按期信用履约率).
    pub on_time_rate: Option<f64>,
    /// Arrears in yuan (欠款).
    pub arrears: Option<Yuan>,
}

/// A visit or other contact with the customer (拜访/活动记录).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Activity {
    /// When it happened.
    pub at: Millis,
    /// Visit, call, mailing, …
    pub kind: ActivityKind,
    /// Login of who logged it.
    pub by: String,
    /// What happened (notes).
    pub notes: String,
    /// Intent level judged after this contact.
    pub intent: Option<Intent>,
    /// When to follow up next.
    pub next_followup: Option<Day>,
}

/// A customer complaint (客户投诉).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Complaint {
    /// When it was registered.
    pub at: Millis,
    /// Login of who registered it.
    pub by: String,
    /// What the customer complained about.
    pub description: String,
    /// Quality or non-quality issue.
    pub category: Option<ComplaintCategory>,
    /// Investigation findings (调查).
    pub investigation: String,
    /// Agreed remedy (处理方案).
    pub remedy: String,
    /// How the remedy was carried out (执行).
    pub execution: String,
    /// Whether the customer was satisfied (客户满意).
    pub satisfied: Option<bool>,
    /// When handling ended (结案时间); none while open.
    pub closed_at: Option<Millis>,
    /// Whether the defective sample was returned (不良样品是否退回); quality
    /// issues only.
    pub sample_returned: Option<bool>,
    /// What the quality department's inspection found (检验结果).
    pub inspection: String,
    /// The department responsible (责任部门).
    pub responsible_department: String,
    /// The sales management manager's signed opinion (销售管理部经理意见).
    pub manager_opinion: String,
    /// Whether the customer agreed to the remedy (与客户协商结果).
    pub agreed: Option<bool>,
    /// How the talk with the customer went (协商情况).
    pub negotiation: String,
    /// The court proceedings, when no agreement was reached (诉讼程序).
    pub litigation: String,
    /// Who did each handling step and when, keyed by
    /// [`ComplaintStep`](crate::codes::ComplaintStep) code.
    pub steps: BTreeMap<String, StepMark>,
}

/// Who did one step of handling a complaint, and when.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct StepMark {
    /// Login of who did it.
    pub by: String,
    /// When.
    pub at: Millis,
}

/// A contract or payment violation (违约记录).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Violation {
    /// When it happened.
    pub at: Millis,
    /// Type of violation.
    pub kind: String,
    /// Description.
    pub description: String,
}

/// An evaluation of the customer by a colleague (评价).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default)]
pub struct Evaluation {
    /// When.
    pub at: Millis,
    /// Login of the evaluator.
    pub by: String,
    /// The evaluation.
    pub text: String,
}

// The vocabularies are macro-generated; the defaults live with the card.
#[allow(clippy::derivable_impls)]
impl Default for Status {
    fn default() -> Self {
        Status::Active
    }
}

#[allow(clippy::derivable_impls)]
impl Default for ActivityKind {
    fn default() -> Self {
        ActivityKind::Visit
    }
}

impl Customer {
    /// The main contact: the first primary contact by id, else the first one.
    pub fn main_contact(&self) -> Option<&Contact> {
        self.contacts
            .values()
            .find(|c| c.primary)
            .or_else(|| self.contacts.values().next())
    }

    /// The latest activity (by time, then id), if any.
    pub fn last_activity(&self) -> Option<(&String, &Activity)> {
        self.activities
            .iter()
            .max_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)))
    }

    /// Intent level now: the latest contact's judgement, else the card's.
    pub fn current_intent(&self) -> Option<Intent> {
        self.activities
            .iter()
            .filter(|(_, a)| a.intent.is_some())
            .max_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)))
            .and_then(|(_, a)| a.intent)
            .or(self.intent)
    }

    /// The latest periodic review, if any.
    pub fn last_review(&self) -> Option<&Review> {
        self.reviews.values().max_by_key(|r| r.at)
    }

    /// Arrears (欠款): the unpaid amount of recorded sales, if any sale is
    /// recorded; else the figure typed on the card.
    pub fn arrears(&self) -> Option<Yuan> {
        if self.sales.is_empty() {
            return self.credit.arrears;
        }
        Some(
            self.sales
                .values()
                .filter(|s| s.paid_on.is_none())
                .map(|s| s.amount)
                .sum(),
        )
    }

    /// The follow-up planned by the latest activity (none if it planned none,
    /// e.g. after a contact judged the prospect lost).
    ///
    /// Derived rather than stored on the card so that two salespeople logging
    /// visits offline never clash over a shared "next follow-up" field.
    pub fn next_followup(&self) -> Option<Day> {
        self.last_activity().and_then(|(_, a)| a.next_followup)
    }
}
