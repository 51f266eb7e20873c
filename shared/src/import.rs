//! The JSON Lines import format (one customer per line), as produced by
//! `shared/bench/gen_customers.py`.

use serde::Deserialize;

use crate::codes::{ActivityKind, Grade, Status};
use crate::customer::{Activity, Customer, Millis};
use crate::error::{Error, Result};

/// One line of an import file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRecord {
    /// Customer id (kept as the document id).
    pub id: String,
    /// Company name.
    pub name: String,
    /// Grade A–E.
    #[serde(default)]
    pub grade: Option<Grade>,
    /// Status; active if absent.
    #[serde(default)]
    pub status: Option<Status>,
    /// Region.
    #[serde(default)]
    pub region: String,
    /// Credit limit in yuan.
    #[serde(default)]
    pub credit_limit: Option<i64>,
    /// Assigned salesperson's login; the importing user if absent.
    #[serde(default)]
    pub salesperson: Option<String>,
    /// Contacts; the first is the main contact.
    #[serde(default)]
    pub contacts: Vec<ImportContact>,
    /// Visits and other activities.
    #[serde(default)]
    pub visits: Vec<ImportVisit>,
}

/// A contact in an import line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportContact {
    /// Name.
    pub name: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Mobile.
    #[serde(default)]
    pub mobile: String,
    /// Office phone.
    #[serde(default)]
    pub phone: String,
    /// Email.
    #[serde(default)]
    pub email: String,
}

/// A visit in an import line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportVisit {
    /// Stable id: importing the same visit twice stores it once.
    pub id: String,
    /// Milliseconds since the epoch.
    pub at: Millis,
    /// Kind; a visit if absent.
    #[serde(default)]
    pub kind: Option<ActivityKind>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// The follow-up it planned (`YYYY-MM-DD`), if the file says.
    #[serde(default)]
    pub next_followup: Option<crate::day::Day>,
}

/// A line of an import file merged into the customer of an earlier line
/// with the same id: one customer, each line one change in its history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Merged {
    /// The line.
    pub line: usize,
    /// The first line with this id.
    pub into: usize,
    /// The customer id.
    pub id: String,
}

/// One line for people saying which lines were merged into which.
pub fn merged_note(merged: &[Merged]) -> String {
    const SHOWN: usize = 5;
    let mut pairs: Vec<String> = merged
        .iter()
        .take(SHOWN)
        .map(|m| format!("第 {} 行并入第 {} 行({})", m.line, m.into, m.id))
        .collect();
    if merged.len() > SHOWN {
        pairs.push(format!("等共 {} 行", merged.len()));
    }
    format!(
        "有 {} 行的客户编号与前面的行相同,已并入同一位客户(每行内容都记入修改历史):{}",
        merged.len(),
        pairs.join(";")
    )
}

/// Parses one line; the error says what is wrong with it, in words a
/// salesperson understands. A UTF-8 byte-order mark before the line (Windows
/// Notepad starts a file with one) is ignored.
pub fn parse_line(line: &str) -> Result<ImportRecord> {
    use serde_json::error::Category;
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    match line.trim_start().chars().next() {
        Some('{') => {}
        Some('[') => {
            return Err(Error::invalid(
                "",
                "应为一个客户的 JSON 对象 {…},不是数组 […];每行写一位客户",
            ))
        }
        _ => return Err(Error::invalid("", "应为一个客户的 JSON 对象 {…}")),
    }
    serde_json::from_str(line).map_err(|e| {
        let what = match e.classify() {
            Category::Eof => "JSON 不完整(行在第 {c} 列提前结束)",
            Category::Syntax => "JSON 语法错误(第 {c} 列)",
            Category::Data => "内容不符合导入格式(第 {c} 列)",
            Category::Io => "读取失败",
        }
        .replace("{c}", &e.column().to_string());
        let detail = e.to_string();
        let detail = detail.split(" at line").next().unwrap_or_default();
        match explain(detail) {
            Some(d) => Error::invalid("", format!("{what}:{d}")),
            None => Error::invalid("", what),
        }
    })
}

/// serde's words for a data error, in Chinese: the field it names, or our
/// own (already Chinese) message for a bad code. `None` for syntax errors,
/// whose column says enough.
fn explain(detail: &str) -> Option<String> {
    let quoted = |rest: &str| rest.split('`').next().unwrap_or_default().to_string();
    if let Some(rest) = detail.strip_prefix("unknown field `") {
        return Some(format!("没有字段“{}”", quoted(rest)));
    }
    if let Some(rest) = detail.strip_prefix("missing field `") {
        return Some(format!("缺少字段“{}”", quoted(rest)));
    }
    if detail.starts_with("invalid type") || detail.starts_with("invalid value") {
        let expected = detail.rsplit("expected ").next().unwrap_or_default();
        let want = if expected.contains("i64") || expected.contains("u64") {
            "整数"
        } else if expected.contains("f64") || expected.contains("number") {
            "数字"
        } else if expected.contains("string") {
            "文字"
        } else if expected.contains("bool") {
            "true 或 false"
        } else if expected.contains("sequence") {
            "列表 […]"
        } else {
            "对象 {…}"
        };
        return Some(format!("有字段的值类型不对,应为{want}"));
    }
    detail
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        .then(|| detail.to_string())
}

impl ImportRecord {
    /// Writes this record onto `c` (a new card or an existing one): card
    /// fields are replaced, contacts `k1…kn` replaced, visits added or
    /// updated by id; visits not in the file are kept.
    pub fn apply(self, c: &mut Customer, importer: &str, now: Millis) {
        if c.id.is_empty() {
            c.id = self.id;
            c.entered_at = now;
        }
        c.name = self.name;
        if self.grade.is_some() {
            c.grade = self.grade;
        }
        if let Some(s) = self.status {
            c.status = s;
        }
        if !self.region.is_empty() {
            c.region = self.region;
        }
        if self.credit_limit.is_some() {
            c.credit.limit = self.credit_limit;
        }
        match self.salesperson {
            Some(s) => c.salesperson = s,
            None if c.salesperson.is_empty() => c.salesperson = importer.to_string(),
            None => {}
        }
        for (i, k) in self.contacts.into_iter().enumerate() {
            let slot = c.contacts.entry(format!("k{}", i + 1)).or_default();
            slot.name = k.name;
            slot.title = k.title;
            slot.mobile = k.mobile;
            slot.phone = k.phone;
            slot.email = k.email;
            slot.primary = i == 0;
        }
        for v in self.visits {
            let a = c.activities.entry(v.id).or_insert_with(|| Activity {
                by: importer.to_string(),
                ..Default::default()
            });
            a.at = v.at;
            a.kind = v.kind.unwrap_or_default();
            a.notes = v.notes;
            if v.next_followup.is_some() {
                a.next_followup = v.next_followup;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_explained_in_chinese() {
        let msg = |l: &str| parse_line(l).unwrap_err().to_string();
        assert!(msg("[1]").contains("不是数组"));
        assert!(msg("\"c1\"").contains("JSON 对象"));
        let m = msg(r#"{"id":"c1","name":"甲","colour":"红"}"#);
        assert!(m.contains("没有字段“colour”"), "{m}");
        let m = msg(r#"{"id":"c1"}"#);
        assert!(m.contains("缺少字段“name”"), "{m}");
        let m = msg(r#"{"id":"c1","name":"甲","credit_limit":"很多"}"#);
        assert!(m.contains("应为整数") && !m.contains("i64"), "{m}");
        let m = msg(r#"{"id":"c1","name":"甲""#);
        assert!(m.contains("JSON 不完整") && !m.contains("EOF"), "{m}");
        assert_eq!(
            parse_line("\u{feff}{\"id\":\"c1\",\"name\":\"甲\"}")
                .unwrap()
                .id,
            "c1"
        );
    }

    /// A visit's planned follow-up comes in with it; a later line that
    /// does not name one leaves it planned.
    #[test]
    fn a_visit_brings_its_follow_up() {
        let mut c = Customer::default();
        let line = r#"{"id":"c1","name":"甲","visits":[{"id":"v1","at":1700000000000,"next_followup":"2026-12-20"}]}"#;
        parse_line(line).unwrap().apply(&mut c, "wang", 1);
        assert_eq!(c.next_followup(), "2026-12-20".parse().ok());
        let again = r#"{"id":"c1","name":"甲","visits":[{"id":"v1","at":1700000000000}]}"#;
        parse_line(again).unwrap().apply(&mut c, "wang", 2);
        assert_eq!(c.next_followup(), "2026-12-20".parse().ok());
        let m = parse_line(
            r#"{"id":"c1","name":"甲","visits":[{"id":"v1","at":1,"next_followup":"下周"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(m.contains("下周"), "{m}");
    }
}
