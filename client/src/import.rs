//! Importing customers from a JSON Lines file.
//!
//! Two passes over the file: the first checks every line (nothing is written
//! if any line is bad, and the error names the line), the second writes in
//! batches of [`BATCH`] customers, one transaction each, and reports after
//! every commit how many customers are durably saved. Re-running an import
//! is safe: customers and visits are keyed by id, so nothing is duplicated.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crm_shared::codes::Role;
use crm_shared::import::{parse_line, ImportRecord, Merged};
use crm_shared::note::Action;
use crm_shared::{access, labels};

use crate::error::{ClientError, Result};
use rayon::prelude::*;

use crate::clock::now_millis;
use crate::store::{prepare_upsert, Store, Upsert};

/// Customers written per transaction.
pub const BATCH: usize = 100;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Customers newly created.
    pub created: usize,
    /// Existing customers that changed.
    pub updated: usize,
    /// Existing customers already identical.
    pub unchanged: usize,
    /// Lines whose customer id an earlier line of the file already had.
    pub merged: Vec<Merged>,
    /// Fields only head office may set, left out of the lines that carried
    /// them (see [`LeftOut`]); `None` if no line did.
    pub left_out: Option<LeftOut>,
    /// Customers on file moved to the salesperson a line names (asked with
    /// `--reassign`).
    pub reassigned: usize,
    /// Customers on file a line assigns elsewhere, left with their
    /// salesperson (an import never moves a customer unless asked).
    pub not_reassigned: usize,
}

/// Fields of an import file the importing user's role may not set (a
/// salesperson: grade, credit limit, assigned salesperson). `crm edit`
/// refuses them and the server would put them back at the next sync, so
/// the import leaves them out of each line and says so once.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LeftOut {
    /// Lines that carried at least one of them.
    pub lines: usize,
    /// Their Chinese names (等级, 信用额度, 业务员), in that order.
    pub fields: Vec<String>,
}

impl LeftOut {
    /// The one line telling the user.
    pub fn note(&self) -> String {
        format!(
            "已忽略 {} 行中的 {}:这些字段只能由总部修改",
            self.lines,
            self.fields.join("/")
        )
    }
}

/// Leaves out of `rec` what `role` may not set; returns the paths left out.
/// Before a login the role is unknown: only what nobody sets by hand (the
/// credit limit) is left out then, as `crm edit` refuses only that.
fn leave_out(rec: &mut ImportRecord, role: Option<Role>, user: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if rec.credit_limit.is_some() && role.is_none_or(|r| !access::may_change(r, "credit.limit")) {
        rec.credit_limit = None;
        out.push("credit.limit");
    }
    let Some(role) = role else {
        return out;
    };
    if rec.grade.is_some() && !access::may_change(role, "grade") {
        rec.grade = None;
        out.push("grade");
    }
    if rec.salesperson.as_deref().is_some_and(|s| s != user)
        && !access::may_change(role, "salesperson")
    {
        rec.salesperson = None;
        out.push("salesperson");
    }
    out
}

fn lines(path: &Path) -> Result<impl Iterator<Item = (usize, std::io::Result<String>)>> {
    let f = File::open(path).map_err(|source| ClientError::File {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(BufReader::with_capacity(1 << 20, f)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !matches!(l, Ok(s) if s.trim().is_empty())))
}

/// Line `line` parsed and checked, without what `role` may not set; also
/// returns the paths left out.
fn record(
    line: usize,
    text: &str,
    importer: &str,
    role: Option<Role>,
) -> Result<(ImportRecord, Vec<&'static str>)> {
    let mut rec = parse_line(text).map_err(|source| ClientError::ImportLine { line, source })?;
    let left_out = leave_out(&mut rec, role, importer);
    let mut probe = crm_shared::Customer::default();
    rec.clone().apply(&mut probe, importer, 0);
    // Every value of the line is new input, phone numbers included.
    crm_shared::validate::customer_input(None, &probe)
        .map_err(|source| ClientError::ImportLine { line, source })?;
    Ok((rec, left_out))
}

/// What the check of a whole file found: the first line of every
/// customer id, and the lines repeating an id.
struct Checked {
    first: HashMap<String, usize>,
    merged: Vec<Merged>,
    left_out: Option<LeftOut>,
}

fn check_all(path: &Path, importer: &str, role: Option<Role>) -> Result<Checked> {
    let mut checked = Checked {
        first: HashMap::new(),
        merged: Vec::new(),
        left_out: None,
    };
    let mut fields: Vec<&'static str> = Vec::new();
    let mut lines_left_out = 0;
    for (line, text) in lines(path)? {
        let (rec, left_out) = record(line, &text?, importer, role)?;
        if !left_out.is_empty() {
            lines_left_out += 1;
            fields.extend(left_out);
        }
        match checked.first.get(&rec.id) {
            Some(&into) => checked.merged.push(Merged {
                line,
                into,
                id: rec.id,
            }),
            None => {
                checked.first.insert(rec.id, line);
            }
        }
    }
    if lines_left_out > 0 {
        checked.left_out = Some(LeftOut {
            lines: lines_left_out,
            fields: access::PROTECTED
                .iter()
                .filter(|p| fields.contains(p))
                .map(|p| labels::label_of(p))
                .collect(),
        });
    }
    Ok(checked)
}

/// Checks every line of `path`; returns the number of customers in it
/// (lines repeating an earlier line's id are the same customer).
pub fn check(path: &Path, importer: &str) -> Result<usize> {
    Ok(check_all(path, importer, None)?.first.len())
}

/// Imports `path` into `store`. `saved(n)` is called after each committed
/// batch with the number of customers durably saved so far, in file order.
///
/// Documents of a batch are built on all cores (they are independent), then
/// written in one transaction.
/// A customer that has a salesperson keeps them when a line names another,
/// unless `reassign`; the report counts both.
pub fn run(
    store: &mut Store,
    path: &Path,
    reassign: bool,
    mut saved: impl FnMut(usize),
) -> Result<ImportReport> {
    let user = store.profile().user.clone();
    let role = crate::session::current(store)?.map(|s| s.role);
    let checked = check_all(path, &user, role)?;
    let source = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let note = store.note(Action::Import, Some(&format!("导入 {source}")));
    let mut report = ImportReport {
        merged: checked.merged,
        left_out: checked.left_out,
        ..Default::default()
    };
    let first = checked.first;
    let mut pending: Vec<(usize, ImportRecord)> = Vec::with_capacity(BATCH);
    let mut flush = |store: &mut Store, pending: &mut Vec<(usize, ImportRecord)>| -> Result<()> {
        // The lines of one customer, in file order, go to one document:
        // built apart, two new documents for one id would overwrite each
        // other and the first line would be in no history.
        let mut groups: Vec<(String, Vec<(usize, ImportRecord)>)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for (line, rec) in pending.drain(..) {
            match at.get(&rec.id) {
                Some(&i) => groups[i].1.push((line, rec)),
                None => {
                    at.insert(rec.id.clone(), groups.len());
                    groups.push((rec.id.clone(), vec![(line, rec)]));
                }
            }
        }
        let inputs = groups
            .into_iter()
            .map(|(id, recs)| Ok((store.stored(&id)?, id, recs)))
            .collect::<Result<Vec<_>>>()?;
        let profile = store.profile().clone();
        let outcomes = inputs
            .into_par_iter()
            .map(|(stored, id, recs)| {
                // A customer whose first line was in an earlier batch is
                // already counted; these lines are merged into it.
                let counted = first.get(&id) == Some(&recs[0].0);
                // Whether a line named another salesperson than the one the
                // customer has (the edits run one after the other, here).
                let moved = std::cell::Cell::new(None);
                let edits = recs.into_iter().map(|(_, mut rec)| {
                    let moved = &moved;
                    let user = &user;
                    move |c: &mut crm_shared::Customer| {
                        if rec
                            .salesperson
                            .as_ref()
                            .is_some_and(|s| !c.salesperson.is_empty() && *s != c.salesperson)
                        {
                            moved.set(Some(reassign));
                            if !reassign {
                                rec.salesperson = None;
                            }
                        }
                        rec.apply(c, user, now_millis())
                    }
                });
                let outcome = prepare_upsert(&profile, &id, stored, &note, edits)?;
                Ok((counted, moved.get(), outcome))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut writes = Vec::with_capacity(outcomes.len());
        for (counted, moved, (what, write)) in outcomes {
            match moved {
                Some(true) => report.reassigned += 1,
                Some(false) => report.not_reassigned += 1,
                None => {}
            }
            if counted {
                match what {
                    Upsert::Created => report.created += 1,
                    Upsert::Updated => report.updated += 1,
                    Upsert::Unchanged => report.unchanged += 1,
                }
            }
            writes.extend(write);
        }
        store.commit_all(&writes)?;
        Ok(())
    };
    let mut counted = 0;
    for (line, text) in lines(path)? {
        pending.push((line, record(line, &text?, &user, role)?.0));
        if pending.len() == BATCH {
            counted += pending.len();
            flush(store, &mut pending)?;
            saved(counted);
        }
    }
    if !pending.is_empty() {
        counted += pending.len();
        flush(store, &mut pending)?;
        saved(counted);
    }
    Ok(report)
}
