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
}

/// Parses one line; the error says what is wrong with it.
pub fn parse_line(line: &str) -> Result<ImportRecord> {
    use serde_json::error::Category;
    serde_json::from_str(line).map_err(|e| {
        let what = match e.classify() {
            Category::Eof => "JSON 不完整(行在第 {c} 列提前结束)",
            Category::Syntax => "JSON 语法错误(第 {c} 列)",
            Category::Data => "内容不符合导入格式(第 {c} 列)",
            Category::Io => "读取失败",
        }
        .replace("{c}", &e.column().to_string());
        // serde's own words stay as the detail: they name the field or token.
        let detail = e.to_string();
        let detail = detail.split(" at line").next().unwrap_or_default();
        Error::invalid("", format!("{what}:{detail}"))
    })
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
        }
    }
}
