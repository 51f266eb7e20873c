//! Rules every stored customer satisfies. Checked before anything is written,
//! so bad input changes nothing.

use crate::customer::{Customer, Yuan};
use crate::error::{Error, Result};

/// Longest accepted id; ids travel in URLs and file names.
pub const MAX_ID_LEN: usize = 64;
/// Longest accepted single-line text (names, titles, phones …), in characters.
pub const MAX_LINE_CHARS: usize = 500;
/// Longest accepted free text (notes, descriptions), in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Checks an id of a customer or of an entry (contact, visit, …).
pub fn check_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid(field, "编号不能为空"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(Error::invalid(
            field,
            format!("编号不能超过 {MAX_ID_LEN} 个字符"),
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Error::invalid(
            field,
            format!("编号“{id}”只能包含字母、数字和 - _ ."),
        ));
    }
    Ok(())
}

fn line(field: &str, v: &str) -> Result<()> {
    if v.chars().count() > MAX_LINE_CHARS {
        return Err(Error::invalid(
            field,
            format!("不能超过 {MAX_LINE_CHARS} 个字符"),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, "不能包含换行或控制字符"));
    }
    Ok(())
}

fn text(field: &str, v: &str) -> Result<()> {
    if v.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::invalid(
            field,
            format!("不能超过 {MAX_TEXT_CHARS} 个字符"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, "不能包含控制字符"));
    }
    Ok(())
}

fn money(field: &str, v: Option<Yuan>) -> Result<()> {
    match v {
        Some(n) if n < 0 => Err(Error::invalid(field, format!("金额不能为负数({n})"))),
        _ => Ok(()),
    }
}

fn percent(field: &str, v: Option<f64>) -> Result<()> {
    match v {
        Some(x) if !(0.0..=100.0).contains(&x) => {
            Err(Error::invalid(field, format!("应在 0 到 100 之间({x})")))
        }
        _ => Ok(()),
    }
}

/// Extension markers, as people write them after a number (lower case).
const EXTENSION: &[&str] = &["分机", "转", "ext.", "ext", "#"];

/// Checks a phone, mobile or fax number: digits with `+` (leading), `-`,
/// spaces and parentheses, optionally followed by an extension written
/// `转123`, `分机 123`, `ext. 12` or `#12`. Empty is allowed.
pub fn phone(field: &str, v: &str) -> Result<()> {
    let t = v.trim();
    if t.is_empty() {
        return Ok(());
    }
    let bad = || {
        Error::invalid(
            field,
            format!(
                "“{v}”不是电话号码:只能包含数字、+、-、空格和括号,分机号写作 转123、ext. 12 或 #12"
            ),
        )
    };
    let lower = t.to_lowercase();
    let (number, extension) = match EXTENSION
        .iter()
        .filter_map(|m| lower.find(m).map(|i| (i, std::cmp::Reverse(m.len()))))
        .min()
    {
        Some((i, std::cmp::Reverse(len))) => (&lower[..i], Some(lower[i + len..].trim())),
        None => (lower.as_str(), None),
    };
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let allowed = number.trim().char_indices().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, '-' | ' ' | '(' | ')') || (c == '+' && i == 0)
    });
    if !allowed || !(3..=20).contains(&digits) {
        return Err(bad());
    }
    if let Some(e) = extension {
        if e.is_empty() || e.len() > 8 || !e.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
    }
    Ok(())
}

/// The phone numbers of a card, by path: every contact's phone, fax and
/// mobile, and the invoicing phone.
fn phones(c: &Customer) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    for (id, k) in &c.contacts {
        for (f, v) in [("phone", &k.phone), ("fax", &k.fax), ("mobile", &k.mobile)] {
            out.push((format!("contacts.{id}.{f}"), v.as_str()));
        }
    }
    out.push((
        "billing.invoice_phone".into(),
        c.billing.invoice_phone.as_str(),
    ));
    out
}

/// Checks a card someone is writing: everything [`customer`] checks, and
/// the phone numbers that are new or changed since `before` (`None`: a new
/// card, all of them).
///
/// Numbers already stored are not checked again: cards written before the
/// phone rule existed hold free text there, and they must still take new
/// visits, edits of other fields and sync.
pub fn customer_input(before: Option<&Customer>, c: &Customer) -> Result<()> {
    customer(c)?;
    let old = before.map(phones).unwrap_or_default();
    for (path, v) in phones(c) {
        if !old.iter().any(|(p, o)| *p == path && *o == v) {
            phone(&path, v)?;
        }
    }
    Ok(())
}

/// Checks the whole card; the error names the first offending field. This
/// is what every stored card satisfies, including cards written by older
/// versions; rules for new input only are in [`customer_input`].
pub fn customer(c: &Customer) -> Result<()> {
    check_id("id", &c.id)?;
    if c.name.trim().is_empty() {
        return Err(Error::invalid("name", "客户名称不能为空"));
    }
    for (f, v) in [
        ("name", &c.name),
        ("salesperson", &c.salesperson),
        ("region", &c.region),
        ("industry", &c.industry),
    ] {
        line(f, v)?;
    }
    text("remarks", &c.remarks)?;
    percent("score", c.score)?;
    for (id, k) in &c.contacts {
        let p = |f: &str| format!("contacts.{id}.{f}");
        check_id(&format!("contacts.{id}"), id)?;
        if k.name.trim().is_empty() {
            return Err(Error::invalid(p("name"), "联系人姓名不能为空"));
        }
        for (f, v) in [
            ("name", &k.name),
            ("department", &k.department),
            ("title", &k.title),
            ("phone", &k.phone),
            ("fax", &k.fax),
            ("mobile", &k.mobile),
            ("email", &k.email),
            ("wechat", &k.wechat),
            ("influence", &k.influence),
            ("important_dates", &k.important_dates),
        ] {
            line(&p(f), v)?;
        }
        text(&p("preferences"), &k.preferences)?;
        if !k.email.is_empty() && !k.email.contains('@') {
            return Err(Error::invalid(
                p("email"),
                format!("“{}”不是邮箱地址", k.email),
            ));
        }
    }
    let co = &c.company;
    for (f, v) in [
        ("company.address", &co.address),
        ("company.website", &co.website),
        ("company.legal_rep", &co.legal_rep),
    ] {
        line(f, v)?;
    }
    for (f, v) in [
        ("company.business_scope", &co.business_scope),
        ("company.products", &co.products),
        ("company.market_coverage", &co.market_coverage),
        ("company.sales_channels", &co.sales_channels),
    ] {
        text(f, v)?;
    }
    money("company.registered_capital", co.registered_capital)?;
    let b = &c.business;
    money("business.annual_sales", b.annual_sales)?;
    money("business.peak_season_sales", b.peak_season_sales)?;
    money("business.off_season_sales", b.off_season_sales)?;
    money(
        "business.monthly_purchasing_power",
        b.monthly_purchasing_power,
    )?;
    for (name, rating) in &b.competitors {
        line("business.competitors", name)?;
        text(&format!("business.competitors.{name}"), rating)?;
    }
    let bi = &c.billing;
    for (f, v) in [
        ("billing.bank", &bi.bank),
        ("billing.account_no", &bi.account_no),
        ("billing.tax_no", &bi.tax_no),
        ("billing.invoice_phone", &bi.invoice_phone),
    ] {
        line(f, v)?;
    }
    text("billing.requirements", &bi.requirements)?;
    money("credit.limit", c.credit.limit)?;
    money("credit.arrears", c.credit.arrears)?;
    percent("credit.on_time_rate", c.credit.on_time_rate)?;
    for (id, a) in &c.activities {
        check_id(&format!("activities.{id}"), id)?;
        text(&format!("activities.{id}.notes"), &a.notes)?;
    }
    for (id, k) in &c.complaints {
        check_id(&format!("complaints.{id}"), id)?;
        for (f, v) in [
            ("description", &k.description),
            ("investigation", &k.investigation),
            ("remedy", &k.remedy),
            ("execution", &k.execution),
        ] {
            text(&format!("complaints.{id}.{f}"), v)?;
        }
    }
    for (id, v) in &c.violations {
        check_id(&format!("violations.{id}"), id)?;
        text(&format!("violations.{id}.description"), &v.description)?;
    }
    for (id, e) in &c.evaluations {
        check_id(&format!("evaluations.{id}"), id)?;
        text(&format!("evaluations.{id}.text"), &e.text)?;
    }
    Ok(())
}
