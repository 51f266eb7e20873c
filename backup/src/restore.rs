//! `crm-backup restore`: a working server data directory from the backup,
//! at its latest state or as it was at a point in time.
//!
//! Nothing damaged is restored: the file's structure and every document
//! that goes into the result are checked first (as `verify` does), and any
//! problem stops the restore before the target is usable, leaving the
//! target as it was (what the restore created in it is removed). Asked to
//! skip damaged customers, it restores everything else and names them:
//! their salespeople's laptops send them back at their next sync. The
//! result is written by the server's own schema code
//! (`crm_server_db::restore`) in one transaction, with a new epoch: every
//! laptop lists what it holds at its next sync, and pushes back whatever it
//! has that the backup lacked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crm_server_db::restore::RestoreWriter;
use crm_server_db::DataDir;
use crm_server_db::Projection;
use crm_shared::backup::{check_document, document_at, Cell, LogEntry, Records};
use crm_shared::{ActorId, ChangeHash, CustomerDoc};

use crate::store::{Doc, Store, StoreError};

/// Documents prepared per batch (bounds memory on big backups).
const BATCH: usize = 512;

/// Which state to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Everything the backup holds.
    Latest,
    /// As it was at this time (ms since the epoch).
    Time(i64),
    /// As it was right after this log position (at its entry's time); the
    /// backup's own position or beyond is [`Point::Latest`].
    Seq(u64),
}

/// What a restore wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The new data directory.
    pub data_dir: PathBuf,
    /// Customers restored.
    pub customers: u64,
    /// Last log position included.
    pub upto: u64,
    /// Time of that entry (ms), if any.
    pub upto_at: Option<i64>,
    /// Users restored.
    pub users: u64,
    /// The restored server's new epoch.
    pub epoch: String,
    /// Damaged customers left out (only when asked to skip them).
    pub skipped: Vec<Skipped>,
}

/// A damaged customer a restore left out. Its salesperson's laptop sends
/// it back at its next sync, if the laptop still holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Customer id.
    pub id: String,
    /// Login of the salesperson it was assigned to at the restored point.
    pub salesperson: String,
    /// That salesperson's name, from the restored users (empty if unknown).
    pub salesperson_name: String,
    /// What is wrong with its stored document.
    pub problem: String,
}

/// Why a restore stopped (the target is left as it was).
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// Reading the backup failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The backup is damaged; nothing was restored.
    #[error("备份已损坏,未恢复任何数据:{0}(运行 crm-backup verify 查看详情)")]
    Damaged(String),
    /// A customer's document is damaged; nothing was restored.
    #[error(
        "备份已损坏,未恢复任何数据:客户 {id}:{problem}(运行 crm-backup verify 查看详情;\
         加 --skip-damaged 可跳过损坏的客户、恢复其余数据)"
    )]
    DamagedCustomer {
        /// Customer id.
        id: String,
        /// What is wrong with its stored document.
        problem: String,
    },
    /// The target already holds a server database.
    #[error("目标目录 {0} 中已有服务器数据库;请指定一个新的目录")]
    TargetExists(PathBuf),
    /// The backup holds no records (users): the server would be unusable.
    #[error("备份中还没有用户记录(备份机尚未完成第一次拉取)")]
    NoRecords,
    /// The point asked for is before the backup's first copy of the
    /// records.
    #[error(
        "无法恢复到备份开始之前的状态:最早可恢复到 --at \"{}\"",
        whole_second_at_or_after(*earliest)
    )]
    TooEarly {
        /// When the backup's first records copy was taken (ms).
        earliest: i64,
    },
    /// Writing the target failed.
    #[error("无法写入 {path}:{message}")]
    Write {
        /// What.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Restores the backup in `dir` into the server data directory `to`.
/// `skip_damaged`: leave damaged customers out (see [`Report::skipped`])
/// instead of refusing.
pub fn restore(
    dir: &Path,
    to: &Path,
    point: Point,
    skip_damaged: bool,
    progress: impl FnMut(u64, u64),
) -> Result<Report, RestoreError> {
    let store = Store::open_existing(dir)?;
    let integrity = store
        .integrity_problems()
        .unwrap_or_else(|e| Some(e.to_string()));
    if let Some(problem) = integrity {
        return Err(RestoreError::Damaged(format!("备份文件结构损坏:{problem}")));
    }
    let pos = store.position()?;
    let point = match point {
        Point::Seq(s) if s >= pos.after => Point::Latest,
        other => other,
    };
    let upto = match point {
        Point::Latest => pos.after,
        Point::Time(at) => store.seq_at_time(at)?.min(pos.after),
        Point::Seq(s) => s,
    };
    let entries = store.entries(upto)?;
    let upto_at = entries.last().map(|e| e.at);
    // Records (users, devices, settings) change without a log entry: the
    // latest state is the newest copy held, however long after the last
    // customer change it was taken; a point in time takes the copy of then.
    let cut_time = match point {
        Point::Latest => i64::MAX,
        Point::Time(at) => at,
        // Position 0 is before every entry: no time the backup knows.
        Point::Seq(_) => upto_at.unwrap_or(i64::MIN),
    };
    let records = match store
        .records_at(cut_time)
        .map_err(|e| RestoreError::Damaged(e.to_string()))?
    {
        Some(r) => r,
        // Customers before the backup began could be cut from the log, but
        // who could sign in then is not known.
        None => {
            return Err(match store.records_began()? {
                Some(earliest) => RestoreError::TooEarly { earliest },
                None => RestoreError::NoRecords,
            })
        }
    };

    let data = DataDir::new(to);
    let db = data.db_path();
    if [&db, &beside(&db, "-wal"), &beside(&db, "-shm")]
        .iter()
        .any(|p| p.exists())
    {
        return Err(RestoreError::TargetExists(to.to_path_buf()));
    }
    // On an error the database writer, living in `write`, is dropped (and
    // removes its unfinished file) before this undoes the rest.
    let mut created = Created::default();
    created.dir(to).map_err(|e| write_err(to, &e))?;
    let target = Target {
        data: &data,
        records: &records,
        entries: &entries,
        cut_time,
        skip_damaged,
    };
    let (customers, skipped, epoch) = write(&store, &target, &mut created, progress)?;
    created.keep();
    Ok(Report {
        data_dir: to.to_path_buf(),
        customers,
        upto,
        upto_at,
        users: records
            .tables
            .iter()
            .find(|t| t.table == "users")
            .map_or(0, |t| t.rows.len() as u64),
        epoch,
        skipped,
    })
}

/// What [`write`] restores, and where.
struct Target<'a> {
    data: &'a DataDir,
    records: &'a Records,
    entries: &'a [LogEntry],
    cut_time: i64,
    skip_damaged: bool,
}

/// Writes the restored database and files; returns the customers written,
/// those skipped, and the new epoch. Dropped unfinished on an error, the
/// database writer removes its file.
fn write(
    store: &Store,
    target: &Target,
    created: &mut Created,
    mut progress: impl FnMut(u64, u64),
) -> Result<(u64, Vec<Skipped>, String), RestoreError> {
    let db = target.data.db_path();
    let writer = RestoreWriter::create(&db).map_err(|e| write_err(&db, &e))?;
    for suffix in ["", "-wal", "-shm"] {
        created.file(&beside(&db, suffix));
    }
    let db_err = |e: crm_server_db::DbError| write_err(&db, &e);

    for t in &target.records.tables {
        writer.insert_rows(t).map_err(db_err)?;
    }
    for t in store.audit_until(target.cut_time)? {
        writer.insert_rows(&t).map_err(db_err)?;
    }

    // Documents: each cut at its newest logged state up to the point.
    let mut last: BTreeMap<&str, &LogEntry> = BTreeMap::new();
    for e in target.entries {
        last.insert(&e.doc_id, e);
    }
    let total = last.len() as u64;
    let ids: Vec<&str> = last.keys().copied().collect();
    let names = salesperson_names(target.records);
    let mut skipped = Vec::new();
    let mut done = 0;
    for batch in ids.chunks(BATCH) {
        let mut loaded = Vec::with_capacity(batch.len());
        for id in batch {
            let logged: Vec<(u64, Vec<_>)> = store
                .logged(id, u64::MAX)?
                .into_iter()
                .map(|l| (l.seq, l.heads))
                .collect();
            loaded.push((*id, store.doc(id)?, logged));
        }
        let prepared: Vec<(&str, Result<Prepared, String>)> = loaded
            .par_iter()
            .map(|(id, doc, logged)| (*id, prepare(doc.as_ref(), logged, last[id])))
            .collect();
        for (id, result) in prepared {
            let entry = last[id];
            match result {
                Ok(p) => writer
                    .insert_document(id, &p.bytes, &p.heads, entry.seq, entry.at, &p.projection)
                    .map_err(db_err)?,
                Err(problem) if target.skip_damaged => skipped.push(Skipped {
                    id: id.to_string(),
                    salesperson: entry.salesperson.clone(),
                    salesperson_name: names.get(&entry.salesperson).cloned().unwrap_or_default(),
                    problem,
                }),
                Err(problem) => {
                    return Err(RestoreError::DamagedCustomer {
                        id: id.to_string(),
                        problem,
                    })
                }
            }
        }
        done += batch.len() as u64;
        progress(done, total);
    }
    // A skipped customer's log entries would name a document the server
    // does not hold, and a backup of the restored server would find
    // them damaged; its audit rows stay, as the record of who sent what.
    let left_out: HashSet<&str> = skipped.iter().map(|s| s.id.as_str()).collect();
    for e in target.entries {
        if !left_out.contains(e.doc_id.as_str()) {
            writer.insert_log(e).map_err(db_err)?;
        }
    }

    // The server's generated certificate, so that pinned laptops trust it.
    let to = target.data.path();
    for (name, bytes) in &target.records.files {
        let path = to.join(name);
        if !path.starts_with(to) || name.contains("..") {
            return Err(RestoreError::Damaged(format!("备份中的文件名无效:{name}")));
        }
        if let Some(parent) = path.parent() {
            created.dir(parent).map_err(|e| write_err(parent, &e))?;
        }
        write_private(&path, &bytes.0).map_err(|e| write_err(&path, &e))?;
        created.file(&path);
    }
    let epoch = writer.finish().map_err(db_err)?;
    Ok((total - skipped.len() as u64, skipped, epoch))
}

/// A checked document ready to be written.
struct Prepared {
    bytes: Vec<u8>,
    heads: Vec<ChangeHash>,
    projection: Projection,
}

/// Checks one backed-up document (as `verify` does) and cuts it at `entry`,
/// its newest log entry up to the point restored; the problem otherwise.
fn prepare(
    doc: Option<&Doc>,
    logged: &[(u64, Vec<ChangeHash>)],
    entry: &LogEntry,
) -> Result<Prepared, String> {
    let doc = doc.ok_or("备份中缺少该客户的文档")?;
    check_document(&doc.data, &doc.hash, &doc.heads, logged).map_err(|p| p.to_string())?;
    let heads = crm_shared::sync::heads_from_hex(&entry.heads)
        .ok_or_else(|| format!("日志第 {} 条的 heads 无效", entry.seq))?;
    let bytes = if same(&heads, &doc.heads) {
        doc.data.clone()
    } else {
        document_at(&doc.data, &heads).map_err(|e| e.to_string())?
    };
    let loaded = CustomerDoc::load(&bytes, ActorId::random()).map_err(|e| e.to_string())?;
    let projection = Projection::of(loaded.card(), loaded.conflicts().len());
    Ok(Prepared {
        bytes,
        heads,
        projection,
    })
}

/// Login → name of the restored users.
fn salesperson_names(records: &Records) -> HashMap<String, String> {
    let Some(users) = records.tables.iter().find(|t| t.table == "users") else {
        return HashMap::new();
    };
    let column = |name: &str| users.columns.iter().position(|c| c == name);
    let (Some(login), Some(name)) = (column("login"), column("display_name")) else {
        return HashMap::new();
    };
    users
        .rows
        .iter()
        .filter_map(|row| match (row.get(login), row.get(name)) {
            (Some(Cell::Text(l)), Some(Cell::Text(n))) => Some((l.clone(), n.clone())),
            _ => None,
        })
        .collect()
}

/// What a restore made in its target: removed again when dropped unless
/// kept, so that a refused restore leaves the target as it found it. Only
/// what the restore itself created is removed, and a directory only if it
/// is empty.
#[derive(Default)]
struct Created {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
    kept: bool,
}

impl Created {
    /// Creates `dir` and its missing parents, for their owner only (the
    /// server's data directory holds password hashes and its TLS key),
    /// noting the ones it made.
    fn dir(&mut self, dir: &Path) -> std::io::Result<()> {
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
            .map(Path::to_path_buf)
            .collect();
        crate::private::create_dir(dir)?;
        // Outermost first, so that undoing in reverse empties each in turn.
        self.dirs.extend(missing.into_iter().rev());
        Ok(())
    }

    /// Notes a file the restore created.
    fn file(&mut self, path: &Path) {
        self.files.push(path.to_path_buf());
    }

    /// The restore finished: leave everything in place.
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        for d in self.dirs.iter().rev() {
            // remove_dir, not remove_dir_all: never anything else's.
            let _ = std::fs::remove_dir(d);
        }
    }
}

fn write_err(path: &Path, e: &dyn std::fmt::Display) -> RestoreError {
    RestoreError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `path` with `suffix` appended to its name (SQLite's `-wal`, `-shm`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

/// Local time `ms`, rounded up to a whole second, as `--at` takes it.
fn whole_second_at_or_after(ms: i64) -> String {
    use chrono::TimeZone;
    let up = ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0);
    chrono::Local
        .timestamp_opt(up, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn same(a: &[crm_shared::ChangeHash], b: &[crm_shared::ChangeHash]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

/// Writes a new file readable by its owner only (it may be a private key);
/// if writing fails, the file is removed again.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    if written.is_err() {
        drop(f);
        let _ = std::fs::remove_file(path);
    }
    written
}
