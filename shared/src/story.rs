//! The customer history in business language: what a clerk reads.
//!
//! [`CustomerDoc::history`](crate::document::CustomerDoc::history) gives
//! each change as field paths and text values (`credit_requests.cr01….
//! decisions.group_gm`, `approved=true at=… by=ggm`). [`tell`] turns one
//! such entry into a [`Story`]: who made it (by name), one headline
//! sentence and a sentence for each further field or record, e.g.
//!
//! - `集团总经理 刘某 批准信用额度 800,000 元`
//! - `新增拜访 2026-12-02 拜访采购经理`
//! - `联系人 张伟 的手机 13812345678 → 13912345678`
//! - `业务员 王芳 → 李明`, `等级 B级 → A级`, `解决冲突:区域 定为 华东`
//! - `导入:新增拜访 45 次` (with each visit in the details)
//!
//! Fields and codes read as their Chinese labels, moments as dates (with
//! the time of day where there is one), money with thousands separators,
//! people by name, yes/no as 是/否; never a record id, a change hash or
//! epoch milliseconds. Records are named from the current card (a
//! contact's name, a visit's date and kind, a request's amount); a whole
//! new record is read from the card too, and only from the history's text
//! when the card no longer holds it.
//!
//! Pure: the names of people come from the caller's lookup.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::codes::{
    ActivityKind, BankRating, ComplaintCategory, ComplaintStep, CustomerKind, Grade, Intent,
    Nature, Position, Status, Tier,
};
use crate::customer::{
    Activity, Complaint, Contact, CreditRequest, Customer, Decision, Evaluation, MajorChange,
    Millis, Review, Sale, StepMark, Violation,
};
use crate::day::Moment;
use crate::diff::{FieldChange, COLLECTIONS};
use crate::document::HistoryEntry;
use crate::labels::{label_of, CONTACT_FIELDS, FIELDS, RECORD_FIELDS};
use crate::note::Action;

/// One change of a customer's history, as a clerk reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// When the change was made, in milliseconds since the epoch.
    pub at: Millis,
    /// Who made it: the person's name from the lookup, their login when
    /// the lookup has no name, `系统` for the server's own changes and
    /// `(未知)` for changes that carry no author.
    pub who: String,
    /// What kind of action it was, if the change says.
    pub action: Option<Action>,
    /// One sentence saying what happened.
    pub headline: String,
    /// Further sentences, one per field or record, in card order.
    pub details: Vec<String>,
    /// Why, as its author gave it (amounts with thousands separators);
    /// `None` where there is none or the headline already says it (a
    /// credit decision, whose note the server composed).
    pub reason: Option<String>,
}

/// The name of the person with a login, if known.
pub type Names<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Tells one history entry as a [`Story`]. `card` is the customer as it
/// stands now, used to name the records the change touched; `names` gives
/// a person's name for a login (salespeople, approvers, authors).
pub fn tell(entry: &HistoryEntry, card: &Customer, names: Names<'_>) -> Story {
    let fresh = entry.action == Some(Action::Create)
        || entry
            .fields
            .iter()
            .any(|f| f.path == "name" && f.old.is_none() && f.new.is_some());
    let teller = Teller {
        card,
        names,
        action: entry.action,
        fresh,
        reason: entry.reason.as_deref(),
    };
    let mut lines: Vec<Line> = entry.fields.iter().map(|f| teller.line(f)).collect();
    lines.sort_by_key(|l| l.rank);
    let (headline, details) = teller.compose(entry, lines);
    let reason = match entry.action {
        Some(Action::Decide) => None,
        _ => entry.reason.as_deref().map(money_in_text),
    };
    Story {
        at: entry.at,
        who: entry
            .by
            .as_deref()
            .map_or_else(|| "(未知)".to_string(), |b| teller.person(b)),
        action: entry.action,
        headline,
        details,
        reason,
    }
}

/// Tells every entry, in the order the changes were made (by their own
/// time; changes of the same second keep the history's order).
pub fn tell_all(entries: &[HistoryEntry], card: &Customer, names: Names<'_>) -> Vec<Story> {
    let mut out: Vec<Story> = entries.iter().map(|e| tell(e, card, names)).collect();
    out.sort_by_key(|s| s.at);
    out
}

/// Money in yuan as people read it: `800,000 元`.
pub fn yuan(n: i64) -> String {
    format!("{} 元", thousands(n))
}

/// An integer with thousands separators: `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// What one field change is about, for putting sentences together.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A whole new record of a collection; `sort` groups alike ones (the
    /// kind of an activity) when they are counted.
    New { coll: &'static str, sort: String },
    /// A field of one record.
    Record { coll: &'static str, id: String },
    /// A credit-limit decision.
    Decision,
    /// A field of the card itself.
    Card { path: String },
}

/// One sentence about one field change.
#[derive(Debug, Clone)]
struct Line {
    kind: Kind,
    /// The sentence on its own.
    text: String,
    /// The sentence under a headline that already names its record.
    short: String,
    /// Further facts, as separate sentences when this line is the
    /// headline, else appended to it.
    extra: Vec<String>,
    /// What it is about, for a summary (`信用额度`, `联系人 张伟`).
    topic: String,
    /// Where it comes in the details: card fields in card order, then
    /// records by collection, each record's fields in the order people
    /// fill them in.
    rank: (usize, usize),
}

impl Line {
    fn plain(kind: Kind, text: String, topic: String, rank: (usize, usize)) -> Line {
        Line {
            kind,
            short: text.clone(),
            text,
            extra: Vec::new(),
            topic,
            rank,
        }
    }

    /// The sentence with its further facts, for a list of details.
    fn full(&self) -> String {
        if self.extra.is_empty() {
            self.text.clone()
        } else {
            format!("{},{}", self.text, self.extra.join(","))
        }
    }
}

struct Teller<'a> {
    card: &'a Customer,
    names: Names<'a>,
    action: Option<Action>,
    /// The change enters the customer (created or first imported).
    fresh: bool,
    reason: Option<&'a str>,
}

/// The Chinese noun of a collection's records.
fn noun(coll: &str) -> &'static str {
    match coll {
        "contacts" => "联系人",
        "activities" => "活动",
        "complaints" => "投诉",
        "violations" => "违约记录",
        "evaluations" => "评价",
        "sales" => "销售记录",
        "credit_requests" => "信用额度申请",
        "reviews" => "定期审查",
        "major_changes" => "重大变化",
        _ => "记录",
    }
}

/// How many new records of a collection, e.g. `新增联系人 2 位`.
fn counted(coll: &str, sort: &str, n: usize) -> String {
    match coll {
        "contacts" => format!("新增联系人 {n} 位"),
        "activities" => format!("新增{sort} {n} 次"),
        "complaints" => format!("登记投诉 {n} 件"),
        "violations" => format!("新增违约记录 {n} 条"),
        "evaluations" => format!("新增评价 {n} 条"),
        "sales" => format!("记录销售 {n} 笔"),
        "credit_requests" => format!("申请信用额度 {n} 份"),
        "reviews" => format!("定期审查 {n} 次"),
        "major_changes" => format!("标记重大变化 {n} 项"),
        _ => format!("新增{} {n} 条", noun(coll)),
    }
}

/// The collection whose new record is what an action is about.
fn primary(action: Option<Action>) -> Option<&'static str> {
    Some(match action? {
        Action::Activity => "activities",
        Action::Contact => "contacts",
        Action::Sale => "sales",
        Action::CreditRequest => "credit_requests",
        Action::Complaint => "complaints",
        Action::Review => "reviews",
        Action::Flag => "major_changes",
        _ => return None,
    })
}

fn card_rank(path: &str) -> (usize, usize) {
    // Competitors and unknown fields after the known ones.
    let i = FIELDS.iter().position(|(p, _)| *p == path);
    (i.unwrap_or(FIELDS.len()), 0)
}

fn coll_rank(coll: &str) -> (usize, usize) {
    let i = COLLECTIONS.iter().position(|c| *c == coll).unwrap_or(0);
    (FIELDS.len() + 1 + i, 0)
}

/// Where a field of a record comes among the record's fields.
fn field_rank(coll: &str, key: &str) -> (usize, usize) {
    let table = if coll == "contacts" {
        CONTACT_FIELDS
    } else {
        RECORD_FIELDS
    };
    let i = table.iter().position(|(k, _)| *k == key);
    (coll_rank(coll).0, 1 + i.unwrap_or(table.len()))
}

/// `text` cut to `max` characters, on one line.
fn short(text: &str, max: usize) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > max {
        format!("{}…", one.chars().take(max).collect::<String>())
    } else {
        one
    }
}

/// A moment as a date, with the time of day unless it is midnight.
fn when(ms: Millis) -> Option<String> {
    let t = Moment::DateTime.show(ms)?;
    Some(match t.strip_suffix(" 00:00") {
        Some(day) => day.to_string(),
        None => t,
    })
}

/// A moment as a date.
fn day_of(ms: Millis) -> Option<String> {
    Moment::Date.show(ms)
}

/// A code's Chinese label, or the text as it is if it is no such code.
fn code<T: FromStr + Display>(v: &str) -> String {
    v.parse::<T>()
        .map_or_else(|_| v.to_string(), |c| c.to_string())
}

/// A number as people write it: no `.0`, thousands separated.
fn number(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f.abs() < 1e15 => thousands(f as i64),
        Ok(f) => {
            let s = format!("{f:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        Err(_) => v.to_string(),
    }
}

fn yuan_text(v: &str) -> String {
    match v.parse::<i64>() {
        Ok(n) => yuan(n),
        Err(_) => format!("{} 元", number(v)),
    }
}

fn yes_no(v: &str) -> String {
    match v {
        "true" => "是".into(),
        "false" => "否".into(),
        other => other.into(),
    }
}

/// Amounts written in a text (`800000 元`) with thousands separators.
fn money_in_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit()) {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let decimal = chars.get(i) == Some(&'.') || (start > 0 && chars[start - 1] == '.');
            let rest: String = chars[i..].iter().take(2).collect();
            let is_money = rest.starts_with('元') || rest == " 元";
            match run.parse::<i64>() {
                Ok(n) if is_money && !decimal && run.len() > 3 => out.push_str(&thousands(n)),
                _ => out.push_str(&run),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A record read back from the history's text of a whole new entry
/// (`key=value` pairs, moments as dates), for a record the card no
/// longer holds. `None` if it does not read as one.
fn from_text<T: DeserializeOwned + Serialize + Default>(text: &str) -> Option<T> {
    let Ok(Value::Object(template)) = serde_json::to_value(T::default()) else {
        return None;
    };
    // The pairs come in key order (serde_json's map is sorted), so a
    // `key=` inside a value is only taken for a key if it comes later.
    let mut pairs: Vec<(String, String)> = Vec::new();
    for token in text.split(' ') {
        let later = |k: &str| pairs.last().is_none_or(|(last, _)| k > last.as_str());
        match token.split_once('=') {
            Some((k, v)) if template.contains_key(k) && later(k) => {
                pairs.push((k.to_string(), v.to_string()))
            }
            _ => match pairs.last_mut() {
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(token);
                }
                None => return None,
            },
        }
    }
    let mut obj = Map::new();
    for (k, v) in pairs {
        let moment = || Moment::parse(&v).map(Value::from);
        let value = match &template[&k] {
            Value::String(_) => Some(Value::String(v.clone())),
            Value::Bool(_) => Some(Value::Bool(v == "true")),
            Value::Number(_) if k == "at" => moment(),
            Value::Number(_) => serde_json::from_str::<serde_json::Number>(&v)
                .ok()
                .map(Value::Number),
            Value::Null if k == "closed_at" => moment(),
            Value::Null => Some(match v.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => match v.parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => Value::String(v.clone()),
                },
            }),
            _ => None,
        };
        if let Some(value) = value {
            obj.insert(k, value);
        }
    }
    serde_json::from_value(Value::Object(obj)).ok()
}

/// Record `id` of `map`, or as read from the history's `text`: how a
/// record is named (it may have changed since, a contact's name say).
fn record<T: Clone + DeserializeOwned + Serialize + Default>(
    map: &BTreeMap<String, T>,
    id: &str,
    text: Option<&str>,
) -> Option<T> {
    map.get(id).cloned().or_else(|| text.and_then(from_text))
}

/// A new record as it was entered: read from the history's `text`, else
/// (a text that does not read as one) from the card. The card may hold
/// later changes: a phone changed since, a sale paid since.
fn entered<T: Clone + DeserializeOwned + Serialize + Default>(
    map: &BTreeMap<String, T>,
    id: &str,
    text: Option<&str>,
) -> Option<T> {
    text.and_then(from_text).or_else(|| map.get(id).cloned())
}

impl Teller<'_> {
    /// A person's name for a login.
    fn person(&self, login: &str) -> String {
        match (self.names)(login).filter(|n| !n.trim().is_empty()) {
            Some(name) => name,
            None if login == "system" => "系统".into(),
            None => login.to_string(),
        }
    }

    fn line(&self, f: &FieldChange) -> Line {
        let parts: Vec<&str> = f.path.split('.').collect();
        match parts.as_slice() {
            [top, id] if COLLECTIONS.contains(top) => {
                let coll = COLLECTIONS.iter().find(|c| *c == top).expect("listed");
                match (&f.old, &f.new) {
                    (None, new) => self.new_entry(coll, id, new.as_deref()),
                    (Some(old), None) => self.removed(coll, id, old),
                    (Some(_), Some(_)) => {
                        let name = self.record_name(coll, id, None);
                        Line::plain(
                            Kind::Record {
                                coll,
                                id: id.to_string(),
                            },
                            format!("修改{name}"),
                            name,
                            coll_rank(coll),
                        )
                    }
                }
            }
            ["credit_requests", rid, "decisions", pos] if f.old.is_none() => {
                self.decision(rid, pos, f.new.as_deref())
            }
            ["complaints", kid, "steps", step] if f.old.is_none() => {
                self.complaint_step(kid, step, f.new.as_deref())
            }
            [top, id, rest @ ..] if COLLECTIONS.contains(top) => {
                let coll = COLLECTIONS.iter().find(|c| *c == top).expect("listed");
                self.record_field(coll, id, rest, f)
            }
            _ => self.card_field(f),
        }
    }

    /// How a record is named in a sentence, e.g. `联系人 张伟`,
    /// `2026-12-02 的拜访`, `投诉「交货延迟」`.
    fn record_name(&self, coll: &str, id: &str, text: Option<&str>) -> String {
        let c = self.card;
        let named = match coll {
            "contacts" => record(&c.contacts, id, text).map(|k| format!("联系人 {}", k.name)),
            "activities" => record(&c.activities, id, text).map(|a| match when(a.at) {
                Some(t) => format!("{t} 的{}", a.kind.label()),
                None => a.kind.label().to_string(),
            }),
            "complaints" => record(&c.complaints, id, text)
                .map(|q| format!("投诉「{}」", short(&q.description, 20))),
            "violations" => record(&c.violations, id, text).map(|v| {
                format!(
                    "{} 的违约记录{}",
                    day_of(v.at).unwrap_or_default(),
                    if v.kind.is_empty() {
                        String::new()
                    } else {
                        format!("「{}」", short(&v.kind, 20))
                    }
                )
                .trim()
                .to_string()
            }),
            "evaluations" => record(&c.evaluations, id, text).map(|e| {
                format!("{} 的评价", day_of(e.at).unwrap_or_default())
                    .trim()
                    .to_string()
            }),
            "sales" => record(&c.sales, id, text).map(|s| {
                let day = s.day.map(|d| format!("{d} ")).unwrap_or_default();
                format!("{day}{}销售 {}", s.product, yuan(s.amount))
            }),
            "credit_requests" => record(&c.credit_requests, id, text)
                .map(|r| format!("信用额度申请(拟 {})", yuan(r.proposed))),
            "reviews" => record(&c.reviews, id, text).map(|r| {
                format!("{} 的定期审查", day_of(r.at).unwrap_or_default())
                    .trim()
                    .to_string()
            }),
            "major_changes" => record(&c.major_changes, id, text)
                .map(|m| format!("重大变化「{}」", short(&m.description, 20))),
            _ => None,
        };
        named.unwrap_or_else(|| {
            let one = match coll {
                "contacts" => "一位",
                "activities" | "reviews" => "一次",
                "complaints" => "一件",
                "sales" => "一笔",
                "credit_requests" => "一份",
                "major_changes" => "一项",
                _ => "一条",
            };
            format!("{one}{}", noun(coll))
        })
    }

    /// A whole new record.
    fn new_entry(&self, coll: &'static str, id: &str, text: Option<&str>) -> Line {
        let c = self.card;
        let rank = coll_rank(coll);
        let mut sort = String::new();
        let mut extra = Vec::new();
        let sentence = match coll {
            "contacts" => entered::<Contact>(&c.contacts, id, text).map(|k| {
                for (key, label) in CONTACT_FIELDS {
                    let v = match *key {
                        "name" | "title" | "primary" => continue,
                        "department" => &k.department,
                        "mobile" => &k.mobile,
                        "phone" => &k.phone,
                        "fax" => &k.fax,
                        "email" => &k.email,
                        "wechat" => &k.wechat,
                        "influence" => &k.influence,
                        "important_dates" => &k.important_dates,
                        "preferences" => &k.preferences,
                        "accepts_mail" if k.accepts_mail => {
                            extra.push("接受邮寄".to_string());
                            continue;
                        }
                        "accepts_sms" if k.accepts_sms => {
                            extra.push("接受短信".to_string());
                            continue;
                        }
                        _ => continue,
                    };
                    if !v.trim().is_empty() {
                        extra.push(format!("{label} {}", short(v, 40)));
                    }
                }
                let title = if k.title.trim().is_empty() {
                    String::new()
                } else {
                    format!("({})", k.title.trim())
                };
                let main = if k.primary { ",主要联系人" } else { "" };
                format!("新增联系人 {}{title}{main}", k.name)
            }),
            "activities" => entered::<Activity>(&c.activities, id, text).map(|a| {
                sort = a.kind.label().to_string();
                if let Some(i) = a.intent {
                    extra.push(format!("意向等级 {}", i.label()));
                }
                if let Some(d) = a.next_followup {
                    extra.push(format!("下次跟进 {d}"));
                }
                let mut s = format!("新增{}", a.kind.label());
                for part in [when(a.at), Some(short(&a.notes, 40))]
                    .into_iter()
                    .flatten()
                {
                    if !part.is_empty() {
                        s.push(' ');
                        s.push_str(&part);
                    }
                }
                s
            }),
            "complaints" => entered::<Complaint>(&c.complaints, id, text).map(|q| {
                if let Some(t) = when(q.at) {
                    extra.push(format!("投诉时间 {t}"));
                }
                let category = q
                    .category
                    .map(|k| format!("({})", k.label()))
                    .unwrap_or_default();
                format!("登记投诉「{}」{category}", short(&q.description, 40))
            }),
            "violations" => entered::<Violation>(&c.violations, id, text).map(|v| {
                let mut s = "新增违约记录".to_string();
                for part in [day_of(v.at), Some(v.kind.clone())].into_iter().flatten() {
                    if !part.trim().is_empty() {
                        s.push(' ');
                        s.push_str(part.trim());
                    }
                }
                if !v.description.trim().is_empty() {
                    s.push(':');
                    s.push_str(&short(&v.description, 40));
                }
                s
            }),
            "evaluations" => entered::<Evaluation>(&c.evaluations, id, text).map(|e| {
                if !e.by.is_empty() {
                    extra.push(format!("评价人 {}", self.person(&e.by)));
                }
                format!("新增评价:{}", short(&e.text, 40))
            }),
            "sales" => entered::<Sale>(&c.sales, id, text).map(|s| {
                if let Some(d) = s.due {
                    extra.push(format!("应付款日 {d}"));
                }
                let day = s.day.map(|d| format!(" {d}")).unwrap_or_default();
                let product = if s.product.trim().is_empty() {
                    String::new()
                } else {
                    format!(" {}", s.product.trim())
                };
                format!(
                    "记录销售{day}{product},数量 {},金额 {}",
                    number(&s.quantity.to_string()),
                    yuan(s.amount)
                )
            }),
            "credit_requests" => entered::<CreditRequest>(&c.credit_requests, id, text).map(|r| {
                let reason = r.reason.trim();
                if !reason.is_empty() && Some(reason) != self.reason.map(str::trim) {
                    extra.push(format!("申请理由:{}", short(reason, 60)));
                }
                match r.current {
                    Some(cur) => format!("申请信用额度 {} → {}", yuan(cur), yuan(r.proposed)),
                    None => format!("申请信用额度 {}(原无额度)", yuan(r.proposed)),
                }
            }),
            "reviews" => entered::<Review>(&c.reviews, id, text).map(|r| {
                if !r.notes.trim().is_empty() {
                    extra.push(format!("意见:{}", short(&r.notes, 60)));
                }
                match r.tier {
                    Some(t) => format!("定期审查,客户类别定为 {}", t.label()),
                    None => "定期审查".to_string(),
                }
            }),
            "major_changes" => entered::<MajorChange>(&c.major_changes, id, text)
                .map(|m| format!("标记重大变化:{}", short(&m.description, 40))),
            _ => None,
        };
        let text = sentence.unwrap_or_else(|| format!("新增{}", noun(coll)));
        if sort.is_empty() {
            sort = noun(coll).to_string();
        }
        Line {
            kind: Kind::New { coll, sort },
            short: text.clone(),
            topic: noun(coll).to_string(),
            text,
            extra,
            rank,
        }
    }

    /// A whole record gone from the card.
    fn removed(&self, coll: &'static str, id: &str, old: &str) -> Line {
        let name = self.record_name(coll, id, Some(old));
        Line::plain(
            Kind::Record {
                coll,
                id: id.to_string(),
            },
            format!("删除{name}"),
            name,
            coll_rank(coll),
        )
    }

    /// A decision on a credit-limit request.
    fn decision(&self, rid: &str, pos: &str, text: Option<&str>) -> Line {
        let req = self.card.credit_requests.get(rid);
        let d = text
            .and_then(from_text::<Decision>)
            .or_else(|| req.and_then(|r| r.decisions.get(pos).cloned()));
        let position = code::<Position>(pos);
        let amount = req
            .map(|r| format!(" {}", yuan(r.proposed)))
            .unwrap_or_default();
        let (text, extra) = match d {
            Some(d) => {
                let verdict = if d.approved { "批准" } else { "驳回" };
                let by = if d.by.is_empty() {
                    String::new()
                } else {
                    format!(" {}", self.person(&d.by))
                };
                let extra = if d.comment.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![format!("意见:{}", short(&d.comment, 60))]
                };
                (format!("{position}{by} {verdict}信用额度{amount}"), extra)
            }
            None => (format!("{position} 审批信用额度{amount}"), Vec::new()),
        };
        Line {
            kind: Kind::Decision,
            short: text.clone(),
            text,
            extra,
            topic: "信用额度审批".into(),
            rank: coll_rank("credit_requests"),
        }
    }

    /// A step taken in handling a complaint, e.g. `投诉「包装破损」:提出处理方案(李四)`.
    fn complaint_step(&self, kid: &str, step: &str, text: Option<&str>) -> Line {
        let name = self.record_name("complaints", kid, None);
        let mark = text.and_then(from_text::<StepMark>);
        let by = mark
            .as_ref()
            .filter(|m| !m.by.is_empty())
            .map(|m| format!("({})", self.person(&m.by)))
            .unwrap_or_default();
        let step = code::<ComplaintStep>(step);
        let text = format!("{name}:{step}{by}");
        Line {
            kind: Kind::Record {
                coll: "complaints",
                id: kid.to_string(),
            },
            short: format!("{step}{by}"),
            text,
            extra: Vec::new(),
            topic: name,
            rank: coll_rank("complaints"),
        }
    }

    /// A value of a record's field as people read it.
    fn record_value(&self, coll: &str, key: &str, v: &str) -> String {
        match (coll, key) {
            (
                _,
                "primary" | "accepts_mail" | "accepts_sms" | "cleared" | "satisfied" | "approved"
                | "sample_returned" | "agreed",
            ) => yes_no(v),
            (_, "amount" | "proposed" | "current") => yuan_text(v),
            ("activities", "kind") => code::<ActivityKind>(v),
            (_, "intent") => code::<Intent>(v),
            (_, "category") => code::<ComplaintCategory>(v),
            (_, "tier") => code::<Tier>(v),
            (_, "by") => self.person(v),
            (_, "quantity") => number(v),
            _ => short(v, 60),
        }
    }

    /// A change to one field of a record.
    fn record_field(&self, coll: &'static str, id: &str, rest: &[&str], f: &FieldChange) -> Line {
        let name = self.record_name(coll, id, None);
        let key = *rest.last().expect("a record field has a name");
        let mut label = if coll == "contacts" {
            CONTACT_FIELDS
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, l)| l.to_string())
        } else {
            RECORD_FIELDS
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, l)| l.to_string())
        }
        .unwrap_or_else(|| label_of(key));
        if let ["decisions", pos, ..] = rest {
            label = if rest.len() > 2 {
                format!("{}审批的{label}", code::<Position>(pos))
            } else {
                format!("{}的审批", code::<Position>(pos))
            };
        }
        let old = f.old.as_deref().map(|v| self.record_value(coll, key, v));
        let new = f.new.as_deref().map(|v| self.record_value(coll, key, v));
        let said = match (coll, key, f.new.as_deref()) {
            ("contacts", "primary", Some("true")) => Some(("设为主要联系人".to_string(), " ")),
            ("contacts", "primary", _) => Some(("不再是主要联系人".to_string(), " ")),
            ("major_changes", "cleared", Some("true")) => Some(("已处理".to_string(), "")),
            ("major_changes", "cleared", _) => Some(("重新标记为未处理".to_string(), "")),
            ("sales", "paid_on", Some(d)) => Some((format!("已于 {d} 付款"), " ")),
            ("complaints", "closed_at", Some(t)) => Some((format!("已结案({t})"), " ")),
            _ => None,
        };
        let (short_text, text) = match said {
            Some((s, gap)) => (s.clone(), format!("{name}{gap}{s}")),
            None => {
                let s = match (old, new) {
                    (None, Some(n)) => format!("{label}:{n}"),
                    (Some(o), None) => format!("{label} 清空(原为 {o})"),
                    (Some(o), Some(n)) => format!("{label} {o} → {n}"),
                    (None, None) => format!("{label} 已修改"),
                };
                (s.clone(), format!("{name} 的{s}"))
            }
        };
        Line {
            kind: Kind::Record {
                coll,
                id: id.to_string(),
            },
            text,
            short: short_text,
            extra: Vec::new(),
            topic: name,
            rank: field_rank(coll, key),
        }
    }

    /// A value of a card field as people read it.
    fn card_value(&self, path: &str, v: &str) -> String {
        match path {
            "grade" => code::<Grade>(v),
            "status" => code::<Status>(v),
            "tier" => code::<Tier>(v),
            "kind" => code::<CustomerKind>(v),
            "nature" => code::<Nature>(v),
            "intent" => code::<Intent>(v),
            "company.bank_rating" => code::<BankRating>(v),
            "salesperson" => self.person(v),
            "score" => number(v),
            "credit.on_time_rate" => format!("{}%", number(v)),
            p if crate::labels::MONEY_FIELDS.contains(&p) => yuan_text(v),
            _ => short(v, 60),
        }
    }

    /// A change to a field of the card.
    fn card_field(&self, f: &FieldChange) -> Line {
        let label = label_of(&f.path);
        let old = f.old.as_deref().map(|v| self.card_value(&f.path, v));
        let new = f.new.as_deref().map(|v| self.card_value(&f.path, v));
        let text = if self.action == Some(Action::Resolve) {
            format!("{label} 定为 {}", new.unwrap_or_else(|| "(空)".into()))
        } else {
            match (old, new) {
                (None, Some(n)) if self.fresh => format!("{label}:{n}"),
                (None, Some(n)) => format!("{label} 设为 {n}"),
                (Some(o), None) => format!("{label} 清空(原为 {o})"),
                (Some(o), Some(n)) => format!("{label} {o} → {n}"),
                (None, None) => format!("{label} 已修改"),
            }
        };
        Line::plain(
            Kind::Card {
                path: f.path.clone(),
            },
            text,
            label,
            card_rank(&f.path),
        )
    }

    /// The headline and details of a change from its lines.
    fn compose(&self, entry: &HistoryEntry, mut lines: Vec<Line>) -> (String, Vec<String>) {
        let action = self.action;
        let fulls = |lines: &[Line]| lines.iter().map(Line::full).collect::<Vec<_>>();
        if lines.is_empty() {
            let what = action.map_or("变更", |a| a.label());
            return (format!("{what}(没有可见的改动)"), Vec::new());
        }
        if self.fresh {
            let name = entry
                .fields
                .iter()
                .find(|f| f.path == "name")
                .and_then(|f| f.new.clone())
                .unwrap_or_else(|| self.card.name.clone());
            lines.retain(|l| {
                l.kind
                    != Kind::Card {
                        path: "name".into(),
                    }
            });
            let verb = if action == Some(Action::Import) {
                "导入新客户"
            } else {
                "新建客户"
            };
            let counts = counts(&lines);
            let headline = if counts.is_empty() || action != Some(Action::Import) {
                format!("{verb} {name}")
            } else {
                format!("{verb} {name}:{}", counts.join("、"))
            };
            return (headline, fulls(&lines));
        }
        if action == Some(Action::Resolve) {
            let said: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
            let details = if lines.len() > 2 {
                said.clone()
            } else {
                Vec::new()
            };
            let headline = if lines.len() > 2 {
                format!("解决冲突 {} 项", lines.len())
            } else {
                format!("解决冲突:{}", said.join(";"))
            };
            return (headline, details);
        }
        if action == Some(Action::Grade) {
            if let Some(i) = lines.iter().position(|l| {
                l.kind
                    == Kind::Card {
                        path: "grade".into(),
                    }
            }) {
                let grade = lines.remove(i);
                let f = entry.fields.iter().find(|f| f.path == "grade");
                let show = |v: &Option<String>| v.as_deref().map(code::<Grade>);
                let headline = match f.map(|f| (show(&f.old), show(&f.new))) {
                    Some((Some(o), Some(n))) => format!("评定等级 {o} → {n}"),
                    Some((None, Some(n))) => format!("评定等级 {n}"),
                    _ => format!("评定等级:{}", grade.text),
                };
                return (headline, fulls(&lines));
            }
        }
        // The one decision of a credit request, with what it brought.
        if lines.iter().filter(|l| l.kind == Kind::Decision).count() == 1 {
            let i = lines
                .iter()
                .position(|l| l.kind == Kind::Decision)
                .expect("counted");
            let head = lines.remove(i);
            let mut details = head.extra.clone();
            details.extend(fulls(&lines));
            return (head.text, details);
        }
        if lines.len() == 1 {
            let l = lines.remove(0);
            return (l.text, l.extra);
        }
        // The one new record the action is about, with what came with it.
        if let Some(coll) = primary(action) {
            let new_here = |l: &Line| matches!(&l.kind, Kind::New { coll: c, .. } if *c == coll);
            if lines.iter().filter(|l| new_here(l)).count() == 1 {
                let i = lines.iter().position(new_here).expect("counted");
                let head = lines.remove(i);
                let mut details = head.extra.clone();
                details.extend(fulls(&lines));
                return (head.text, details);
            }
        }
        // Several fields of one record: the record, then each field.
        if let Kind::Record { coll, id } = &lines[0].kind {
            if lines.iter().all(|l| l.kind == lines[0].kind) {
                let name = self.record_name(coll, id, None);
                let verb = if *coll == "complaints" && action == Some(Action::Complaint) {
                    "处理"
                } else {
                    "修改"
                };
                let details = lines.iter().map(|l| l.short.clone()).collect();
                return (format!("{verb}{name}"), details);
            }
        }
        // A summary: new records counted, edited fields named.
        let mut parts = counts(&lines);
        let mut topics: Vec<&str> = Vec::new();
        for l in &lines {
            if !matches!(l.kind, Kind::New { .. }) && !topics.contains(&l.topic.as_str()) {
                topics.push(&l.topic);
            }
        }
        match topics.len() {
            0 => {}
            1..=3 => parts.push(format!("修改 {}", topics.join("、"))),
            n => parts.push(format!("修改 {n} 项")),
        }
        let prefix = match action {
            Some(Action::Import) => "导入:",
            _ => "",
        };
        (format!("{prefix}{}", parts.join(",")), fulls(&lines))
    }
}

/// New records counted by collection (and kind of activity), in the
/// order they come: `新增拜访 45 次`; a single one is told in full.
fn counts(lines: &[Line]) -> Vec<String> {
    let mut groups: Vec<(&'static str, Vec<&Line>)> = Vec::new();
    for l in lines {
        if let Kind::New { coll, .. } = &l.kind {
            match groups.iter_mut().find(|(c, _)| c == coll) {
                Some((_, v)) => v.push(l),
                None => groups.push((coll, vec![l])),
            }
        }
    }
    groups
        .into_iter()
        .map(|(coll, ls)| {
            if ls.len() == 1 {
                return ls[0].text.clone();
            }
            let sorts: Vec<&str> = ls
                .iter()
                .filter_map(|l| match &l.kind {
                    Kind::New { sort, .. } => Some(sort.as_str()),
                    _ => None,
                })
                .collect();
            let sort = if sorts.windows(2).all(|w| w[0] == w[1]) {
                sorts[0]
            } else {
                noun(coll)
            };
            counted(coll, sort, ls.len())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_numbers_read_as_people_write_them() {
        assert_eq!(yuan(800_000), "800,000 元");
        assert_eq!(yuan(-1_234_567), "-1,234,567 元");
        assert_eq!(yuan(999), "999 元");
        assert_eq!(number("1.0"), "1");
        assert_eq!(number("82.5"), "82.5");
        assert_eq!(
            money_in_text("月均销售额 123456 元,评分 82.5,欠款 1000元"),
            "月均销售额 123,456 元,评分 82.5,欠款 1,000元"
        );
    }

    #[test]
    fn a_record_the_card_lost_is_read_from_the_history_text() {
        let a: Activity =
            from_text("at=2026-03-02 09:00 by=zhang intent=H kind=call notes=谈 价格 by=x")
                .unwrap();
        assert_eq!(a.kind, ActivityKind::Call);
        assert_eq!(a.notes, "谈 价格 by=x");
        assert_eq!(a.intent, Some(Intent::H));
        assert_eq!(when(a.at).as_deref(), Some("2026-03-02 09:00"));
        let k: Contact = from_text("mobile=13800001111 name=张伟 primary=true").unwrap();
        assert_eq!(
            (k.name.as_str(), k.mobile.as_str(), k.primary),
            ("张伟", "13800001111", true)
        );
        let r: CreditRequest = from_text("current=500000 proposed=800000 reason=扩大").unwrap();
        assert_eq!((r.current, r.proposed), (Some(500_000), 800_000));
    }
}
