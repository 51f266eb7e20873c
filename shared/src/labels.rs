//! Chinese labels of card fields, for people: `crm edit --set 信用额度=…`
//! works as well as `--set credit.limit=…`, and history reads in Chinese.

/// (path, label) of every single-value card field.
pub const FIELDS: &[(&str, &str)] = &[
    ("name", "客户名称"),
    ("salesperson", "业务员"),
    ("region", "区域"),
    ("status", "状态"),
    ("entered_at", "建档时间"),
    ("valid_until", "有效期"),
    ("grade", "等级"),
    ("score", "评分"),
    ("tier", "类别"),
    ("kind", "客户类型"),
    ("nature", "企业性质"),
    ("industry", "行业"),
    ("intent", "意向等级"),
    ("remarks", "备注"),
    ("company.address", "地址"),
    ("company.website", "网址"),
    ("company.legal_rep", "法人代表"),
    ("company.registered_capital", "注册资本"),
    ("company.business_scope", "经营范围"),
    ("company.products", "主要产品"),
    ("company.market_coverage", "市场覆盖"),
    ("company.sales_channels", "销售渠道"),
    ("company.bank_rating", "银行信用等级"),
    ("business.annual_sales", "年销售额"),
    ("business.peak_season_sales", "旺季销售额"),
    ("business.off_season_sales", "淡季销售额"),
    ("business.monthly_purchasing_power", "月采购力"),
    ("business.competitors", "竞争对手"),
    ("billing.bank", "开户银行"),
    ("billing.account_no", "银行账号"),
    ("billing.tax_no", "税务登记号"),
    ("billing.invoice_phone", "开票电话"),
    ("billing.requirements", "开票要求"),
    ("credit.limit", "信用额度"),
    ("credit.on_time_rate", "按期信用履约率"),
    ("credit.arrears", "欠款"),
];

/// Card fields holding an amount of yuan (shown with separators and 元).
pub const MONEY_FIELDS: &[&str] = &[
    "company.registered_capital",
    "business.annual_sales",
    "business.peak_season_sales",
    "business.off_season_sales",
    "business.monthly_purchasing_power",
    "credit.limit",
    "credit.arrears",
];

/// Labels of the collections of a card and of a complaint's steps, as
/// they stand in a path (`contacts.<id>.mobile`).
const ENTRY_FIELDS: &[(&str, &str)] = &[
    ("contacts", "联系人"),
    ("activities", "活动"),
    ("complaints", "投诉"),
    ("violations", "违约记录"),
    ("evaluations", "评价"),
    ("steps", "处理步骤"),
];

/// Labels of the fields of records other than contacts (visits, sales,
/// complaints, credit requests, reviews, …).
pub const RECORD_FIELDS: &[(&str, &str)] = &[
    ("at", "时间"),
    ("by", "记录人"),
    ("kind", "类型"),
    ("notes", "内容"),
    ("intent", "意向等级"),
    ("next_followup", "下次跟进"),
    ("description", "描述"),
    ("category", "性质"),
    ("investigation", "调查"),
    ("remedy", "处理方案"),
    ("execution", "执行情况"),
    ("satisfied", "客户满意"),
    ("closed_at", "结案时间"),
    ("sample_returned", "样品退回"),
    ("inspection", "检验结果"),
    ("responsible_department", "责任部门"),
    ("manager_opinion", "经理意见"),
    ("agreed", "达成一致"),
    ("negotiation", "协商情况"),
    ("litigation", "诉讼情况"),
    ("text", "评价内容"),
    ("day", "日期"),
    ("product", "产品"),
    ("quantity", "数量"),
    ("amount", "金额"),
    ("due", "应付款日"),
    ("paid_on", "付款日"),
    ("current", "原信用额度"),
    ("proposed", "拟变更信用额度"),
    ("reason", "申请理由"),
    ("decisions", "审批"),
    ("approved", "批准"),
    ("comment", "意见"),
    ("tier", "客户类别"),
    ("cleared", "已处理"),
];

/// The fields of a contact, with their labels, in the order people fill
/// them in.
pub const CONTACT_FIELDS: &[(&str, &str)] = &[
    ("name", "姓名"),
    ("department", "部门"),
    ("title", "职务"),
    ("mobile", "手机"),
    ("phone", "电话"),
    ("fax", "传真"),
    ("email", "邮箱"),
    ("wechat", "微信"),
    ("influence", "决策影响力"),
    ("important_dates", "重要日期"),
    ("preferences", "喜好"),
    ("accepts_mail", "接受邮寄"),
    ("accepts_sms", "接受短信"),
    ("primary", "主要联系人"),
];

/// Names people use for the main contact's fields as if they were the
/// card's own (`手机`, `电话`, `company.phone`, …), with the contact field
/// each one means.
pub const MAIN_CONTACT_ALIASES: &[(&str, &str)] = &[
    ("联系人", "name"),
    ("手机", "mobile"),
    ("联系人手机", "mobile"),
    ("电话", "phone"),
    ("联系人电话", "phone"),
    ("公司电话", "phone"),
    ("company.phone", "phone"),
    ("contact.phone", "phone"),
    ("contact.mobile", "mobile"),
    ("传真", "fax"),
    ("邮箱", "email"),
    ("微信", "wechat"),
    ("职务", "title"),
    ("部门", "department"),
];

/// A contact field a user typed, by its key or label.
pub fn contact_field(input: &str) -> Option<&'static str> {
    let t = input.trim();
    CONTACT_FIELDS
        .iter()
        .find(|(k, l)| *k == t || *l == t)
        .map(|(k, _)| *k)
}

/// Whether the field at `path` holds a moment (milliseconds since the
/// epoch), and how people read and type it: 建档时间 as a date, the time of
/// a visit, complaint, review, … as a date and time.
pub fn moment_of(path: &str) -> Option<crate::day::Moment> {
    use crate::day::Moment;
    match path.rsplit('.').next() {
        _ if path == "entered_at" => Some(Moment::Date),
        Some("at" | "closed_at") if path.contains('.') => Some(Moment::DateTime),
        _ => None,
    }
}

/// The path a user typed: a dotted path, or a Chinese label of a card field.
pub fn path_of(input: &str) -> &str {
    let t = input.trim();
    FIELDS
        .iter()
        .find(|(_, l)| *l == t)
        .map(|(p, _)| *p)
        .unwrap_or(t)
}

/// A readable Chinese name for a dotted path, e.g. `联系人 k1 手机` for
/// `contacts.k1.mobile`; unknown parts are kept as they are.
pub fn label_of(path: &str) -> String {
    if let Some((_, l)) = FIELDS.iter().find(|(p, _)| *p == path) {
        return (*l).to_string();
    }
    if let Some(name) = path.strip_prefix("business.competitors.") {
        return format!("竞争对手 {name}");
    }
    path.split('.')
        .map(|part| {
            ENTRY_FIELDS
                .iter()
                .chain(CONTACT_FIELDS)
                .chain(RECORD_FIELDS)
                .find(|(k, _)| *k == part)
                .map(|(_, l)| (*l).to_string())
                .unwrap_or_else(|| part.to_string())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What people call the field at `path` when told what is wrong with it:
/// [`label_of`] without the entry's key, e.g. `联系人 手机` for
/// `contacts.k1.mobile` (the key is an id nobody typed).
pub fn field_name(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('.').collect();
    if parts.len() > 2 && ENTRY_FIELDS.iter().any(|(k, _)| *k == parts[0]) {
        parts.remove(1);
    }
    label_of(&parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_paths() {
        assert_eq!(path_of("信用额度"), "credit.limit");
        assert_eq!(path_of("credit.limit"), "credit.limit");
        assert_eq!(label_of("credit.limit"), "信用额度");
        assert_eq!(label_of("contacts.k1.mobile"), "联系人 k1 手机");
        assert_eq!(field_name("contacts.k-0190ab.mobile"), "联系人 手机");
        assert_eq!(field_name("credit.limit"), "信用额度");
        assert_eq!(
            field_name("complaints.q1.closed_at"),
            "投诉 结案时间",
            "a record's field has the label the history uses"
        );
    }

    #[test]
    fn moments_by_path() {
        use crate::day::Moment;
        assert_eq!(moment_of("entered_at"), Some(Moment::Date));
        assert_eq!(moment_of("activities.v1.at"), Some(Moment::DateTime));
        assert_eq!(moment_of("complaints.q1.closed_at"), Some(Moment::DateTime));
        assert_eq!(
            moment_of("credit_requests.r1.decisions.sales_manager.at"),
            Some(Moment::DateTime)
        );
        assert_eq!(moment_of("valid_until"), None);
        assert_eq!(moment_of("credit.limit"), None);
    }
}
