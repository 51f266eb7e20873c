//! `crm-backup restore`: a working server data directory from the backup,
//! at its latest state or as it was at a point in time.
//!
//! Nothing damaged is restored: the file's structure and every document
//! that goes into the result are checked first (as `verify` does), and any
//! problem stops the restore before the target is usable. The result is
//! written by the server's own schema code (`crm_server::db::restore`) in
//! one transaction, with a new epoch: every laptop lists what it holds at
//! its next sync, and pushes back whatever it has that the backup lacked.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crm_server::config::DataDir;
use crm_server::db::restore::RestoreWriter;
use crm_server::db::Projection;
use crm_shared::backup::{check_document, document_at};
use crm_shared::{ActorId, CustomerDoc};

use crate::store::{Store, StoreError};

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
}

/// Why a restore stopped (the target is left without a database).
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// Reading the backup failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The backup is damaged; nothing was restored.
    #[error("备份已损坏,未恢复任何数据:{0}(运行 crm-backup verify 查看详情)")]
    Damaged(String),
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
pub fn restore(
    dir: &Path,
    to: &Path,
    point: Point,
    mut progress: impl FnMut(u64, u64),
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
    let write_err = |path: &Path, e: &dyn std::fmt::Display| RestoreError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if data.db_path().exists() {
        return Err(RestoreError::TargetExists(to.to_path_buf()));
    }
    data.create().map_err(|e| write_err(to, &e))?;
    let writer =
        RestoreWriter::create(&data.db_path()).map_err(|e| write_err(&data.db_path(), &e))?;
    let db_err = |e: crm_server::db::DbError| write_err(&data.db_path(), &e);

    let mut users = 0;
    for t in &records.tables {
        if t.table == "users" {
            users = t.rows.len() as u64;
        }
        writer.insert_rows(t).map_err(db_err)?;
    }
    for e in &entries {
        writer.insert_log(e).map_err(db_err)?;
    }
    for t in store.audit_until(cut_time)? {
        writer.insert_rows(&t).map_err(db_err)?;
    }

    // Documents: each cut at its newest logged state up to `upto`.
    let mut last: std::collections::BTreeMap<&str, &crm_shared::backup::LogEntry> =
        std::collections::BTreeMap::new();
    for e in &entries {
        last.insert(&e.doc_id, e);
    }
    let total = last.len() as u64;
    let ids: Vec<&str> = last.keys().copied().collect();
    let mut done = 0;
    for batch in ids.chunks(BATCH) {
        let mut loaded = Vec::with_capacity(batch.len());
        for id in batch {
            let doc = store
                .doc(id)?
                .ok_or_else(|| RestoreError::Damaged(format!("缺少客户 {id} 的文档")))?;
            let logged: Vec<(u64, Vec<_>)> = store
                .logged(id, u64::MAX)?
                .into_iter()
                .map(|l| (l.seq, l.heads))
                .collect();
            loaded.push((doc, logged));
        }
        let prepared = loaded
            .par_iter()
            .map(|(doc, logged)| {
                check_document(&doc.data, &doc.hash, &doc.heads, logged)
                    .map_err(|p| RestoreError::Damaged(format!("客户 {}:{p}", doc.id)))?;
                let entry = last[doc.id.as_str()];
                let heads = crm_shared::sync::heads_from_hex(&entry.heads).ok_or_else(|| {
                    RestoreError::Damaged(format!("日志第 {} 条的 heads 无效", entry.seq))
                })?;
                let bytes = if same(&heads, &doc.heads) {
                    doc.data.clone()
                } else {
                    document_at(&doc.data, &heads)
                        .map_err(|e| RestoreError::Damaged(format!("客户 {}:{e}", doc.id)))?
                };
                let loaded = CustomerDoc::load(&bytes, ActorId::random())
                    .map_err(|e| RestoreError::Damaged(format!("客户 {}:{e}", doc.id)))?;
                let card = loaded.card();
                Ok((
                    doc.id.clone(),
                    bytes,
                    heads,
                    entry.seq,
                    entry.at,
                    Projection::of(card, loaded.conflicts().len()),
                ))
            })
            .collect::<Result<Vec<_>, RestoreError>>()?;
        for (id, bytes, heads, seq, at, projection) in prepared {
            writer
                .insert_document(&id, &bytes, &heads, seq, at, &projection)
                .map_err(db_err)?;
        }
        done += batch.len() as u64;
        progress(done, total);
    }

    // The server's generated certificate, so that pinned laptops trust it.
    for (name, bytes) in &records.files {
        let path = to.join(name);
        if !path.starts_with(to) || name.contains("..") {
            return Err(RestoreError::Damaged(format!("备份中的文件名无效:{name}")));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_err(parent, &e))?;
        }
        write_private(&path, &bytes.0).map_err(|e| write_err(&path, &e))?;
    }
    let epoch = writer.finish().map_err(db_err)?;
    Ok(Report {
        data_dir: to.to_path_buf(),
        customers: total,
        upto,
        upto_at,
        users,
        epoch,
    })
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

/// Writes a new file readable by its owner only (it may be a private key).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
