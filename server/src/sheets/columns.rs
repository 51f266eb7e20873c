//! Which header means which field. Head office's sheets come from many
//! hands, so each field accepts the usual Chinese headers and English ones,
//! compared without spaces, case or a trailing unit such as “(元)”.

use super::SheetError;

/// A card field a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Customer id.
    Id,
    /// Company name.
    Name,
    /// Salesperson login.
    Salesperson,
    /// Region.
    Region,
    /// Status.
    Status,
    /// Grade.
    Grade,
    /// Tier.
    Tier,
    /// Industry.
    Industry,
    /// Address.
    Address,
    /// Tax registration number.
    TaxNo,
    /// Credit limit.
    CreditLimit,
    /// Remarks.
    Remarks,
    /// Main contact's name.
    Contact,
    /// Main contact's title.
    Title,
    /// Main contact's mobile.
    Mobile,
    /// Main contact's office phone.
    Phone,
    /// Main contact's email.
    Email,
}

/// Field ← accepted headers (normalised: lower case, no spaces).
const HEADERS: &[(Field, &[&str])] = &[
    (Field::Id, &["客户编号", "编号", "客户代码", "id"]),
    (
        Field::Name,
        &[
            "客户名称",
            "名称",
            "公司名称",
            "企业名称",
            "单位名称",
            "客户",
            "name",
        ],
    ),
    (
        Field::Salesperson,
        &["业务员", "销售员", "负责人登录名", "salesperson"],
    ),
    (Field::Region, &["区域", "地区", "所属区域", "region"]),
    (Field::Status, &["状态", "客户状态", "status"]),
    (Field::Grade, &["等级", "客户等级", "grade"]),
    (Field::Tier, &["类别", "客户类别", "tier"]),
    (Field::Industry, &["行业", "所在行业", "industry"]),
    (Field::Address, &["地址", "公司地址", "单位地址", "address"]),
    (
        Field::TaxNo,
        &[
            "税号",
            "税务登记号",
            "纳税人识别号",
            "统一社会信用代码",
            "taxno",
            "tax_no",
        ],
    ),
    (
        Field::CreditLimit,
        &["信用额度", "授信额度", "creditlimit", "credit_limit"],
    ),
    (Field::Remarks, &["备注", "remarks", "notes"]),
    (
        Field::Contact,
        &["联系人", "主要联系人", "联系人姓名", "contact"],
    ),
    (Field::Title, &["职务", "联系人职务", "title"]),
    (
        Field::Mobile,
        &["手机", "手机号", "移动电话", "联系电话", "mobile"],
    ),
    (
        Field::Phone,
        &["电话", "办公电话", "固定电话", "座机", "phone", "tel"],
    ),
    (Field::Email, &["邮箱", "电子邮件", "email", "e-mail"]),
];

fn normalise(h: &str) -> String {
    let mut s: String = h
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    // A unit in brackets at the end: 信用额度(元), 信用额度(万元) is not accepted silently.
    for (open, close) in [("(", ")"), ("(", ")")] {
        if s.ends_with(close) {
            if let Some(i) = s.rfind(open) {
                if &s[i + open.len()..s.len() - close.len()] == "元" {
                    s.truncate(i);
                }
            }
        }
    }
    s
}

/// The field of each column (`None`: not a card field), and the headers
/// that were not understood.
pub fn map(headers: &[String]) -> Result<(Vec<Option<Field>>, Vec<String>), SheetError> {
    let mut fields = Vec::with_capacity(headers.len());
    let mut unknown = Vec::new();
    for h in headers {
        let n = normalise(h);
        let f = HEADERS
            .iter()
            .find(|(_, names)| names.contains(&n.as_str()))
            .map(|(f, _)| *f);
        if f.is_none() && !n.is_empty() {
            unknown.push(h.clone());
        }
        if let Some(f) = f {
            if fields.contains(&Some(f)) {
                return Err(SheetError::Columns(format!(
                    "表头“{h}”与前面的列是同一字段,请只保留一列"
                )));
            }
        }
        fields.push(f);
    }
    if !fields.contains(&Some(Field::Name)) {
        return Err(SheetError::Columns(format!(
            "表格缺少“客户名称”列(也接受:名称、公司名称、企业名称);现有表头:{}",
            headers.join("、")
        )));
    }
    Ok((fields, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_headers_map_and_unknown_ones_are_reported() {
        let h: Vec<String> = [
            "客户名称",
            " 联系人 ",
            "手机号",
            "信用额度(元)",
            "Email",
            "微博",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (f, unknown) = map(&h).unwrap();
        assert_eq!(
            f,
            [
                Some(Field::Name),
                Some(Field::Contact),
                Some(Field::Mobile),
                Some(Field::CreditLimit),
                Some(Field::Email),
                None
            ]
        );
        assert_eq!(unknown, ["微博"]);
    }

    #[test]
    fn a_sheet_without_names_is_refused_with_its_headers() {
        let h = vec!["电话".to_string(), "地址".to_string()];
        let e = map(&h).unwrap_err().to_string();
        assert!(e.contains("客户名称") && e.contains("电话、地址"), "{e}");
        let twice = vec!["名称".to_string(), "客户名称".to_string()];
        assert!(map(&twice).is_err());
    }
}
