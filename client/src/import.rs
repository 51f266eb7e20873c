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

use crm_shared::import::{parse_line, ImportRecord, Merged};
use crm_shared::note::Action;

use crate::error::{Result, StoreError};
use rayon::prelude::*;

use crate::store::{now_millis, prepare_upsert, Store, Upsert};

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
}

fn lines(path: &Path) -> Result<impl Iterator<Item = (usize, std::io::Result<String>)>> {
    let f = File::open(path).map_err(|source| StoreError::File {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(BufReader::with_capacity(1 << 20, f)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !matches!(l, Ok(s) if s.trim().is_empty())))
}

fn record(line: usize, text: &str, importer: &str) -> Result<ImportRecord> {
    let rec = parse_line(text).map_err(|source| StoreError::ImportLine { line, source })?;
    let mut probe = crm_shared::Customer::default();
    rec.clone().apply(&mut probe, importer, 0);
    // Every value of the line is new input, phone numbers included.
    crm_shared::validate::customer_input(None, &probe)
        .map_err(|source| StoreError::ImportLine { line, source })?;
    Ok(rec)
}

/// What the check of a whole file found: the first line of every
/// customer id, and the lines repeating an id.
struct Checked {
    first: HashMap<String, usize>,
    merged: Vec<Merged>,
}

fn check_all(path: &Path, importer: &str) -> Result<Checked> {
    let mut checked = Checked {
        first: HashMap::new(),
        merged: Vec::new(),
    };
    for (line, text) in lines(path)? {
        let rec = record(line, &text?, importer)?;
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
    Ok(checked)
}

/// Checks every line of `path`; returns the number of customers in it
/// (lines repeating an earlier line's id are the same customer).
pub fn check(path: &Path, importer: &str) -> Result<usize> {
    Ok(check_all(path, importer)?.first.len())
}

/// Imports `path` into `store`. `saved(n)` is called after each committed
/// batch with the number of customers durably saved so far, in file order.
///
/// Documents of a batch are built on all cores (they are independent), then
/// written in one transaction.
pub fn run(store: &mut Store, path: &Path, mut saved: impl FnMut(usize)) -> Result<ImportReport> {
    let user = store.profile().user.clone();
    let checked = check_all(path, &user)?;
    let source = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let note = store.note(Action::Import, Some(&format!("导入 {source}")));
    let mut report = ImportReport {
        merged: checked.merged,
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
                let edits = recs.into_iter().map(|(_, rec)| {
                    |c: &mut crm_shared::Customer| rec.apply(c, &user, now_millis())
                });
                prepare_upsert(&profile, &id, stored, &note, edits).map(|o| (counted, o))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut writes = Vec::with_capacity(outcomes.len());
        for (counted, (what, write)) in outcomes {
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
        pending.push((line, record(line, &text?, &user)?));
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
